// Reshaping operators, with the data-movement ops' shared machinery (tensorops_util.h): the ops that only re-label or
// permute memory: Reshape, Flatten, Squeeze, Unsqueeze, Concat, Split, Transpose, Expand, Tile.

#include "backend/cpu/tensorops_util.h"

#include <string>

namespace dl::cpu {

namespace tensorops {

void copyBytes(void* dst, const void* src, size_t bytes)
{
    if (dst == src || bytes == 0) return;
    constexpr size_t kChunk = size_t(1) << 16;
    const int64_t chunks = static_cast<int64_t>((bytes + kChunk - 1) / kChunk);
    auto* d = static_cast<std::byte*>(dst);
    const auto* s = static_cast<const std::byte*>(src);
    parallelRange(chunks, static_cast<int64_t>(bytes), [&](int64_t b, int64_t e) {
        const size_t from = static_cast<size_t>(b) * kChunk;
        const size_t to = std::min(bytes, static_cast<size_t>(e) * kChunk);
        std::memcpy(d + from, s + from, to - from);
    });
}

void fillElements(void* dst, const void* value, size_t elemSize, int64_t count)
{
    if (count <= 0) return;
    const int64_t bytes = count * static_cast<int64_t>(elemSize);
    visitBySize(elemSize, [&](auto tag) {
        using T = typename decltype(tag)::type;
        T v;
        std::memcpy(&v, value, sizeof(T));
        T* p = static_cast<T*>(dst);
        parallelRange(count, bytes, [&](int64_t b, int64_t e) { std::fill(p + b, p + e, v); });
    });
}

std::vector<int64_t> denseStrides(const Shape& s)
{
    std::vector<int64_t> st(s.size(), 1);
    for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i)
        st[i] = st[i + 1] * s[i + 1];
    return st;
}

void StridedCopy::plan(const Shape& dims, const std::vector<int64_t>& srcStrides, int64_t srcOffset, size_t elemSize)
{
    m_elem = elemSize;
    m_offset = srcOffset;
    std::vector<int64_t> d, s;
    int64_t total = 1;
    for (size_t i = 0; i < dims.size(); ++i) {
        total *= dims[i];
        if (dims[i] == 1) continue;
        if (!d.empty() && s.back() == srcStrides[i] * dims[i]) {
            d.back() *= dims[i];
            s.back() = srcStrides[i];
        } else {
            d.push_back(dims[i]);
            s.push_back(srcStrides[i]);
        }
    }
    if (total == 0) {
        m_rows = 0;
        m_inner = 0;
        return;
    }
    if (d.empty()) {
        d.push_back(1);
        s.push_back(1);
    }
    m_inner = d.back();
    m_innerStride = s.back();
    d.pop_back();
    s.pop_back();
    m_dims = std::move(d);
    m_strides = std::move(s);
    m_rows = numElements(m_dims);
    m_tileDim = -1;
    m_dstStrides.assign(m_dims.size(), m_inner);
    for (int i = static_cast<int>(m_dims.size()) - 2; i >= 0; --i)
        m_dstStrides[i] = m_dstStrides[i + 1] * m_dims[i + 1];
    if (m_innerStride != 1 && m_innerStride != 0)
        for (size_t i = 0; i < m_dims.size(); ++i)
            if (m_strides[i] == 1 && m_dims[i] >= 4) m_tileDim = static_cast<int>(i);
}

namespace {

constexpr int kOdometerRank = 16;

// Copies rows [b, e) of a planned strided copy; T has the element's size.
template <class T>
void stridedRows(const std::vector<int64_t>& dims, const std::vector<int64_t>& strides, int64_t offset, int64_t inner,
    int64_t innerStride, const T* src, T* dst, int64_t b, int64_t e)
{
    const int nd = static_cast<int>(dims.size());
    int64_t idx[kOdometerRank] = {};
    int64_t off = offset;
    int64_t rem = b;
    for (int d = nd - 1; d >= 0; --d) {
        const int64_t q = rem / dims[d];
        const int64_t i = rem - q * dims[d];
        if (d < kOdometerRank) idx[d] = i;
        off += i * strides[d];
        rem = q;
    }
    for (int64_t r = b; r < e; ++r) {
        T* out = dst + r * inner;
        const T* in = src + off;
        if (innerStride == 1)
            std::memcpy(out, in, static_cast<size_t>(inner) * sizeof(T));
        else if (innerStride == 0)
            std::fill(out, out + inner, *in);
        else
            for (int64_t i = 0; i < inner; ++i)
                out[i] = in[i * innerStride];
        if (nd > kOdometerRank) {
            // Ranks this deep do not occur in practice; recompute rather than keep a bigger odometer.
            off = offset;
            rem = r + 1;
            for (int d = nd - 1; d >= 0; --d) {
                const int64_t q = rem / dims[d];
                off += (rem - q * dims[d]) * strides[d];
                rem = q;
            }
            continue;
        }
        for (int d = nd - 1; d >= 0; --d) {
            off += strides[d];
            if (++idx[d] < dims[d]) break;
            off -= strides[d] * dims[d];
            idx[d] = 0;
        }
    }
}

// The tiled form of a strided copy: dimension `a` (source stride 1, destination stride dstA) against the
// inner dimension (source stride srcB, destination stride 1); every other outer dimension walks whole tiles.
struct TileWalk
{
    const std::vector<int64_t>& dims;
    const std::vector<int64_t>& srcStrides;
    const std::vector<int64_t>& dstStrides;
    int a;
    int64_t offset, inner, srcB, tileA, tilesA;
};

constexpr int64_t kTileB = 64;
constexpr size_t kLine = 256; // bytes of a tile along the source's contiguous dimension

template <class T> void tiledUnits(const TileWalk& w, const T* src, T* dst, int64_t b, int64_t e)
{
    const int64_t lenA = w.dims[w.a];
    const int64_t dstA = w.dstStrides[w.a];
    for (int64_t u = b; u < e; ++u) {
        int64_t rest = u / w.tilesA;
        const int64_t a0 = (u - rest * w.tilesA) * w.tileA;
        const int64_t a1 = std::min(lenA, a0 + w.tileA);
        int64_t srcBase = w.offset, dstBase = 0;
        for (int d = static_cast<int>(w.dims.size()) - 1; d >= 0; --d) {
            if (d == w.a) continue;
            const int64_t q = rest / w.dims[d];
            const int64_t i = rest - q * w.dims[d];
            srcBase += i * w.srcStrides[d];
            dstBase += i * w.dstStrides[d];
            rest = q;
        }
        if (w.inner < kTileB) {
            // Few source streams, each read in order: copy directly.
            for (int64_t a = a0; a < a1; ++a) {
                T* out = dst + dstBase + a * dstA;
                const T* in = src + srcBase + a;
                for (int64_t j = 0; j < w.inner; ++j)
                    out[j] = in[j * w.srcB];
            }
            continue;
        }
        // Through a small buffer: whole source runs in, whole destination runs out. Walking the tile directly
        // would revisit kTileB source lines for every `a`; a large power-of-two stride puts them all in one cache
        // set, where they evict each other.
        T buf[kTileB * kLine / sizeof(T)];
        const int64_t na = a1 - a0;
        for (int64_t b0 = 0; b0 < w.inner; b0 += kTileB) {
            const int64_t nb = std::min(w.inner, b0 + kTileB) - b0;
            for (int64_t j = 0; j < nb; ++j) {
                const T* in = src + srcBase + a0 + (b0 + j) * w.srcB;
                for (int64_t a = 0; a < na; ++a)
                    buf[a * kTileB + j] = in[a];
            }
            for (int64_t a = 0; a < na; ++a) {
                T* out = dst + dstBase + (a0 + a) * dstA + b0;
                for (int64_t j = 0; j < nb; ++j)
                    out[j] = buf[a * kTileB + j];
            }
        }
    }
}

} // namespace

void StridedCopy::run(const void* src, void* dst) const
{
    if (m_rows == 0 || m_inner == 0) return;
    const int64_t bytes = m_rows * m_inner * static_cast<int64_t>(m_elem);
    visitBySize(m_elem, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* s = static_cast<const T*>(src);
        T* d = static_cast<T*>(dst);
        if (m_tileDim >= 0) {
            const int64_t lenA = m_dims[m_tileDim];
            // A tile spans kLine bytes of the source along `a`; with a short inner dimension take all of `a` so
            // that each unit still moves enough to pay for its index arithmetic.
            const int64_t tileA = m_inner < kTileB ? lenA : static_cast<int64_t>(kLine / sizeof(T));
            const int64_t tilesA = (lenA + tileA - 1) / tileA;
            const TileWalk w { m_dims, m_strides, m_dstStrides, m_tileDim, m_offset, m_inner, m_innerStride, tileA,
                tilesA };
            parallelRange(m_rows / lenA * tilesA, bytes, [&](int64_t b, int64_t e) { tiledUnits<T>(w, s, d, b, e); });
            return;
        }
        parallelRange(m_rows, bytes, [&](int64_t b, int64_t e) {
            stridedRows<T>(m_dims, m_strides, m_offset, m_inner, m_innerStride, s, d, b, e);
        });
    });
}

