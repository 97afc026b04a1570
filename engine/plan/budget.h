#pragma once

// The budget rule and the staging each architecture holds: the one home of these policies, which the pipeline (its
// buffers), the engine session (--budget), the planner (its simulator) and the command line (dlayer info --budget)
// all ask, so that what is predicted, what is refused and what is allocated agree byte for byte.

#include "core/result.h"
#include "pack/layerpack.h"
#include "pipeline/arch.h"
#include "pipeline/pipeline.h"

#include <cstdint>
#include <vector>

namespace dl {

// The staging buffers an architecture allocates: host and device, from the size of each FIFO ring (async, two-stage)
// or the largest streamed layer (sequential: one layer each side; sync: double buffers each side); none when nothing
// streams (largest 0) or for preload.
struct StagingBuffers
{
    uint64_t host = 0, device = 0;
    uint64_t total() const { return host + device; }
};
StagingBuffers stagingBuffers(Arch arch, uint64_t ring, uint64_t largest);
// The same for a pack whose streamed layers widen (fp16): `largest` is the largest streamed layer as read (its
// paddedBytes), `largestWidened` the largest kernel blob of a streamed layer that widens (PackLayer::boundPadded; 0:
// none widens, and this is the three-argument form). The device side holds what the kernels read: sequential and sync
// size it by the larger of the two, async's device ring is twice the host ring (a layer widens to at most twice its
// bytes), and two-stage, which has no copy stage, gets a device buffer of one widened layer that the kernel stage
// widens into before the layer runs.
StagingBuffers stagingBuffers(Arch arch, uint64_t ring, uint64_t largest, uint64_t largestWidened);

// The largest layer of `pack` that is not resident (by layer index; a missing entry is streamed), as read.
size_t largestStreamedLayer(const PackInfo& pack, const std::vector<bool>& resident);
// The largest kernel blob (PackLayer::boundPadded) of a streamed layer that widens; 0 when none does.
size_t largestWidenedLayer(const PackInfo& pack, const std::vector<bool>& resident);

// Smallest weight memory (resident + staging bytes, before pinned constants) `arch` needs for `pack` with nothing
// resident.
size_t minimumWeightMemory(const PackInfo& pack, Arch arch);
// The same from the layers' padded sizes (PackLayer::paddedBytes), before a pack exists.
size_t minimumWeightMemory(const std::vector<uint64_t>& paddedLayerBytes, Arch arch);
std::vector<uint64_t> paddedLayerBytes(const PackInfo& pack);
// Invalid naming the minimum when `budgetBytes` is below it.
Status checkBudget(const std::vector<uint64_t>& paddedLayerBytes, Arch arch, size_t budgetBytes);

// The split the budget rule plans `arch` with (ExecutorOptions::splitBytes): the largest power of two that lets every
// buffer the architecture keeps hold a piece within the budget, with room for three pieces in each FIFO ring (async,
// two-stage) so that two fit however the ring wraps and reading the next piece overlaps the kernels of this one; for
// two where three would mean pieces under 1 MiB. 0 (no split) for preload.
size_t splitForBudget(Arch arch, size_t budgetBytes);

// The budget rule (until the planner): refuses a budget below minimumWeightMemory() naming the minimum; otherwise keeps
// layers resident, largest first (each one that fits beside the staging the rest then needs: room for four of the
// largest streamed layers in each FIFO ring when the budget allows it, else as many as it allows, and with large pages
// on at least one huge page per ring when the budget holds that), and gives what is left to the staging rings.
// Preload needs the whole model.
Result<PipelineOptions> optionsForBudget(const PackInfo& pack, Arch arch, size_t budgetBytes);

} // namespace dl
