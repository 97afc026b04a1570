#include "plan/budget.h"

#include "core/largepages.h"

#include <algorithm>
#include <numeric>

namespace dl {

namespace {

// Layers a FIFO ring holds, when the budget allows, before the budget rule keeps any resident: with room for two, reads
// ran too little ahead and the kernels stalled (docs/experiments/architecture-notes.md, "Measurements behind the
// code").
constexpr size_t kRingAhead = 4;

// The finest split the budget rule makes for a FIFO ring while pieces for two in it are no finer.
constexpr size_t kFinestSplit = size_t(1) << 20;

// Buffers an architecture needs at least, in units of the largest streamed layer (each ring at least one layer).
int largestLayerCopies(Arch a)
{
    return static_cast<int>(stagingBuffers(a, 1, 1).total());
}

} // namespace

StagingBuffers stagingBuffers(Arch arch, uint64_t ring, uint64_t largest)
{
    return stagingBuffers(arch, ring, largest, 0);
}

StagingBuffers stagingBuffers(Arch arch, uint64_t ring, uint64_t largest, uint64_t widened)
{
    if (largest == 0) return {};
    // What the kernels read: a layer as read, or widened (an fp16 pack's; widened is 0 when none widens).
    const uint64_t device = std::max(largest, widened);
    switch (arch) {
    case Arch::Preload:
        return {};
    case Arch::Sequential:
        return { largest, device };
    case Arch::Sync:
        return { 2 * largest, 2 * device };
    case Arch::Async:
        return { ring, widened ? 2 * ring : ring };
    case Arch::TwoStage:
        return { ring, widened };
    }
    return {};
}

size_t largestStreamedLayer(const PackInfo& pack, const std::vector<bool>& resident)
{
    size_t m = 0;
    for (size_t i = 0; i < pack.layers.size(); ++i)
        if (i >= resident.size() || !resident[i]) m = std::max<size_t>(m, pack.layers[i].paddedBytes);
    return m;
}

size_t largestWidenedLayer(const PackInfo& pack, const std::vector<bool>& resident)
{
    size_t m = 0;
    for (size_t i = 0; i < pack.layers.size(); ++i)
        if ((i >= resident.size() || !resident[i]) && pack.layers[i].widens())
            m = std::max<size_t>(m, pack.layers[i].boundPadded());
    return m;
}

size_t minimumWeightMemory(const std::vector<uint64_t>& paddedLayerBytes, Arch arch)
{
    size_t sum = 0, largest = 0;
    for (uint64_t b : paddedLayerBytes) {
        sum += b;
        largest = std::max<size_t>(largest, b);
    }
    return arch == Arch::Preload ? sum : static_cast<size_t>(largestLayerCopies(arch)) * largest;
}

size_t minimumWeightMemory(const PackInfo& pack, Arch arch)
{
    const std::vector<bool> none(pack.layers.size(), false);
    const size_t widened = largestWidenedLayer(pack, none);
    if (widened == 0) return minimumWeightMemory(paddedLayerBytes(pack), arch);
    if (arch == Arch::Preload) {
        size_t sum = 0;
        for (const auto& l : pack.layers)
            sum += l.boundPadded();
        return sum;
    }
    const size_t largest = largestStreamedLayer(pack, none);
    return stagingBuffers(arch, largest, largest, widened).total();
}

std::vector<uint64_t> paddedLayerBytes(const PackInfo& pack)
{
    std::vector<uint64_t> b;
    for (const auto& l : pack.layers)
        b.push_back(l.paddedBytes);
    return b;
}

Status checkBudget(const std::vector<uint64_t>& paddedLayerBytes, Arch arch, size_t budget)
{
    const size_t minimum = minimumWeightMemory(paddedLayerBytes, arch);
    if (budget < minimum)
        return invalid("a weight budget of " + std::to_string(budget) + " bytes is below the minimum of "
            + std::to_string(minimum) + " bytes for the " + archName(arch) + " architecture on this model");
    return {};
}

size_t splitForBudget(Arch arch, size_t budget)
{
    const int copies = largestLayerCopies(arch);
    if (copies == 0) return 0;
    const auto powerOfTwoUnder = [](size_t unit) {
        size_t split = kPackAlignment;
        while (split * 2 <= unit)
            split *= 2;
        return split;
    };
    const size_t perCopy = budget / static_cast<size_t>(copies);
    if (arch != Arch::Async && arch != Arch::TwoStage) return powerOfTwoUnder(perCopy);
    // A FIFO ring places each piece contiguously and wraps when the tail has no room, so with pieces of mixed sizes a
    // ring of two of the largest often holds one: the next read waits for the kernels to free the head. Pieces for
    // three in each ring keep two in it wherever the wrap falls. Not below kFinestSplit, though, where two fit: finer
    // pieces cost more than the stalls they save where a cut layer reads a large input (both measured:
    // docs/experiments/architecture-notes.md, "Measurements behind the code").
    const size_t three = powerOfTwoUnder(perCopy / 3);
    const size_t two = powerOfTwoUnder(perCopy / 2);
    return std::max(three, std::min(two, kFinestSplit));
}

Result<PipelineOptions> optionsForBudget(const PackInfo& pack, Arch arch, size_t budget)
{
    const size_t minimum = minimumWeightMemory(pack, arch);
    if (budget < minimum)
        return invalid("a weight budget of " + std::to_string(budget) + " bytes is below the minimum of "
            + std::to_string(minimum) + " bytes for the " + archName(arch) + " architecture on this model");
    PipelineOptions o;
    o.arch = arch;
    if (arch == Arch::Preload) return o;
    const int copies = largestLayerCopies(arch);
    // FIFO rings first get room for kRingAhead of the largest streamed layers (else as many as the budget allows), so
    // that reads run that far ahead of the kernels and a run of read-heavy layers does not stall them; then residency,
    // then the rest to the rings again.
    const bool fifo = arch == Arch::Async || arch == Arch::TwoStage;
    size_t ahead = 1;
    if (fifo)
        while (ahead < kRingAhead && budget >= (ahead + 1) * minimum)
            ++ahead;
    // A ring under one huge page sits on small pages (core/largepages.h), where a direct read costs the CPU two to
    // three times as much and reads at half the rate (docs/architecture.md, "Huge pages for what the reads fill"):
    // when the budget holds a huge page per ring, each ring gets at least that much before anything is resident.
    const size_t hugeFloor
        = fifo && largePagesOn() && budget >= static_cast<size_t>(copies) * kLargePageBytes ? kLargePageBytes : 0;
    // The staging the streamed layers need with `resident` kept: a layer that is resident costs its kernel blob, one
    // that streams its share of the buffers (stagingBuffers: a widening layer needs room both as read and widened).
    auto stagingNeed = [&](const std::vector<bool>& resident) {
        const size_t largest = largestStreamedLayer(pack, resident);
        const size_t ring = fifo ? std::max(ahead * largest, hugeFloor) : largest;
        return static_cast<size_t>(stagingBuffers(arch, ring, largest, largestWidenedLayer(pack, resident)).total());
    };
    std::vector<bool> resident(pack.layers.size(), false);
    std::vector<size_t> order(pack.layers.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
        [&](size_t a, size_t b) { return pack.layers[a].paddedBytes > pack.layers[b].paddedBytes; });
    size_t pinned = 0;
    for (size_t i : order) {
        if (pack.layers[i].paddedBytes == 0) break;
        resident[i] = true;
        if (pinned + pack.layers[i].boundPadded() + stagingNeed(resident) > budget) {
            resident[i] = false;
            continue; // a smaller layer may still fit
        }
        pinned += pack.layers[i].boundPadded();
        o.resident.push_back(static_cast<int>(i));
    }
    std::sort(o.resident.begin(), o.resident.end());
    if (fifo) {
        // What is left goes to the rings: the staging is `perRing` bytes for each byte of ring, plus `fixed`.
        const size_t largest = largestStreamedLayer(pack, resident);
        const size_t widened = largestWidenedLayer(pack, resident);
        const auto one = stagingBuffers(arch, kPackAlignment, largest, widened);
        const auto two = stagingBuffers(arch, 2 * kPackAlignment, largest, widened);
        const size_t perRing = static_cast<size_t>(two.total() - one.total()) / kPackAlignment;
        const size_t fixed = static_cast<size_t>(one.total()) - perRing * kPackAlignment;
        const size_t room = budget - pinned > fixed ? budget - pinned - fixed : 0;
        // Nothing left to stream: what is left is the rings' all the same (they are not allocated).
        const size_t per = perRing ? perRing : (arch == Arch::Async ? 2 : 1);
        o.stagingBytes = room / per / kPackAlignment * kPackAlignment;
        o.stagingBytes = std::max(o.stagingBytes, largest);
    }
    return o;
}

} // namespace dl
