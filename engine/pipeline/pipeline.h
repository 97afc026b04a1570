#pragma once

// Demand layering: runs an Executor while its layers' weights stream from a layer pack, in one of the architectures
// of the RTSS 2022 paper (see docs/architecture.md):
//
//   preload     every layer read into resident memory before the first run
//   sequential  read → copy → kernel, one layer after the other, on the calling thread
//   sync        reader, copy and kernel threads advancing on a common cycle through host and "device" double buffers
//   async       the three stages each at its own pace, bounded by a host and a device staging ring
//   two-stage   the reader fills the ring the kernels read (no copy)
//
// Buffers and streams come from the executor's backend (backend/backend.h): the reader fills pinned host memory (in
// two-stage, memory the kernels read where it lies), the copy stage copies on a copy stream into device memory, and a
// ring region is released once the kernels that read it have completed (an event recorded after them), not when they
// were launched; the kernel stage's trace is timed by those events. On the CPU backend the "device" buffer is a second
// host buffer: the copy stage is a memcpy, so that each architecture costs what it means. With an fp16 pack the copy
// stage widens the weights into the float32 the kernels read; two-stage, which has no copy stage, widens in its kernel
// stage into one buffer of the largest widened layer (traced as the layer's copy). Layers named resident are read once,
// at create(), and stay bound. The reader runs ahead across iterations as far as the staging allows. Every allocation
// goes through the ledger; every stage's begin, end and stall goes to the tracer.

