// Indexing operators: ops that pick elements by position or by index: Slice, Pad, Gather,
// GatherElements, GatherND, ScatterElements (and the older Scatter), ScatterND, Trilu.

#include "backend/cpu/tensorops_util.h"

#include <string>

namespace dl::cpu::tensorops {

namespace {

using KernelResult = Result<std::unique_ptr<Kernel>>;
using Ins = std::vector<const Tensor*>;
using Outs = std::vector<Tensor*>;

bool isIndexType(DType t)
{
    return t == DType::I32 || t == DType::I64;
}

KernelResult makeSlice(const KernelArgs& a)
{
    const ValueDesc& x = a.inputs.empty() ? ValueDesc {} : a.inputs[0];
    std::vector<int64_t> starts, ends, axes, steps;
    if (a.opset < 10) {
        DL_TRY(checkInputs(a, 1, 1));
        starts = a.node.attrInts("starts");
        ends = a.node.attrInts("ends");
        axes = a.node.attrInts("axes");
    } else {
        DL_TRY(checkInputs(a, 3, 5));
        DL_ASSIGN(starts, constantInts(a, 1, "starts"));
        DL_ASSIGN(ends, constantInts(a, 2, "ends"));
        if (optionalInput(a, 3)) {
            DL_ASSIGN(axes, constantInts(a, 3, "axes"));
        }
        if (optionalInput(a, 4)) {
            DL_ASSIGN(steps, constantInts(a, 4, "steps"));
        }
    }
    DL_TRY(checkMovable(a, x.dtype));
    const Shape& in = x.shape;
    const int rank = static_cast<int>(in.size());
    if (axes.empty())
        for (size_t i = 0; i < starts.size(); ++i)
            axes.push_back(static_cast<int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
        return nodeError(a.node, "starts, ends, axes and steps differ in length");
    const auto inStrides = denseStrides(in);
    Shape out = in;
    std::vector<int64_t> strides = inStrides;
    std::vector<bool> seen(rank, false);
    int64_t offset = 0;
    for (size_t k = 0; k < starts.size(); ++k) {
        DL_ASSIGN(int ax, normalizeAxis(a.node, axes[k], rank));
        if (seen[ax]) return nodeError(a.node, "axis " + std::to_string(axes[k]) + " is repeated");
        seen[ax] = true;
        const int64_t step = steps[k];
        if (step == 0) return nodeError(a.node, "step 0 on axis " + std::to_string(axes[k]));
        const int64_t d = in[ax];
        int64_t s = starts[k] < 0 ? starts[k] + d : starts[k];
        int64_t e = ends[k] < 0 ? ends[k] + d : ends[k];
        int64_t count = 0;
        if (d == 0) {
            s = 0;
        } else if (step > 0) {
            s = std::clamp<int64_t>(s, 0, d);
            e = std::clamp<int64_t>(e, 0, d);
            count = e > s ? (e - s - 1) / step + 1 : 0;
        } else {
            s = std::clamp<int64_t>(s, 0, d - 1);
            e = std::clamp<int64_t>(e, -1, d - 1);
            count = s > e ? (s - e - 1) / -step + 1 : 0;
        }
        out[ax] = count;
        if (count > 0) offset += s * inStrides[ax];
        strides[ax] = inStrides[ax] * step;
    }
    StridedCopy copy;
    copy.plan(out, strides, offset, dtypeSize(x.dtype));
    return makeKernel({ { x.dtype, out } }, [copy](const Ins& i, const Outs& o) -> Status {
        copy.run(i[0]->data(), o[0]->data());
        return {};
    });
}

// Where output index o along a padded dimension of input size n reads from; -1 for the constant.
int64_t padSource(const std::string& mode, int64_t o, int64_t begin, int64_t n)
{
    int64_t i = o - begin;
    if (i >= 0 && i < n) return i;
    if (mode == "constant") return -1;
    if (mode == "edge") return i < 0 ? 0 : n - 1;
    if (mode == "wrap") return ((i % n) + n) % n;
    // reflect: mirror about the edge elements, which are not repeated
    if (n == 1) return 0;
    const int64_t period = 2 * (n - 1);
    i = ((i % period) + period) % period;
    return i < n ? i : period - i;
}

struct PadPlan
{
    Shape out;
    std::vector<std::vector<int64_t>> maps; // per dimension: output index → input index or -1
    std::vector<int64_t> inStrides;
    int64_t lo = 0, hi = 0; // last dimension: [lo, hi) is a contiguous run from input index maps.back()[lo]
    size_t elem = 0;
    uint64_t value = 0; // the constant's bytes when it comes from an attribute
    bool valueInput = false;
};

Status runPad(const PadPlan& p, const Tensor& x, const Tensor* valueTensor, Tensor& y)
{
    if (y.numel() == 0) return {};
    uint64_t value = p.value;
    if (p.valueInput && valueTensor && valueTensor->numel() > 0) std::memcpy(&value, valueTensor->data(), p.elem);
    const int rank = static_cast<int>(p.out.size());
    const int64_t inner = p.out[rank - 1];
    const int64_t rows = inner == 0 ? 0 : y.numel() / inner;
    const auto& last = p.maps[rank - 1];
    visitBySize(p.elem, [&](auto tag) {
        using T = typename decltype(tag)::type;
        T v;
        std::memcpy(&v, &value, sizeof(T));
        const T* src = static_cast<const T*>(x.data());
        T* dst = static_cast<T*>(y.data());
        parallelRange(rows, static_cast<int64_t>(y.bytes()), [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; ++r) {
                T* out = dst + r * inner;
                int64_t off = 0;
                int64_t rem = r;
                bool constant = false;
                for (int d = rank - 2; d >= 0; --d) {
                    const int64_t q = rem / p.out[d];
                    const int64_t i = p.maps[d][rem - q * p.out[d]];
                    constant = constant || i < 0;
                    off += i * p.inStrides[d];
                    rem = q;
                }
                if (constant) {
                    std::fill(out, out + inner, v);
                    continue;
                }
                const T* in = src + off;
                for (int64_t o = 0; o < p.lo; ++o)
                    out[o] = last[o] < 0 ? v : in[last[o]];
                if (p.hi > p.lo) std::memcpy(out + p.lo, in + last[p.lo], static_cast<size_t>(p.hi - p.lo) * sizeof(T));
                for (int64_t o = std::max(p.hi, p.lo); o < inner; ++o)
                    out[o] = last[o] < 0 ? v : in[last[o]];
            }
        });
    });
    return {};
}

KernelResult makePad(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 1, a.opset < 11 ? 1 : 4));
    const ValueDesc& x = a.inputs[0];
    DL_TRY(checkMovable(a, x.dtype));
    const int rank = static_cast<int>(x.shape.size());
    const std::string mode = a.node.attrString("mode", "constant");
    if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
        return nodeUnsupported(a.node, "pad mode '" + mode + "' is not supported");
    PadPlan p;
    p.elem = dtypeSize(x.dtype);
    std::vector<int64_t> pads, axes;
    if (a.opset < 11) {
        pads = a.node.attrInts(a.node.has("pads") ? "pads" : "paddings");
        if (!storeScalar(x.dtype, a.node.attrFloat("value", 0.0f), &p.value) && mode == "constant")
            return nodeUnsupported(a.node, std::string("constant padding of ") + dtypeName(x.dtype));
    } else {
        DL_ASSIGN(pads, constantInts(a, 1, "pads"));
        if (const ValueDesc* v = optionalInput(a, 2)) {
            if (v->dtype != x.dtype) return nodeError(a.node, "constant_value type differs from the data's");
            p.valueInput = true;
        }
        if (optionalInput(a, 3)) {
            DL_ASSIGN(axes, constantInts(a, 3, "axes"));
        }
    }
    if (axes.empty())
        for (int i = 0; i < rank; ++i)
            axes.push_back(i);
    if (pads.size() != 2 * axes.size())
        return nodeError(
            a.node, "has " + std::to_string(pads.size()) + " pads for " + std::to_string(axes.size()) + " axes");
    if (rank == 0)
        return makeKernel({ { x.dtype, {} } }, [](const Ins& i, const Outs& o) -> Status {
            copyBytes(o[0]->data(), i[0]->data(), i[0]->bytes());
            return {};
        });
    std::vector<int64_t> begin(rank, 0), end(rank, 0);
    for (size_t k = 0; k < axes.size(); ++k) {
        DL_ASSIGN(int ax, normalizeAxis(a.node, axes[k], rank));
        begin[ax] = pads[k];
        end[ax] = pads[k + axes.size()];
    }
    p.inStrides = denseStrides(x.shape);
    for (int d = 0; d < rank; ++d) {
        const int64_t n = x.shape[d];
        const int64_t o = n + begin[d] + end[d];
        if (o < 0) return nodeError(a.node, "pads remove more than axis " + std::to_string(d) + " holds");
        if (n == 0 && o > 0 && mode != "constant") return nodeError(a.node, "cannot " + mode + "-pad an empty axis");
        p.out.push_back(o);
        std::vector<int64_t> map(static_cast<size_t>(o));
        for (int64_t i = 0; i < o; ++i)
            map[i] = padSource(mode, i, begin[d], n);
        p.maps.push_back(std::move(map));
    }
    const int64_t inner = p.out.back();
    p.lo = std::clamp<int64_t>(begin.back(), 0, inner);
    p.hi = std::clamp<int64_t>(begin.back() + x.shape.back(), p.lo, inner);
    return makeKernel({ { x.dtype, p.out } },
        [p](const Ins& i, const Outs& o) -> Status { return runPad(p, *i[0], i.size() > 2 ? i[2] : nullptr, *o[0]); });
}

