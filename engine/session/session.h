#pragma once

// A run as one library call: a RunSpec goes in, prepare() imports, plans, opens (or makes) the cached layer pack,
// allocates the buffers and reads the resident layers; run() times the iterations and hands back the outcome, a typed
// RunReport with what the store keeps beside it. `dlayer run`, the studio's local session and the board agent are
// adapters over this; none of them repeats a step. Recording is not a step here: it is a listener of the outcome.
//
// Every failure is a value: bad input, a damaged pack, a read error and running out of memory (the ledger's
// capacity, an allocation refused, std::bad_alloc anywhere below) end the run with a message that names what went
// wrong; nothing aborts. A stop token is honoured in every phase, resident reads included.

#include "backend/backend.h"
#include "core/result.h"
#include "core/tensor.h"
#include "memory/ledger.h"
#include "pipeline/arch.h"
#include "pipeline/pipeline.h"
#include "session/runreport.h"
#include "trace/trace.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dl {

// How a streaming run reads its pack.
struct ReadSpec
{
    bool direct = true; // O_DIRECT
    bool uring = true; // io_uring where the kernel offers it
    unsigned queueDepth = 8;
    size_t chunkBytes = size_t(4) << 20;
    Verify verify = Verify::First;
    bool readThread = false; // two-stage: reads on a thread of their own
};

struct RunSpec
{
    std::string model; // ONNX, Darknet .cfg, or a .dlpack (re-planned from the model it was packed from)
    std::string modelHash; // not empty: the identity (modelHash()) the model must have, else the run is refused
    std::string weights; // Darknet .weights; empty: ONNX, or seeded weights
    std::map<std::string, Shape> inputShapes;
    std::optional<Shape> onlyInputShape; // the shape of a model's single input, unnamed
    std::map<std::string, std::string> inputFiles; // input name → TensorProto file; other inputs are seeded
    uint64_t seed = 1; // seeded inputs: input i gets seed + i
    std::optional<Arch> arch; // none: the executor's own weights, no pack (a .dlpack: preload)
    uint64_t stagingBytes = 0; // async and two-stage rings; 0: the smallest that works
    std::vector<int> resident; // layers held from set-up on
    uint64_t budgetBytes = 0; // > 0: the budget rule picks the split, staging and resident layers
    std::optional<uint64_t> splitBytes; // layers above it are cut; none: whole layers, or what the budget needs
    // How the pack stores the weights; none: a configuration's or a pack's own, else fp16 for a model that stores its
    // weights in float16 and fp32 for the rest.
    std::optional<Precision> precision;
    std::string configFile; // a planner configuration: fixes the architecture, staging, resident layers and split
    std::string configText; // not empty: that configuration's text (one kept in a run store), configFile its name
    int warmup = 2;
    int iterations = 10;
    bool continuous = false; // until stopped; the outcome keeps the latest keepIterations
    int keepIterations = 50;
    int threads = 0; // 0: the engine's default
    // What computes; none: a configuration's, else the CPU backend. A backend that cannot run here fails the run
    // before anything is read, saying why (makeBackend).
    std::optional<BackendKind> backend;
    bool captureGraphs = true; // ExecutorOptions::captureGraphs (dlayer run --no-graphs)
    std::string packDir; // the pack cache; empty: defaultPackDir()
    ReadSpec read;
    bool hugePages = true; // staging on transparent huge pages (a process-wide setting)
    uint64_t memoryLimitBytes = 0; // > 0: the ledger's capacity; more is refused as out of memory
    std::string traceFile; // a Chrome trace of the run, set-up included
    bool pairedDisk = false; // after each timed run, read its bytes again alone (RunReport::pairedDisk)
    std::string source = "dlayer"; // who asks: "dlayer", "studio", "agent"
};

// What a prepared run is about to stream.
struct SessionSetup
{
    std::string modelPath, weightsPath; // absolute
    std::string modelHash;
    std::map<std::string, Shape> inputShapes; // as planned
    std::string packPath; // empty in-memory
    std::optional<Arch> arch;
    std::vector<std::string> layerNames; // by layer index
    std::vector<int64_t> layerBytes; // padded weight bytes a read covers
    std::vector<std::string> layerStored; // how the pack stores each layer's weights (storedTypeOf)
    std::vector<int64_t> layerBoundBytes; // each layer where the kernels read it (PackLayer::boundPadded)
    Precision precision = Precision::F32; // the pack's
    std::vector<bool> resident;
    uint64_t stagingBytes = 0, residentBytes = 0, budgetBytes = 0, splitBytes = 0, modelWeightBytes = 0;
    uint64_t preloadWeightBytes = 0; // what preload would hold: every layer as packed, and the constants pinned
    std::string reader;
    bool directIo = false;
    std::vector<std::string> outputNames;
};

// A run's outcome: the report, and what a recorder keeps beside it.
struct SessionOutcome
{
    RunReport report;
    SessionSetup setup;
    std::string configJson = "{}"; // the configuration as run (store::Run::configJson)
    std::vector<TraceEvent> events; // set-up (-1) and the iterations kept
    int firstIteration = 0, endIteration = 0; // the timed iterations kept: [first, end)
    std::vector<MemoryLedger::Sample> timeline;
    int64_t startedMs = 0, finishedMs = 0; // Unix time
    std::vector<Tensor> outputs; // of the last inference
};

// Where prepare() is, for a progress bar: the phase, a percentage (-1: unknown), and for packing the layers done of
// the total; `detail` names the model, the architecture, or why a cached pack is made again.
struct Progress
{
    enum class Phase { Importing, Planning, Packing, Repacking, SettingUp };
    Phase phase = Phase::Importing;
    int percent = -1;
    size_t done = 0, total = 0;
    std::string detail;
};
// The progress in English, for the command line: "packing layer 12 of 161".
std::string progressText(const Progress& p);
using ProgressFn = std::function<void(const Progress&)>;

struct IterationHooks
{
    std::function<bool(int iteration)> before; // false: end the run here, as if it had been asked for no more
    std::function<Status(int iteration, double ms)> after; // an error fails the run with it
};

class Session
{
public:
    // Imports, plans, packs (or opens the cached pack), allocates and reads the resident layers. `stop` (may be null,
    // must outlive the session) cancels any phase with Cancelled; `sinks` see every trace event from the resident reads
    // on (they must outlive the session). Invalid, Corrupt, Io or Internal ("out of memory ...") otherwise.
    static Result<std::unique_ptr<Session>> prepare(const RunSpec& spec, const std::atomic<bool>* stop = nullptr,
        const ProgressFn& progress = {}, const std::vector<TraceSink*>& sinks = {});
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    const SessionSetup& setup() const;
    // Warm-up, then the timed iterations (or until stopped). The outcome's report says ok, failed (with the error) or
    // cancelled (a stop; a continuous run stopped after timed iterations is ok). Call once.
    SessionOutcome run(const IterationHooks& hooks = {});
    // Thread-safe: stops the run in progress within one layer.
    void cancel();

    struct Impl;

private:
    explicit Session(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// Milliseconds since the Unix epoch.
int64_t unixNowMs();

} // namespace dl
