// Conv and ConvTranspose on oneDNN convolution / deconvolution primitives.
//
// Activations arrive and leave in plain NC[D]HW. oneDNN's direct JIT kernels want blocked layouts and beat its
// gemm path on plain layouts by 1.1-7x (depthwise and first layers most), which pays for reordering the
// activation in and out through the context's shared scratch; when oneDNN would only offer gemm anyway, the
// kernel runs on the plain layout directly.

#include "backend/cpu/dnnlcommon.h"

#include <functional>

namespace dl::cpu {
namespace {

using namespace dnnlx;
using dnnl::algorithm;
using dnnl::prop_kind;
using tag = memory::format_tag;
using dt = memory::data_type;

using PdFactory
    = std::function<dnnl::primitive_desc(const memory::desc& src, const memory::desc& wei, const memory::desc& dst)>;

// A convolution-like primitive with its layout glue: optional re-layout of src and dst through scratch.
class ConvLikeKernel : public Kernel
{
public:
    explicit ConvLikeKernel(CpuContext& ctx, std::string who)
        : m_ctx(ctx)
        , m_who(std::move(who))
    { }

    // Chooses layouts, builds the primitive and packs constant weights (W and B) into `packed`.
    void build(const PdFactory& makePd, const Shape& srcShape, const Shape& dstShape, const memory::desc& weiPlain,
        const Tensor* weiConst, const memory::desc* biasPlain, const Tensor* biasConst)
    {
        dnnl::engine& eng = m_ctx.engine();
        const memory::desc srcPlain = plainDesc(srcShape), dstPlain = plainDesc(dstShape);
        const memory::desc srcAny(toDims(srcShape), dt::f32, tag::any), dstAny(toDims(dstShape), dt::f32, tag::any);
        // Weights that arrive at run time are read in place, so they keep their ONNX layout.
        const memory::desc weiMd = weiConst ? memory::desc(weiPlain.dims(), dt::f32, tag::any) : weiPlain;

        dnnl::primitive_desc pd;
        try {
            pd = makePd(srcAny, weiMd, dstAny);
        } catch (const dnnl::error&) {
            // Some geometries (negative padding) exist only in the gemm implementation on plain layouts.
            pd = makePd(srcPlain, weiMd, dstPlain);
        }
        if (pd.src_desc(0) != srcPlain || pd.dst_desc(0) != dstPlain) {
            if (isGemmOrRef(pd.impl_info_str())) {
                pd = makePd(srcPlain, weiMd, dstPlain);
            } else {
                // First layers (few input channels) have direct kernels that read plain src themselves.
                try {
                    dnnl::primitive_desc direct = makePd(srcPlain, weiMd, dstAny);
                    if (!isGemmOrRef(direct.impl_info_str())) pd = direct;
                } catch (const dnnl::error&) { }
            }
        }
        m_prim = dnnl::primitive(pd);

        const memory::desc srcMd = pd.src_desc(0), dstMd = pd.dst_desc(0), weiPd = pd.weights_desc(0);
        size_t scratchpad = pd.scratchpad_desc().get_size();
        m_src = unbound(srcMd, eng);
        m_dst = unbound(dstMd, eng);
        m_wei = unbound(weiPd, eng);
        m_args = { { DNNL_ARG_SRC, m_src }, { DNNL_ARG_WEIGHTS, m_wei }, { DNNL_ARG_DST, m_dst } };
        if (biasPlain) {
            m_bias = unbound(pd.weights_desc(1), eng);
            m_args[DNNL_ARG_BIAS] = m_bias;
        }

        dnnl::primitive_attr reorderAttr;
        reorderAttr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        auto makeReorder = [&](const memory::desc& from, const memory::desc& to, memory& user, memory& inner,
                               bool srcSide, std::unordered_map<int, memory>& args) {
            dnnl::reorder::primitive_desc rpd(eng, from, eng, to, reorderAttr);
            scratchpad = std::max(scratchpad, rpd.scratchpad_desc().get_size());
            user = unbound(srcSide ? from : to, eng);
            args = { { DNNL_ARG_FROM, srcSide ? user : inner }, { DNNL_ARG_TO, srcSide ? inner : user } };
            if (rpd.scratchpad_desc().get_size() > 0) args[DNNL_ARG_SCRATCHPAD] = unbound(rpd.scratchpad_desc(), eng);
            return dnnl::reorder(rpd);
        };
        m_srcReorder = srcMd != srcPlain;
        m_dstReorder = dstMd != dstPlain;
        if (m_srcReorder) m_srcR = makeReorder(srcPlain, srcMd, m_srcUser, m_src, true, m_srcRArgs);
        if (m_dstReorder) m_dstR = makeReorder(dstMd, dstPlain, m_dstUser, m_dst, false, m_dstRArgs);

        // Shared scratch: [blocked src | blocked dst | scratchpad]. The blocked src comes first, at the same place
        // in every kernel, so that a kernel run next on the same input can read it there (shareSourceLayout) while
        // its own dst and scratchpad lie beyond it.
        m_srcMd = srcMd;
        m_srcOff = 0;
        m_dstOff = m_srcReorder ? alignUp(srcMd.get_size()) : 0;
        m_spOff = m_dstOff + (m_dstReorder ? alignUp(dstMd.get_size()) : 0);
        const size_t total = m_spOff + scratchpad;
        if (pd.scratchpad_desc().get_size() > 0) {
            m_sp = unbound(pd.scratchpad_desc(), eng);
            m_args[DNNL_ARG_SCRATCHPAD] = m_sp;
        }
        if (total > 0) {
            m_scratch = sharedScratch(m_ctx);
            m_scratch->reserve(total);
        }

        if (weiConst) {
            m_weiPacked = static_cast<int>(packed.size());
            packed.push_back(packWeights(m_ctx, weiPlain, weiConst->data(), weiPd));
        }
        if (biasConst) {
            m_biasPacked = static_cast<int>(packed.size());
            packed.push_back(packWeights(m_ctx, *biasPlain, biasConst->data(), pd.weights_desc(1)));
        }
    }

    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        std::byte* scratch = m_scratch ? m_scratch->data() : nullptr;
        auto bindScratchpad = [&](std::unordered_map<int, memory>& args) {
            auto it = args.find(DNNL_ARG_SCRATCHPAD);
            if (it != args.end()) it->second.set_data_handle(scratch + m_spOff);
        };
        void* src = mut(in[0]->data());
        if (m_srcReorder) {
            m_src.set_data_handle(scratch + m_srcOff);
            if (!(m_sharesSource && sourceLaidOut)) {
                m_srcUser.set_data_handle(src);
                bindScratchpad(m_srcRArgs);
                DL_TRY(execute(m_srcR, m_ctx, m_srcRArgs, m_who));
            }
        } else {
            m_src.set_data_handle(src);
        }
        m_wei.set_data_handle(m_weiPacked >= 0 ? packed[m_weiPacked].data() : mut(in[1]->data()));
        if (m_bias) m_bias.set_data_handle(m_biasPacked >= 0 ? packed[m_biasPacked].data() : mut(in[2]->data()));
        m_dst.set_data_handle(m_dstReorder ? scratch + m_dstOff : out[0]->data());
        bindScratchpad(m_args);
        DL_TRY(execute(m_prim, m_ctx, m_args, m_who));
        if (m_dstReorder) {
            m_dstUser.set_data_handle(out[0]->data());
            bindScratchpad(m_dstRArgs);
            DL_TRY(execute(m_dstR, m_ctx, m_dstRArgs, m_who));
        }
        m_ctx.stream().wait();
        return {};
    }