KernelResult makeGather(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 2, 2));
    const ValueDesc& x = a.inputs[0];
    const ValueDesc& ind = a.inputs[1];
    DL_TRY(checkMovable(a, x.dtype));
    if (!isIndexType(ind.dtype))
        return nodeError(a.node, std::string("indices must be int32 or int64, got ") + dtypeName(ind.dtype));
    const int rank = static_cast<int>(x.shape.size());
    if (rank == 0) return nodeError(a.node, "cannot gather from a scalar");
    DL_ASSIGN(int axis, normalizeAxis(a.node, a.node.attrInt("axis", 0), rank));
    Shape out(x.shape.begin(), x.shape.begin() + axis);
    out.insert(out.end(), ind.shape.begin(), ind.shape.end());
    out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < rank; ++d)
        if (d < axis)
            outer *= x.shape[d];
        else if (d > axis)
            inner *= x.shape[d];
    const int64_t dim = x.shape[axis];
    const size_t elem = dtypeSize(x.dtype);
    const std::string who = a.node.describe();
    return makeKernel({ { x.dtype, out } }, [=](const Ins& i, const Outs& o) -> Status {
        const int64_t n = i[1]->numel();
        const DType it = i[1]->dtype();
        const void* idx = i[1]->data();
        for (int64_t j = 0; j < n; ++j) {
            const int64_t v = loadIndex(it, idx, j);
            if (v < -dim || v >= dim)
                return invalid(
                    who + ": index " + std::to_string(v) + " is out of range for axis size " + std::to_string(dim));
        }
        const auto* src = static_cast<const std::byte*>(i[0]->data());
        auto* dst = static_cast<std::byte*>(o[0]->data());
        const size_t sliceBytes = static_cast<size_t>(inner) * elem;
        parallelRange(outer * n, static_cast<int64_t>(o[0]->bytes()), [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; ++r) {
                const int64_t oi = r / n;
                int64_t v = loadIndex(it, idx, r - oi * n);
                if (v < 0) v += dim;
                std::memcpy(dst + r * sliceBytes, src + (oi * dim + v) * sliceBytes, sliceBytes);
            }
        });
        return {};
    });
}

