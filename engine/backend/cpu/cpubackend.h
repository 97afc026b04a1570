#pragma once

// The CPU backend: oneDNN and loops of our own on the calling thread's OpenMP team. Its device is the host: every
// memory space is host memory (pages aligned for O_DIRECT reads), a stream's copy happens when it is enqueued and its
// events complete when they are recorded.

#include "backend/backend.h"

#include <memory>

namespace dl::cpu {

class CpuContext;

class CpuBackend final : public Backend
{
public:
    explicit CpuBackend(int threads);
    ~CpuBackend() override;

    // The layout tag of this build's CPU kernels (oneDNN's version, the ISA it dispatches to, our packing version).
    static std::string cpuLayoutTag();
    // The activations its convolutions take as post-ops, and its split blocks.
    static const BackendHints& cpuHints();

    BackendKind kind() const override { return BackendKind::Cpu; }
    std::string describe() const override;
    MemorySpaceInfo memorySpace(MemorySpace space) const override;
    Result<BackendBuffer> allocate(MemorySpace space, MemTag tag, size_t bytes, MemoryLedger* ledger) override;
    Result<std::unique_ptr<Stream>> createStream(StreamRole role) override;
    Stream& computeStream() override;
    Status supports(const KernelRequest& request) const override;
    Result<std::unique_ptr<Kernel>> createKernel(const KernelRequest& request) override;
    void beginRun() override;
    const BackendHints& hints() const override { return cpuHints(); }
    std::string layoutTag() const override { return cpuLayoutTag(); }
    size_t slotAlignment() const override { return 64; }
    size_t workspaceBytes() const override;
    Status upload(const Tensor& host, Tensor& device) override;
    Status download(const Tensor& device, Tensor& host) override;

protected:
    void deallocate(MemorySpace space, std::byte* data, size_t bytes) override;

private:
    std::unique_ptr<CpuContext> m_ctx;
    std::unique_ptr<Stream> m_compute;
};

} // namespace dl::cpu
