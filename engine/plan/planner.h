#pragma once

// The planner: a cost model taken from one profiling run, a simulator that replays any architecture with any
// configuration on it, and an optimizer that picks the resident layers and the staging for a memory budget
// (docs/planner.md).
//
// The simulator follows the pipeline's own rules: the same StagingRing allocation (contiguous regions, wrapping),
// rings released in order when a layer's kernels (two-stage) or copy (async, host ring) end, one disk that serves
// reads in order at its bandwidth and pays its per-request latency when it was idle, kernels in layer order. The
// reader runs ahead across iterations as far as the staging allows; the prediction is the third of back-to-back
// iterations. The weight memory it predicts is what the ledger counts: pinned constants, resident layers' padded
// bytes and the staging buffers.

#include "core/result.h"
#include "pipeline/arch.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dl::plan {

struct LayerCost
{
    std::string name;
    uint64_t bytes = 0; // padded bytes of the layer's blob (what a read covers); 0 for a layer without weights
    double kernelMs = 0; // the layer's kernels, weights at hand
    // Host → device copy of its weights (async, sync, sequential), or for a layer an fp16 pack widens the widening
    // (which two-stage's kernel stage does before the layer's kernels); 0: from copyBytesPerMs
    double copyMs = 0;
    // Padded bytes where the kernels read it, when more than `bytes`: a layer an fp16 pack stores in float16 and the
    // copy stage widens (PackLayer::boundPadded); 0: the same as `bytes`.
    uint64_t boundBytes = 0;

    uint64_t bound() const { return boundBytes > bytes ? boundBytes : bytes; }
    bool widens() const { return boundBytes > bytes; }
};

// How reads and kernels slow each other where they run at once, in the pipelined architectures (sync, async,
// two-stage): they share this machine's memory and cores and, in a virtual machine, the host that serves the disk.
// Reads go at readFactor × the profile's bandwidth (1 until calibrate() fits it to a pipelined run). The kernels
// take kernelMsPerMB longer per MB (10^6 bytes) the inference streams, spread over them in proportion to their time:
// the CPU time each byte read costs, which overlap cannot hide (0 until calibrateKernels() fits it to a pipelined run
// paired with a preloaded twin).
struct Contention
{
    double readFactor = 1;
    double kernelMsPerMB = 0;
    bool operator==(const Contention&) const = default;
};

struct CostModel
{
    std::vector<LayerCost> layers;
    Contention contention;
    double diskBytesPerMs = 0; // sequential read bandwidth
    double requestMs = 0; // latency a read pays when the disk was idle before it
    double copyBytesPerMs = 0; // for layers whose copyMs is 0
    uint64_t pinnedBytes = 0; // constants the plan pins (always resident)
    uint64_t activationBytes = 0;
    uint64_t workspaceBytes = 0;

    uint64_t weightBytes() const; // every layer's padded bytes where the kernels read them: what preload holds
    uint64_t readBytes() const; // every layer's padded bytes as read
    bool widens() const; // some layer is widened (an fp16 pack's profile)
    double kernelMs() const; // Σ kernels: the latency of preload
    // Read time of `bytes` after an idle disk.
    double readMs(uint64_t bytes) const;
    double copyMs(size_t layer) const;
};

// The cost model from per-layer times of one run, as the run store keeps them (run_layers): each layer's read
// time and bytes give the disk's bandwidth and request latency by a least-squares fit (reads that overlapped
// kernels or each other are slower than the disk, so a sequential run, whose reads are alone, profiles best).
struct ProfiledLayer
{
    std::string name;
    uint64_t bytes = 0; // padded
    double readMs = 0, copyMs = 0, kernelMs = 0;
    uint64_t boundBytes = 0; // LayerCost::boundBytes
};
Result<CostModel> costModelFromProfile(
    const std::vector<ProfiledLayer>& layers, uint64_t pinnedBytes, uint64_t activationBytes, uint64_t workspaceBytes);

struct Configuration
{
    Arch arch = Arch::TwoStage;
    uint64_t stagingBytes = 0; // async, two-stage: each ring's size; 0: the smallest that works
    std::vector<int> resident;
};

struct Prediction
{
    double latencyMs = 0;
    double stallMs = 0; // the kernels' wait for weights per inference
    uint64_t stagingBytes = 0; // all staging buffers together
    uint64_t residentBytes = 0; // resident layers + pinned
    uint64_t weightsPeak = 0; // resident + staging: the ledger's weight peak
    uint64_t peakTotal = 0; // weightsPeak + activations + workspace
    uint64_t streamedBytes = 0; // read per inference
};

// Invalid when the configuration cannot run (a resident index out of range, a ring below the largest streamed layer).
Result<Prediction> simulate(const CostModel& model, const Configuration& config);

// A pipelined run of the model the cost model profiles, as measured: what calibrate() fits the contention to.
struct CalibrationRun
{
    Configuration config; // as it ran (stagingBytes: each ring's size)
    double latencyMs = 0; // the median of its timed iterations
    std::vector<double> kernelMs; // each layer's kernel time per inference in that run
    // How far off the measured latency a fit may be: a run's median is known only to within this machine's noise,
    // and where latency hardly depends on the factor a tighter fit would turn that noise into contention.
    double toleranceFraction = 0.02;
};