int64_t loadIndex(DType t, const void* data, int64_t i)
{
    switch (t) {
    case DType::I64:
        return static_cast<const int64_t*>(data)[i];
    case DType::I32:
        return static_cast<const int32_t*>(data)[i];
    case DType::I16:
        return static_cast<const int16_t*>(data)[i];
    case DType::I8:
        return static_cast<const int8_t*>(data)[i];
    case DType::U8:
    case DType::Bool:
        return static_cast<const uint8_t*>(data)[i];
    case DType::U16:
        return static_cast<const uint16_t*>(data)[i];
    case DType::U32:
        return static_cast<const uint32_t*>(data)[i];
    case DType::U64:
        return static_cast<int64_t>(static_cast<const uint64_t*>(data)[i]);
    case DType::F32:
        return static_cast<int64_t>(static_cast<const float*>(data)[i]);
    case DType::F64:
        return static_cast<int64_t>(static_cast<const double*>(data)[i]);
    case DType::F16:
        return static_cast<int64_t>(halfToFloat(static_cast<const uint16_t*>(data)[i]));
    default:
        return 0;
    }
}

bool storeScalar(DType t, double v, void* dst)
{
    return visitNumeric(t, [&](auto tag) {
        using T = typename decltype(tag)::type;
        *static_cast<T*>(dst) = fromDouble<T>(v);
    });
}