// Offset into `shape`-strided data of element `linear` of `indexShape`, with the coordinate on `axis` replaced.
struct AxisAddress
{
    Shape indexShape;
    std::vector<int64_t> dataStrides;
    int axis = 0;
    int64_t dim = 0;

    // -1 when the index is out of range.
    int64_t offset(int64_t linear, int64_t index) const
    {
        if (index < 0) index += dim;
        if (index < 0 || index >= dim) return -1;
        int64_t off = 0;
        for (int d = static_cast<int>(indexShape.size()) - 1; d >= 0; --d) {
            const int64_t q = linear / indexShape[d];
            off += (d == axis ? index : linear - q * indexShape[d]) * dataStrides[d];
            linear = q;
        }
        return off;
    }
};

Result<AxisAddress> elementsAddress(const KernelArgs& a, const ValueDesc& data, const ValueDesc& ind)
{
    if (!isIndexType(ind.dtype))
        return nodeError(a.node, std::string("indices must be int32 or int64, got ") + dtypeName(ind.dtype));
    const int rank = static_cast<int>(data.shape.size());
    if (static_cast<int>(ind.shape.size()) != rank || rank == 0)
        return nodeError(a.node, "indices rank differs from the data's");
    AxisAddress addr;
    DL_ASSIGN(addr.axis, normalizeAxis(a.node, a.node.attrInt("axis", 0), rank));
    for (int d = 0; d < rank; ++d)
        if (d != addr.axis && ind.shape[d] > data.shape[d])
            return nodeError(a.node,
                "indices shape " + shapeToString(ind.shape) + " exceeds data shape " + shapeToString(data.shape));
    addr.indexShape = ind.shape;
    addr.dataStrides = denseStrides(data.shape);
    addr.dim = data.shape[addr.axis];
    return addr;
}

