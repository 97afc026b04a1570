// Pooling (MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool) and LRN on oneDNN primitives, plus an own
// MaxPool for the optional Indices output, which oneDNN's workspace does not expose in ONNX form.

#include "backend/cpu/dnnlcommon.h"

#include <limits>

namespace dl::cpu {
namespace {

using namespace dnnlx;
using dnnl::algorithm;
using dnnl::prop_kind;

// MaxPool with Indices: flat indices into X, row-major (storage_order 0) or spatially column-major (1).
class MaxPoolIndicesKernel : public Kernel
{
public:
    MaxPoolIndicesKernel(Window w, Shape x, bool columnMajor)
        : m_w(std::move(w))
        , m_x(std::move(x))
        , m_columnMajor(columnMajor)
    { }

    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        const size_t ns = m_w.kernel.size();
        const Shape inSp(m_x.begin() + 2, m_x.end());
        const int64_t planes = m_x[0] * m_x[1], inPlane = numElements(inSp), outPlane = numElements(m_w.outSpatial);
        const int64_t kernelElems = numElements(Shape(m_w.kernel.begin(), m_w.kernel.end()));
        const float* x = in[0]->ptr<float>();
        float* y = out[0]->ptr<float>();
        int64_t* idx = out[1]->ptr<int64_t>();
#pragma omp parallel for schedule(static)
        for (int64_t p = 0; p < planes; ++p) {
            int64_t o[3] = {}, pos[3] = {};
            for (int64_t oi = 0; oi < outPlane; ++oi) {
                for (int64_t r = oi, a = static_cast<int64_t>(ns) - 1; a >= 0; --a) {
                    o[a] = r % m_w.outSpatial[a];
                    r /= m_w.outSpatial[a];
                }
                float best = -std::numeric_limits<float>::infinity();
                int64_t bestAt = -1;
                for (int64_t ki = 0; ki < kernelElems; ++ki) {
                    bool inside = true;
                    for (int64_t r = ki, a = static_cast<int64_t>(ns) - 1; a >= 0; --a) {
                        const int64_t k = r % m_w.kernel[a];
                        r /= m_w.kernel[a];
                        pos[a] = o[a] * m_w.strides[a] - m_w.padBegin[a] + k * m_w.dilations[a];
                        inside = inside && pos[a] >= 0 && pos[a] < inSp[a];
                    }
                    if (!inside) continue;
                    int64_t flat = 0;
                    for (size_t a = 0; a < ns; ++a)
                        flat = flat * inSp[a] + pos[a];
                    const float v = x[p * inPlane + flat];
                    if (bestAt < 0 || v > best) {
                        best = v;
                        if (m_columnMajor) {
                            flat = 0;
                            for (size_t a = ns; a-- > 0;)
                                flat = flat * inSp[a] + pos[a];
                        }
                        bestAt = flat;
                    }
                }
                y[p * outPlane + oi] = best;
                idx[p * outPlane + oi] = p * inPlane + std::max<int64_t>(bestAt, 0);
            }
        }
        return {};
    }

private:
    Window m_w;
    Shape m_x;
    bool m_columnMajor;
};

Result<std::unique_ptr<Kernel>> makePool(const KernelArgs& args, bool isMax)
{
    const Node& node = args.node;
    if (args.inputs.empty() || !args.inputs[0].present()) return nodeError(node, "input X is missing");
    const DType dtype = args.inputs[0].dtype;
    const bool intOk = isMax && (dtype == DType::U8 || dtype == DType::I8);
    if (dtype != DType::F32 && !intOk)
        return nodeUnsupported(node, std::string("input type ") + dtypeName(dtype) + " is not supported");
    const Shape& x = args.inputs[0].shape;
    if (x.size() < 3 || x.size() > 5)
        return nodeUnsupported(node, "input of rank " + std::to_string(x.size()) + " (only 1-D, 2-D and 3-D pooling)");
    if (!node.has("kernel_shape")) return nodeError(node, "kernel_shape is required");
    const Shape inSpatial(x.begin() + 2, x.end());
    const bool ceilMode = node.attrInt("ceil_mode", 0) != 0;
    DL_ASSIGN(Window win, forwardWindow(node, inSpatial, node.attrInts("kernel_shape"), ceilMode));
    Shape y { x[0], x[1] };
    y.insert(y.end(), win.outSpatial.begin(), win.outSpatial.end());

    const bool wantIndices = isMax && node.outputs.size() > 1 && !node.outputs[1].empty();
    if (wantIndices) {
        if (dtype != DType::F32) return nodeUnsupported(node, "the Indices output is supported for float32 only");
        const int64_t order = node.attrInt("storage_order", 0);
        auto k = std::make_unique<MaxPoolIndicesKernel>(win, x, order == 1);
        k->outputs = { { dtype, y }, { DType::I64, y } };
        return std::unique_ptr<Kernel>(std::move(k));
    }

    algorithm alg = algorithm::pooling_max;
    if (!isMax) {
        const bool includePad = node.attrInt("count_include_pad", 0) != 0;
        alg = includePad ? algorithm::pooling_avg_include_padding : algorithm::pooling_avg_exclude_padding;
        const Dims padEnd = win.dnnlPadEnd(inSpatial);
        for (size_t i = 0; i < padEnd.size(); ++i)
            if (includePad && padEnd[i] > win.padEnd[i])
                return nodeUnsupported(node, "count_include_pad with ceil_mode windows past the padding");
    }
    return guarded(node, [&]() -> Result<std::unique_ptr<Kernel>> {
        auto k = std::make_unique<PrimKernel>(args.ctx, node.describe());
        const memory::desc src = plainDesc(x, toDnnl(dtype)), dst = plainDesc(y, toDnnl(dtype));
        dnnl::pooling_v2_forward::desc desc(prop_kind::forward_inference, alg, src, dst, win.dnnlStrides(),
            toDims(Shape(win.kernel.begin(), win.kernel.end())), win.dnnlDilations(), win.dnnlPadBegin(),
            win.dnnlPadEnd(inSpatial));
        dnnl::pooling_v2_forward::primitive_desc pd(desc, userScratchpad(), args.ctx.engine());
        k->bind(DNNL_ARG_SRC, src, PrimKernel::From::Input, 0);
        k->bind(DNNL_ARG_DST, dst, PrimKernel::From::Output, 0);
        k->setPrimitive(pd);
        k->outputs = { { dtype, y } };
        return std::unique_ptr<Kernel>(std::move(k));
    });
}

// Global pooling sees the input as [N, C, S] and pools all of S, whatever the spatial rank.
Result<std::unique_ptr<Kernel>> makeGlobalPool(const KernelArgs& args, bool isMax)
{
    const Node& node = args.node;
    DL_TRY(requireF32(args, 0, "X"));
    const Shape& x = args.inputs[0].shape;
    if (x.size() < 3) return nodeError(node, "input must have rank 3 or more, got " + shapeToString(x));
    const int64_t s = numElements(Shape(x.begin() + 2, x.end()));
    if (s < 1) return nodeUnsupported(node, "empty spatial extent");
    Shape y(x.size(), 1);
    y[0] = x[0];
    y[1] = x[1];
    return guarded(node, [&]() -> Result<std::unique_ptr<Kernel>> {
        auto k = std::make_unique<PrimKernel>(args.ctx, node.describe());
        const memory::desc src = plainDesc({ x[0], x[1], s }), dst = plainDesc({ x[0], x[1], 1 });
        dnnl::pooling_v2_forward::desc desc(prop_kind::forward_inference,
            isMax ? algorithm::pooling_max : algorithm::pooling_avg_exclude_padding, src, dst, { s }, { s }, { 0 },
            { 0 }, { 0 });
        dnnl::pooling_v2_forward::primitive_desc pd(desc, userScratchpad(), args.ctx.engine());
        k->bind(DNNL_ARG_SRC, src, PrimKernel::From::Input, 0);
        k->bind(DNNL_ARG_DST, dst, PrimKernel::From::Output, 0);
        k->setPrimitive(pd);
        k->outputs = { { DType::F32, y } };
        return std::unique_ptr<Kernel>(std::move(k));
    });
}

Result<std::unique_ptr<Kernel>> makeLrn(const KernelArgs& args)
{
    const Node& node = args.node;
    DL_TRY(requireF32(args, 0, "X"));
    const Shape& x = args.inputs[0].shape;
    if (x.size() < 2) return nodeError(node, "input must have rank 2 or more, got " + shapeToString(x));
    const int64_t size = node.attrInt("size", 0);
    if (size < 1) return nodeError(node, "size must be a positive integer");
    const float alpha = node.attrFloat("alpha", 1e-4f), beta = node.attrFloat("beta", 0.75f);
    const float bias = node.attrFloat("bias", 1.0f);
    // Across-channel LRN only looks along C, so any spatial rank folds into one axis.
    Shape shape = x;
    if (x.size() != 4) shape = { x[0], x[1], numElements(Shape(x.begin() + 2, x.end())) };
    return guarded(node, [&]() -> Result<std::unique_ptr<Kernel>> {
        auto k = std::make_unique<PrimKernel>(args.ctx, node.describe());
        const memory::desc md = plainDesc(shape);
        dnnl::lrn_forward::desc desc(
            prop_kind::forward_inference, algorithm::lrn_across_channels, md, size, alpha, beta, bias);
        dnnl::lrn_forward::primitive_desc pd(desc, userScratchpad(), args.ctx.engine());
        k->bind(DNNL_ARG_SRC, md, PrimKernel::From::Input, 0);
        k->bind(DNNL_ARG_DST, md, PrimKernel::From::Output, 0);
        k->setPrimitive(pd);
        k->outputs = { { DType::F32, x } };
        return std::unique_ptr<Kernel>(std::move(k));
    });
}

} // namespace

void registerDnnlPoolOps(OpRegistry& r)
{
    r.add("MaxPool", [](const KernelArgs& a) { return makePool(a, true); });
    r.add("AveragePool", [](const KernelArgs& a) { return makePool(a, false); });
    r.add("GlobalMaxPool", [](const KernelArgs& a) { return makeGlobalPool(a, true); });
    r.add("GlobalAveragePool", [](const KernelArgs& a) { return makeGlobalPool(a, false); });
    r.add("LRN", makeLrn);
}

} // namespace dl::cpu