struct Calibration
{
    Contention contention;
    double fittedMs = 0; // the run's configuration simulated with that contention and the run's kernel times
    double uncalibratedMs = 0; // and without contention
};

// Fits the read factor to one pipelined run: with the run's own kernel times in place of the profile's (so that a
// machine that ran faster or slower then does not pass for contention), the factor nearest 1 whose simulated latency
// of the run's configuration is within the tolerance of the measured one; 1 when the run's reads were hidden (any
// factor near 1 fits) or when no factor in [0.2, 5] fits (a run faster than hidden reads allow tells nothing about
// its reads). Invalid when the run cannot calibrate: not sync, async or two-stage, another layer count, nothing
// streamed, or a configuration this model cannot run.
Result<Calibration> calibrate(const CostModel& model, const CalibrationRun& run);

// A pipelined run paired inference by inference with a twin process that preloads the same layers (`dlayer run
// --paired-preload --paired-split`), as measured: what calibrateKernels() fits the kernels' slowdown to. The pairing
// takes the machine's drift out: both sides of a pair run within a second of each other.
struct PairedRun
{
    Configuration config; // as it ran
    double overheadFraction = 0; // the median over the pairs of streamed ÷ preloaded − 1
    double twinMs = 0; // the twin's median latency
    double stallMs = 0; // the kernels' wait for weights per inference in the streamed run
};

struct KernelCalibration
{
    double kernelMsPerMB = 0; // at the profile's speed
    double slowdownFraction = 0; // of the kernels, in that run: its overhead less what its kernels waited
    uint64_t streamedBytes = 0; // per inference in that run
};

// Fits Contention::kernelMsPerMB to one paired pipelined run: the run's overhead over its twin less the share of it
// its kernels spent waiting is what its reads cost the kernels, per MB it streamed, scaled to the profile's kernels;
// 0 when that is negative (the machine's noise). Invalid for a run that is not sync, async or two-stage, streamed
// nothing, or has a configuration this model cannot run.
Result<KernelCalibration> calibrateKernels(const CostModel& model, const PairedRun& run);

// How long `other`'s kernels ran against `reference`'s on the layers both have by name — the layers neither split
// cuts, the same work in both: Σ other ÷ Σ reference over them. Profiles of two splits recorded at different moments
// of a machine whose speed drifts differ by this before any split is weighed. 1 when the common layers hold under a
// tenth of either's kernel time (too little to tell).
double kernelSpeedRatio(const CostModel& reference, const CostModel& other);
// Multiplies every kernel time of `model`, and the kernels' slowdown beside reads, by `factor`.
void scaleKernels(CostModel& model, double factor);

// Weight bytes that configuration holds: pinned, resident, staging, as Pipeline::setup() allocates them.
uint64_t predictedStagingBytes(const CostModel& model, const Configuration& config);

// The least latency any configuration within `budgetBytes` of weight memory could reach: the kernels alone, or
// the bytes that must be streamed (all weights but what the budget could keep beside the smallest staging) at the
// disk's bandwidth (× the calibrated read factor for sync, async and two-stage), whichever is longer.
double lowerBoundMs(const CostModel& model, Arch arch, uint64_t budgetBytes);

struct Choice
{
    Configuration config;
    Prediction prediction;
    double lowerBoundMs = 0;
    uint64_t budgetBytes = 0;
};

// The configuration of `arch` with the least predicted latency whose weight memory fits `budgetBytes`; Invalid
// naming the minimum when none does. Preload fits only the whole model.
Result<Choice> optimize(const CostModel& model, Arch arch, uint64_t budgetBytes);

// optimize() at `points` budgets from the architecture's minimum to the whole model, spaced geometrically.
Result<std::vector<Choice>> frontier(const CostModel& model, Arch arch, int points = 64);

// Smallest weight memory `arch` can run with on this model (nothing resident).
uint64_t minimumBudget(const CostModel& model, Arch arch);

// Profiles of several splits of one model, planned together (docs/planner.md, "Choosing the split").

// The model whose frontier reaches the smallest budget of `arch` (the first of those that tie); 0 for none.
size_t smallestReach(const std::vector<CostModel>& models, Arch arch);

// Weighs every model at the speed of models[reference]: each other one's kernels scaled by the inverse of
// kernelSpeedRatio(reference, it), so that the machine's drift between the moments the profiles were recorded does
// not pass for what a split costs. Returns each model's factor (1 for the reference and where the ratio is 1).
std::vector<double> alignKernelSpeeds(std::vector<CostModel>& models, size_t reference);

struct MergedFrontier
{
    std::vector<Choice> points; // from the smallest budget to the whole model
    std::vector<size_t> from; // by point: the index of the model its choice was made on
};

// The frontier of models[base] at `points` budgets; at each of its budgets, another model takes the point where
// it predicts a lower latency (within its own minimum). Fails as frontier() does on models[base].
Result<MergedFrontier> mergedFrontier(const std::vector<CostModel>& models, size_t base, Arch arch, int points = 64);

} // namespace dl::plan