KernelResult makeGatherElements(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 2, 2));
    DL_TRY(checkMovable(a, a.inputs[0].dtype));
    DL_ASSIGN(AxisAddress addr, elementsAddress(a, a.inputs[0], a.inputs[1]));
    const size_t elem = dtypeSize(a.inputs[0].dtype);
    const std::string who = a.node.describe();
    return makeKernel({ { a.inputs[0].dtype, a.inputs[1].shape } }, [=](const Ins& i, const Outs& o) -> Status {
        const int64_t n = i[1]->numel();
        bool bad = false;
        visitBySize(elem, [&](auto tag) {
            using T = typename decltype(tag)::type;
            const T* src = static_cast<const T*>(i[0]->data());
            T* dst = static_cast<T*>(o[0]->data());
            for (int64_t j = 0; j < n; ++j) {
                const int64_t off = addr.offset(j, loadIndex(i[1]->dtype(), i[1]->data(), j));
                if (off < 0) {
                    bad = true;
                    return;
                }
                dst[j] = src[off];
            }
        });
        if (bad) return invalid(who + ": an index is out of range for axis size " + std::to_string(addr.dim));
        return {};
    });
}

enum class Reduction { None, Add, Mul, Max, Min };

Result<Reduction> parseReduction(const KernelArgs& a)
{
    const std::string r = a.node.attrString("reduction", "none");
    if (r == "none") return Reduction::None;
    if (r == "add") return Reduction::Add;
    if (r == "mul") return Reduction::Mul;
    if (r == "max") return Reduction::Max;
    if (r == "min") return Reduction::Min;
    return nodeUnsupported(a.node, "reduction '" + r + "' is not supported");
}

// Combines `count` elements of `upd` into `dst` (both of type t).
void combine(Reduction red, DType t, void* dst, const void* upd, int64_t count)
{
    if (red == Reduction::None) {
        std::memcpy(dst, upd, static_cast<size_t>(count) * dtypeSize(t));
        return;
    }
    visitNumeric(t, [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* d = static_cast<T*>(dst);
        const T* u = static_cast<const T*>(upd);
        for (int64_t k = 0; k < count; ++k) {
            const double x = toDouble(d[k]);
            const double y = toDouble(u[k]);
            double r = x;
            switch (red) {
            case Reduction::Add:
                r = x + y;
                break;
            case Reduction::Mul:
                r = x * y;
                break;
            case Reduction::Max:
                r = std::max(x, y);
                break;
            case Reduction::Min:
                r = std::min(x, y);
                break;
            case Reduction::None:
                break;
            }
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> && sizeof(T) == 8) {
                // Through double loses 64-bit integers' low bits: redo exactly.
                if (red == Reduction::Add)
                    d[k] = static_cast<T>(d[k] + u[k]);
                else if (red == Reduction::Mul)
                    d[k] = static_cast<T>(d[k] * u[k]);
                else
                    d[k] = red == Reduction::Max ? std::max(d[k], u[k]) : std::min(d[k], u[k]);
            } else {
                d[k] = fromDouble<T>(r);
            }
        }
    });
}

KernelResult makeScatterElements(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 3, 3));
    const ValueDesc& data = a.inputs[0];
    DL_TRY(checkMovable(a, data.dtype));
    DL_ASSIGN(AxisAddress addr, elementsAddress(a, data, a.inputs[1]));
    if (a.inputs[2].shape != a.inputs[1].shape || a.inputs[2].dtype != data.dtype)
        return nodeError(a.node, "updates must match the indices' shape and the data's type");
    DL_ASSIGN(Reduction red, parseReduction(a));
    if (red != Reduction::None && (data.dtype == DType::Bool || !visitNumeric(data.dtype, [](auto) {})))
        return nodeUnsupported(a.node, std::string("reduction on ") + dtypeName(data.dtype));
    const size_t elem = dtypeSize(data.dtype);
    const DType dt = data.dtype;
    const std::string who = a.node.describe();
    return makeKernel({ { data.dtype, data.shape } }, [=](const Ins& i, const Outs& o) -> Status {
        copyBytes(o[0]->data(), i[0]->data(), i[0]->bytes());
        const int64_t n = i[1]->numel();
        auto* dst = static_cast<std::byte*>(o[0]->data());
        const auto* upd = static_cast<const std::byte*>(i[2]->data());
        for (int64_t j = 0; j < n; ++j) {
            const int64_t off = addr.offset(j, loadIndex(i[1]->dtype(), i[1]->data(), j));
            if (off < 0) return invalid(who + ": an index is out of range for axis size " + std::to_string(addr.dim));
            combine(red, dt, dst + off * elem, upd + j * elem, 1);
        }
        return {};
    });
}