Status checkInputs(const KernelArgs& a, size_t min, size_t max)
{
    if (a.inputs.size() < min || a.inputs.size() > max)
        return nodeError(a.node,
            "takes " + std::to_string(min) + (min == max ? "" : " to " + std::to_string(max)) + " inputs, got "
                + std::to_string(a.inputs.size()));
    if (!a.inputs.empty() && !a.inputs[0].present()) return nodeError(a.node, "input 0 is missing");
    return {};
}

const ValueDesc* optionalInput(const KernelArgs& a, size_t i)
{
    return i < a.inputs.size() && a.inputs[i].present() ? &a.inputs[i] : nullptr;
}

Result<std::vector<int64_t>> constantInts(const KernelArgs& a, size_t i, const char* what)
{
    if (i >= a.inputs.size() || !a.inputs[i].present())
        return nodeError(a.node, std::string("the ") + what + " input is missing");
    const ValueDesc& v = a.inputs[i];
    if (!v.constant) return nodeUnsupported(a.node, std::string("needs a constant ") + what);
    if (v.constant->numel() == 0) return std::vector<int64_t> {};
    auto vals = v.constant->toInt64();
    if (vals.empty() || v.dtype == DType::Bool)
        return nodeError(a.node, std::string("the ") + what + " must be integers, got " + dtypeName(v.dtype));
    return vals;
}

Result<std::vector<double>> constantDoubles(const KernelArgs& a, size_t i, const char* what)
{
    if (i >= a.inputs.size() || !a.inputs[i].present())
        return nodeError(a.node, std::string("the ") + what + " input is missing");
    const ValueDesc& v = a.inputs[i];
    if (!v.constant) return nodeUnsupported(a.node, std::string("needs a constant ") + what);
    if (dtypeSize(v.dtype) == 0)
        return nodeError(a.node, std::string("the ") + what + " must be numbers, got " + dtypeName(v.dtype));
    return v.constant->toDouble();
}

Status checkMovable(const KernelArgs& a, DType t)
{
    if (dtypeSize(t) == 0)
        return nodeUnsupported(a.node, std::string("element type ") + dtypeName(t) + " is not supported");
    return {};
}

} // namespace tensorops

