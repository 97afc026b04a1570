#include "backend/cpu/cpubackend.h"

#include "backend/cpu/cpucontext.h"
#include "backend/cpu/dnnlcommon.h"
#include "backend/cpu/kernel.h"
#include "core/streamcopy.h"
#include "runtime/versions.h"
#include "trace/trace.h"

#include <cstring>

namespace dl::cpu {
namespace {

// Complete when recorded: the work before it ran on the thread that recorded it.
class CpuEvent final : public Event
{
public:
    explicit CpuEvent(int64_t at)
        : m_at(at)
    { }
    bool query() override { return true; }
    Status wait() override { return {}; }
    int64_t timeNs() override { return m_at; }

private:
    int64_t m_at;
};

class CpuStream final : public Stream
{
public:
    Status copy(void* dst, const void* src, size_t bytes) override
    {
        if (bytes == 0) return {};
        if (!dst || !src) return invalid("a copy of " + std::to_string(bytes) + " bytes from or to nothing");
        copyStreaming(dst, src, bytes);
        return {};
    }
    Result<std::unique_ptr<Event>> record() override { return std::unique_ptr<Event>(new CpuEvent(traceClockNs())); }
    Status waitFor(Event& event) override { return event.wait(); }
    Status synchronize() override { return {}; }
};

constexpr size_t kPageAlignment = 4096; // O_DIRECT reads land in staging buffers

} // namespace

CpuBackend::CpuBackend(int threads)
    : m_ctx(std::make_unique<CpuContext>(threads))
    , m_compute(std::make_unique<CpuStream>())
{ }

CpuBackend::~CpuBackend() = default;

std::string CpuBackend::cpuLayoutTag()
{
    // pack 2: matrix products whose packed weights would be padded keep them plain, and splits cut products finer.
    return "cpu-onednn " + oneDnnVersion() + " isa " + std::to_string(static_cast<int>(dnnl_get_effective_cpu_isa()))
        + " pack 2";
}

const BackendHints& CpuBackend::cpuHints()
{
    // oneDNN's convolution post-ops (dnnlconv.cpp maps each to an eltwise algorithm); blocks of 64 output channels,
    // as its AVX-512 convolutions and matrix products pack weights.
    static const BackendHints hints { { "Relu", "LeakyRelu", "Elu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish",
                                          "Tanh", "Mish", "Softplus", "Swish" },
        64, 16 };
    return hints;
}

std::string CpuBackend::describe() const
{
    return "cpu: oneDNN " + oneDnnVersion() + ", " + std::to_string(m_ctx->threads()) + " threads";
}

MemorySpaceInfo CpuBackend::memorySpace(MemorySpace space) const
{
    MemorySpaceInfo info;
    info.space = space;
    info.available = true;
    info.alignment = kPageAlignment;
    info.hostVisible = true;
    switch (space) {
    case MemorySpace::Host:
        info.note = "host memory";
        break;
    case MemorySpace::PinnedHost:
        info.note = "host memory (nothing to pin for: no copy engine)";
        break;
    case MemorySpace::Device:
        info.note = "host memory (the CPU's kernels read it where it lies)";
        break;
    case MemorySpace::Mapped:
        info.note = "host memory (the kernels read it without a copy)";
        break;
    }
    return info;
}

Result<BackendBuffer> CpuBackend::allocate(MemorySpace space, MemTag tag, size_t bytes, MemoryLedger* ledger)
{
    DL_ASSIGN(LedgerBuffer host, LedgerBuffer::tryAllocate(ledger, tag, bytes, memorySpace(space).alignment));
    return BackendBuffer::fromHost(space, std::move(host));
}

void CpuBackend::deallocate(MemorySpace, std::byte*, size_t)
{
    // Host buffers free themselves (LedgerBuffer); nothing is adopted here.
}

Result<std::unique_ptr<Stream>> CpuBackend::createStream(StreamRole)
{
    return std::unique_ptr<Stream>(new CpuStream());
}

Stream& CpuBackend::computeStream()
{
    return *m_compute;
}

Status CpuBackend::supports(const KernelRequest& request) const
{
    const Node& node = request.node;
    if (!node.domain.empty() && node.domain != "ai.onnx")
        return nodeUnsupported(node, "operator domain '" + node.domain + "' is not supported");
    if (!OpRegistry::instance().find(node.opType))
        return nodeUnsupported(node, "operator '" + node.opType + "' is not supported by the CPU backend");
    return {};
}

Result<std::unique_ptr<Kernel>> CpuBackend::createKernel(const KernelRequest& request)
{
    return cpu::createKernel(KernelArgs { request.node, request.inputs, request.opset, *m_ctx });
}

void CpuBackend::beginRun()
{
    // OpenMP's thread count is per calling thread; runs may come from any thread (the studio's workers).
    m_ctx->applyThreads();
}

size_t CpuBackend::workspaceBytes() const
{
    return dnnlx::sharedScratch(*m_ctx)->size();
}

Status CpuBackend::upload(const Tensor& host, Tensor& device)
{
    if (host.bytes() != device.bytes()) return invalid("upload: sizes differ");
    if (host.data() != device.data()) std::memcpy(device.data(), host.data(), host.bytes());
    return {};
}

Status CpuBackend::download(const Tensor& device, Tensor& host)
{
    if (host.bytes() != device.bytes()) return invalid("download: sizes differ");
    if (host.data() != device.data()) std::memcpy(host.data(), device.data(), device.bytes());
    return {};
}

} // namespace dl::cpu

namespace dl {

std::shared_ptr<Backend> makeCpuBackend(int threads)
{
    return std::make_shared<cpu::CpuBackend>(threads);
}

void releaseCachedKernels()
{
    // Emptied by a capacity of none, then given its capacity back; primitives in use hold their own references.
    const int capacity = dnnl::get_primitive_cache_capacity();
    dnnl::set_primitive_cache_capacity(0);
    dnnl::set_primitive_cache_capacity(capacity);
}

} // namespace dl