#include "backend/backend.h"
#include "core/result.h"
#include "core/tensor.h"
#include "io/weightreader.h"
#include "memory/ledger.h"
#include "pack/layerpack.h"
#include "pipeline/arch.h"
#include "trace/trace.h"

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dl {

class Executor;
class StagingRing;

// When a streamed layer's CRC is checked against the pack table. First: on the layer's first read in the
// pipeline's life (a damaged pack fails the first run; the pack is immutable, so later reads of the same bytes
// are not checked again). Always: on every read. Off: never.
enum class Verify { Off, First, Always };
const char* verifyName(Verify v);
std::optional<Verify> parseVerify(const std::string& name);

struct PipelineOptions
{
    Arch arch = Arch::TwoStage;
    // Size of each staging ring for async (host and device) and two-stage; 0: the smallest that works (the largest
    // streamed layer). Ignored by the other architectures, whose buffers are fixed by the largest layer.
    size_t stagingBytes = 0;
    std::vector<int> resident; // layer indices read once and kept
    // The largest single read request: 4 MiB read faster than 1 MiB where the reads bound the run
    // (docs/experiments/architecture-notes.md).
    size_t chunkBytes = size_t(4) << 20;
    Verify verify = Verify::First;
    // Two-stage: where reads are submitted and reaped. false (the default): by the kernel stage itself, between
    // layers, when the reader is asynchronous (io_uring), so that no thread but the kernels' competes for the cores
    // while the device reads; true, or with a synchronous reader (pread, memory): by a reader thread of their own.
    bool readThread = false;
    // The owner's stop flag, honoured from create() on (between resident reads) as setStopToken() describes.
    const std::atomic<bool>* stopToken = nullptr;
};

// What a run measured, summed over the runs since create() or resetStats().
struct PipelineStats
{
    int runs = 0;
    uint64_t readBytes = 0;
    double readSeconds = 0; // time with at least one read in flight
    double copySeconds = 0; // time copying (or widening) layers to where the kernels read them
    double stallSeconds[4] = {}; // by Stage: time a stage waited for another
};

class Pipeline
{
public:
    ~Pipeline();
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    // Sets up `exec` (already planned, weights released or not) to stream from `pack` through `reader`: checks the
    // options (Invalid naming the minimum when the staging is too small, or a resident index out of range), allocates
    // the buffers, and reads the resident layers (failing as a run would). `exec`, `pack`, and the optional `ledger`
    // and `tracer` must outlive the pipeline.
    static Result<std::unique_ptr<Pipeline>> create(Executor& exec, const PackInfo& pack,
        std::unique_ptr<WeightReader> reader, const PipelineOptions& options, MemoryLedger* ledger = nullptr,
        Tracer* tracer = nullptr);

    // One inference, like Executor::run(). A read or checksum error fails it naming the layer; cancel() makes it
    // return Cancelled within one layer. After a failure the stages restart from the first layer on the next run.
    Result<std::vector<Tensor>> run(const std::vector<Tensor>& inputs);
    // Thread-safe: stops a run in progress. Between runs it only makes the next run start its stages afresh.
    void cancel();
    // A flag of the owner's that, once set, makes every later run return Cancelled at once: with cancel() for the
    // run in progress, a stop cannot fall between two runs and be lost. Null (the default): none. Must outlive the
    // pipeline.
    void setStopToken(const std::atomic<bool>* token) { m_stopToken = token; }

    const PipelineOptions& options() const { return m_options; }
    size_t stagingBytes() const { return m_stagingBytes; } // all staging buffers together
    size_t residentBytes() const { return m_residentBytes; } // resident layers, plus constants pinned by the plan
    const std::vector<int>& streamedLayers() const { return m_streamed; }
    std::string readerDescription() const { return m_readerDescription; }
    bool directIo() const { return m_directIo; }
    // Whether the kernel stage submits and reaps the reads itself (two-stage, PipelineOptions::readThread false, an
    // asynchronous reader), else a reader thread does.
    bool inlineReads() const { return m_inlineReads; }
    const PipelineStats& stats() const { return m_stats; }
    // Starts the counts afresh (between runs; reads the reader does ahead of the next run count towards it).
    void resetStats();
    // Between runs: returns once the stages have read (and copied) ahead of the next run as far as the staging lets
    // them, with no read in flight and none that could start before the next run frees room, so that the disk can
    // be measured alone (dlayer run --paired-disk). Inline reads: once the reads in flight have landed; no read is
    // started. At once when no stage works between runs (sequential, preload, stopped stages).
    void waitForReadAhead();

private:
    struct Item; // a layer's weights handed from one stage to the next
    struct Launched; // a layer's kernels on the compute stream
    struct ReadState;
    struct Pending;
    struct ReadPart;
    struct ReadPump;

    Pipeline(Executor& exec, const PackInfo& pack, std::unique_ptr<WeightReader> reader, const PipelineOptions& o,
        MemoryLedger* ledger, Tracer* tracer);
    Status setup();
    Status readWhole(int layer, std::byte* dst, int iteration, Stage stage);
    // Enqueues the layer's kernels on the compute stream between two events; `ring` (nullable) is released once they
    // have completed (retireKernels).
    Status runLayer(int layer, int iteration, StagingRing* ring);
    // Traces the kernels that have completed, oldest first, and releases the staging they read; `wait`: waits for
    // all of them.
    Status retireKernels(bool wait);
    void dropLaunched();
    // The copy stage's work on one layer: copies it on the copy stream from where it was read to where the kernels
    // read it (returning once the copy has completed), or widens the weights an fp16 pack stores in float16
    // (widenPackLayer); traced as the layer's copy.
    Status copyToKernel(int layer, int iteration, const std::byte* src, std::byte* dst);
    void startStages();
    void stopStages();
    void readerLoop();
    // One step of the read stage: takes ring room for the next layers, submits reads, reaps completions and publishes
    // finished layers in order. `threaded` (the reader thread): may wait for ring room when nothing else can be
    // done; inline (the kernel stage) never does, since it frees the room itself. Waits for a completion only when
    // nothing else could be started and `mayWait`. False once a stage failed or the pipeline stopped.
    // `mayStart` false: takes no room and submits nothing, only reaps and publishes (settling the reads in flight).
    bool pumpReads(bool threaded, bool mayWait, bool mayStart = true);
    // Inline reads: the next streamed layer from the read stage, pumping (and waiting on completions) until it is in.
    std::optional<Item> nextInline(int layer, int iteration);
    void copyLoop();
    // A stage failed: records the first error and wakes every stage so that none waits for another.
    void failStages(const Error& e);
    // What a stage that woke without its input reports: the recorded failure, else Cancelled.
    Error stageFailure() const;
    void emit(EventKind kind, Stage stage, int layer, int iteration, int64_t begin, int64_t end, uint64_t bytes = 0);
    void stall(Stage stage, int layer, int iteration, int64_t begin);
    Error layerError(int layer, const Error& e) const;
    // Checks a layer that has arrived in `data` against the pack, as options.verify asks.
    Status verifyLayer(int layer, const std::byte* data);
    // Widens layer `layer`, stored at `stored` in memory the device reads, into its bound layout at `dst` in device
    // memory, on the copy stream (not waited for).
    Status widenOnDevice(int layer, const std::byte* stored, std::byte* dst);

    Executor& m_exec;
    Backend& m_backend; // the executor's
    std::unique_ptr<Stream> m_copyStream;
    std::deque<Launched> m_launched; // kernel stage only
    const PackInfo& m_pack;
    std::unique_ptr<WeightReader> m_reader;
    PipelineOptions m_options;
    MemoryLedger* m_ledger;
    Tracer* m_tracer;
    std::string m_readerDescription;
    bool m_directIo = false;
    bool m_inlineReads = false;

    std::vector<int> m_streamed; // layer indices streamed each run, in order
    std::vector<bool> m_isResident;
    std::unique_ptr<std::atomic<bool>[]> m_verified; // by layer: its CRC has matched once
    std::vector<BackendBuffer> m_residentBuffers; // by layer, in device memory; empty for streamed ones
    BackendBuffer m_host; // staging the reader fills: pinned host memory, or mapped memory the kernels read (two-stage)
    BackendBuffer m_device; // staging the kernels read (sync, async, sequential; two-stage's widened layer)
    // Where the device is not host memory: a float16 layer as stored, copied there to be widened by the device
    // (empty where no layer widens, or two-stage streams them from memory the device reads).
    BackendBuffer m_halfStaging;
    size_t m_stagingBytes = 0;
    size_t m_residentBytes = 0;

    std::unique_ptr<ReadState> m_state;
    std::atomic<bool> m_cancel { false };
    const std::atomic<bool>* m_stopToken = nullptr;
    bool m_running = false; // stage threads started
    uint64_t m_computeSeq = 0; // streamed items the kernel stage consumed since the stages started
    int m_iteration = 0;
    PipelineStats m_stats;
};

} // namespace dl