using namespace tensorops;

namespace {

using KernelResult = Result<std::unique_ptr<Kernel>>;

// run() of every op whose output is its input's bytes under another shape.
Status copyInput(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out)
{
    copyBytes(out[0]->data(), in[0]->data(), in[0]->bytes());
    return {};
}

KernelResult makeCopy(const KernelArgs& a, Shape out)
{
    if (numElements(out) != numElements(a.inputs[0].shape))
        return nodeError(a.node, "cannot reshape " + shapeToString(a.inputs[0].shape) + " into " + shapeToString(out));
    return makeKernel({ { a.inputs[0].dtype, std::move(out) } }, copyInput);
}

KernelResult makeReshape(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, a.opset < 5 ? 1 : 2, 2));
    DL_TRY(checkMovable(a, a.inputs[0].dtype));
    std::vector<int64_t> spec;
    if (a.opset < 5 || a.inputs.size() < 2) {
        spec = a.node.attrInts("shape");
    } else {
        DL_ASSIGN(spec, constantInts(a, 1, "shape"));
    }
    const bool allowZero = a.node.attrInt("allowzero", 0) != 0;
    const Shape& in = a.inputs[0].shape;
    Shape out(spec.size());
    int inferred = -1;
    int64_t known = 1;
    for (size_t i = 0; i < spec.size(); ++i) {
        if (spec[i] == 0 && !allowZero) {
            if (i >= in.size())
                return nodeError(a.node, "shape entry " + std::to_string(i) + " copies a dimension the input lacks");
            out[i] = in[i];
        } else if (spec[i] == -1) {
            if (inferred >= 0) return nodeError(a.node, "shape has more than one -1");
            inferred = static_cast<int>(i);
            continue;
        } else if (spec[i] < 0) {
            return nodeError(a.node, "shape entry " + std::to_string(spec[i]) + " is invalid");
        } else {
            out[i] = spec[i];
        }
        known *= out[i];
    }
    if (inferred >= 0) {
        const int64_t n = numElements(in);
        if (known == 0 || n % known != 0)
            return nodeError(a.node, "cannot infer the -1 in the shape for input " + shapeToString(in));
        out[inferred] = n / known;
    }
    return makeCopy(a, std::move(out));
}

KernelResult makeFlatten(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 1, 1));
    DL_TRY(checkMovable(a, a.inputs[0].dtype));
    const Shape& in = a.inputs[0].shape;
    const int rank = static_cast<int>(in.size());
    int64_t axis = a.node.attrInt("axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis > rank)
        return nodeError(a.node, "axis " + std::to_string(a.node.attrInt("axis", 1)) + " is out of range");
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < rank; ++i)
        (i < axis ? outer : inner) *= in[i];
    return makeCopy(a, { outer, inner });
}

// Axes from the attribute (before opset 13) or the optional second input.
Result<std::vector<int64_t>> squeezeAxes(const KernelArgs& a, bool* given)
{
    *given = false;
    if (a.opset < 13 || a.inputs.size() < 2) {
        *given = a.node.has("axes");
        return a.node.attrInts("axes");
    }
    if (!a.inputs[1].present()) return std::vector<int64_t> {};
    *given = true;
    return constantInts(a, 1, "axes");
}

KernelResult makeSqueeze(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 1, 2));
    DL_TRY(checkMovable(a, a.inputs[0].dtype));
    bool given = false;
    DL_ASSIGN(auto axes, squeezeAxes(a, &given));
    const Shape& in = a.inputs[0].shape;
    const int rank = static_cast<int>(in.size());
    std::vector<bool> drop(in.size(), false);
    if (!given) {
        for (int i = 0; i < rank; ++i)
            drop[i] = in[i] == 1;
    }
    for (int64_t ax : axes) {
        DL_ASSIGN(int k, normalizeAxis(a.node, ax, rank));
        if (in[k] != 1)
            return nodeError(a.node, "cannot squeeze axis " + std::to_string(ax) + " of size " + std::to_string(in[k]));
        drop[k] = true;
    }
    Shape out;
    for (int i = 0; i < rank; ++i)
        if (!drop[i]) out.push_back(in[i]);
    return makeCopy(a, std::move(out));
}

