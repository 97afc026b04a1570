#include "backend/cpu/dnnlcommon.h"

#include <cstring>
#include <limits>
#include <map>
#include <mutex>

namespace dl::cpu::dnnlx {

Dims toDims(const Shape& s)
{
    return Dims(s.begin(), s.end());
}

memory::desc plainDesc(const Shape& s, memory::data_type dt)
{
    // oneDNN has no rank-0 memory; a scalar is a 1-element vector.
    Shape shape = s.empty() ? Shape { 1 } : s;
    Dims strides(shape.size());
    int64_t stride = 1;
    for (size_t i = shape.size(); i-- > 0;) {
        strides[i] = stride;
        stride *= std::max<int64_t>(shape[i], 1);
    }
    return memory::desc(toDims(shape), dt, strides);
}

memory::data_type toDnnl(DType t)
{
    switch (t) {
    case DType::F32:
        return memory::data_type::f32;
    case DType::F16:
        return memory::data_type::f16;
    case DType::U8:
        return memory::data_type::u8;
    case DType::I8:
        return memory::data_type::s8;
    case DType::I32:
        return memory::data_type::s32;
    default:
        return memory::data_type::undef;
    }
}

void SharedScratch::reserve(size_t bytes)
{
    if (bytes > m_buffer.bytes()) m_buffer = Tensor(DType::U8, { static_cast<int64_t>(alignUp(bytes)) });
}

std::shared_ptr<SharedScratch> sharedScratch(CpuContext& ctx)
{
    static std::mutex mutex;
    static std::map<const CpuContext*, std::weak_ptr<SharedScratch>> byContext;
    std::lock_guard lock(mutex);
    for (auto it = byContext.begin(); it != byContext.end();)
        it = it->second.expired() ? byContext.erase(it) : std::next(it);
    auto& slot = byContext[&ctx];
    auto scratch = slot.lock();
    if (!scratch) {
        scratch = std::make_shared<SharedScratch>();
        slot = scratch;
    }
    return scratch;
}

Dims Window::dnnlDilations() const
{
    Dims d(dilations.size());
    for (size_t i = 0; i < d.size(); ++i)
        d[i] = dilations[i] - 1;
    return d;
}

Dims Window::dnnlPadEnd(const Shape& inSpatial) const
{
    Dims d(kernel.size());
    for (size_t i = 0; i < d.size(); ++i) {
        const int64_t extent = (kernel[i] - 1) * dilations[i] + 1;
        d[i] = (outSpatial[i] - 1) * strides[i] + extent - inSpatial[i] - padBegin[i];
    }
    return d;
}

Result<Window> forwardWindow(
    const Node& node, const Shape& inSpatial, const std::vector<int64_t>& kernel, bool ceilMode)
{
    const size_t n = inSpatial.size();
    Window w;
    w.kernel = kernel;
    w.strides = node.attrInts("strides", std::vector<int64_t>(n, 1));
    w.dilations = node.attrInts("dilations", std::vector<int64_t>(n, 1));
    std::vector<int64_t> pads = node.attrInts("pads", std::vector<int64_t>(2 * n, 0));
    if (w.kernel.size() != n || w.strides.size() != n || w.dilations.size() != n || pads.size() != 2 * n)
        return nodeError(node,
            "kernel_shape, strides, dilations and pads must have one entry per spatial axis (" + std::to_string(n)
                + ", pads twice that)");
    for (size_t i = 0; i < n; ++i) {
        if (w.kernel[i] < 1 || w.strides[i] < 1 || w.dilations[i] < 1)
            return nodeError(node, "kernel_shape, strides and dilations must be positive");
        if (pads[i] < 0 || pads[i + n] < 0) return nodeUnsupported(node, "negative pads are not supported");
    }
    std::string autoPad = node.attrString("auto_pad", "NOTSET");
    w.padBegin.assign(n, 0);
    w.padEnd.assign(n, 0);
    w.outSpatial.assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
        const int64_t extent = (w.kernel[i] - 1) * w.dilations[i] + 1;
        const int64_t in = inSpatial[i], s = w.strides[i];
        if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
            const int64_t out = (in + s - 1) / s;
            const int64_t total = std::max<int64_t>((out - 1) * s + extent - in, 0);
            const int64_t small = total / 2;
            w.padBegin[i] = autoPad == "SAME_UPPER" ? small : total - small;
            w.padEnd[i] = total - w.padBegin[i];
            w.outSpatial[i] = out;
        } else if (autoPad == "VALID") {
            w.outSpatial[i] = in >= extent ? (in - extent) / s + 1 : 0;
        } else if (autoPad == "NOTSET" || autoPad.empty()) {
            w.padBegin[i] = pads[i];
            w.padEnd[i] = pads[i + n];
            const int64_t span = in + pads[i] + pads[i + n] - extent;
            if (span < 0) {
                w.outSpatial[i] = 0;
            } else if (ceilMode) {
                int64_t out = (span + s - 1) / s + 1;
                // A window that would start inside the end padding only is dropped (as PyTorch and ORT do).
                if ((out - 1) * s >= in + pads[i]) --out;
                w.outSpatial[i] = out;
            } else {
                w.outSpatial[i] = span / s + 1;
            }
        } else {
            return nodeError(node, "unknown auto_pad '" + autoPad + "'");
        }
        if (w.outSpatial[i] < 1)
            return nodeError(node,
                "the window (extent " + std::to_string(extent) + ") does not fit the input (" + shapeToString(inSpatial)
                    + ") along spatial axis " + std::to_string(i));
    }
    return w;
}

