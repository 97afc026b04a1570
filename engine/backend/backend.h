#pragma once

// dl::Backend: what the executor and the pipelines need from the hardware that computes, so that the same plan,
// packs and pipelines run on the CPU (backend/cpu) and on a GPU (backend/cuda).
//
//   memory      buffers in named memory spaces (device, pinned host, host, mapped), each with its alignment, every
//               allocation counted in the ledger and checked (an allocation that fails says so; nothing aborts)
//   streams     ordered queues of work — a compute stream and a copy stream — with events recorded on them; a stage
//               waits for an event before it reads what another stage produced, and frees a buffer only once the
//               event recorded after the last work that read it has completed
//   kernels     supports(node) and createKernel(node); an op the backend does not support runs on the CPU backend,
//               with its inputs downloaded and its outputs uploaded (the executor reports which nodes did)
//   hints       what graph rewrites may assume: the activations a convolution can fuse, the block of output channels
//               a split keeps whole
//   packs       the tag naming the weights' layout, the alignment of each weight in a layer's blob, the workspace
//   transfers   input upload and output download
//
// On the CPU backend the device is the host: every space is host memory, copies happen when they are enqueued and
// events complete when they are recorded, so that the pipelines' bookkeeping costs nothing there.

#include "backend/kernel.h"
#include "core/result.h"
#include "core/tensor.h"
#include "memory/ledger.h"
#include "model/graph.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace dl {

enum class BackendKind : uint8_t { Cpu, Cuda };
// "cpu", "cuda" (stable: configurations, reports and the run store use these names).
const char* backendName(BackendKind kind);
Result<BackendKind> parseBackend(const std::string& name);

enum class MemorySpace : uint8_t {
    Host, // pageable host memory
    PinnedHost, // page-locked host memory a copy engine reads at full speed (cudaHostAlloc)
    Device, // memory the kernels read: a GPU's own, or the host's on the CPU backend
    Mapped, // host memory the kernels read directly, without a copy (integrated GPUs; mapped or managed memory)
};
inline constexpr size_t kMemorySpaceCount = 4;
// "host", "pinned_host", "device", "mapped".
const char* memorySpaceName(MemorySpace space);

struct MemorySpaceInfo
{
    MemorySpace space = MemorySpace::Host;
    bool available = false;
    size_t alignment = 64; // of every buffer allocated there
    bool hostVisible = false; // the CPU may read and write it through a plain pointer
    std::string note; // what it is on this backend, or why it is not available
};

// Graph rewrites' assumptions that depend on the backend's kernels (model/fuse.h, model/split.h).
struct BackendHints
{
    // Activations a Conv may carry as a post-op (fuseGraph records them as "_activation").
    std::set<std::string> fusableActivations;
    // A split keeps whole blocks of this many output channels, as the kernels pack weights (a piece of 112 channels
    // would be packed, and read, as 128 with blocks of 64).
    int64_t splitBlock = 64;
    // Matrix products whose block is above the split may be cut in blocks down to this many channels.
    int64_t finestSplitBlock = 16;
};

class Backend;

// An owning allocation in one memory space, counted in a ledger (nullable, must outlive it) for its lifetime.
class BackendBuffer
{
public:
    BackendBuffer() = default;
    ~BackendBuffer();
    BackendBuffer(BackendBuffer&& other) noexcept;
    BackendBuffer& operator=(BackendBuffer&& other) noexcept;
    BackendBuffer(const BackendBuffer&) = delete;
    BackendBuffer& operator=(const BackendBuffer&) = delete;

    // Host memory allocated by the ledger (LedgerBuffer), for backends whose space is host memory.
    static BackendBuffer fromHost(MemorySpace space, LedgerBuffer host);
    // Memory `owner` allocated itself and counted in `ledger`; `owner` frees it with Backend::deallocate() and the
    // buffer un-counts it.
    static BackendBuffer adopt(
        Backend* owner, MemorySpace space, MemTag tag, std::byte* data, size_t bytes, MemoryLedger* ledger);

    std::byte* data() { return m_data; }
    const std::byte* data() const { return m_data; }
    size_t size() const { return m_size; }
    MemorySpace space() const { return m_space; }
    bool empty() const { return m_data == nullptr; }
    void reset();

private:
    LedgerBuffer m_host;
    Backend* m_owner = nullptr;
    MemoryLedger* m_ledger = nullptr;
    std::byte* m_data = nullptr;
    size_t m_size = 0;
    MemorySpace m_space = MemorySpace::Host;
    MemTag m_tag = MemTag::Workspace;
};

// A point in a stream's work. Complete once everything enqueued on the stream before it has finished.
class Event
{
public:
    virtual ~Event() = default;
    // Whether the work before it has completed; does not wait.
    virtual bool query() = 0;
    // Waits until the work before it has completed, or fails with the stream's error.
    virtual Status wait() = 0;
    // When it completed, on the trace clock (traceClockNs()); valid once query() or wait() said so.
    virtual int64_t timeNs() = 0;
};

enum class StreamRole : uint8_t { Compute, Copy };

// Work recorded from the compute stream (beginCapture .. endCapture), replayed as one launch: the same kernels on the
// same buffers, without a launch per kernel (CUDA graphs).
class CapturedWork
{
public:
    virtual ~CapturedWork() = default;
    virtual Status launch() = 0;
};