KernelResult makeUnsqueeze(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, a.opset < 13 ? 1 : 2, 2));
    DL_TRY(checkMovable(a, a.inputs[0].dtype));
    bool given = false;
    DL_ASSIGN(auto axes, squeezeAxes(a, &given));
    if (!given) return nodeError(a.node, "axes are missing");
    const Shape& in = a.inputs[0].shape;
    const int outRank = static_cast<int>(in.size() + axes.size());
    std::vector<bool> inserted(outRank, false);
    for (int64_t ax : axes) {
        DL_ASSIGN(int k, normalizeAxis(a.node, ax, outRank));
        if (inserted[k]) return nodeError(a.node, "axis " + std::to_string(ax) + " is repeated");
        inserted[k] = true;
    }
    Shape out;
    size_t next = 0;
    for (int i = 0; i < outRank; ++i)
        out.push_back(inserted[i] ? 1 : in[next++]);
    return makeCopy(a, std::move(out));
}

KernelResult makeConcat(const KernelArgs& a)
{
    if (a.inputs.empty()) return nodeError(a.node, "needs at least one input");
    const ValueDesc& first = a.inputs[0];
    DL_TRY(checkMovable(a, first.dtype));
    if (!a.node.has("axis") && a.opset >= 4) return nodeError(a.node, "the axis attribute is missing");
    const int rank = static_cast<int>(first.shape.size());
    if (rank == 0) return nodeError(a.node, "cannot concatenate scalars");
    DL_ASSIGN(int axis, normalizeAxis(a.node, a.node.attrInt("axis", 1), rank));
    Shape out = first.shape;
    out[axis] = 0;
    for (size_t k = 0; k < a.inputs.size(); ++k) {
        const ValueDesc& v = a.inputs[k];
        if (!v.present()) return nodeError(a.node, "input " + std::to_string(k) + " is missing");
        if (v.dtype != first.dtype)
            return nodeError(
                a.node, "inputs mix " + std::string(dtypeName(first.dtype)) + " and " + dtypeName(v.dtype));
        bool ok = static_cast<int>(v.shape.size()) == rank;
        for (int d = 0; ok && d < rank; ++d)
            ok = d == axis || v.shape[d] == first.shape[d];
        if (!ok)
            return nodeError(a.node,
                "input " + std::to_string(k) + " of shape " + shapeToString(v.shape) + " does not match "
                    + shapeToString(first.shape) + " outside axis " + std::to_string(axis));
        out[axis] += v.shape[axis];
    }
    const size_t elem = dtypeSize(first.dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; ++d)
        outer *= out[d];
    for (int d = axis + 1; d < rank; ++d)
        inner *= out[d];
    std::vector<size_t> chunk; // bytes of one outer row of each input
    for (const auto& v : a.inputs)
        chunk.push_back(static_cast<size_t>(v.shape[axis] * inner) * elem);
    const size_t rowBytes = static_cast<size_t>(out[axis] * inner) * elem;
    return makeKernel({ { first.dtype, out } },
        [chunk, rowBytes, outer](const std::vector<const Tensor*>& in, const std::vector<Tensor*>& o) -> Status {
            auto* dst = static_cast<std::byte*>(o[0]->data());
            const int64_t total = static_cast<int64_t>(rowBytes) * outer;
            if (outer < 2 * omp_get_max_threads()) {
                // Few long rows: split each memcpy across threads instead.
                for (int64_t r = 0; r < outer; ++r) {
                    size_t off = 0;
                    for (size_t k = 0; k < chunk.size(); ++k) {
                        copyBytes(dst + r * rowBytes + off, static_cast<const std::byte*>(in[k]->data()) + r * chunk[k],
                            chunk[k]);
                        off += chunk[k];
                    }
                }
                return {};
            }
            parallelRange(outer, total, [&](int64_t b, int64_t e) {
                for (int64_t r = b; r < e; ++r) {
                    size_t off = 0;
                    for (size_t k = 0; k < chunk.size(); ++k) {
                        if (chunk[k])
                            std::memcpy(dst + r * rowBytes + off,
                                static_cast<const std::byte*>(in[k]->data()) + r * chunk[k], chunk[k]);
                        off += chunk[k];
                    }
                }
            });
            return {};
        });
}

