#pragma once

// Building a stored Run from a session's outcome, and reading back what the planner and the views need of one.

#include "runstore.h"

#include "core/result.h"

#include "memory/ledger.h"
#include "plan/planner.h"
#include "session/session.h"
#include "trace/trace.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dl::store {

// A device as the store keys it (host, backend, CPU, GPU).
DeviceInfo deviceInfoOf(const DeviceIdentity& device);

// The stored form of a run's outcome, whoever made it (dlayer run --record, the studio, the board agent): its report
// as the one document, the device named in the report (the one that ran it, not this machine), per-layer times of
// the timed iterations kept, every event kept and the ledger's timeline.
Run runFromOutcome(const SessionOutcome& outcome);

// Per-layer statistics from a run's trace events: each layer's read, copy and kernel spans and its kernel stalls in
// iterations [firstIteration, lastIteration), as the mean per iteration. `names`, `bytes` and `resident` are by layer
// index and give the layer count; events of other layers and iterations (set-up is -1) are skipped. `boundBytes`: the
// layers' bytes where the kernels read them (LayerStats::boundBytes), when the pack widens them; may be empty.
std::vector<LayerStats> layerStatsFromEvents(const std::vector<TraceEvent>& events,
    const std::vector<std::string>& names, const std::vector<int64_t>& bytes, const std::vector<bool>& resident,
    int firstIteration, int lastIteration, const std::vector<int64_t>& boundBytes = {});

// The events as stored (without their labels).
std::vector<StoredEvent> storedEvents(const std::vector<TraceEvent>& events);
// The ledger's timeline as stored.
std::vector<MemorySample> memorySamples(const std::vector<MemoryLedger::Sample>& timeline);
// And back, for whoever replays a stored run (the studio's views, the Chrome trace): the events without labels, a
// memory sample as a counter sample without bandwidth.
TraceEvent traceEventOf(const StoredEvent& e);
CounterSample counterSampleOf(const MemorySample& m);

// Sets the latency statistics (iterations, median, min, max, mean) of `run` from the timed iterations' times.
void setLatencies(Run& run, const std::vector<double>& timesMs);

// The planner's cost model from a stored run's per-layer times (a profile): the constants the plan pins are what
// the resident-weights peak held beyond the resident layers; activations and workspace come from the report's
// "memory" object. Invalid when the run has no per-layer times or they do not fit a disk model.
Result<plan::CostModel> costModelFromRun(const Run& run);

// A stored pipelined run (sync, async, two-stage) as the planner's calibration input: its configuration (each
// ring's size from its staging), median latency and kernel time per inference. Invalid for any other run.
Result<plan::CalibrationRun> calibrationRunOf(const Run& run);

// A stored pipelined run paired with a preloaded twin of its own layers (`dlayer run --paired-preload
// --paired-split`) as the input of plan::calibrateKernels(): its configuration, its median overhead over the twin,
// the twin's median latency and its kernels' stall. Invalid for any other run.
Result<plan::PairedRun> pairedRunOf(const Run& run);

// The runs a plan of the model `modelHash` weighs, one per split: per split the model's newest sequential run (each
// stage's time alone), else its newest streaming run; only `onlySplit`'s when given, only this `host`'s when it is
// not empty; only runs of packs of `precision` ("fp32", "fp16") on `backend` ("cpu", "cuda"). The first is the newest
// sequential run of any split (the newest streaming one where there is none). Run ids; empty when the store has no
// streaming run of the model.
Result<std::vector<int64_t>> profileRunIds(const RunStore& store, const std::string& modelHash,
    std::optional<uint64_t> onlySplit = std::nullopt, const std::string& host = {},
    const std::string& precision = "fp32", const std::string& backend = "cpu");

// The newest run in `store` that can calibrate a plan profiled on `profile`: a whole pipelined run of the same model
// on the same device (host and CPU), with the profile's layers and split, that streamed a layer and — for the read
// factor (plan::calibrate()) — ran back to back, not paired with a preloaded twin, or — with `paired`, for the
// kernels' slowdown (plan::calibrateKernels()) — was paired with a twin of its own layers. Runs that cannot be read
// are passed over. Nothing when there is none.
Result<std::optional<Run>> findCalibrationRun(const RunStore& store, const Run& profile, bool paired = false);

// What a plan needs of a store: the model, and which profiles to weigh.
struct ProfileQuery
{
    std::string modelHash;
    std::optional<uint64_t> onlySplit; // one split's profile only
    std::string host; // not empty: only this device's runs
    size_t layers = 0; // not 0: a whole-layer profile must have this many layers (the plan at hand)
    std::string precision = "fp32"; // profiles of packs of this precision only (an fp16 plan's from fp16 packs)
    std::string backend = "cpu"; // profiles of runs on this backend only
    bool calibrate = true; // calibrate each profile on the pipelined runs beside it (plan/profiles.h)
};

// A profile as loaded: its run, its cost model (calibrated where a run beside it could), the runs it was calibrated
// on, and notes on what was left out.
struct LoadedProfile
{
    Run run;
    uint64_t splitBytes = 0;
    plan::CostModel model;
    std::optional<Run> calibration; // the read contention's run
    std::optional<plan::Calibration> readCalibration;
    std::optional<Run> pairedCalibration; // the kernels' slowdown's run
    std::optional<plan::KernelCalibration> kernelCalibration;
    std::vector<std::string> notes;
};

// The profiles of a model in `store`, chosen by plan::chooseProfiles() (the first is the one a single plan takes),
// each with its cost model and calibrations. A profile that cannot be read or modelled is passed over; Invalid with
// plan::noProfileMessage() when none is left (or with why the last one was unusable).
Result<std::vector<LoadedProfile>> loadProfiles(const RunStore& store, const ProfileQuery& query);

// A stored run's trace as a Chrome JSON trace (trace/chrometrace.h): its spans and stalls, and its memory samples
// as counters; time 0 is the run's first event. Io naming the path on a write error.
Status writeRunChromeTrace(const Run& run, const std::string& path);
// A stored run's per-layer statistics as CSV (a header row, then layer, name, bytes, resident, read, copy, kernel
// and stall ms per inference), written beside the target and renamed into place. Io naming the path.
Status writeRunLayersCsv(const Run& run, const std::string& path);

// The split (ExecutorOptions::splitBytes) a run was planned with, from its configuration; 0 for none.
uint64_t runSplitBytes(const Run& run);
// How a run's pack stored the weights, from its configuration: "fp32" (also for runs from before precisions) or "fp16".
std::string runPrecision(const Run& run);

} // namespace dl::store