    double flops() const override { return m_flops; }

    bool relaysSource() const override { return m_srcReorder; }

    bool shareSourceLayout(const Kernel& previous) override
    {
        const auto* p = dynamic_cast<const ConvLikeKernel*>(&previous);
        if (!p || &p->m_ctx != &m_ctx || !m_srcReorder || !p->m_srcReorder || p->m_srcMd != m_srcMd) return false;
        m_sharesSource = true;
        return true;
    }

    double m_flops = 0.0;

private:
    CpuContext& m_ctx;
    std::string m_who;
    dnnl::primitive m_prim;
    std::unordered_map<int, memory> m_args, m_srcRArgs, m_dstRArgs;
    memory m_src, m_wei, m_bias, m_dst, m_sp, m_srcUser, m_dstUser;
    dnnl::primitive m_srcR, m_dstR;
    bool m_srcReorder = false, m_dstReorder = false;
    bool m_sharesSource = false; // reads the blocked src the previous kernel left when it ran just before
    memory::desc m_srcMd;
    int m_weiPacked = -1, m_biasPacked = -1;
    std::shared_ptr<SharedScratch> m_scratch;
    size_t m_srcOff = 0, m_dstOff = 0, m_spOff = 0;
};

// Shape checks shared by Conv and ConvTranspose; returns the group count.
Result<int64_t> checkConvInputs(const KernelArgs& args)
{
    const Node& node = args.node;
    DL_TRY(requireF32(args, 0, "X"));
    DL_TRY(requireF32(args, 1, "W"));
    const Shape& x = args.inputs[0].shape;
    const Shape& w = args.inputs[1].shape;
    if (x.size() < 3 || x.size() > 5)
        return nodeUnsupported(node, "input of rank " + std::to_string(x.size()) + " (only 1-D, 2-D and 3-D)");
    if (w.size() != x.size())
        return nodeError(
            node, "weight shape " + shapeToString(w) + " does not match input rank " + std::to_string(x.size()));
    if (args.inputs.size() > 2 && args.inputs[2].present()) {
        DL_TRY(requireF32(args, 2, "B"));
        if (args.inputs[2].shape.size() != 1)
            return nodeError(node, "bias must be 1-D, got " + shapeToString(args.inputs[2].shape));
    }
    const int64_t group = node.attrInt("group", 1);
    if (group < 1) return nodeError(node, "group must be positive");
    if (numElements(x) == 0) return nodeUnsupported(node, "empty input " + shapeToString(x));
    const Shape kernel(w.begin() + 2, w.end());
    if (node.has("kernel_shape") && node.attrInts("kernel_shape") != kernel)
        return nodeError(node, "kernel_shape does not match the weight shape " + shapeToString(w));
    return group;
}

Result<std::unique_ptr<Kernel>> makeConv(const KernelArgs& args)
{
    const Node& node = args.node;
    DL_ASSIGN(const int64_t group, checkConvInputs(args));
    const Shape& x = args.inputs[0].shape;
    const Shape& w = args.inputs[1].shape;
    const int64_t n = x[0], c = x[1], m = w[0];
    if (c % group != 0 || m % group != 0 || w[1] != c / group)
        return nodeError(node,
            "weight shape " + shapeToString(w) + " does not fit input " + shapeToString(x) + " with group "
                + std::to_string(group));
    const bool hasBias = args.inputs.size() > 2 && args.inputs[2].present();
    if (hasBias && args.inputs[2].shape[0] != m)
        return nodeError(node,
            "bias has " + std::to_string(args.inputs[2].shape[0]) + " values for " + std::to_string(m)
                + " output channels");
    const Shape inSpatial(x.begin() + 2, x.end());
    const std::vector<int64_t> kernel(w.begin() + 2, w.end());
    DL_ASSIGN(Window win, forwardWindow(node, inSpatial, kernel, false));
    DL_ASSIGN(dnnl::post_ops postOps, activationPostOps(node));

    Shape y { n, m };
    y.insert(y.end(), win.outSpatial.begin(), win.outSpatial.end());
    Shape weiShape = w;
    if (group > 1) {
        weiShape = { group, m / group, c / group };
        weiShape.insert(weiShape.end(), kernel.begin(), kernel.end());
    }
    const memory::desc weiPlain = plainDesc(weiShape);
    const memory::desc biasPlain = plainDesc({ m });

    return guarded(node, [&]() -> Result<std::unique_ptr<Kernel>> {
        auto k = std::make_unique<ConvLikeKernel>(args.ctx, node.describe());
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        attr.set_post_ops(postOps);
        dnnl::engine& eng = args.ctx.engine();
        const memory::desc biasMd(toDims({ m }), dt::f32, tag::any);
        auto makePd = [&](const memory::desc& s, const memory::desc& wd, const memory::desc& d) {
            auto desc = hasBias
                ? dnnl::convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, s, wd,
                    biasMd, d, win.dnnlStrides(), win.dnnlDilations(), win.dnnlPadBegin(), win.dnnlPadEnd(inSpatial))
                : dnnl::convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, s, wd, d,
                    win.dnnlStrides(), win.dnnlDilations(), win.dnnlPadBegin(), win.dnnlPadEnd(inSpatial));
            return dnnl::primitive_desc(dnnl::convolution_forward::primitive_desc(desc, attr, eng));
        };
        k->build(makePd, x, y, weiPlain, args.inputs[1].constant, hasBias ? &biasPlain : nullptr,
            hasBias ? args.inputs[2].constant : nullptr);
        k->outputs = { { DType::F32, y } };
        k->m_flops = 2.0 * static_cast<double>(numElements(y)) * static_cast<double>(numElements(w) / m);
        return std::unique_ptr<Kernel>(std::move(k));
    });
}