class Stream
{
public:
    virtual ~Stream() = default;
    // Enqueues a copy of `bytes` bytes between any two spaces of this backend.
    virtual Status copy(void* dst, const void* src, size_t bytes) = 0;
    // An event after everything enqueued so far.
    virtual Result<std::unique_ptr<Event>> record() = 0;
    // Work enqueued from now on starts only after `event` (recorded on any stream of this backend) has completed.
    virtual Status waitFor(Event& event) = 0;
    // Waits for everything enqueued so far.
    virtual Status synchronize() = 0;
};

// What createKernel is asked for: one node with what planning knows of its inputs.
struct KernelRequest
{
    const Node& node;
    std::vector<ValueDesc> inputs; // one per node input, in order; omitted optional inputs are not present()
    int64_t opset = 0;
    // The weights are float16 values (an fp16 pack): a backend that can may compute with float16 precision (the
    // CUDA backend's convolutions on tensor cores); the CPU backend computes in float32 regardless.
    bool halfCompute = false;
};

class Backend
{
public:
    virtual ~Backend() = default;

    virtual BackendKind kind() const = 0;
    const char* name() const { return backendName(kind()); }
    // One line for reports: the library versions and the device.
    virtual std::string describe() const = 0;

    // --- memory
    virtual MemorySpaceInfo memorySpace(MemorySpace space) const = 0;
    // `bytes` bytes in `space` at its alignment, counted under `tag` in `ledger` (checked against its capacity).
    // Fails with Invalid when the space is not available here, Internal "out of memory" when memory is exhausted.
    virtual Result<BackendBuffer> allocate(MemorySpace space, MemTag tag, size_t bytes, MemoryLedger* ledger) = 0;
    // Whether the kernels read host memory as it is (the CPU backend): inputs and fallback nodes need no copies.
    bool deviceIsHost() const { return memorySpace(MemorySpace::Device).hostVisible; }

    // --- streams and events
    virtual Result<std::unique_ptr<Stream>> createStream(StreamRole role) = 0;
    // The stream kernels enqueue their work on (the executor's runs, uploads and downloads go there).
    virtual Stream& computeStream() = 0;

    // --- kernels
    // Ok when createKernel can make a kernel for the node's op and types, else Unsupported saying why (creation
    // itself may still fail for an attribute only it checks).
    virtual Status supports(const KernelRequest& request) const = 0;
    virtual Result<std::unique_ptr<Kernel>> createKernel(const KernelRequest& request) = 0;
    // Called by the executor before a run from the thread that runs it (per-thread settings such as OpenMP's).
    virtual void beginRun() { }

    // --- capture: whether the compute stream's work can be recorded and replayed. The CPU backend's cannot: its
    // kernels run when they are launched.
    virtual bool canCapture() const { return false; }
    virtual Status beginCapture() { return unsupported(std::string("the ") + name() + " backend does not capture"); }
    virtual Result<std::unique_ptr<CapturedWork>> endCapture()
    {
        return unsupported(std::string("the ") + name() + " backend does not capture");
    }

    // --- hints, packs, workspace
    virtual const BackendHints& hints() const = 0;
    // What decides the packed weights' layout: a pack made by another tag does not fit.
    virtual std::string layoutTag() const = 0;
    // Every weight in a layer's blob starts at a multiple of this.
    virtual size_t slotAlignment() const = 0;
    // Bytes of scratch the kernels share, once planned.
    virtual size_t workspaceBytes() const = 0;

    // --- transfers: between host memory and this backend's device memory, on the compute stream.
    virtual Status upload(const Tensor& host, Tensor& device) = 0;
    virtual Status download(const Tensor& device, Tensor& host) = 0;
    // Widens `n` float16 values (IEEE bits) at `src` into float32 at `dst`, both memory the device's kernels read
    // (device or mapped), in order on `stream`: how a float16 pack's weights, copied to the device as stored, become
    // the kernels' float32 there. The default widens on the calling thread where the device is host memory, and is
    // Unsupported where it is not.
    virtual Status widenHalf(Stream& stream, const void* src, float* dst, size_t n);

protected:
    friend class BackendBuffer;
    // Frees what allocate() handed out with BackendBuffer::adopt().
    virtual void deallocate(MemorySpace space, std::byte* data, size_t bytes) = 0;
};

// The CPU backend (backend/cpu), with `threads` OpenMP threads (0: the OpenMP default).
std::shared_ptr<Backend> makeCpuBackend(int threads = 0);
// Drops the kernels the CPU library keeps compiled for every shape it has seen (oneDNN's primitive cache, up to 1024 of
// them): a program that opens model after model (the studio) calls it when it lets a model go, so that its memory
// stays with the models it has open. Kernels in use keep working; the next run of a closed model compiles its own.
void releaseCachedKernels();

// Whether this build on this machine can run a backend, and if not why: for the CUDA backend, that the build has no
// CUDA, or the device probe's reason naming the CUDA error (cudaErrorInsufficientDriver where there is no driver).
struct BackendAvailability
{
    bool available = false;
    std::string why; // empty when available
    std::string device; // what it would run on ("NVIDIA H100 80GB HBM3, compute 9.0"), where known
};
BackendAvailability backendAvailability(BackendKind kind);
// The backend `kind` with `threads` host threads, or Unsupported saying why it cannot run here. `cacheDir` (may be
// empty): where a backend keeps what it measured for later plans — the CUDA backend its convolution algorithms, in
// cudnn-algorithms.json beside the packs.
Result<std::shared_ptr<Backend>> makeBackend(BackendKind kind, int threads = 0, const std::string& cacheDir = {});

} // namespace dl
