#pragma once

// Shared by the Darknet test suites: small file writers and Darknet's own loops, written from its semantics, that
// the importer's graphs are compared with.

#include "model/importer.h"
#include "runtime/executor.h"

#include <QString>
#include <QTemporaryDir>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace dltest {

using namespace dl;

inline std::string str(const QString& s)
{
    return s.toStdString();
}

inline bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

inline void writeText(const std::string& path, const std::string& text)
{
    std::ofstream(path, std::ios::binary) << text;
}

// A Darknet .weights file: header, then the floats.
inline void writeWeights(
    const std::string& path, const std::vector<float>& values, int32_t major = 0, int32_t minor = 2)
{
    std::ofstream out(path, std::ios::binary);
    const int32_t version[3] = { major, minor, 0 };
    out.write(reinterpret_cast<const char*>(version), sizeof(version));
    if ((major * 10 + minor) >= 2 && major < 1000 && minor < 1000) {
        const uint64_t seen = 32013312;
        out.write(reinterpret_cast<const char*>(&seen), 8);
    } else {
        const int32_t seen = 32013312;
        out.write(reinterpret_cast<const char*>(&seen), 4);
    }
    out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
}

// Bytes of the parameters a .weights file holds: the inputs of Conv, Gemm, BatchNormalization and of the
// locally connected layers (MatMul and its bias), as opposed to the small shape and scale constants of
// Resize, Slice, Reshape...
inline size_t parameterBytes(const Graph& g)
{
    std::set<std::string> params;
    for (const auto& n : g.nodes) {
        const bool local = n.name.rfind("local_", 0) == 0 && (n.opType == "MatMul" || n.opType == "Add");
        if (n.opType == "Conv" || n.opType == "Gemm" || n.opType == "BatchNormalization" || local)
            for (const auto& in : n.inputs)
                if (g.isWeight(in)) params.insert(in);
    }
    size_t bytes = 0;
    for (const auto& p : params)
        bytes += g.weights.at(p).bytes();
    return bytes;
}

inline Tensor patternInput(const Shape& shape)
{
    Tensor t(DType::F32, shape);
    float* p = t.ptr<float>();
    for (int64_t i = 0; i < t.numel(); ++i)
        p[i] = 0.5f + 0.5f * std::sin(static_cast<float>(i) * 0.0137f);
    return t;
}

inline Shape declaredShape(const ValueInfo& v)
{
    Shape s;
    for (const auto& d : v.dims)
        s.push_back(d.value);
    return s;
}

// A feature map in Darknet's layout, for the reference loops below.
struct Map
{
    int c = 0, h = 0, w = 0;
    std::vector<float> v;
    Map() = default;
    Map(int c_, int h_, int w_)
        : c(c_)
        , h(h_)
        , w(w_)
        , v(static_cast<size_t>(c_ * h_ * w_), 0.0f)
    { }
    float& at(int k, int y, int x) { return v[static_cast<size_t>((k * h + y) * w + x)]; }
    float at(int k, int y, int x) const { return v[static_cast<size_t>((k * h + y) * w + x)]; }
};

// forward_maxpool_layer: windows start at -padding/2; cells outside the input are skipped.
inline Map dnMaxpool(const Map& in, int size, int stride, int padding)
{
    Map out(in.c, (in.h + padding - size) / stride + 1, (in.w + padding - size) / stride + 1);
    const int off = -padding / 2;
    for (int k = 0; k < out.c; ++k)
        for (int i = 0; i < out.h; ++i)
            for (int j = 0; j < out.w; ++j) {
                float m = -INFINITY;
                for (int n = 0; n < size; ++n)
                    for (int o = 0; o < size; ++o) {
                        const int y = off + i * stride + n, x = off + j * stride + o;
                        if (y >= 0 && y < in.h && x >= 0 && x < in.w) m = std::max(m, in.at(k, y, x));
                    }
                out.at(k, i, j) = m;
            }
    return out;
}

// reorg_cpu(..., forward = 0): out[in_index] = x[out_index], dimensions being the layer's input's.
inline Map dnReorg(const Map& in, int s)
{
    Map out(in.c * s * s, in.h / s, in.w / s);
    const int outC = in.c / (s * s);
    for (int k = 0; k < in.c; ++k)
        for (int j = 0; j < in.h; ++j)
            for (int i = 0; i < in.w; ++i) {
                const int inIndex = i + in.w * (j + in.h * k);
                const int c2 = k % outC, offset = k / outC;
                const int w2 = i * s + offset % s, h2 = j * s + offset / s;
                const int outIndex = w2 + in.w * s * (h2 + in.h * s * c2);
                out.v[static_cast<size_t>(inIndex)] = in.v[static_cast<size_t>(outIndex)];
            }
    return out;
}