Result<std::unique_ptr<Kernel>> makeConvTranspose(const KernelArgs& args)
{
    const Node& node = args.node;
    DL_ASSIGN(const int64_t group, checkConvInputs(args));
    const Shape& x = args.inputs[0].shape;
    const Shape& w = args.inputs[1].shape;
    const int64_t n = x[0], c = x[1], mPerGroup = w[1], m = w[1] * group;
    if (c % group != 0 || w[0] != c)
        return nodeError(node,
            "weight shape " + shapeToString(w) + " does not fit input " + shapeToString(x) + " with group "
                + std::to_string(group));
    const bool hasBias = args.inputs.size() > 2 && args.inputs[2].present();
    if (hasBias && args.inputs[2].shape[0] != m)
        return nodeError(node,
            "bias has " + std::to_string(args.inputs[2].shape[0]) + " values for " + std::to_string(m)
                + " output channels");
    if (node.has("_activation")) return nodeUnsupported(node, "fused activations on ConvTranspose are not supported");

    const size_t ns = x.size() - 2;
    const Shape inSpatial(x.begin() + 2, x.end());
    const std::vector<int64_t> kernel(w.begin() + 2, w.end());
    const auto strides = node.attrInts("strides", std::vector<int64_t>(ns, 1));
    const auto dilations = node.attrInts("dilations", std::vector<int64_t>(ns, 1));
    const auto outPad = node.attrInts("output_padding", std::vector<int64_t>(ns, 0));
    const auto pads = node.attrInts("pads", std::vector<int64_t>(2 * ns, 0));
    auto outShape = node.attrInts("output_shape");
    const std::string autoPad = node.attrString("auto_pad", "NOTSET");
    if (outShape.size() == ns + 2) outShape.erase(outShape.begin(), outShape.begin() + 2);
    if (strides.size() != ns || dilations.size() != ns || outPad.size() != ns || pads.size() != 2 * ns
        || (!outShape.empty() && outShape.size() != ns))
        return nodeError(node, "strides, dilations, output_padding, pads and output_shape must match the spatial rank");
    if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
        return nodeError(node, "unknown auto_pad '" + autoPad + "'");

    Shape y { n, m };
    memory::dims padL(ns), padR(ns), dnnlStrides(ns), dnnlDil(ns);
    for (size_t i = 0; i < ns; ++i) {
        if (strides[i] < 1 || dilations[i] < 1) return nodeError(node, "strides and dilations must be positive");
        if (kernel[i] < 1) return nodeError(node, "the weights' window " + shapeToString(w) + " is empty");
        const int64_t extent = (kernel[i] - 1) * dilations[i] + 1;
        const int64_t full = strides[i] * (inSpatial[i] - 1) + outPad[i] + extent;
        int64_t out = 0, pb = 0;
        const bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
        if (!outShape.empty() || same) {
            out = !outShape.empty() ? outShape[i] : inSpatial[i] * strides[i];
            const int64_t total = full - out;
            // The ONNX rule: SAME_UPPER trims the larger half from the end, anything else from the start.
            // Halves round down, so a negative total (output_shape beyond the full extent) grows the end.
            const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
            pb = autoPad == "SAME_UPPER" ? half : total - half;
        } else {
            pb = autoPad == "VALID" ? 0 : pads[i];
            const int64_t pe = autoPad == "VALID" ? 0 : pads[i + ns];
            out = full - pb - pe;
        }
        if (out < 1) return nodeError(node, "output spatial size would be " + std::to_string(out));
        y.push_back(out);
        padL[i] = pb;
        // oneDNN derives the output size from the padding; output_padding becomes a smaller (maybe negative)
        // right padding.
        padR[i] = (inSpatial[i] - 1) * strides[i] + extent - pb - out;
        dnnlStrides[i] = strides[i];
        dnnlDil[i] = dilations[i] - 1;
    }

    // oneDNN deconvolution weights are {[G,] OC, IC, k...}; ONNX stores them as [IC, OC/G, k...].
    const int64_t kElems = numElements(Shape(kernel.begin(), kernel.end()));
    memory::dims weiDims, weiStrides;
    if (group == 1) {
        weiDims = { m, c };
        weiStrides = { kElems, m * kElems };
    } else {
        weiDims = { group, mPerGroup, c / group };
        weiStrides = { (c / group) * mPerGroup * kElems, kElems, mPerGroup * kElems };
    }
    int64_t stride = kElems;
    for (size_t i = 0; i < ns; ++i) {
        weiDims.push_back(kernel[i]);
        stride /= kernel[i];
        weiStrides.push_back(stride);
    }
    const memory::desc weiPlain(weiDims, dt::f32, weiStrides);
    const memory::desc biasPlain = plainDesc({ m });

    return guarded(node, [&]() -> Result<std::unique_ptr<Kernel>> {
        auto k = std::make_unique<ConvLikeKernel>(args.ctx, node.describe());
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        dnnl::engine& eng = args.ctx.engine();
        const memory::desc biasMd(toDims({ m }), dt::f32, tag::any);
        auto makePd = [&](const memory::desc& s, const memory::desc& wd, const memory::desc& d) {
            auto desc = hasBias ? dnnl::deconvolution_forward::desc(prop_kind::forward_inference,
                            algorithm::deconvolution_direct, s, wd, biasMd, d, dnnlStrides, dnnlDil, padL, padR)
                                : dnnl::deconvolution_forward::desc(prop_kind::forward_inference,
                                    algorithm::deconvolution_direct, s, wd, d, dnnlStrides, dnnlDil, padL, padR);
            return dnnl::primitive_desc(dnnl::deconvolution_forward::primitive_desc(desc, attr, eng));
        };
        k->build(makePd, x, y, weiPlain, args.inputs[1].constant, hasBias ? &biasPlain : nullptr,
            hasBias ? args.inputs[2].constant : nullptr);
        k->outputs = { { DType::F32, y } };
        k->m_flops = 2.0 * static_cast<double>(numElements(x)) * static_cast<double>(mPerGroup * kElems);
        return std::unique_ptr<Kernel>(std::move(k));
    });
}

} // namespace

void registerDnnlConvOps(OpRegistry& r)
{
    r.add("Conv", makeConv);
    r.add("ConvTranspose", makeConvTranspose);
}

} // namespace dl::cpu
