// Normalisations and softmax family: BatchNormalization (inference), LayerNormalization, Softmax and LogSoftmax
// on oneDNN primitives; InstanceNormalization and Hardmax in own code (oneDNN 2.6 has no primitive for them).

#include "backend/cpu/dnnlcommon.h"

#include <cmath>

namespace dl::cpu {
namespace {

using namespace dnnlx;
using dnnl::normalization_flags;
using dnnl::prop_kind;

// Binds a per-channel input either to its packed copy (constant) or to the input itself.
void bindParam(PrimKernel& k, const KernelArgs& args, size_t input, int arg, const memory::desc& md)
{
    if (const Tensor* c = args.inputs[input].constant) {
        k.bind(arg, md, PrimKernel::From::Packed, k.packed.size());
        k.packed.push_back(c->clone());
    } else {
        k.bind(arg, md, PrimKernel::From::Input, input);
    }
}

Result<std::unique_ptr<Kernel>> makeBatchNorm(const KernelArgs& args)
{
    const Node& node = args.node;
    if (node.attrInt("training_mode", 0) != 0)
        return nodeUnsupported(node, "training_mode=1 is not supported (inference only)");
    if (node.has("is_test") && node.attrInt("is_test", 1) == 0)
        return nodeUnsupported(node, "is_test=0 (training) is not supported");
    if (node.attrInt("spatial", 1) == 0) return nodeUnsupported(node, "spatial=0 is not supported");
    for (size_t i = 1; i < node.outputs.size(); ++i)
        if (!node.outputs[i].empty())
            return nodeUnsupported(node, "the training outputs (running mean and variance) are not supported");
    if (args.inputs.size() != 5) return nodeError(node, "expects 5 inputs (X, scale, B, mean, var)");
    const char* names[] = { "X", "scale", "B", "mean", "var" };
    for (size_t i = 0; i < 5; ++i)
        DL_TRY(requireF32(args, i, names[i]));
    const Shape& x = args.inputs[0].shape;
    if (x.size() < 2) return nodeError(node, "input must have rank 2 or more, got " + shapeToString(x));
    const int64_t c = x[1];
    for (size_t i = 1; i < 5; ++i)
        if (numElements(args.inputs[i].shape) != c)
            return nodeError(node,
                std::string(names[i]) + " has shape " + shapeToString(args.inputs[i].shape) + ", expected "
                    + std::to_string(c) + " values");
    const float eps = node.attrFloat("epsilon", 1e-5f);
    const Shape shape = x.size() == 2 ? x : Shape { x[0], c, numElements(Shape(x.begin() + 2, x.end())) };
    return guarded(node, [&]() -> Result<std::unique_ptr<Kernel>> {
        auto k = std::make_unique<PrimKernel>(args.ctx, node.describe());
        const memory::desc md = plainDesc(shape), param = plainDesc({ c });
        dnnl::batch_normalization_forward::desc desc(prop_kind::forward_inference, md, eps,
            normalization_flags::use_global_stats | normalization_flags::use_scale | normalization_flags::use_shift);
        dnnl::batch_normalization_forward::primitive_desc pd(desc, userScratchpad(), args.ctx.engine());
        k->bind(DNNL_ARG_SRC, md, PrimKernel::From::Input, 0);
        k->bind(DNNL_ARG_DST, md, PrimKernel::From::Output, 0);
        bindParam(*k, args, 1, DNNL_ARG_SCALE, param);
        bindParam(*k, args, 2, DNNL_ARG_SHIFT, param);
        bindParam(*k, args, 3, DNNL_ARG_MEAN, param);
        bindParam(*k, args, 4, DNNL_ARG_VARIANCE, param);
        k->setPrimitive(pd);
        k->outputs = { { DType::F32, x } };
        return std::unique_ptr<Kernel>(std::move(k));
    });
}

// LayerNormalization's optional InvStdDev output: oneDNN yields the variance, turned into 1/sqrt(var+eps).
class LayerNormKernel : public PrimKernel
{
public:
    using PrimKernel::PrimKernel;
    float m_eps = 1e-5f;
    bool m_invStd = false;

protected:
    Status after(const std::vector<const Tensor*>&, const std::vector<Tensor*>& out) override
    {
        if (m_invStd) {
            float* v = out[2]->ptr<float>();
            for (int64_t i = 0; i < out[2]->numel(); ++i)
                v[i] = 1.0f / std::sqrt(v[i] + m_eps);
        }
        return {};
    }
};

Result<std::unique_ptr<Kernel>> makeLayerNorm(const KernelArgs& args)
{
    const Node& node = args.node;
    DL_TRY(requireF32(args, 0, "X"));
    DL_TRY(requireF32(args, 1, "Scale"));
    const bool hasBias = args.inputs.size() > 2 && args.inputs[2].present();
    if (hasBias) DL_TRY(requireF32(args, 2, "B"));
    const Shape& x = args.inputs[0].shape;
    const int rank = static_cast<int>(x.size());
    if (rank < 1) return nodeError(node, "input must have rank 1 or more");
    DL_ASSIGN(const int axis, normalizeAxis(node, node.attrInt("axis", -1), rank));
    const int64_t outer = numElements(Shape(x.begin(), x.begin() + axis));
    const int64_t inner = numElements(Shape(x.begin() + axis, x.end()));
    if (numElements(args.inputs[1].shape) != inner || (hasBias && numElements(args.inputs[2].shape) != inner))
        return nodeUnsupported(
            node, "Scale and B must hold one value per normalised element (" + std::to_string(inner) + ")");
    if (outer < 1 || inner < 1) return nodeUnsupported(node, "empty input");
    const float eps = node.attrFloat("epsilon", 1e-5f);
    const bool wantMean = node.outputs.size() > 1 && !node.outputs[1].empty();
    const bool wantInvStd = node.outputs.size() > 2 && !node.outputs[2].empty();
    Shape statShape(x.begin(), x.begin() + axis);
    statShape.resize(x.size(), 1);

    return guarded(node, [&]() -> Result<std::unique_ptr<Kernel>> {
        auto k = std::make_unique<LayerNormKernel>(args.ctx, node.describe());
        const memory::desc md = plainDesc({ outer, inner }), stat = plainDesc({ outer }), param = plainDesc({ inner });
        const bool training = wantMean || wantInvStd;
        auto flags = normalization_flags::use_scale;
        if (hasBias) flags = flags | normalization_flags::use_shift;
        dnnl::layer_normalization_forward::desc desc(
            training ? prop_kind::forward_training : prop_kind::forward_inference, md, stat, eps, flags);
        dnnl::layer_normalization_forward::primitive_desc pd(desc, userScratchpad(), args.ctx.engine());
        k->setPrimitive(pd);
        k->bind(DNNL_ARG_SRC, md, PrimKernel::From::Input, 0);
        k->bind(DNNL_ARG_DST, md, PrimKernel::From::Output, 0);
        bindParam(*k, args, 1, DNNL_ARG_SCALE, param);
        if (hasBias) bindParam(*k, args, 2, DNNL_ARG_SHIFT, param);
        if (training) {
            const size_t statBytes = static_cast<size_t>(outer) * sizeof(float);
            if (wantMean)
                k->bind(DNNL_ARG_MEAN, stat, PrimKernel::From::Output, 1);
            else
                k->bind(DNNL_ARG_MEAN, stat, PrimKernel::From::Scratch, k->reserveScratch(statBytes));
            if (wantInvStd)
                k->bind(DNNL_ARG_VARIANCE, stat, PrimKernel::From::Output, 2);
            else
                k->bind(DNNL_ARG_VARIANCE, stat, PrimKernel::From::Scratch, k->reserveScratch(statBytes));
        }
        k->m_eps = eps;
        k->m_invStd = wantInvStd;
        k->outputs = { { DType::F32, x } };
        if (node.outputs.size() > 1) k->outputs.push_back({ DType::F32, statShape });
        if (node.outputs.size() > 2) k->outputs.push_back({ DType::F32, statShape });
        return std::unique_ptr<Kernel>(std::move(k));
    });
}

class InstanceNormKernel : public Kernel
{
public:
    int64_t m_n = 0, m_c = 0, m_spatial = 0;
    float m_eps = 1e-5f;
    int m_scalePacked = -1, m_biasPacked = -1;

    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        const float* x = in[0]->ptr<float>();
        const float* scale = m_scalePacked >= 0 ? packed[m_scalePacked].ptr<float>() : in[1]->ptr<float>();
        const float* bias = m_biasPacked >= 0 ? packed[m_biasPacked].ptr<float>() : in[2]->ptr<float>();
        float* y = out[0]->ptr<float>();
        const int64_t planes = m_n * m_c, s = m_spatial;
#pragma omp parallel for schedule(static)
        for (int64_t p = 0; p < planes; ++p) {
            const float* xp = x + p * s;
            float* yp = y + p * s;
            double sum = 0.0;
            for (int64_t i = 0; i < s; ++i)
                sum += xp[i];
            const double mean = sum / static_cast<double>(s);
            double sq = 0.0;
            for (int64_t i = 0; i < s; ++i)
                sq += (xp[i] - mean) * (xp[i] - mean);
            const double inv = 1.0 / std::sqrt(sq / static_cast<double>(s) + m_eps);
            const float a = static_cast<float>(scale[p % m_c] * inv);
            const float b = static_cast<float>(bias[p % m_c] - mean * scale[p % m_c] * inv);
            for (int64_t i = 0; i < s; ++i)
                yp[i] = xp[i] * a + b;
        }
        return {};
    }
};

Result<std::unique_ptr<Kernel>> makeInstanceNorm(const KernelArgs& args)
{
    const Node& node = args.node;
    DL_TRY(requireF32(args, 0, "input"));
    DL_TRY(requireF32(args, 1, "scale"));
    DL_TRY(requireF32(args, 2, "B"));
    const Shape& x = args.inputs[0].shape;
    if (x.size() < 3) return nodeError(node, "input must have rank 3 or more, got " + shapeToString(x));
    if (numElements(args.inputs[1].shape) != x[1] || numElements(args.inputs[2].shape) != x[1])
        return nodeError(node, "scale and B must hold one value per channel (" + std::to_string(x[1]) + ")");
    auto k = std::make_unique<InstanceNormKernel>();
    k->m_n = x[0];
    k->m_c = x[1];
    k->m_spatial = numElements(Shape(x.begin() + 2, x.end()));
    k->m_eps = node.attrFloat("epsilon", 1e-5f);
    if (const Tensor* c = args.inputs[1].constant) {
        k->m_scalePacked = static_cast<int>(k->packed.size());
        k->packed.push_back(c->clone());
    }
    if (const Tensor* c = args.inputs[2].constant) {
        k->m_biasPacked = static_cast<int>(k->packed.size());
        k->packed.push_back(c->clone());
    }
    k->outputs = { { DType::F32, x } };
    return std::unique_ptr<Kernel>(std::move(k));
}

// The softmax family's view of the input as [outer, dim, inner]: before opset 13 the input is flattened
// to 2-D at `axis` (so inner is 1), from 13 on only `axis` is reduced.
struct SoftmaxGeometry
{
    int64_t outer = 1, dim = 1, inner = 1;
};

Result<SoftmaxGeometry> softmaxGeometry(const KernelArgs& args)
{
    const Node& node = args.node;
    DL_TRY(requireF32(args, 0, "input"));
    const Shape& x = args.inputs[0].shape;
    const int rank = static_cast<int>(x.size());
    if (rank < 1) return nodeError(node, "input must have rank 1 or more");
    const bool flatten = args.opset > 0 && args.opset < 13;
    DL_ASSIGN(const int axis, normalizeAxis(node, node.attrInt("axis", flatten ? 1 : -1), rank));
    SoftmaxGeometry g;
    g.outer = numElements(Shape(x.begin(), x.begin() + axis));
    if (flatten) {
        g.dim = numElements(Shape(x.begin() + axis, x.end()));
    } else {
        g.dim = x[axis];
        g.inner = numElements(Shape(x.begin() + axis + 1, x.end()));
    }
    if (g.outer * g.dim * g.inner == 0) return nodeUnsupported(node, "empty input");
    return g;
}

Result<std::unique_ptr<Kernel>> makeSoftmax(const KernelArgs& args, bool log)
{
    const Node& node = args.node;
    DL_ASSIGN(const SoftmaxGeometry g, softmaxGeometry(args));
    return guarded(node, [&]() -> Result<std::unique_ptr<Kernel>> {
        auto k = std::make_unique<PrimKernel>(args.ctx, node.describe());
        const memory::desc md = g.inner == 1 ? plainDesc({ g.outer, g.dim }) : plainDesc({ g.outer, g.dim, g.inner });
        dnnl::primitive_desc pd = log
            ? dnnl::primitive_desc(dnnl::logsoftmax_forward::primitive_desc(
                dnnl::logsoftmax_forward::desc(prop_kind::forward_inference, md, 1), userScratchpad(),
                args.ctx.engine()))
            : dnnl::primitive_desc(dnnl::softmax_forward::primitive_desc(
                dnnl::softmax_forward::desc(prop_kind::forward_inference, md, 1), userScratchpad(), args.ctx.engine()));
        k->bind(DNNL_ARG_SRC, md, PrimKernel::From::Input, 0);
        k->bind(DNNL_ARG_DST, md, PrimKernel::From::Output, 0);
        k->setPrimitive(pd);
        k->outputs = { { DType::F32, args.inputs[0].shape } };
        return std::unique_ptr<Kernel>(std::move(k));
    });
}

class HardmaxKernel : public Kernel
{
public:
    SoftmaxGeometry m_g;

    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        const float* x = in[0]->ptr<float>();
        float* y = out[0]->ptr<float>();
        const int64_t outer = m_g.outer, dim = m_g.dim, inner = m_g.inner;
#pragma omp parallel for schedule(static)
        for (int64_t o = 0; o < outer; ++o) {
            for (int64_t i = 0; i < inner; ++i) {
                const int64_t base = o * dim * inner + i;
                int64_t best = 0;
                for (int64_t d = 1; d < dim; ++d)
                    if (x[base + d * inner] > x[base + best * inner]) best = d;
                for (int64_t d = 0; d < dim; ++d)
                    y[base + d * inner] = d == best ? 1.0f : 0.0f;
            }
        }
        return {};
    }
};

Result<std::unique_ptr<Kernel>> makeHardmax(const KernelArgs& args)
{
    DL_ASSIGN(const SoftmaxGeometry g, softmaxGeometry(args));
    auto k = std::make_unique<HardmaxKernel>();
    k->m_g = g;
    k->outputs = { { DType::F32, args.inputs[0].shape } };
    return std::unique_ptr<Kernel>(std::move(k));
}

} // namespace

void registerDnnlNormOps(OpRegistry& r)
{
    r.add("BatchNormalization", makeBatchNorm);
    r.add("LayerNormalization", makeLayerNorm);
    r.add("InstanceNormalization", makeInstanceNorm);
    r.add("Softmax", [](const KernelArgs& a) { return makeSoftmax(a, false); });
    r.add("LogSoftmax", [](const KernelArgs& a) { return makeSoftmax(a, true); });
    r.add("Hardmax", makeHardmax);
}

} // namespace dl::cpu