Result<dnnl::post_ops> activationPostOps(const Node& node)
{
    dnnl::post_ops po;
    if (!node.has("_activation")) return po;
    using dnnl::algorithm;
    const std::string act = node.attrString("_activation", "");
    const float alpha = node.attrFloat("_alpha", 0.0f);
    const float beta = node.attrFloat("_beta", 0.0f);
    if (act == "Relu")
        po.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
    else if (act == "LeakyRelu")
        po.append_eltwise(1.0f, algorithm::eltwise_relu, alpha, 0.0f);
    else if (act == "Clip")
        po.append_eltwise(1.0f, algorithm::eltwise_clip_v2, alpha, beta);
    else if (act == "Sigmoid")
        po.append_eltwise(1.0f, algorithm::eltwise_logistic, 0.0f, 0.0f);
    else if (act == "HardSigmoid") {
        // oneDNN 2.6 has no hardsigmoid: alpha*x+beta, then clamp to [0, 1].
        po.append_eltwise(1.0f, algorithm::eltwise_linear, alpha, beta);
        po.append_eltwise(1.0f, algorithm::eltwise_clip_v2, 0.0f, 1.0f);
    } else if (act == "HardSwish")
        po.append_eltwise(1.0f, algorithm::eltwise_hardswish, 0.0f, 0.0f);
    else if (act == "Tanh")
        po.append_eltwise(1.0f, algorithm::eltwise_tanh, 0.0f, 0.0f);
    else if (act == "Mish")
        po.append_eltwise(1.0f, algorithm::eltwise_mish, 0.0f, 0.0f);
    else if (act == "Elu")
        po.append_eltwise(1.0f, algorithm::eltwise_elu, alpha, 0.0f);
    else if (act == "Softplus")
        po.append_eltwise(1.0f, algorithm::eltwise_soft_relu, 0.0f, 0.0f);
    else if (act == "Swish")
        po.append_eltwise(1.0f, algorithm::eltwise_swish, 1.0f, 0.0f);
    else
        return nodeUnsupported(node, "fused activation '" + act + "' is not supported");
    return po;
}

Status execute(dnnl::primitive& p, CpuContext& ctx, const std::unordered_map<int, memory>& args, const std::string& who)
{
    try {
        p.execute(ctx.stream(), args);
    } catch (const dnnl::error& e) {
        return makeError(ErrorCode::Internal, who + ": oneDNN failed to execute (" + e.what() + ")");
    }
    return {};
}

Tensor packWeights(CpuContext& ctx, const memory::desc& from, const void* data, const memory::desc& to)
{
    Tensor out(DType::F32, { static_cast<int64_t>((to.get_size() + 3) / 4) });
    memory src(from, ctx.engine(), mut(data));
    memory dst(to, ctx.engine(), out.data());
    if (from == to)
        std::memcpy(out.data(), data, from.get_size());
    else
        dnnl::reorder(src, dst).execute(ctx.stream(), src, dst);
    ctx.stream().wait();
    return out;
}

void PrimKernel::bind(int arg, const memory::desc& md, From from, size_t index)
{
    memory mem = unbound(md, m_ctx.engine());
    m_bindings.push_back(Binding { arg, from, index, mem });
    m_args[arg] = mem;
}

size_t PrimKernel::reserveScratch(size_t bytes)
{
    const size_t offset = alignUp(m_scratchUsed);
    m_scratchUsed = offset + alignUp(bytes);
    if (!m_scratch) m_scratch = sharedScratch(m_ctx);
    m_scratch->reserve(m_scratchUsed);
    return offset;
}

void PrimKernel::setPrimitive(const dnnl::primitive_desc& pd)
{
    m_prim = dnnl::primitive(pd);
    const memory::desc sp = pd.scratchpad_desc();
    if (sp.get_size() > 0) {
        const size_t offset = reserveScratch(sp.get_size());
        bind(DNNL_ARG_SCRATCHPAD, sp, From::Scratch, offset);
    }
}

Status PrimKernel::run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out)
{
    DL_TRY(before(in, out));
    for (auto& b : m_bindings) {
        void* p = nullptr;
        switch (b.from) {
        case From::Input:
            p = mut(in[b.index]->data());
            break;
        case From::Output:
            p = out[b.index]->data();
            break;
        case From::Packed:
            p = packed[b.index].data();
            break;
        case From::Scratch:
            p = scratch() + b.index;
            break;
        }
        b.mem.set_data_handle(p);
    }
    DL_TRY(execute(m_prim, m_ctx, m_args, m_who));
    m_ctx.stream().wait();
    return after(in, out);
}

bool isGemmOrRef(const char* implInfo)
{
    const std::string s = implInfo ? implInfo : "";
    return s.find("gemm") != std::string::npos || s.find("ref") != std::string::npos;
}

Status requireF32(const KernelArgs& args, size_t input, const char* what)
{
    if (input >= args.inputs.size() || !args.inputs[input].present())
        return nodeError(args.node, std::string("input ") + what + " is missing");
    if (args.inputs[input].dtype != DType::F32)
        return nodeUnsupported(args.node,
            std::string("input ") + what + " has type " + dtypeName(args.inputs[input].dtype)
                + "; only float32 is supported");
    return {};
}

} // namespace dl::cpu::dnnlx