KernelResult makeSplit(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 1, 2));
    const ValueDesc& x = a.inputs[0];
    DL_TRY(checkMovable(a, x.dtype));
    const int rank = static_cast<int>(x.shape.size());
    DL_ASSIGN(int axis, normalizeAxis(a.node, a.node.attrInt("axis", 0), rank));
    const int64_t dim = x.shape[axis];
    const int64_t n = static_cast<int64_t>(a.node.outputs.size());
    if (n == 0) return nodeError(a.node, "has no outputs");
    std::vector<int64_t> sizes;
    if (a.opset >= 13 && optionalInput(a, 1)) {
        DL_ASSIGN(sizes, constantInts(a, 1, "split"));
    } else if (a.opset < 13 && a.node.has("split")) {
        sizes = a.node.attrInts("split");
    } else if (a.node.has("num_outputs")) {
        const int64_t parts = a.node.attrInt("num_outputs", n);
        if (parts != n)
            return nodeError(a.node, "num_outputs " + std::to_string(parts) + " differs from the output count");
        // Opset 18: every part has ceil(dim / n) elements except a smaller last one.
        const int64_t step = (dim + n - 1) / n;
        for (int64_t i = 0; i < n; ++i)
            sizes.push_back(std::max<int64_t>(0, std::min(step, dim - i * step)));
    } else {
        if (dim % n != 0)
            return nodeError(a.node,
                "axis size " + std::to_string(dim) + " does not split into " + std::to_string(n) + " equal parts");
        sizes.assign(static_cast<size_t>(n), dim / n);
    }
    if (static_cast<int64_t>(sizes.size()) != n)
        return nodeError(
            a.node, "has " + std::to_string(sizes.size()) + " split sizes for " + std::to_string(n) + " outputs");
    int64_t sum = 0;
    for (int64_t s : sizes) {
        if (s < 0) return nodeError(a.node, "split size " + std::to_string(s) + " is negative");
        sum += s;
    }
    if (sum != dim)
        return nodeError(
            a.node, "split sizes add up to " + std::to_string(sum) + ", axis size is " + std::to_string(dim));
    const size_t elem = dtypeSize(x.dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; ++d)
        outer *= x.shape[d];
    for (int d = axis + 1; d < rank; ++d)
        inner *= x.shape[d];
    std::vector<OutputDesc> outs;
    std::vector<size_t> chunk;
    for (int64_t s : sizes) {
        Shape sh = x.shape;
        sh[axis] = s;
        outs.push_back({ x.dtype, sh });
        chunk.push_back(static_cast<size_t>(s * inner) * elem);
    }
    const size_t rowBytes = static_cast<size_t>(dim * inner) * elem;
    return makeKernel(std::move(outs),
        [chunk, rowBytes, outer](const std::vector<const Tensor*>& in, const std::vector<Tensor*>& o) -> Status {
            const auto* src = static_cast<const std::byte*>(in[0]->data());
            if (outer < 2 * omp_get_max_threads()) {
                for (int64_t r = 0; r < outer; ++r) {
                    size_t off = 0;
                    for (size_t k = 0; k < chunk.size(); ++k) {
                        if (k < o.size() && o[k])
                            copyBytes(static_cast<std::byte*>(o[k]->data()) + r * chunk[k], src + r * rowBytes + off,
                                chunk[k]);
                        off += chunk[k];
                    }
                }
                return {};
            }
            parallelRange(outer, static_cast<int64_t>(rowBytes) * outer, [&](int64_t b, int64_t e) {
                for (int64_t r = b; r < e; ++r) {
                    size_t off = 0;
                    for (size_t k = 0; k < chunk.size(); ++k) {
                        if (k < o.size() && o[k] && chunk[k])
                            std::memcpy(static_cast<std::byte*>(o[k]->data()) + r * chunk[k], src + r * rowBytes + off,
                                chunk[k]);
                        off += chunk[k];
                    }
                }
            });
            return {};
        });
}

KernelResult makeStrided(const KernelArgs& a, const Shape& out, const std::vector<int64_t>& strides, int64_t offset)
{
    StridedCopy copy;
    copy.plan(out, strides, offset, dtypeSize(a.inputs[0].dtype));
    return makeKernel({ { a.inputs[0].dtype, out } },
        [copy](const std::vector<const Tensor*>& in, const std::vector<Tensor*>& o) -> Status {
            copy.run(in[0]->data(), o[0]->data());
            return {};
        });
}

