// Generating operators: ops that make values rather than move them (Shape, Size, Constant,
// ConstantOfShape, Range, OneHot), the block rearrangements (DepthToSpace, SpaceToDepth) and TopK.

#include "backend/cpu/cpucontext.h"
#include "backend/cpu/tensorops_util.h"

#include <cmath>
#include <string>

namespace dl::cpu::tensorops {

namespace {

using KernelResult = Result<std::unique_ptr<Kernel>>;
using Ins = std::vector<const Tensor*>;
using Outs = std::vector<Tensor*>;

// A kernel that writes a value fixed at creation.
std::unique_ptr<Kernel> makeFixed(Tensor value)
{
    OutputDesc desc { value.dtype(), value.shape() };
    return makeKernel({ desc }, [value](const Ins&, const Outs& o) -> Status {
        copyBytes(o[0]->data(), value.data(), value.bytes());
        return {};
    });
}

Tensor int64Vector(const std::vector<int64_t>& v)
{
    Tensor t(DType::I64, { static_cast<int64_t>(v.size()) });
    if (!v.empty()) std::memcpy(t.data(), v.data(), v.size() * sizeof(int64_t));
    return t;
}

KernelResult makeShape(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 1, 1));
    const Shape& s = a.inputs[0].shape;
    const int64_t rank = static_cast<int64_t>(s.size());
    auto clampEnd = [rank](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
    const int64_t start = clampEnd(a.node.attrInt("start", 0));
    const int64_t end = clampEnd(a.node.attrInt("end", rank));
    std::vector<int64_t> dims;
    for (int64_t i = start; i < end; ++i)
        dims.push_back(s[i]);
    return makeFixed(int64Vector(dims));
}

KernelResult makeSize(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 1, 1));
    Tensor t(DType::I64, {});
    *t.ptr<int64_t>() = numElements(a.inputs[0].shape);
    return makeFixed(t);
}

KernelResult makeConstant(const KernelArgs& a)
{
    const Node& n = a.node;
    if (n.has("value")) {
        const Tensor& t = n.attrs.at("value").t;
        if (!t.valid() || dtypeSize(t.dtype()) == 0)
            return nodeUnsupported(n, std::string("value of type ") + dtypeName(t.dtype()) + " is not supported");
        return makeFixed(t);
    }
    if (n.has("value_float")) {
        Tensor t(DType::F32, {});
        *t.ptr<float>() = n.attrFloat("value_float", 0.0f);
        return makeFixed(t);
    }
    if (n.has("value_floats")) {
        const auto v = n.attrFloats("value_floats");
        Tensor t(DType::F32, { static_cast<int64_t>(v.size()) });
        std::copy(v.begin(), v.end(), t.ptr<float>());
        return makeFixed(t);
    }
    if (n.has("value_int")) {
        Tensor t(DType::I64, {});
        *t.ptr<int64_t>() = n.attrInt("value_int", 0);
        return makeFixed(t);
    }
    if (n.has("value_ints")) return makeFixed(int64Vector(n.attrInts("value_ints")));
    return nodeUnsupported(n, "only value, value_float(s) and value_int(s) constants are supported");
}

KernelResult makeConstantOfShape(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 1, 1));
    DL_ASSIGN(auto dims, constantInts(a, 0, "shape"));
    for (int64_t d : dims)
        if (d < 0) return nodeError(a.node, "shape has a negative dimension");
    Tensor value(DType::F32, { 1 });
    if (a.node.has("value")) {
        value = a.node.attrs.at("value").t;
        if (value.numel() != 1 || dtypeSize(value.dtype()) == 0)
            return nodeError(a.node, "value must be a one-element numeric tensor");
    }
    const size_t elem = dtypeSize(value.dtype());
    uint64_t bits = 0;
    std::memcpy(&bits, value.data(), elem);
    return makeKernel({ { value.dtype(), dims } }, [bits, elem](const Ins&, const Outs& o) -> Status {
        fillElements(o[0]->data(), &bits, elem, o[0]->numel());
        return {};
    });
}

