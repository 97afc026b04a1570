// Resizing operators: Resize (opset 10 to 19) and Upsample (7, 9).
//
// Every axis gets a table at creation: for each output index, the input indices it reads and their weights (one
// tap for nearest, two for linear, four for cubic), or "outside" for tf_crop_and_resize's extrapolation. Leading
// axes that map one to one (batch, channels) fold into planes; the remaining outer axes are combined into a list
// of weighted source rows per output row. run() then only walks tables: no allocation, no coordinate maths.

#include "backend/cpu/cpucontext.h"
#include "backend/cpu/tensorops_util.h"

#include <cmath>
#include <string>

namespace dl::cpu::tensorops {

namespace {

using KernelResult = Result<std::unique_ptr<Kernel>>;
using Ins = std::vector<const Tensor*>;
using Outs = std::vector<Tensor*>;

enum class Interp { Nearest, Linear, Cubic };

struct ResizeOptions
{
    Interp interp = Interp::Nearest;
    std::string coord = "half_pixel";
    std::string nearest = "round_prefer_floor"; // or "simple": Upsample's and Resize-10's floor (ceil downscaling)
    double cubicA = -0.75;
    bool excludeOutside = false;
    double extrapolation = 0.0;
};

struct AxisTable
{
    int taps = 1;
    std::vector<int64_t> idx; // [out * taps]
    std::vector<float> w; // [out * taps]
    std::vector<uint8_t> valid; // [out]: 0 where tf_crop_and_resize extrapolates
    bool identity = false;
};

// Where output index x of an axis lands in the input, per coordinate_transformation_mode. Like the ONNX reference,
// the resized length in these formulas is in * scale unrounded: it differs from the output size when a scale
// does not land on an integer (a 0.6 downscale of 4 is 2.4 long and 2 wide).
double sourceCoordinate(
    const ResizeOptions& o, double x, int64_t inLen, int64_t outLen, double scale, double roiStart, double roiEnd)
{
    const std::string& m = o.coord;
    const double in = static_cast<double>(inLen);
    const double resized = scale * in;
    if (m == "asymmetric") return x / scale;
    if (m == "pytorch_half_pixel") return resized > 1.0 ? (x + 0.5) / scale - 0.5 : 0.0;
    if (m == "align_corners") return resized == 1.0 ? 0.0 : x * (in - 1.0) / (resized - 1.0);
    if (m == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
    if (m == "tf_crop_and_resize")
        return resized > 1.0 ? roiStart * (in - 1.0) + x * (roiEnd - roiStart) * (in - 1.0) / (resized - 1.0)
                             : 0.5 * (roiStart + roiEnd) * (in - 1.0);
    if (m == "half_pixel_symmetric") {
        const double adjustment = static_cast<double>(outLen) / resized;
        return in / 2.0 * (1.0 - adjustment) + (x + 0.5) / scale - 0.5;
    }
    return (x + 0.5) / scale - 0.5; // half_pixel
}

int64_t nearestIndex(const ResizeOptions& o, double x, double scale)
{
    const std::string& m = o.nearest;
    if (m == "round_prefer_ceil") return static_cast<int64_t>(std::floor(x + 0.5));
    if (m == "floor") return static_cast<int64_t>(std::floor(x));
    if (m == "ceil") return static_cast<int64_t>(std::ceil(x));
    if (m == "simple") return static_cast<int64_t>(scale < 1.0 ? std::ceil(x) : std::floor(x));
    return static_cast<int64_t>(std::ceil(x - 0.5)); // round_prefer_floor
}

void cubicCoefficients(double t, double a, double c[4])
{
    const double t1 = t + 1.0, t2 = 1.0 - t, t3 = 2.0 - t;
    c[0] = ((a * t1 - 5.0 * a) * t1 + 8.0 * a) * t1 - 4.0 * a;
    c[1] = ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
    c[2] = ((a + 2.0) * t2 - (a + 3.0)) * t2 * t2 + 1.0;
    c[3] = ((a * t3 - 5.0 * a) * t3 + 8.0 * a) * t3 - 4.0 * a;
}

AxisTable buildAxis(const ResizeOptions& o, int64_t inLen, int64_t outLen, double scale, double roiStart, double roiEnd)
{
    AxisTable t;
    t.taps = o.interp == Interp::Nearest ? 1 : o.interp == Interp::Linear ? 2 : 4;
    t.idx.assign(static_cast<size_t>(outLen * t.taps), 0);
    t.w.assign(static_cast<size_t>(outLen * t.taps), 0.0f);
    t.valid.assign(static_cast<size_t>(outLen), 1);
    const int64_t last = inLen - 1;
    for (int64_t x = 0; x < outLen; ++x) {
        double s = sourceCoordinate(o, static_cast<double>(x), inLen, outLen, scale, roiStart, roiEnd);
        int64_t* idx = &t.idx[x * t.taps];
        float* w = &t.w[x * t.taps];
        if (o.coord == "tf_crop_and_resize" && (s < 0.0 || s > static_cast<double>(last))) {
            t.valid[x] = 0;
            continue;
        }
        if (o.interp == Interp::Nearest) {
            idx[0] = std::clamp<int64_t>(nearestIndex(o, s, scale), 0, last);
            w[0] = 1.0f;
        } else if (o.interp == Interp::Linear) {
            s = std::clamp(s, 0.0, static_cast<double>(last));
            const int64_t i0 = static_cast<int64_t>(std::floor(s));
            idx[0] = i0;
            idx[1] = std::min(i0 + 1, last);
            w[1] = static_cast<float>(s - static_cast<double>(i0));
            w[0] = 1.0f - w[1];
        } else {
            const double f = std::floor(s);
            double c[4];
            cubicCoefficients(s - f, o.cubicA, c);
            double sum = 0.0;
            for (int k = 0; k < 4; ++k) {
                const int64_t i = static_cast<int64_t>(f) - 1 + k;
                if (o.excludeOutside && (i < 0 || i > last)) c[k] = 0.0;
                idx[k] = std::clamp<int64_t>(i, 0, last);
                sum += c[k];
            }
            for (int k = 0; k < 4; ++k)
                w[k] = static_cast<float>(o.excludeOutside && sum != 0.0 ? c[k] / sum : c[k]);
        }
    }
    // Collapse to one tap where every output reads exactly one input (integer coordinates, scale 1).
    if (t.taps > 1) {
        bool single = true;
        std::vector<int64_t> one(static_cast<size_t>(outLen), 0);
        for (int64_t x = 0; x < outLen && single; ++x) {
            int nonzero = 0;
            for (int k = 0; k < t.taps; ++k)
                if (t.w[x * t.taps + k] != 0.0f) {
                    ++nonzero;
                    one[x] = t.idx[x * t.taps + k];
                    single = single && t.w[x * t.taps + k] == 1.0f;
                }
            single = single && nonzero <= 1;
        }
        if (single) {
            t.taps = 1;
            t.idx = std::move(one);
            t.w.assign(static_cast<size_t>(outLen), 1.0f);
        }
    }
    t.identity = t.taps == 1 && inLen == outLen;
    for (int64_t x = 0; x < outLen && t.identity; ++x)
        t.identity = t.valid[x] && t.idx[x] == x;
    return t;
}

struct ResizePlan
{
    Interp interp = Interp::Nearest;
    DType dtype = DType::F32;
    size_t elem = 4;
    int64_t planes = 1; // leading one-to-one axes folded
    int64_t planeIn = 0; // input elements per plane
    int64_t rows = 1; // output rows per plane
    std::vector<int64_t> rowStart; // [rows + 1] into rowOff/rowW
    std::vector<int64_t> rowOff; // source row offsets within a plane
    std::vector<float> rowW;
    std::vector<uint8_t> rowValid;
    int maxRowTaps = 1;
    AxisTable last;
    std::vector<int32_t> lastIdx; // last.idx narrowed: the horizontal pass is bound by its loads
    bool lastAllValid = true;
    int64_t outW = 0;
    double extrapolation = 0.0;
    uint64_t extrapolationBits = 0; // in the element type, for the nearest path
};

ResizePlan planResize(const ResizeOptions& o, DType dtype, const Shape& in, const Shape& out,
    const std::vector<double>& scales, const std::vector<double>& roi)
{
    const int rank = static_cast<int>(in.size());
    std::vector<AxisTable> axes;
    for (int d = 0; d < rank; ++d)
        axes.push_back(buildAxis(o, in[d], out[d], scales[d], roi[d], roi[d + rank]));
    ResizePlan p;
    p.interp = o.interp;
    p.dtype = dtype;
    p.elem = dtypeSize(dtype);
    p.extrapolation = o.extrapolation;
    storeScalar(dtype, o.extrapolation, &p.extrapolationBits);
    int first = 0; // first axis that is not folded into planes
    while (first < rank - 1 && axes[first].identity)
        ++first;
    const auto strides = denseStrides(in);
    for (int d = 0; d < first; ++d)
        p.planes *= in[d];
    p.planeIn = 1;
    for (int d = first; d < rank; ++d)
        p.planeIn *= in[d];
    p.last = std::move(axes[rank - 1]);
    p.outW = out[rank - 1];
    // Weighted source rows of every output row, the outer product of the middle axes' taps.
    for (int d = first; d < rank - 1; ++d)
        p.rows *= out[d];
    p.rowStart.push_back(0);
    std::vector<int64_t> pos(static_cast<size_t>(rank), 0);
    std::vector<std::pair<int64_t, float>> combos, next;
    for (int64_t r = 0; r < p.rows; ++r) {
        combos.assign(1, { 0, 1.0f });
        bool valid = true;
        for (int d = first; d < rank - 1; ++d) {
            const AxisTable& t = axes[d];
            const int64_t x = pos[d];
            valid = valid && t.valid[x];
            next.clear();
            for (const auto& [off, w] : combos)
                for (int k = 0; k < t.taps; ++k)
                    if (t.w[x * t.taps + k] != 0.0f || t.taps == 1)
                        next.push_back({ off + t.idx[x * t.taps + k] * strides[d], w * t.w[x * t.taps + k] });
            if (next.empty()) next.push_back({ 0, 0.0f });
            combos.swap(next);
        }
        p.rowValid.push_back(valid ? 1 : 0);
        for (const auto& [off, w] : combos) {
            p.rowOff.push_back(off);
            p.rowW.push_back(w);
        }
        p.rowStart.push_back(static_cast<int64_t>(p.rowOff.size()));
        p.maxRowTaps = std::max(p.maxRowTaps, static_cast<int>(combos.size()));
        for (int d = rank - 2; d >= first; --d) {
            if (++pos[d] < out[d]) break;
            pos[d] = 0;
        }
    }
    p.lastIdx.assign(p.last.idx.begin(), p.last.idx.end());
    p.lastAllValid = std::all_of(p.last.valid.begin(), p.last.valid.end(), [](uint8_t v) { return v != 0; });
    return p;
}

template <class U> void nearestRows(const ResizePlan& p, const U* src, U* dst, int64_t b, int64_t e)
{
    U fill;
    std::memcpy(&fill, &p.extrapolationBits, sizeof(U));
    const int64_t* idx = p.last.idx.data();
    const uint8_t* valid = p.last.valid.data();
    for (int64_t r = b; r < e; ++r) {
        const int64_t plane = r / p.rows;
        const int64_t m = r - plane * p.rows;
        U* out = dst + r * p.outW;
        if (!p.rowValid[m]) {
            std::fill(out, out + p.outW, fill);
            continue;
        }
        const U* row = src + plane * p.planeIn + p.rowOff[p.rowStart[m]];
        if (p.last.identity) {
            std::memcpy(out, row, static_cast<size_t>(p.outW) * sizeof(U));
            continue;
        }
        for (int64_t x = 0; x < p.outW; ++x)
            out[x] = valid[x] ? row[idx[x]] : fill;
    }
}

template <class T> inline float loadF(const T& v)
{
    if constexpr (std::is_same_v<T, Half>)
        return halfToFloat(v.bits);
    else
        return static_cast<float>(v);
}

template <class T, class Acc> inline T storeF(Acc v)
{
    if constexpr (std::is_same_v<T, Half>)
        return Half { floatToHalf(static_cast<float>(v)) };
    else
        return static_cast<T>(v);
}

// Interpolating rows; TAPS is the last axis's tap count, fixed so that the inner loop unrolls.
template <class T, int TAPS> void interpRows(const ResizePlan& p, const T* src, T* dst, int64_t b, int64_t e)
{
    using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;
    const T fill = storeF<T>(static_cast<Acc>(p.extrapolation));
    const int64_t* idx = p.last.idx.data();
    const float* wx = p.last.w.data();
    const uint8_t* valid = p.last.valid.data();
    for (int64_t r = b; r < e; ++r) {
        const int64_t plane = r / p.rows;
        const int64_t m = r - plane * p.rows;
        T* out = dst + r * p.outW;
        if (!p.rowValid[m]) {
            std::fill(out, out + p.outW, fill);
            continue;
        }
        const T* base = src + plane * p.planeIn;
        const int64_t t0 = p.rowStart[m], t1 = p.rowStart[m + 1];
        for (int64_t x = 0; x < p.outW; ++x) {
            if (!valid[x]) {
                out[x] = fill;
                continue;
            }
            Acc acc = 0;
            for (int64_t t = t0; t < t1; ++t) {
                const T* row = base + p.rowOff[t];
                Acc s = 0;
                for (int k = 0; k < TAPS; ++k)
                    s += static_cast<Acc>(wx[x * TAPS + k]) * static_cast<Acc>(loadF(row[idx[x * TAPS + k]]));
                acc += static_cast<Acc>(p.rowW[t]) * s;
            }
            out[x] = storeF<T>(acc);
        }
    }
}

// One source row filtered along the last axis into floats.
template <class T, int TAPS> void horizontalPass(const ResizePlan& p, const T* row, float* h)
{
    const int32_t* idx = p.lastIdx.data();
    const float* w = p.last.w.data();
    for (int64_t x = 0; x < p.outW; ++x) {
        float s = 0.0f;
        for (int k = 0; k < TAPS; ++k)
            s += w[x * TAPS + k] * loadF(row[idx[x * TAPS + k]]);
        h[x] = s;
    }
}

template <class T> void horizontal(const ResizePlan& p, const T* row, float* h)
{
    switch (p.last.taps) {
    case 1:
        horizontalPass<T, 1>(p, row, h);
        break;
    case 2:
        horizontalPass<T, 2>(p, row, h);
        break;
    default:
        horizontalPass<T, 4>(p, row, h);
        break;
    }
}

// The separable form for float and half: every source row is filtered along the last axis once into a small
// cache of float rows (consecutive output rows share most of their source rows), then output rows are weighted
// sums of cached rows, which vectorise. `scratch` holds maxRowTaps + 1 rows of outW floats for this thread.
template <class T> void cachedRows(const ResizePlan& p, const T* src, T* dst, int64_t b, int64_t e, float* scratch)
{
    constexpr int kMaxSlots = 64;
    const int slots = p.maxRowTaps;
    int64_t key[kMaxSlots];
    std::fill(key, key + slots, int64_t(-1));
    float* acc = scratch + static_cast<int64_t>(slots) * p.outW;
    const T fill = storeF<T>(static_cast<float>(p.extrapolation));
    for (int64_t r = b; r < e; ++r) {
        const int64_t plane = r / p.rows;
        const int64_t m = r - plane * p.rows;
        T* out = dst + r * p.outW;
        if (!p.rowValid[m]) {
            std::fill(out, out + p.outW, fill);
            continue;
        }
        const int64_t t0 = p.rowStart[m];
        const int n = static_cast<int>(p.rowStart[m + 1] - t0);
        bool keep[kMaxSlots] = {};
        int use[kMaxSlots] = {};
        for (int t = 0; t < n; ++t) {
            const int64_t k = plane * p.planeIn + p.rowOff[t0 + t];
            use[t] = -1;
            for (int s = 0; s < slots; ++s)
                if (key[s] == k) {
                    use[t] = s;
                    keep[s] = true;
                    break;
                }
        }
        for (int t = 0; t < n; ++t) {
            if (use[t] >= 0) continue;
            int s = 0;
            while (keep[s])
                ++s;
            keep[s] = true;
            use[t] = s;
            key[s] = plane * p.planeIn + p.rowOff[t0 + t];
            horizontal<T>(p, src + key[s], scratch + s * p.outW);
        }
        float* target = acc;
        if constexpr (std::is_same_v<T, float>) target = out;
        const float* h0 = scratch + use[0] * p.outW;
        const float w0 = p.rowW[t0];
        if (n == 2) {
            const float* h1 = scratch + use[1] * p.outW;
            const float w1 = p.rowW[t0 + 1];
#pragma omp simd
            for (int64_t x = 0; x < p.outW; ++x)
                target[x] = w0 * h0[x] + w1 * h1[x];
        } else {
#pragma omp simd
            for (int64_t x = 0; x < p.outW; ++x)
                target[x] = w0 * h0[x];
            for (int t = 1; t < n; ++t) {
                const float* h = scratch + use[t] * p.outW;
                const float w = p.rowW[t0 + t];
#pragma omp simd
                for (int64_t x = 0; x < p.outW; ++x)
                    target[x] += w * h[x];
            }
        }
        if constexpr (!std::is_same_v<T, float>)
            for (int64_t x = 0; x < p.outW; ++x)
                out[x] = storeF<T>(acc[x]);
        if (!p.lastAllValid)
            for (int64_t x = 0; x < p.outW; ++x)
                if (!p.last.valid[x]) out[x] = fill;
    }
}

template <class T> void interpRange(const ResizePlan& p, const T* src, T* dst, int64_t b, int64_t e)
{
    switch (p.last.taps) {
    case 1:
        interpRows<T, 1>(p, src, dst, b, e);
        break;
    case 2:
        interpRows<T, 2>(p, src, dst, b, e);
        break;
    default:
        interpRows<T, 4>(p, src, dst, b, e);
        break;
    }
}

// Per-thread rows for the separable path, allocated once with the kernel.
struct ResizeScratch
{
    int slots = 0;
    int64_t perThread = 0;
    std::vector<float> rows;
};

Status runResize(const ResizePlan& p, ResizeScratch& scratch, const Tensor& x, Tensor& y)
{
    const int64_t rows = p.planes * p.rows;
    if (rows == 0 || p.outW == 0) return {};
    // Interpolation costs several loads per output element: count it as more bytes than a copy.
    const int64_t work = static_cast<int64_t>(y.bytes()) * (p.interp == Interp::Nearest ? 1 : 4);
    if (p.interp == Interp::Nearest) {
        visitBySize(p.elem, [&](auto tag) {
            using U = typename decltype(tag)::type;
            parallelRange(rows, work, [&](int64_t b, int64_t e) {
                nearestRows<U>(p, static_cast<const U*>(x.data()), static_cast<U*>(y.data()), b, e);
            });
        });
        return {};
    }
    if (p.dtype == DType::F64) {
        parallelRange(rows, work, [&](int64_t b, int64_t e) {
            interpRange<double>(p, static_cast<const double*>(x.data()), static_cast<double*>(y.data()), b, e);
        });
        return {};
    }
    // More threads than the scratch was sized for (the OpenMP setting changed): run on one.
    const int64_t parallelWork = omp_get_max_threads() <= scratch.slots ? work : 0;
    auto go = [&](auto tag) {
        using T = typename decltype(tag)::type;
        parallelRange(rows, parallelWork, [&](int64_t b, int64_t e) {
            float* mine = scratch.rows.data() + std::min(omp_get_thread_num(), scratch.slots - 1) * scratch.perThread;
            cachedRows<T>(p, static_cast<const T*>(x.data()), static_cast<T*>(y.data()), b, e, mine);
        });
    };
    if (p.dtype == DType::F32)
        go(Tag<float> {});
    else
        go(Tag<Half> {});
    return {};
}

KernelResult finishResize(const KernelArgs& a, const ResizeOptions& o, const Shape& out,
    const std::vector<double>& scales, const std::vector<double>& roi)
{
    const ValueDesc& x = a.inputs[0];
    DL_TRY(checkMovable(a, x.dtype));
    if (o.interp != Interp::Nearest && x.dtype != DType::F32 && x.dtype != DType::F64 && x.dtype != DType::F16)
        return nodeUnsupported(a.node, std::string("linear and cubic resizing of ") + dtypeName(x.dtype) + " data");
    for (size_t d = 0; d < out.size(); ++d) {
        if (out[d] < 0 || (out[d] > 0 && x.shape[d] == 0))
            return nodeError(a.node, "cannot resize " + shapeToString(x.shape) + " to " + shapeToString(out));
        if (!(scales[d] > 0.0) && out[d] > 0) return nodeError(a.node, "scales must be positive");
    }
    if (x.shape.empty()) return nodeError(a.node, "cannot resize a scalar");
    ResizePlan plan = planResize(o, x.dtype, x.shape, out, scales, roi);
    auto scratch = std::make_shared<ResizeScratch>();
    if (o.interp != Interp::Nearest && x.dtype != DType::F64) {
        if (plan.maxRowTaps > 64)
            return nodeUnsupported(a.node, "interpolating more than 3 axes at once is not supported");
        scratch->slots = std::max(1, a.ctx.threads());
        scratch->perThread = (plan.maxRowTaps + 1) * plan.outW;
        scratch->rows.assign(static_cast<size_t>(scratch->slots * scratch->perThread), 0.0f);
    }
    auto shared = std::make_shared<const ResizePlan>(std::move(plan));
    return makeKernel({ { x.dtype, out } }, [shared, scratch](const Ins& i, const Outs& y) -> Status {
        return runResize(*shared, *scratch, *i[0], *y[0]);
    });
}

Result<Interp> parseMode(const KernelArgs& a)
{
    const std::string mode = a.node.attrString("mode", "nearest");
    if (mode == "nearest") return Interp::Nearest;
    if (mode == "linear" || mode == "bilinear" || mode == "trilinear") return Interp::Linear;
    if (mode == "cubic" && a.node.opType == "Resize" && a.opset >= 11) return Interp::Cubic;
    return nodeUnsupported(a.node, "mode '" + mode + "' is not supported");
}

// floor(in * scale), forgiving the rounding error of scales such as 1/3 that were meant to land on an integer.
int64_t scaledSize(int64_t in, double scale)
{
    return static_cast<int64_t>(std::floor(static_cast<double>(in) * scale + 1e-9));
}

KernelResult makeUpsample(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 1, 2));
    ResizeOptions o;
    DL_ASSIGN(o.interp, parseMode(a));
    o.coord = "asymmetric";
    o.nearest = "simple";
    std::vector<double> scales;
    if (a.inputs.size() < 2) { // Upsample-7 keeps its scales in an attribute
        for (float s : a.node.attrFloats("scales"))
            scales.push_back(s);
    } else {
        DL_ASSIGN(scales, constantDoubles(a, 1, "scales"));
    }
    const Shape& in = a.inputs[0].shape;
    if (scales.size() != in.size())
        return nodeError(
            a.node, "has " + std::to_string(scales.size()) + " scales for rank " + std::to_string(in.size()));
    Shape out;
    for (size_t d = 0; d < in.size(); ++d)
        out.push_back(scaledSize(in[d], scales[d]));
    std::vector<double> roi(in.size(), 0.0);
    roi.resize(2 * in.size(), 1.0);
    return finishResize(a, o, out, scales, roi);
}

KernelResult makeResize(const KernelArgs& a)
{
    if (a.opset < 11) return makeUpsample(a);
    DL_TRY(checkInputs(a, 1, 4));
    ResizeOptions o;
    DL_ASSIGN(o.interp, parseMode(a));
    o.coord = a.node.attrString("coordinate_transformation_mode", "half_pixel");
    static const char* const kCoords[] = { "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
        "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize" };
    if (std::find_if(std::begin(kCoords), std::end(kCoords), [&](const char* c) { return o.coord == c; })
        == std::end(kCoords))
        return nodeUnsupported(a.node, "coordinate_transformation_mode '" + o.coord + "' is not supported");
    o.nearest = a.node.attrString("nearest_mode", "round_prefer_floor");
    if (o.nearest != "round_prefer_floor" && o.nearest != "round_prefer_ceil" && o.nearest != "floor"
        && o.nearest != "ceil")
        return nodeUnsupported(a.node, "nearest_mode '" + o.nearest + "' is not supported");
    o.cubicA = a.node.attrFloat("cubic_coeff_a", -0.75f);
    o.excludeOutside = a.node.attrInt("exclude_outside", 0) != 0;
    o.extrapolation = a.node.attrFloat("extrapolation_value", 0.0f);
    if (a.node.attrInt("antialias", 0) != 0) return nodeUnsupported(a.node, "antialias is not supported");
    const std::string policy = a.node.attrString("keep_aspect_ratio_policy", "stretch");
    if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
        return nodeUnsupported(a.node, "keep_aspect_ratio_policy '" + policy + "' is not supported");

    const Shape& in = a.inputs[0].shape;
    const int rank = static_cast<int>(in.size());
    std::vector<int> axes;
    for (int64_t ax : a.node.attrInts("axes")) {
        DL_ASSIGN(int k, normalizeAxis(a.node, ax, rank));
        axes.push_back(k);
    }
    if (axes.empty())
        for (int d = 0; d < rank; ++d)
            axes.push_back(d);
    const size_t n = axes.size();
    auto given = [&](size_t i) {
        const ValueDesc* v = optionalInput(a, i);
        return v && numElements(v->shape) > 0 ? v : nullptr;
    };

    std::vector<double> roi(static_cast<size_t>(rank), 0.0);
    roi.resize(2 * static_cast<size_t>(rank), 1.0);
    if (o.coord == "tf_crop_and_resize" && given(1)) {
        DL_ASSIGN(auto r, constantDoubles(a, 1, "roi"));
        if (r.size() != 2 * n)
            return nodeError(
                a.node, "roi has " + std::to_string(r.size()) + " values for " + std::to_string(n) + " axes");
        for (size_t k = 0; k < n; ++k) {
            roi[axes[k]] = r[k];
            roi[axes[k] + rank] = r[k + n];
        }
    }
    std::vector<double> scales(static_cast<size_t>(rank), 1.0);
    Shape out = in;
    if (given(3)) {
        DL_ASSIGN(auto sizes, constantInts(a, 3, "sizes"));
        if (sizes.size() != n)
            return nodeError(
                a.node, "has " + std::to_string(sizes.size()) + " sizes for " + std::to_string(n) + " axes");
        if (given(2)) return nodeError(a.node, "takes scales or sizes, not both");
        if (policy == "stretch") {
            for (size_t k = 0; k < n; ++k) {
                out[axes[k]] = sizes[k];
                scales[axes[k]] = static_cast<double>(sizes[k]) / static_cast<double>(in[axes[k]]);
            }
        } else {
            // One scale for every listed axis, the one that keeps the result inside (or around) the sizes.
            double s = policy == "not_larger" ? 1e300 : 0.0;
            for (size_t k = 0; k < n; ++k) {
                const double r = static_cast<double>(sizes[k]) / static_cast<double>(in[axes[k]]);
                s = policy == "not_larger" ? std::min(s, r) : std::max(s, r);
            }
            for (size_t k = 0; k < n; ++k) {
                scales[axes[k]] = s;
                out[axes[k]] = static_cast<int64_t>(std::floor(s * static_cast<double>(in[axes[k]]) + 0.5));
            }
        }
    } else if (given(2)) {
        DL_ASSIGN(auto s, constantDoubles(a, 2, "scales"));
        if (s.size() != n)
            return nodeError(a.node, "has " + std::to_string(s.size()) + " scales for " + std::to_string(n) + " axes");
        for (size_t k = 0; k < n; ++k) {
            const int d = axes[k];
            scales[d] = s[k];
            const double span = o.coord == "tf_crop_and_resize" ? roi[d + rank] - roi[d] : 1.0;
            out[d] = scaledSize(in[d], s[k] * span);
        }
    } else {
        return nodeError(a.node, "needs scales or sizes");
    }
    return finishResize(a, o, out, scales, roi);
}

} // namespace

void registerResizeOps(OpRegistry& r)
{
    r.add("Resize", makeResize);
    r.add("Upsample", makeUpsample);
}

} // namespace dl::cpu::tensorops