KernelResult makeTranspose(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 1, 1));
    DL_TRY(checkMovable(a, a.inputs[0].dtype));
    const Shape& in = a.inputs[0].shape;
    const int rank = static_cast<int>(in.size());
    std::vector<int64_t> perm = a.node.attrInts("perm");
    if (perm.empty())
        for (int i = rank - 1; i >= 0; --i)
            perm.push_back(i);
    if (static_cast<int>(perm.size()) != rank)
        return nodeError(
            a.node, "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(rank));
    std::vector<bool> seen(rank, false);
    const auto inStrides = denseStrides(in);
    Shape out(rank);
    std::vector<int64_t> strides(rank);
    for (int i = 0; i < rank; ++i) {
        DL_ASSIGN(int p, normalizeAxis(a.node, perm[i], rank));
        if (seen[p]) return nodeError(a.node, "perm repeats axis " + std::to_string(p));
        seen[p] = true;
        out[i] = in[p];
        strides[i] = inStrides[p];
    }
    return makeStrided(a, out, strides, 0);
}

// Source strides that read `in` broadcast (right-aligned) to `out`.
std::vector<int64_t> broadcastStrides(const Shape& in, const Shape& out)
{
    const auto inStrides = denseStrides(in);
    std::vector<int64_t> strides(out.size(), 0);
    const size_t lead = out.size() - in.size();
    for (size_t i = 0; i < in.size(); ++i)
        strides[lead + i] = in[i] == 1 ? 0 : inStrides[i];
    return strides;
}

KernelResult makeExpand(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 2, 2));
    DL_TRY(checkMovable(a, a.inputs[0].dtype));
    DL_ASSIGN(auto shape, constantInts(a, 1, "shape"));
    auto out = broadcastShapes(a.inputs[0].shape, shape);
    if (!out.ok()) return nodeError(a.node, out.error().message);
    return makeStrided(a, *out, broadcastStrides(a.inputs[0].shape, *out), 0);
}

KernelResult makeTile(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 2, 2));
    DL_TRY(checkMovable(a, a.inputs[0].dtype));
    if (a.opset < 6) return nodeUnsupported(a.node, "Tile before opset 6 (tiles and axis inputs) is not supported");
    DL_ASSIGN(auto repeats, constantInts(a, 1, "repeats"));
    const Shape& in = a.inputs[0].shape;
    if (repeats.size() != in.size())
        return nodeError(
            a.node, "has " + std::to_string(repeats.size()) + " repeats for rank " + std::to_string(in.size()));
    // Output index (r, i) along a dimension reads input index i: a [repeat, dim] view with a zero repeat stride.
    const auto inStrides = denseStrides(in);
    Shape view, out;
    std::vector<int64_t> strides;
    for (size_t i = 0; i < in.size(); ++i) {
        if (repeats[i] < 0) return nodeError(a.node, "repeat " + std::to_string(repeats[i]) + " is negative");
        view.push_back(repeats[i]);
        strides.push_back(0);
        view.push_back(in[i]);
        strides.push_back(inStrides[i]);
        out.push_back(in[i] * repeats[i]);
    }
    StridedCopy copy;
    copy.plan(view, strides, 0, dtypeSize(a.inputs[0].dtype));
    return makeKernel({ { a.inputs[0].dtype, out } },
        [copy](const std::vector<const Tensor*>& i, const std::vector<Tensor*>& o) -> Status {
            copy.run(i[0]->data(), o[0]->data());
            return {};
        });
}

} // namespace

void registerTensorOps(OpRegistry& r)
{
    r.add("Reshape", makeReshape);
    r.add("Flatten", makeFlatten);
    r.add("Squeeze", makeSqueeze);
    r.add("Unsqueeze", makeUnsqueeze);
    r.add("Concat", makeConcat);
    r.add("Split", makeSplit);
    r.add("Transpose", makeTranspose);
    r.add("Expand", makeExpand);
    r.add("Tile", makeTile);
    registerIndexingOps(r);
    registerResizeOps(r);
    registerGeneratorOps(r);
}

} // namespace dl::cpu