// Shared layout of GatherND and ScatterND: `indices` [..., k] address slices of `data` after `batch` dimensions.
struct NdAddress
{
    int64_t batches = 1; // product of the batch dimensions
    int64_t tuplesPerBatch = 0;
    int64_t k = 0;
    int64_t slice = 1; // elements per addressed slice
    int64_t batchStride = 0; // data elements per batch
    std::vector<int64_t> dims, strides; // the k addressed data dimensions

    // Data element offset of tuple t (a global tuple number); -1 when out of range.
    int64_t offset(DType it, const void* ind, int64_t t) const
    {
        int64_t off = (t / tuplesPerBatch) * batchStride;
        for (int64_t j = 0; j < k; ++j) {
            int64_t v = loadIndex(it, ind, t * k + j);
            if (v < 0) v += dims[j];
            if (v < 0 || v >= dims[j]) return -1;
            off += v * strides[j];
        }
        return off;
    }
};

Result<NdAddress> ndAddress(const KernelArgs& a, const ValueDesc& data, const ValueDesc& ind, int64_t batch)
{
    if (!isIndexType(ind.dtype))
        return nodeError(a.node, std::string("indices must be int32 or int64, got ") + dtypeName(ind.dtype));
    const int64_t r = static_cast<int64_t>(data.shape.size());
    const int64_t q = static_cast<int64_t>(ind.shape.size());
    if (q < 1 || batch < 0 || batch >= std::min(r, q))
        return nodeError(a.node, "batch_dims " + std::to_string(batch) + " does not fit the ranks");
    NdAddress addr;
    addr.k = ind.shape.back();
    if (addr.k < 1 || batch + addr.k > r)
        return nodeError(
            a.node, "index tuples of length " + std::to_string(addr.k) + " do not fit data rank " + std::to_string(r));
    for (int64_t d = 0; d < batch; ++d) {
        if (data.shape[d] != ind.shape[d]) return nodeError(a.node, "batch dimensions of data and indices differ");
        addr.batches *= data.shape[d];
    }
    const auto strides = denseStrides(data.shape);
    addr.batchStride = batch == 0 ? numElements(data.shape) : strides[batch - 1];
    for (int64_t j = 0; j < addr.k; ++j) {
        addr.dims.push_back(data.shape[batch + j]);
        addr.strides.push_back(strides[batch + j]);
    }
    for (int64_t d = batch + addr.k; d < r; ++d)
        addr.slice *= data.shape[d];
    addr.tuplesPerBatch = 1;
    for (int64_t d = batch; d < q - 1; ++d)
        addr.tuplesPerBatch *= ind.shape[d];
    return addr;
}

KernelResult makeGatherND(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 2, 2));
    const ValueDesc& data = a.inputs[0];
    const ValueDesc& ind = a.inputs[1];
    DL_TRY(checkMovable(a, data.dtype));
    const int64_t batch = a.node.attrInt("batch_dims", 0);
    DL_ASSIGN(NdAddress addr, ndAddress(a, data, ind, batch));
    Shape out(ind.shape.begin(), ind.shape.end() - 1);
    out.insert(out.end(), data.shape.begin() + batch + addr.k, data.shape.end());
    const size_t sliceBytes = static_cast<size_t>(addr.slice) * dtypeSize(data.dtype);
    const size_t elem = dtypeSize(data.dtype);
    const std::string who = a.node.describe();
    return makeKernel({ { data.dtype, out } }, [=](const Ins& i, const Outs& o) -> Status {
        const int64_t tuples = addr.batches * addr.tuplesPerBatch;
        const auto* src = static_cast<const std::byte*>(i[0]->data());
        auto* dst = static_cast<std::byte*>(o[0]->data());
        for (int64_t t = 0; t < tuples; ++t) {
            const int64_t off = addr.offset(i[1]->dtype(), i[1]->data(), t);
            if (off < 0) return invalid(who + ": index tuple " + std::to_string(t) + " is out of range");
            std::memcpy(dst + t * sliceBytes, src + off * elem, sliceBytes);
        }
        return {};
    });
}

