#pragma once

// Which recorded runs a plan is made from: the profiles (a run per split whose per-layer times become the cost model)
// and the runs that calibrate them (a pipelined run for how much slower reads go beside kernels, a paired one for how
// much slower kernels go beside reads). The one home of these rules and of their messages: the command line and the
// studio both ask here (through store::loadProfiles), so that they choose the same runs and say the same thing when
// there are none.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dl::plan {

// A recorded run as the choice sees it.
struct RecordedRun
{
    int64_t id = 0;
    std::string modelHash, arch, host, cpu;
    bool ok = false; // finished without error
    uint64_t splitBytes = 0; // layers cut above it (0: whole layers)
    std::string precision = "fp32"; // how its pack stored the weights
    std::string backend = "cpu"; // what computed (a GPU's times are not a CPU plan's)
};

// The runs a plan of the model `modelHash` weighs, one per split: per split the newest sequential run (each stage's
// time alone), else its newest streaming run; only `onlySplit`'s when given, only `host`'s when it is not empty; only
// runs of packs of `precision` (an fp16 pack reads other bytes and widens them: its times are not an fp32 plan's), and
// only runs on `backend` (each backend's kernels and copies have their own times). The
// first is the newest sequential run of any split (the newest streaming one where there is none). `runs` are oldest
// first; the result is run ids, empty when there is no streaming run of the model.
std::vector<int64_t> chooseProfiles(const std::vector<RecordedRun>& runs, const std::string& modelHash,
    std::optional<uint64_t> onlySplit = std::nullopt, const std::string& host = {},
    const std::string& precision = "fp32", const std::string& backend = "cpu");

// The runs that may calibrate `profile`, newest first: finished pipelined runs (sync, async, two-stage) of the same
// model on the same device (host, CPU and backend), other than the profile. Whether one does is calibrates()'s to say.
std::vector<int64_t> calibrationCandidates(const std::vector<RecordedRun>& runs, const RecordedRun& profile);

// What calibrates() needs of a candidate once it is loaded.
struct CalibrationFacts
{
    size_t layers = 0;
    uint64_t splitBytes = 0;
    bool streamed = false; // it read at least one layer per inference
    bool paired = false; // it ran paired with a preloaded twin
    bool pairedWithOwnLayers = false; // ... a twin of its own layers (--paired-split)
};
// Whether a candidate calibrates a profile of `layers` layers at `splitBytes`: the same layers and split, a layer
// streamed, and for the read factor run back to back (not paired: its ring refilled while the twin ran), for the
// kernels' slowdown (`paired`) paired with a twin of its own layers.
bool calibrates(const CalibrationFacts& candidate, size_t layers, uint64_t splitBytes, bool paired);

// The message for a store with no profile of the model: what to record, in the command line's words and the studio's.
std::string noProfileMessage(
    const std::string& storePath, std::optional<uint64_t> onlySplit, const std::string& precision = "fp32");

} // namespace dl::plan