KernelResult makeRange(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 3, 3));
    const DType t = a.inputs[0].dtype;
    for (const auto& v : a.inputs)
        if (v.dtype != t || numElements(v.shape) != 1)
            return nodeError(a.node, "start, limit and delta must be scalars of one type");
    if (t != DType::F32 && t != DType::F64 && t != DType::I16 && t != DType::I32 && t != DType::I64)
        return nodeUnsupported(a.node, std::string("element type ") + dtypeName(t) + " is not supported");
    for (size_t i = 0; i < 3; ++i)
        if (!a.inputs[i].constant) return nodeUnsupported(a.node, "needs constant start, limit and delta");
    Tensor out;
    if (t == DType::F32 || t == DType::F64) {
        const double start = a.inputs[0].constant->toDouble()[0];
        const double limit = a.inputs[1].constant->toDouble()[0];
        const double delta = a.inputs[2].constant->toDouble()[0];
        if (delta == 0.0) return nodeError(a.node, "delta is 0");
        const int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
        out = Tensor(t, { n });
        for (int64_t i = 0; i < n; ++i)
            storeScalar(
                t, start + static_cast<double>(i) * delta, static_cast<std::byte*>(out.data()) + i * dtypeSize(t));
    } else {
        const int64_t start = a.inputs[0].constant->toInt64()[0];
        const int64_t limit = a.inputs[1].constant->toInt64()[0];
        const int64_t delta = a.inputs[2].constant->toInt64()[0];
        if (delta == 0) return nodeError(a.node, "delta is 0");
        const int64_t span = limit - start;
        int64_t n = span / delta;
        if (n * delta != span && (span > 0) == (delta > 0)) ++n;
        n = std::max<int64_t>(0, n);
        Tensor wide(DType::I64, { n });
        for (int64_t i = 0; i < n; ++i)
            wide.ptr<int64_t>()[i] = start + i * delta;
        out = wide.cast(t);
    }
    return makeFixed(out);
}

// A kernel that reads `view` (a dense reshape of the input) through a permutation.
KernelResult makePermutedView(const KernelArgs& a, const Shape& view, const std::vector<int>& perm, const Shape& out)
{
    const auto strides = denseStrides(view);
    Shape dims;
    std::vector<int64_t> st;
    for (int p : perm) {
        dims.push_back(view[p]);
        st.push_back(strides[p]);
    }
    StridedCopy copy;
    copy.plan(dims, st, 0, dtypeSize(a.inputs[0].dtype));
    return makeKernel({ { a.inputs[0].dtype, out } }, [copy](const Ins& i, const Outs& o) -> Status {
        copy.run(i[0]->data(), o[0]->data());
        return {};
    });
}

KernelResult makeDepthToSpace(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 1, 1));
    DL_TRY(checkMovable(a, a.inputs[0].dtype));
    const Shape& x = a.inputs[0].shape;
    const int64_t b = a.node.attrInt("blocksize", 0);
    if (x.size() != 4 || b < 1 || x[1] % (b * b) != 0)
        return nodeError(
            a.node, "needs a 4-D input whose channels divide by blocksize^2 (blocksize " + std::to_string(b) + ")");
    const int64_t c = x[1] / (b * b);
    const Shape out { x[0], c, x[2] * b, x[3] * b };
    const std::string mode = a.node.attrString("mode", "DCR");
    if (mode == "DCR") return makePermutedView(a, { x[0], b, b, c, x[2], x[3] }, { 0, 3, 4, 1, 5, 2 }, out);
    if (mode == "CRD") return makePermutedView(a, { x[0], c, b, b, x[2], x[3] }, { 0, 1, 4, 2, 5, 3 }, out);
    return nodeUnsupported(a.node, "mode '" + mode + "' is not supported");
}

