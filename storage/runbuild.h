#pragma once

// Building a stored Run from what a pipeline run left behind (its trace events, the ledger's timeline), shared by
// `dlayer run --record` and the studio's local session.

#include "runstore.h"

#include "memory/ledger.h"
#include "plan/planner.h"
#include "trace/trace.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dl::store {

// This machine as the store keys devices: host name and CPU model (from /proc/cpuinfo), CPU backend.
DeviceInfo thisDevice();

// Milliseconds since the Unix epoch, now.
int64_t unixNowMs();

// Per-layer statistics from a run's trace events: each layer's read, copy and kernel spans and its kernel stalls in
// iterations [firstIteration, lastIteration), as the mean per iteration. `names`, `bytes` and `resident` are by layer
// index and give the layer count; events of other layers and iterations (set-up is -1) are skipped.
std::vector<LayerStats> layerStatsFromEvents(const std::vector<TraceEvent>& events,
    const std::vector<std::string>& names, const std::vector<int64_t>& bytes, const std::vector<bool>& resident,
    int firstIteration, int lastIteration);

// The events as stored (without their labels).
std::vector<StoredEvent> storedEvents(const std::vector<TraceEvent>& events);
// The ledger's timeline as stored.
std::vector<MemorySample> memorySamples(const std::vector<MemoryLedger::Sample>& timeline);

// Sets the latency statistics (iterations, median, min, max, mean) of `run` from the timed iterations' times.
void setLatencies(Run& run, const std::vector<double>& timesMs);

// The planner's cost model from a stored run's per-layer times (a profile): the constants the plan pins are what
// the resident-weights peak held beyond the resident layers; activations and workspace come from the report's
// "memory" object. Invalid when the run has no per-layer times or they do not fit a disk model.
Result<plan::CostModel> costModelFromRun(const Run& run);

// The split (ExecutorOptions::splitBytes) a run was planned with, from its configuration; 0 for none.
uint64_t runSplitBytes(const Run& run);

} // namespace dl::store