// shortcut_cpu: the overlap of `add` (sampled every stride-th cell when larger) is added to `prev`.
inline Map dnShortcut(const Map& prev, const Map& add)
{
    Map out = prev;
    const int stride = std::max(1, add.w / prev.w);
    for (int k = 0; k < std::min(add.c, prev.c); ++k)
        for (int j = 0; j < std::min(add.h, prev.h); ++j)
            for (int i = 0; i < std::min(add.w, prev.w); ++i)
                out.at(k, j, i) += add.at(k, j * stride, i * stride);
    return out;
}

inline Map dnUpsample(const Map& in, int s)
{
    Map out(in.c, in.h * s, in.w * s);
    for (int k = 0; k < out.c; ++k)
        for (int y = 0; y < out.h; ++y)
            for (int x = 0; x < out.w; ++x)
                out.at(k, y, x) = in.at(k, y / s, x / s);
    return out;
}

inline Map channels(const Map& in, int from, int to)
{
    Map out(to - from, in.h, in.w);
    std::copy(in.v.begin() + from * in.h * in.w, in.v.begin() + to * in.h * in.w, out.v.begin());
    return out;
}

inline Map concat(const Map& a, const Map& b)
{
    Map out(a.c + b.c, a.h, a.w);
    std::copy(a.v.begin(), a.v.end(), out.v.begin());
    std::copy(b.v.begin(), b.v.end(), out.v.begin() + static_cast<std::ptrdiff_t>(a.v.size()));
    return out;
}

// One Darknet connected layer's parameters, in .weights order, and forward_connected_layer at inference.
struct Dense
{
    int in = 0, out = 0;
    bool bn = false;
    std::vector<float> bias, weight, scale, mean, var;

    // Small, distinct, hand-chosen-by-formula values; `k` makes each layer's differ.
    Dense(int in_, int out_, bool bn_, int k)
        : in(in_)
        , out(out_)
        , bn(bn_)
    {
        for (int o = 0; o < out; ++o) {
            bias.push_back(0.05f * static_cast<float>((o + k) % 5) - 0.1f);
            scale.push_back(0.9f + 0.1f * static_cast<float>((o + k) % 3));
            mean.push_back(0.02f * static_cast<float>((o * 3 + k) % 7) - 0.06f);
            var.push_back(0.6f + 0.2f * static_cast<float>((o + 2 * k) % 4));
            for (int i = 0; i < in; ++i)
                weight.push_back(0.1f * static_cast<float>((o * 7 + i * 3 + k * 5) % 11) - 0.5f);
        }
    }
    void append(std::vector<float>& file) const
    {
        file.insert(file.end(), bias.begin(), bias.end());
        file.insert(file.end(), weight.begin(), weight.end());
        if (!bn) return;
        file.insert(file.end(), scale.begin(), scale.end());
        file.insert(file.end(), mean.begin(), mean.end());
        file.insert(file.end(), var.begin(), var.end());
    }
    // Darknet's normalize_cpu divides by sqrt(var) + .000001.
    std::vector<float> operator()(const std::vector<float>& x, float (*act)(float)) const
    {
        std::vector<float> y(static_cast<size_t>(out));
        for (int o = 0; o < out; ++o) {
            double s = 0;
            for (int i = 0; i < in; ++i)
                s += double(weight[static_cast<size_t>(o * in + i)]) * x[static_cast<size_t>(i)];
            const auto u = static_cast<size_t>(o);
            if (bn) s = (s - mean[u]) / (std::sqrt(double(var[u])) + .000001) * scale[u];
            y[u] = act(static_cast<float>(s + bias[u]));
        }
        return y;
    }
};

inline float linearAct(float x)
{
    return x;
}
inline float leakyAct(float x)
{
    return x > 0 ? x : 0.1f * x;
}
inline float logisticAct(float x)
{
    return 1.0f / (1.0f + std::exp(-x));
}

// forward_gru_layer for one step from a zero state (wr and ur only touch the state, and are unused then).
std::vector<float> dnGru(
    const std::vector<float>& x, const Dense& wz, const Dense& wh, const Dense& uz, const Dense& uh, bool tanhH)
{
    const std::vector<float> zero(static_cast<size_t>(wz.in), 0.0f);
    const auto a = uz(x, linearAct), b = wz(zero, linearAct), c = uh(x, linearAct), d = wh(zero, linearAct);
    std::vector<float> out(a.size());
    for (size_t k = 0; k < a.size(); ++k) {
        const float z = logisticAct(a[k] + b[k]);
        const float h = tanhH ? std::tanh(c[k] + d[k]) : logisticAct(c[k] + d[k]);
        out[k] = z * 0.0f + (1 - z) * h;
    }
    return out;
}

} // namespace dltest