KernelResult makeSpaceToDepth(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 1, 1));
    DL_TRY(checkMovable(a, a.inputs[0].dtype));
    const Shape& x = a.inputs[0].shape;
    const int64_t b = a.node.attrInt("blocksize", 0);
    if (x.size() != 4 || b < 1 || x[2] % b != 0 || x[3] % b != 0)
        return nodeError(a.node, "needs a 4-D input whose height and width divide by blocksize " + std::to_string(b));
    const int64_t h = x[2] / b, w = x[3] / b;
    return makePermutedView(a, { x[0], x[1], h, b, w, b }, { 0, 3, 5, 1, 2, 4 }, { x[0], x[1] * b * b, h, w });
}

KernelResult makeOneHot(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 3, 3));
    const ValueDesc& ind = a.inputs[0];
    const ValueDesc& values = a.inputs[2];
    if (dtypeSize(ind.dtype) == 0 || !visitNumeric(ind.dtype, [](auto) {}))
        return nodeError(a.node, "indices must be numeric");
    if (numElements(values.shape) != 2) return nodeError(a.node, "values must hold two elements (off, on)");
    DL_TRY(checkMovable(a, values.dtype));
    DL_ASSIGN(auto depthValues, constantDoubles(a, 1, "depth"));
    if (depthValues.size() != 1 || depthValues[0] < 1) return nodeError(a.node, "depth must be a positive scalar");
    const int64_t depth = static_cast<int64_t>(depthValues[0]);
    const int rank = static_cast<int>(ind.shape.size());
    int64_t axis = a.node.attrInt("axis", -1);
    if (axis < 0) axis += rank + 1;
    if (axis < 0 || axis > rank)
        return nodeError(a.node, "axis " + std::to_string(a.node.attrInt("axis", -1)) + " is out of range");
    Shape out = ind.shape;
    out.insert(out.begin() + axis, depth);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < rank; ++d)
        (d < axis ? outer : inner) *= ind.shape[d];
    const size_t elem = dtypeSize(values.dtype);
    return makeKernel({ { values.dtype, out } }, [=](const Ins& i, const Outs& o) -> Status {
        const auto* vals = static_cast<const std::byte*>(i[2]->data());
        fillElements(o[0]->data(), vals, elem, o[0]->numel());
        auto* dst = static_cast<std::byte*>(o[0]->data());
        for (int64_t r = 0; r < outer; ++r)
            for (int64_t j = 0; j < inner; ++j) {
                int64_t v = loadIndex(i[0]->dtype(), i[0]->data(), r * inner + j);
                if (v < 0) v += depth;
                if (v >= 0 && v < depth) std::memcpy(dst + ((r * depth + v) * inner + j) * elem, vals + elem, elem);
            }
        return {};
    });
}

template <class T>
void topKSlices(const T* x, T* values, int64_t* indices, int64_t b, int64_t e, int64_t n, int64_t inner, int64_t k,
    bool largest, int64_t* order)
{
    // Ties go to the lower index, as ONNX asks; values compare as doubles only for Half.
    auto value = [&](const T* base, int64_t j) {
        if constexpr (std::is_same_v<T, Half>)
            return halfToFloat(base[j * inner].bits);
        else
            return base[j * inner];
    };
    for (int64_t s = b; s < e; ++s) {
        const int64_t o = s / inner;
        const int64_t in = s - o * inner;
        const T* base = x + o * n * inner + in;
        for (int64_t j = 0; j < n; ++j)
            order[j] = j;
        auto before = [&](int64_t p, int64_t q) {
            const auto vp = value(base, p), vq = value(base, q);
            if (vp == vq) return p < q;
            return largest ? vp > vq : vp < vq;
        };
        std::partial_sort(order, order + k, order + n, before);
        for (int64_t j = 0; j < k; ++j) {
            const int64_t at = (o * k + j) * inner + in;
            values[at] = base[order[j] * inner];
            indices[at] = order[j];
        }
    }
}

