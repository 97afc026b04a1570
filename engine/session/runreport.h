#pragma once

// The report of one run: one typed struct and one JSON serializer and parser. What `dlayer run --json` prints, what
// the run store keeps and what the board agent sends are this document (docs/run-store.md lists its fields).
// The parser is lenient with what is missing (older documents, a run that failed early) and strict with what is
// there: a field of the wrong type is Invalid, naming it.

#include "core/result.h"
#include "memory/ledger.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dl {

// The machine a run ran on, as the engine on it sees itself.
struct DeviceIdentity
{
    std::string host;
    std::string cpu;
    uint64_t memoryBytes = 0; // physical memory (MemTotal)
    std::string backend = "cpu";
    std::string gpu; // empty on the CPU backend
    bool operator==(const DeviceIdentity&) const = default;
};

// This process's machine: host name, CPU model and memory from /proc, the CPU backend.
DeviceIdentity thisDevice();

struct RunReport
{
    static constexpr int kSchema = 1;

    int schema = kSchema;
    std::string status = "ok"; // ok, failed, cancelled
    std::string error; // failed: what the engine said
    std::string model; // the model's path as the engine opened it
    std::string modelHash; // its identity (modelHash(): sha256 of the file, and of its weights file)
    std::string pack; // the layer pack streamed from; empty for an in-memory run
    std::string arch; // an architecture name, or "in-memory"
    DeviceIdentity device;
    std::string source; // who asked for the run: "dlayer", "studio", "agent"
    struct ConfigRef
    {
        std::string file;
        double predictedLatencyMs = 0;
        uint64_t predictedPeakBytes = 0;
    };
    std::optional<ConfigRef> config; // run --config
    int threads = 0;
    int iterations = 0; // timed iterations asked for (a continuous run: those it kept)
    int warmup = 0;
    bool continuous = false;
    uint64_t budgetBytes = 0; // as asked; 0 for none
    std::vector<double> latenciesMs; // the timed iterations
    double latencyMedianMs = 0, latencyMinMs = 0, latencyMaxMs = 0;

    // Streaming runs (absent in-memory).
    size_t layers = 0;
    uint64_t splitBytes = 0;
    size_t layersSplit = 0;
    uint64_t stagingBytes = 0;
    std::vector<int> residentLayers;
    bool residentAll = false; // preload: every layer resident
    size_t streamedLayers = 0;
    uint64_t largestLayerBytes = 0;

    struct Memory
    {
        uint64_t weightsBytes = 0; // resident + staging held at once (ledger peaks)
        uint64_t modelWeightBytes = 0;
        uint64_t activationsBytes = 0, activationsSumBytes = 0, activationsLowerBoundBytes = 0;
        uint64_t workspaceBytes = 0;
        uint64_t peakBytes = 0; // the ledger's largest total
        std::array<uint64_t, kMemTagCount> byTag {};
        uint64_t rssPeakBytes = 0;
        bool rssPeakIsRunOnly = false;
        uint64_t rssSetupPeakBytes = 0;
        bool hugePages = true;
        std::optional<int64_t> hugePageBytes;
    } memory;

    struct DeviceRead
    {
        std::string name;
        double bytes = 0, busyMs = 0;
        std::optional<double> mbPerS; // absent: busy too briefly to rate
    };
    struct Read
    {
        uint64_t bytes = 0; // per inference
        double seconds = 0, mbPerS = 0;
        bool directIo = false;
        std::string reader, verify;
        bool inlineReads = false;
        std::optional<DeviceRead> device;
    };
    std::optional<Read> read;

    struct Quartiles
    {
        double median = 0, q1 = 0, q3 = 0;
    };
    struct PairedDisk
    {
        std::string rateBy;
        uint64_t bufferBytes = 0;
        double diskMBpsMedian = 0;
        Quartiles readPctOfDisk;
        std::vector<std::pair<double, double>> pairsMBps; // (run, disk)
    };
    std::optional<PairedDisk> pairedDisk;
    struct PairedPreload
    {
        double latencyMedianMs = 0, latencyMinMs = 0, latencyMaxMs = 0;
        Quartiles overheadPct;
        std::vector<std::pair<double, double>> pairsMs; // (run, twin)
        std::string twin; // "whole layers" or "the run's layers"
    };
    std::optional<PairedPreload> pairedPreload;

    // Precision: how the weights were stored and read, and what the kernels computed in.
    struct Precision
    {
        std::string weights = "fp32"; // the pack's (fp32, fp16); in-memory: the executor's float32 weights
        std::string compute = "fp32"; // every layer's kernels: the CPU backend computes in float32
        std::string computeWhy; // why not float16, when the model or the pack is float16
        bool modelHalf = false; // the model computes in float16 and ran widened to float32 (model/precision.h)
        size_t layersWidened = 0; // layers whose weights the pack stores in float16 and the copy stage widens
        uint64_t storedBytes = 0; // the streamed layers' bytes as read, per inference
        uint64_t boundBytes = 0; // the same layers as the kernels read them
        std::string widenPath; // what widens: "f16c", "fcvt", "scalar"; empty when nothing widens
    } precision;

    // What computed: the backend's description, and each layer some of whose nodes it does not support, which the CPU
    // backend ran instead (NodePlan::fallback).
    struct Fallback
    {
        int layer = 0;
        std::string name;
        std::vector<std::string> ops;
    };
    struct Compute
    {
        std::string backend; // Backend::describe()
        std::vector<Fallback> fallbacks;
        std::string graphs; // how an inference whose weights stay put runs (Executor::graphs())
        // The library's own times for the kernels it measured at plan time (cuDNN's algorithm search): their sum, in
        // ms per inference, and how many kernels; 0 where none were measured (the CPU backend).
        double measuredMs = 0;
        size_t measuredKernels = 0;
    } compute;

    double stallMs = 0; // the kernel stage's wait per inference
    // The copy stage's work per inference: copying (or widening) streamed layers to where the kernels read them; in
    // two-stage with an fp16 pack, the widening its kernel stage does.
    double copyMs = 0;
    std::array<double, 3> stallMsByStage {}; // read, copy, kernel
    bool streaming() const { return arch != "in-memory"; }

    struct Output
    {
        std::string name, dtype, sha256;
        std::vector<int64_t> shape;
    };
    std::vector<Output> outputs;

    // The weight bytes per inference the ledger kept at once, and the rate reads ran at (the device's own where it
    // counted one: an inline reader's own time also holds the rest of the kernel during which a read completed).
    double effectiveReadMBps() const;
};

// Median, min and max of `times` into the report (0 for none).
void setLatencies(RunReport& r, std::vector<double> times);

// Indented JSON (indent < 0: one line).
std::string reportToJson(const RunReport& r, int indent = 2);
Result<RunReport> reportFromJson(const std::string& text);

} // namespace dl
