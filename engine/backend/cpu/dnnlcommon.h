#pragma once

// Shared pieces of the oneDNN-backed kernels (dnnlconv.cpp, dnnlpool.cpp, dnnlmatmul.cpp, dnnlnorm.cpp):
// descriptor helpers, ONNX window arithmetic (kernel, strides, pads, auto_pad), the fused-activation post-ops,
// and the scratch memory that every kernel of one CpuContext shares.

#include "backend/cpu/cpucontext.h"
#include "backend/cpu/kernel.h"
#include "core/align.h"

#include <dnnl.hpp>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace dl::cpu {

void registerDnnlConvOps(OpRegistry& r);
void registerDnnlPoolOps(OpRegistry& r);
void registerDnnlMatmulOps(OpRegistry& r);
void registerDnnlNormOps(OpRegistry& r);

namespace dnnlx {

using dnnl::memory;
using Dims = dnnl::memory::dims;

Dims toDims(const Shape& s);
// Row-major (plain) descriptor of any rank, the layout activations have between kernels.
memory::desc plainDesc(const Shape& s, memory::data_type dt = memory::data_type::f32);
// oneDNN element type for a DType, or data_type::undef when oneDNN has none.
memory::data_type toDnnl(DType t);

// Scratch memory shared by every kernel of one CpuContext: kernels of one context run one after the other,
// so oneDNN scratchpads and re-layout buffers need only the largest single need, not the sum.
class SharedScratch
{
public:
    // Grows the buffer to at least `bytes`; only at kernel creation, since it may move the buffer.
    void reserve(size_t bytes);
    // Read at every run, never cached: a later kernel's reserve() may have moved it.
    std::byte* data() { return static_cast<std::byte*>(m_buffer.data()); }
    size_t size() const { return m_buffer.bytes(); }

private:
    Tensor m_buffer;
};
std::shared_ptr<SharedScratch> sharedScratch(CpuContext& ctx);

inline size_t alignUp(size_t n, size_t a = 64)
{
    return static_cast<size_t>(dl::alignUp(n, a));
}

// The sliding-window geometry of Conv / pooling along the spatial axes, in ONNX terms (dilation 1 = dense).
struct Window
{
    std::vector<int64_t> kernel, strides, dilations, padBegin, padEnd;
    Shape outSpatial;

    Dims dnnlStrides() const { return Dims(strides.begin(), strides.end()); }
    Dims dnnlDilations() const; // oneDNN counts dilation from 0
    Dims dnnlPadBegin() const { return Dims(padBegin.begin(), padBegin.end()); }
    // Right padding that makes oneDNN produce exactly outSpatial (ceil_mode may need more than padEnd).
    Dims dnnlPadEnd(const Shape& inSpatial) const;
};
// Reads strides, dilations, pads and auto_pad of `node` for a window of `kernel` over `inSpatial`.
Result<Window> forwardWindow(
    const Node& node, const Shape& inSpatial, const std::vector<int64_t>& kernel, bool ceilMode);

// The post-ops for a Conv's fused activation (attributes "_activation", "_alpha", "_beta" that
// model/fuse.cpp sets); empty post-ops when there is none.
Result<dnnl::post_ops> activationPostOps(const Node& node);

// Converts a oneDNN exception raised while building a kernel into an Unsupported error naming the node.
template <typename F> Result<std::unique_ptr<Kernel>> guarded(const Node& node, F&& build)
{
    try {
        return build();
    } catch (const dnnl::error& e) {
        return nodeUnsupported(node, std::string("oneDNN cannot build it (") + e.what() + ")");
    } catch (const std::bad_alloc&) {
        return nodeError(node, "out of memory while building the kernel");
    }
}

// Runs a primitive (its arguments already bound) and turns oneDNN exceptions into an error.
Status execute(
    dnnl::primitive& p, CpuContext& ctx, const std::unordered_map<int, memory>& args, const std::string& who);

// A memory object without storage; run() points it at the current buffer with set_data_handle().
inline memory unbound(const memory::desc& md, dnnl::engine& eng)
{
    return memory(md, eng, DNNL_MEMORY_NONE);
}

inline void* mut(const void* p)
{
    return const_cast<void*>(p);
}

// Packs a constant tensor (described by `from`) into fresh storage in layout `to`. `to` may be padded, so
// the result is a 1-D F32 tensor of to.get_size() bytes.
Tensor packWeights(CpuContext& ctx, const memory::desc& from, const void* data, const memory::desc& to);

// Whether a layout oneDNN chose for constant weights pads them by more than an eighth over `plain`: a matrix
// product's weights are packed in blocks of 64 columns, so one of 16 columns would be stored, streamed and read as 64.
// Such weights are better left plain (the products where it happens have few columns and are bound by memory).
inline bool padsWeights(const memory::desc& chosen, const memory::desc& plain)
{
    return chosen.get_size() > plain.get_size() + plain.get_size() / 8;
}

// Attributes with the scratchpad left to the caller (PrimKernel binds it into the shared scratch).
inline dnnl::primitive_attr userScratchpad()
{
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

// True when oneDNN picked an implementation that is not a direct JIT kernel (gemm-based or reference).
bool isGemmOrRef(const char* implInfo);

// Checks that an input is present with dtype F32.
Status requireF32(const KernelArgs& args, size_t input, const char* what);

// A single oneDNN primitive whose every argument is bound at run time to an input, an output, a packed
// weight or a slice of the shared scratch. Subclasses add work before or after through the hooks.
class PrimKernel : public Kernel
{
public:
    enum class From { Input, Output, Packed, Scratch };

    PrimKernel(CpuContext& ctx, std::string who)
        : m_ctx(ctx)
        , m_who(std::move(who))
    { }
    // Binds `arg` to `md`-described memory taken from input/output/packed `index`, or from the scratch at
    // byte `index` (call reserveScratch for it).
    void bind(int arg, const memory::desc& md, From from, size_t index);
    // Builds the primitive; binds DNNL_ARG_SCRATCHPAD into the shared scratch when the primitive wants one
    // (build the primitive descriptor with scratchpad_mode::user). Call it before reserveScratch.
    void setPrimitive(const dnnl::primitive_desc& pd);
    // Byte offset of `bytes` of private scratch (after the scratchpad), valid during run().
    size_t reserveScratch(size_t bytes);

    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override;
    double flops() const override { return m_flops; }

    double m_flops = 0.0;

protected:
    virtual Status before(const std::vector<const Tensor*>&, const std::vector<Tensor*>&) { return {}; }
    virtual Status after(const std::vector<const Tensor*>&, const std::vector<Tensor*>&) { return {}; }
    std::byte* scratch() { return m_scratch ? m_scratch->data() : nullptr; }

    CpuContext& m_ctx;
    std::string m_who;

private:
    struct Binding
    {
        int arg;
        From from;
        size_t index;
        memory mem;
    };
    dnnl::primitive m_prim;
    std::vector<Binding> m_bindings;
    std::unordered_map<int, memory> m_args;
    std::shared_ptr<SharedScratch> m_scratch;
    size_t m_scratchUsed = 0;
};

} // namespace dnnlx
} // namespace dl::cpu