KernelResult makeTopK(const KernelArgs& a)
{
    DL_TRY(checkInputs(a, 1, a.opset < 10 ? 1 : 2));
    const ValueDesc& x = a.inputs[0];
    int64_t k = 0;
    if (a.opset < 10) {
        k = a.node.attrInt("k", -1);
    } else {
        DL_ASSIGN(auto kv, constantInts(a, 1, "k"));
        if (kv.size() != 1) return nodeError(a.node, "k must hold one value");
        k = kv[0];
    }
    if (x.dtype == DType::Bool || !visitNumeric(x.dtype, [](auto) {}))
        return nodeUnsupported(a.node, std::string("element type ") + dtypeName(x.dtype) + " is not supported");
    const int rank = static_cast<int>(x.shape.size());
    if (rank == 0) return nodeError(a.node, "input must not be a scalar");
    DL_ASSIGN(int axis, normalizeAxis(a.node, a.node.attrInt("axis", -1), rank));
    const int64_t n = x.shape[axis];
    if (k < 0 || k > n)
        return nodeError(a.node, "k " + std::to_string(k) + " is outside [0, " + std::to_string(n) + "]");
    const bool largest = a.node.attrInt("largest", 1) != 0;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < rank; ++d)
        if (d < axis)
            outer *= x.shape[d];
        else if (d > axis)
            inner *= x.shape[d];
    Shape out = x.shape;
    out[axis] = k;
    const int slots = std::max(a.ctx.threads(), 1);
    auto scratch = std::make_shared<std::vector<int64_t>>(static_cast<size_t>(n * slots));
    // Either output may be left unnamed; the kernel still writes both, the unnamed one to a buffer of its own.
    auto spare = std::make_shared<std::vector<Tensor>>();
    const bool spareValues = a.node.outputs.empty() || a.node.outputs[0].empty();
    const bool spareIndices = a.node.outputs.size() < 2 || a.node.outputs[1].empty();
    spare->push_back(spareValues ? Tensor(x.dtype, out) : Tensor());
    spare->push_back(spareIndices ? Tensor(DType::I64, out) : Tensor());
    const DType dt = x.dtype;
    return makeKernel({ { dt, out }, { DType::I64, out } }, [=](const Ins& i, const Outs& o) -> Status {
        if (k == 0 || outer * inner == 0) return {};
        Tensor* valuesOut = o.size() > 0 && o[0] ? o[0] : &(*spare)[0];
        Tensor* indicesOut = o.size() > 1 && o[1] ? o[1] : &(*spare)[1];
        if (!valuesOut->valid() || !indicesOut->valid())
            return makeError(ErrorCode::Internal, "TopK: an output is not bound");
        const int64_t slices = outer * inner;
        const int64_t bytes = omp_get_max_threads() <= slots ? i[0]->numel() * 8 : 0;
        visitNumeric(dt, [&](auto tag) {
            using T = typename decltype(tag)::type;
            const T* src = static_cast<const T*>(i[0]->data());
            T* vals = static_cast<T*>(valuesOut->data());
            int64_t* idx = indicesOut->ptr<int64_t>();
            parallelRange(slices, bytes, [&](int64_t b, int64_t e) {
                const int slot = std::min(omp_get_thread_num(), slots - 1);
                topKSlices<T>(src, vals, idx, b, e, n, inner, k, largest, scratch->data() + slot * n);
            });
        });
        return {};
    });
}

} // namespace

void registerGeneratorOps(OpRegistry& r)
{
    r.add("Shape", makeShape);
    r.add("Size", makeSize);
    r.add("Constant", makeConstant);
    r.add("ConstantOfShape", makeConstantOfShape);
    r.add("Range", makeRange);
    r.add("DepthToSpace", makeDepthToSpace);
    r.add("SpaceToDepth", makeSpaceToDepth);
    r.add("OneHot", makeOneHot);
    r.add("TopK", makeTopK);
}

} // namespace dl::cpu::tensorops
