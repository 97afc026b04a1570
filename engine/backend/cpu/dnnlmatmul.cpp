// Gemm and MatMul on the oneDNN matmul primitive. A constant B is packed once into the layout oneDNN prefers.

#include "backend/cpu/dnnlcommon.h"

#include <cmath>

namespace dl::cpu {
namespace {

using namespace dnnlx;
using dnnl::algorithm;
using tag = memory::format_tag;
using dt = memory::data_type;

// Gemm whose C is not a constant oneDNN bias: C is broadcast into Y first and added by a sum post-op,
// which scales it by beta after alpha has scaled A*B.
class GemmKernel : public PrimKernel
{
public:
    using PrimKernel::PrimKernel;

    int64_t m_m = 0, m_n = 0;
    Shape m_c; // C's shape as rank 2, empty when there is no C to copy
    int m_cPacked = -1; // C read from packed (a constant that could not be a bias), else from input 2

protected:
    Status before(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        if (m_c.empty()) return {};
        const float* c = m_cPacked >= 0 ? packed[m_cPacked].ptr<float>() : in[2]->ptr<float>();
        float* y = out[0]->ptr<float>();
        const int64_t rs = m_c[0] == 1 ? 0 : m_c[1], cs = m_c[1] == 1 ? 0 : 1;
        for (int64_t i = 0; i < m_m; ++i)
            for (int64_t j = 0; j < m_n; ++j)
                y[i * m_n + j] = c[i * rs + j * cs];
        return {};
    }
};

Result<std::unique_ptr<Kernel>> makeGemm(const KernelArgs& args)
{
    const Node& node = args.node;
    DL_TRY(requireF32(args, 0, "A"));
    DL_TRY(requireF32(args, 1, "B"));
    const Shape& a = args.inputs[0].shape;
    const Shape& b = args.inputs[1].shape;
    if (a.size() != 2 || b.size() != 2)
        return nodeError(node, "A and B must be matrices, got " + shapeToString(a) + " and " + shapeToString(b));
    const bool transA = node.attrInt("transA", 0) != 0, transB = node.attrInt("transB", 0) != 0;
    const float alpha = node.attrFloat("alpha", 1.0f), beta = node.attrFloat("beta", 1.0f);
    const int64_t m = transA ? a[1] : a[0], k = transA ? a[0] : a[1];
    const int64_t kb = transB ? b[1] : b[0], n = transB ? b[0] : b[1];
    if (k != kb) return nodeError(node, "inner dimensions differ: A " + shapeToString(a) + ", B " + shapeToString(b));
    if (m < 1 || n < 1 || k < 1) return nodeUnsupported(node, "empty matrices");

    const bool hasC = args.inputs.size() > 2 && args.inputs[2].present() && beta != 0.0f;
    Shape c2;
    if (hasC) {
        DL_TRY(requireF32(args, 2, "C"));
        const Shape& c = args.inputs[2].shape;
        if (c.size() > 2)
            return nodeError(node, "C of rank " + std::to_string(c.size()) + " does not broadcast to a matrix");
        c2 = c;
        while (c2.size() < 2)
            c2.insert(c2.begin(), 1);
        if ((c2[0] != 1 && c2[0] != m) || (c2[1] != 1 && c2[1] != n))
            return nodeError(node, "C " + shapeToString(c) + " does not broadcast to " + shapeToString({ m, n }));
    }
    const Tensor* bConst = args.inputs[1].constant;
    const Tensor* cConst = hasC ? args.inputs[2].constant : nullptr;
    // oneDNN adds the bias before the output scale, so a constant C becomes the bias beta/alpha * C.
    const bool cAsBias = cConst && alpha != 0.0f && std::isfinite(beta / alpha);

    return guarded(node, [&]() -> Result<std::unique_ptr<Kernel>> {
        auto kern = std::make_unique<GemmKernel>(args.ctx, node.describe());
        dnnl::engine& eng = args.ctx.engine();
        const memory::desc src({ m, k }, dt::f32, transA ? Dims { 1, m } : Dims { k, 1 });
        const memory::desc weiPlain({ k, n }, dt::f32, transB ? Dims { 1, k } : Dims { n, 1 });
        const memory::desc wei = bConst ? memory::desc({ k, n }, dt::f32, tag::any) : weiPlain;
        const memory::desc dst = plainDesc({ m, n });
        const memory::desc biasMd = plainDesc(c2);

        dnnl::primitive_attr attr = userScratchpad();
        if (alpha != 1.0f) attr.set_output_scales(0, { alpha });
        if (hasC && !cAsBias) {
            dnnl::post_ops po;
            po.append_sum(beta);
            attr.set_post_ops(po);
        }
        const auto primitive = [&](const memory::desc& w) {
            return dnnl::matmul::primitive_desc(
                cAsBias ? dnnl::matmul::desc(src, w, biasMd, dst) : dnnl::matmul::desc(src, w, dst), attr, eng);
        };
        dnnl::matmul::primitive_desc pd = primitive(wei);
        if (bConst && padsWeights(pd.weights_desc(), weiPlain)) pd = primitive(weiPlain);

        kern->bind(DNNL_ARG_SRC, src, PrimKernel::From::Input, 0);
        if (bConst) {
            kern->bind(DNNL_ARG_WEIGHTS, pd.weights_desc(), PrimKernel::From::Packed, kern->packed.size());
            kern->packed.push_back(packWeights(args.ctx, weiPlain, bConst->data(), pd.weights_desc()));
        } else {
            kern->bind(DNNL_ARG_WEIGHTS, weiPlain, PrimKernel::From::Input, 1);
        }
        if (cAsBias) {
            Tensor bias(DType::F32, c2);
            const float s = beta / alpha;
            const float* c = cConst->ptr<float>();
            for (int64_t i = 0; i < bias.numel(); ++i)
                bias.ptr<float>()[i] = s * c[i];
            kern->bind(DNNL_ARG_BIAS, biasMd, PrimKernel::From::Packed, kern->packed.size());
            kern->packed.push_back(std::move(bias));
        } else if (hasC) {
            kern->m_c = c2;
            if (cConst) {
                kern->m_cPacked = static_cast<int>(kern->packed.size());
                kern->packed.push_back(cConst->clone());
            }
        }
        kern->bind(DNNL_ARG_DST, dst, PrimKernel::From::Output, 0);
        kern->setPrimitive(pd);
        kern->m_m = m;
        kern->m_n = n;
        kern->m_flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
        kern->outputs = { { DType::F32, { m, n } } };
        return std::unique_ptr<Kernel>(std::move(kern));
    });
}

Result<std::unique_ptr<Kernel>> makeMatMul(const KernelArgs& args)
{
    const Node& node = args.node;
    DL_TRY(requireF32(args, 0, "A"));
    DL_TRY(requireF32(args, 1, "B"));
    Shape a = args.inputs[0].shape, b = args.inputs[1].shape;
    if (a.empty() || b.empty()) return nodeError(node, "MatMul operands must have rank 1 or more");
    const bool vecA = a.size() == 1, vecB = b.size() == 1;
    if (vecA) a.insert(a.begin(), 1);
    if (vecB) b.push_back(1);
    const size_t rank = std::max(a.size(), b.size());
    if (rank > DNNL_MAX_NDIMS)
        return nodeUnsupported(node, "rank " + std::to_string(rank) + " is beyond oneDNN's limit");
    while (a.size() < rank)
        a.insert(a.begin(), 1);
    while (b.size() < rank)
        b.insert(b.begin(), 1);
    const int64_t m = a[rank - 2], k = a[rank - 1], n = b[rank - 1];
    if (b[rank - 2] != k)
        return nodeError(node,
            "inner dimensions differ: " + shapeToString(args.inputs[0].shape) + " x "
                + shapeToString(args.inputs[1].shape));
    Shape batch;
    bool bHasBatch = false;
    for (size_t i = 0; i + 2 < rank; ++i) {
        if (a[i] != b[i] && a[i] != 1 && b[i] != 1)
            return nodeError(node,
                "batch dimensions do not broadcast: " + shapeToString(args.inputs[0].shape) + " x "
                    + shapeToString(args.inputs[1].shape));
        batch.push_back(std::max(a[i], b[i]));
        bHasBatch = bHasBatch || b[i] != 1;
    }
    const int64_t batchElems = numElements(batch);
    if (m < 1 || n < 1 || k < 1 || batchElems < 1) return nodeUnsupported(node, "empty operands");

    Shape y = batch;
    if (!vecA) y.push_back(m);
    if (!vecB) y.push_back(n);

    // With one shared B, the batch of A folds into its rows: one large product instead of many small ones.
    Shape srcShape = a, weiShape = b, dstShape = batch;
    dstShape.push_back(m);
    dstShape.push_back(n);
    if (!bHasBatch) {
        const int64_t rows = numElements(a) / k;
        srcShape = { rows, k };
        weiShape = { k, n };
        dstShape = { rows, n };
    }
    const Tensor* bConst = args.inputs[1].constant;

    return guarded(node, [&]() -> Result<std::unique_ptr<Kernel>> {
        auto kern = std::make_unique<PrimKernel>(args.ctx, node.describe());
        dnnl::engine& eng = args.ctx.engine();
        const memory::desc src = plainDesc(srcShape), dst = plainDesc(dstShape);
        const memory::desc weiPlain = plainDesc(weiShape);
        const memory::desc wei = bConst ? memory::desc(toDims(weiShape), dt::f32, tag::any) : weiPlain;
        dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst), userScratchpad(), eng);
        if (bConst && padsWeights(pd.weights_desc(), weiPlain))
            pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weiPlain, dst), userScratchpad(), eng);
        kern->bind(DNNL_ARG_SRC, src, PrimKernel::From::Input, 0);
        if (bConst) {
            kern->bind(DNNL_ARG_WEIGHTS, pd.weights_desc(), PrimKernel::From::Packed, kern->packed.size());
            kern->packed.push_back(packWeights(args.ctx, weiPlain, bConst->data(), pd.weights_desc()));
        } else {
            kern->bind(DNNL_ARG_WEIGHTS, weiPlain, PrimKernel::From::Input, 1);
        }
        kern->bind(DNNL_ARG_DST, dst, PrimKernel::From::Output, 0);
        kern->setPrimitive(pd);
        kern->m_flops = 2.0 * static_cast<double>(batchElems) * static_cast<double>(m) * static_cast<double>(n)
            * static_cast<double>(k);
        kern->outputs = { { DType::F32, y } };
        return std::unique_ptr<Kernel>(std::move(kern));
    });
}

} // namespace

void registerDnnlMatmulOps(OpRegistry& r)
{
    r.add("Gemm", makeGemm);
    r.add("MatMul", makeMatMul);
}

} // namespace dl::cpu
