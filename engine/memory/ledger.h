#pragma once

// The memory ledger: every byte the engine allocates is counted under a tag, so that the studio can report what the
// run held at its peak (and why) and check it against the process's own measure.

#include "core/result.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace dl {

enum class MemTag : uint8_t { ResidentWeights, Staging, Activations, Workspace };
inline constexpr size_t kMemTagCount = 4;

// "resident_weights", "staging", "activations", "workspace" (stable: trace files and storage use these names).
const char* memTagName(MemTag tag);

// Thread-safe. add() is an uncontended mutex in the common case; it is meant per allocation, not per byte.
class MemoryLedger
{
public:
    struct Sample
    {
        int64_t timeNs = 0;
        std::array<size_t, kMemTagCount> bytes {};
        size_t total() const;
    };

    static constexpr size_t kDefaultTimelineCap = 8192;

    // timelineCap: the most samples timeline() holds (at least 2; see sample()).
    explicit MemoryLedger(size_t timelineCap = kDefaultTimelineCap);

    // Counts `bytes` more under `tag` (negative releases). Releasing more than is held is a bug: it asserts in
    // debug builds and clamps the tag to zero otherwise.
    void add(MemTag tag, int64_t bytes);
    // A ceiling on the total the ledger may hold (0, the default: none). reserve() refuses what would pass it.
    void setCapacity(size_t bytes);
    size_t capacity() const;
    // Counts `bytes` more under `tag` if the total stays within the capacity; otherwise counts nothing and returns
    // Internal "out of memory", naming the tag, the bytes asked for, what is held and the capacity.
    Status reserve(MemTag tag, size_t bytes);

    size_t current(MemTag tag) const;
    size_t peak(MemTag tag) const;
    size_t currentTotal() const;
    // The largest total ever held at once (not the sum of the per-tag peaks, which may come at different times).
    size_t peakTotal() const;
    std::array<size_t, kMemTagCount> currentAll() const;
    // Peaks := current values, e.g. after setup so that the next peaks measure the steady state.
    void resetPeaks();

    // Records the current values at `timeNs` (traceClockNs() time) in the timeline. The timeline keeps at most
    // timelineCap samples for a run of any length: when it fills up, each pair of neighbouring samples is merged into
    // the one with the larger total, and from then on each group of 2 (4, 8, ...) calls contributes its largest sample.
    // So the timeline always covers the whole run at an even density, and memory peaks survive the thinning.
    void sample(int64_t timeNs);
    // The samples in call order, including the one the current, unfinished group would contribute.
    std::vector<Sample> timeline() const;
    void clearTimeline();

private:
    void pushSampleLocked(const Sample& s);

    mutable std::mutex m_mutex;
    std::array<size_t, kMemTagCount> m_current {};
    std::array<size_t, kMemTagCount> m_peak {};
    size_t m_total = 0;
    size_t m_peakTotal = 0;

    size_t m_cap;
    size_t m_capacity = 0; // the ceiling on m_total; 0: none
    std::vector<Sample> m_timeline;
    size_t m_stride = 1; // calls per timeline entry
    size_t m_groupCalls = 0; // calls so far in the unfinished group
    Sample m_groupBest; // the largest sample of the unfinished group (valid when m_groupCalls > 0)
};

// An owning allocation counted in a ledger for its lifetime: aligned, optionally zeroed, movable, not copyable. The
// ledger (nullable) must outlive the buffer. The ledger counts size(), the bytes asked for.
class LedgerBuffer
{
public:
    enum class Fill : uint8_t { Zero, Uninitialised };

    LedgerBuffer() = default;
    ~LedgerBuffer();
    LedgerBuffer(LedgerBuffer&& other) noexcept;
    LedgerBuffer& operator=(LedgerBuffer&& other) noexcept;
    LedgerBuffer(const LedgerBuffer&) = delete;
    LedgerBuffer& operator=(const LedgerBuffer&) = delete;

    // `bytes` bytes aligned to `alignment` (a power of two; 4096 suits O_DIRECT reads); staging buffers from 2 MiB up
    // on transparent huge pages where the kernel offers them (core/largepages.h), every other tag on small pages.
    // Returns an empty buffer when bytes is 0, the alignment is not a power of two, or memory is exhausted;
    // tryAllocate says which.
    static LedgerBuffer allocate(
        MemoryLedger* ledger, MemTag tag, size_t bytes, size_t alignment = 4096, Fill fill = Fill::Zero);
    // As allocate(), but fails with Invalid (bad alignment) or Internal (out of memory) for bytes > 0.
    static Result<LedgerBuffer> tryAllocate(
        MemoryLedger* ledger, MemTag tag, size_t bytes, size_t alignment = 4096, Fill fill = Fill::Zero);

    std::byte* data() { return m_data; }
    const std::byte* data() const { return m_data; }
    size_t size() const { return m_size; }
    size_t alignment() const { return m_alignment; }
    MemTag tag() const { return m_tag; }
    bool empty() const { return m_data == nullptr; }

    // Frees the memory and un-counts it now.
    void reset();

private:
    MemoryLedger* m_ledger = nullptr;
    std::byte* m_data = nullptr;
    size_t m_size = 0;
    size_t m_alignment = 0;
    bool m_mapped = false; // on huge pages (core/largepages.h)
    MemTag m_tag = MemTag::Workspace;
};

} // namespace dl