KernelResult makeScatterND(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 3, 3));
    const ValueDesc& data = a.inputs[0];
    DL_TRY(checkMovable(a, data.dtype));
    DL_ASSIGN(NdAddress addr, ndAddress(a, data, a.inputs[1], 0));
    DL_ASSIGN(Reduction red, parseReduction(a));
    if (red != Reduction::None && (data.dtype == DType::Bool || !visitNumeric(data.dtype, [](auto) {})))
        return nodeUnsupported(a.node, std::string("reduction on ") + dtypeName(data.dtype));
    if (a.inputs[2].dtype != data.dtype
        || a.inputs[2].shape.size() + 1 + addr.k != a.inputs[1].shape.size() + data.shape.size())
        return nodeError(a.node, "updates shape " + shapeToString(a.inputs[2].shape) + " does not fit");
    const size_t elem = dtypeSize(data.dtype);
    const DType dt = data.dtype;
    const std::string who = a.node.describe();
    return makeKernel({ { data.dtype, data.shape } }, [=](const Ins& i, const Outs& o) -> Status {
        copyBytes(o[0]->data(), i[0]->data(), i[0]->bytes());
        const int64_t tuples = addr.tuplesPerBatch;
        auto* dst = static_cast<std::byte*>(o[0]->data());
        const auto* upd = static_cast<const std::byte*>(i[2]->data());
        for (int64_t t = 0; t < tuples; ++t) {
            const int64_t off = addr.offset(i[1]->dtype(), i[1]->data(), t);
            if (off < 0) return invalid(who + ": index tuple " + std::to_string(t) + " is out of range");
            combine(red, dt, dst + off * elem, upd + t * addr.slice * elem, addr.slice);
        }
        return {};
    });
}

KernelResult makeTrilu(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 1, 2));
    const ValueDesc& x = a.inputs[0];
    DL_TRY(checkMovable(a, x.dtype));
    if (x.shape.size() < 2) return nodeError(a.node, "input must have rank 2 or more");
    if (const ValueDesc* k = optionalInput(a, 1); k && (!isIndexType(k->dtype) || numElements(k->shape) != 1))
        return nodeError(a.node, "k must be an integer scalar");
    const bool upper = a.node.attrInt("upper", 1) != 0;
    const int64_t rows = x.shape[x.shape.size() - 2];
    const int64_t cols = x.shape.back();
    const size_t elem = dtypeSize(x.dtype);
    return makeKernel({ { x.dtype, x.shape } }, [=](const Ins& i, const Outs& o) -> Status {
        const int64_t k = i.size() > 1 && i[1] ? loadIndex(i[1]->dtype(), i[1]->data(), 0) : 0;
        const int64_t mats = rows * cols == 0 ? 0 : i[0]->numel() / (rows * cols);
        const auto* src = static_cast<const std::byte*>(i[0]->data());
        auto* dst = static_cast<std::byte*>(o[0]->data());
        parallelRange(mats * rows, static_cast<int64_t>(o[0]->bytes()), [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; ++r) {
                const int64_t row = r % rows;
                // Kept columns: j >= row + k (upper) or j <= row + k (lower).
                const int64_t from = upper ? std::clamp<int64_t>(row + k, 0, cols) : 0;
                const int64_t to = upper ? cols : std::clamp<int64_t>(row + k + 1, 0, cols);
                std::byte* out = dst + r * cols * elem;
                const std::byte* in = src + r * cols * elem;
                std::memset(out, 0, static_cast<size_t>(cols) * elem);
                if (to > from) std::memcpy(out + from * elem, in + from * elem, static_cast<size_t>(to - from) * elem);
            }
        });
        return {};
    });
}

} // namespace

void registerIndexingOps(OpRegistry& r)
{
    r.add("Slice", makeSlice);
    r.add("Pad", makePad);
    r.add("Gather", makeGather);
    r.add("GatherElements", makeGatherElements);
    r.add("GatherND", makeGatherND);
    r.add("ScatterElements", makeScatterElements);
    r.add("Scatter", makeScatterElements);
    r.add("ScatterND", makeScatterND);
    r.add("Trilu", makeTrilu);
}

} // namespace dl::cpu::tensorops
