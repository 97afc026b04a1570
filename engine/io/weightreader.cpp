#include "io/weightreader.h"

#include "core/largepages.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <thread>
#include <unordered_map>

namespace dl {

namespace {

std::string readName(const ReadRequest& r)
{
    return "read of " + std::to_string(r.bytes) + " bytes at offset " + std::to_string(r.offset);
}

} // namespace

Status checkReadRequest(const WeightReader& reader, const ReadRequest& r)
{
    if (reader.inFlight() >= reader.queueDepth())
        return invalid(std::to_string(reader.inFlight()) + " reads are already in flight (queue depth "
            + std::to_string(reader.queueDepth()) + "); reap one before submitting another");
    if (r.bytes == 0) return invalid("empty " + readName(r) + ": a read must cover at least one byte");
    if (!r.dst) return invalid(readName(r) + " has no destination buffer");
    const uint64_t size = reader.size();
    if (r.offset > size || r.bytes > size - r.offset)
        return invalid(readName(r) + " passes the end of the source (" + std::to_string(size) + " bytes)");
    const size_t a = reader.alignment();
    if (a > 1) {
        const auto address = reinterpret_cast<uintptr_t>(r.dst);
        const char* what = r.offset % a ? "offset" : r.bytes % a ? "size" : address % a ? "buffer address" : nullptr;
        if (what) {
            char addr[32];
            std::snprintf(addr, sizeof addr, "%#llx", static_cast<unsigned long long>(address));
            return invalid(std::string(reader.directIo() ? "O_DIRECT" : "this reader")
                + " needs offsets, sizes and buffers aligned to " + std::to_string(a) + " bytes, but the " + what
                + " of the " + readName(r) + " (buffer " + addr + ") is not");
        }
    }
    return {};
}

void AlignedFree::operator()(std::byte* p) const
{
    freeLargeOrAligned(p, bytes, alignment, mapped);
}

AlignedBuffer allocateAligned(size_t bytes, size_t alignment)
{
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) return nullptr;
    alignment = std::max(alignment, sizeof(void*));
    // Whole multiples of the alignment, and at least one, so that even a request of 0 bytes gives a usable pointer.
    const size_t rounded = bytes == 0 ? alignment : (bytes + alignment - 1) / alignment * alignment;
    if (rounded < bytes) return nullptr;
    bool mapped = false;
    std::byte* p = allocateLargeOrAligned(rounded, alignment, false, mapped);
    return AlignedBuffer(p, AlignedFree { rounded, alignment, mapped });
}

namespace {

// Copies out of caller-owned memory. Reads are queued by submit() and performed in reap(): all queued ones at once,
// since a memcpy is short next to anything a caller would overlap with it.
class MemoryReader final : public WeightReader
{
public:
    MemoryReader(const void* data, size_t bytes, unsigned queueDepth)
        : m_data(static_cast<const std::byte*>(data))
        , m_size(bytes)
        , m_depth(std::max(1u, queueDepth))
    { }

    Status submit(const ReadRequest& r) override
    {
        DL_TRY(checkReadRequest(*this, r));
        m_queued.push_back(r);
        return {};
    }
    Status reap(std::vector<ReadCompletion>& out, bool) override
    {
        for (const ReadRequest& r : m_queued) {
            std::memcpy(r.dst, m_data + r.offset, r.bytes);
            out.push_back({ r.tag, r.bytes, {} });
        }
        m_queued.clear();
        return {};
    }
    size_t inFlight() const override { return m_queued.size(); }
    size_t queueDepth() const override { return m_depth; }
    uint64_t size() const override { return m_size; }
    size_t alignment() const override { return 1; }
    bool directIo() const override { return false; }
    bool asynchronous() const override { return false; }
    std::string describe() const override { return "memory"; }

private:
    const std::byte* m_data;
    size_t m_size;
    size_t m_depth;
    std::vector<ReadRequest> m_queued;
};

// Renumbers reads with its own ids (callers' tags need not be unique) so each completion maps back to its request.
class FaultInjectingReader final : public WeightReader
{
public:
    FaultInjectingReader(std::unique_ptr<WeightReader> inner, FaultPlan plan)
        : m_inner(std::move(inner))
        , m_plan(plan)
    { }

    Status submit(const ReadRequest& r) override
    {
        if (m_submitCalls++ == m_plan.failSubmit)
            return makeError(ErrorCode::Io, "injected fault: submit of " + readName(r) + " refused");
        // The inner reader cannot see reads held back here, so the depth check is made against this reader's count.
        DL_TRY(checkReadRequest(*this, r));
        ReadRequest inner = r;
        inner.tag = m_nextId;
        DL_TRY(m_inner->submit(inner));
        m_pending.emplace(m_nextId++, Pending { r, m_submittedReads++ == m_plan.failRead });
        return {};
    }

    Status reap(std::vector<ReadCompletion>& out, bool block) override
    {
        for (;;) {
            DL_TRY(collect(false));
            const auto now = Clock::now();
            size_t released = 0;
            while (!m_held.empty() && m_held.front().readyAt <= now) {
                out.push_back(m_held.front().completion);
                m_held.pop_front();
                ++released;
            }
            if (released > 0 || !block || inFlight() == 0) return {};
            if (!m_held.empty())
                // Everything still inside the inner reader becomes ready later than the held front, so sleeping
                // until the front is due loses nothing.
                std::this_thread::sleep_until(m_held.front().readyAt);
            else
                DL_TRY(collect(true));
        }
    }

    size_t inFlight() const override { return m_inner->inFlight() + m_held.size(); }
    size_t queueDepth() const override { return m_inner->queueDepth(); }
    uint64_t size() const override { return m_inner->size(); }
    size_t alignment() const override { return m_inner->alignment(); }
    bool directIo() const override { return m_inner->directIo(); }
    bool asynchronous() const override { return m_inner->asynchronous(); }
    Status flush() override { return m_inner->flush(); }
    std::string describe() const override { return "fault-injecting over " + m_inner->describe(); }

private:
    using Clock = std::chrono::steady_clock;
    struct Pending
    {
        ReadRequest request;
        bool fail = false;
    };
    struct Held
    {
        ReadCompletion completion;
        Clock::time_point readyAt;
    };

    // Moves the inner reader's completions, with faults applied, into m_held.
    Status collect(bool block)
    {
        m_scratch.clear();
        DL_TRY(m_inner->reap(m_scratch, block));
        const auto readyAt = Clock::now() + std::chrono::microseconds(m_plan.delayUs);
        for (ReadCompletion& c : m_scratch) {
            auto it = m_pending.find(c.tag);
            if (it == m_pending.end()) return makeError(ErrorCode::Internal, "inner reader returned an unknown read");
            const Pending p = it->second;
            m_pending.erase(it);
            c.tag = p.request.tag;
            if (p.fail && c.status.ok()) c.status = makeError(ErrorCode::Io, "injected fault: " + readName(p.request));
            const int64_t at = m_plan.corruptOffset;
            if (c.status.ok() && at >= 0 && static_cast<uint64_t>(at) >= p.request.offset
                && static_cast<uint64_t>(at) - p.request.offset < c.bytes)
                static_cast<std::byte*>(p.request.dst)[at - p.request.offset] ^= std::byte { 0xFF };
            m_held.push_back({ std::move(c), readyAt });
        }
        return {};
    }

    std::unique_ptr<WeightReader> m_inner;
    FaultPlan m_plan;
    int m_submitCalls = 0;
    int m_submittedReads = 0;
    uint64_t m_nextId = 0;
    std::unordered_map<uint64_t, Pending> m_pending;
    std::deque<Held> m_held; // in readyAt order: every completion gets the same delay
    std::vector<ReadCompletion> m_scratch;
};

} // namespace

std::unique_ptr<WeightReader> memoryReader(const void* data, size_t bytes, unsigned queueDepth)
{
    return std::make_unique<MemoryReader>(data, bytes, queueDepth);
}

std::unique_ptr<WeightReader> faultInjectingReader(std::unique_ptr<WeightReader> inner, FaultPlan plan)
{
    return std::make_unique<FaultInjectingReader>(std::move(inner), plan);
}

Result<double> readPass(WeightReader& reader, const std::vector<ReadRange>& ranges, std::byte* buffer,
    size_t bufferBytes, size_t chunkBytes, size_t maxInFlight)
{
    const size_t a = reader.alignment();
    if (chunkBytes == 0 || chunkBytes % a)
        return invalid("a read pass's chunk of " + std::to_string(chunkBytes) + " bytes is not a multiple of "
            + std::to_string(a) + " bytes");
    if (!buffer || bufferBytes < chunkBytes || reinterpret_cast<uintptr_t>(buffer) % a)
        return invalid("a read pass needs an aligned buffer of at least one chunk (" + std::to_string(chunkBytes)
            + " bytes), got " + std::to_string(bufferBytes));
    const size_t slots = bufferBytes / chunkBytes;
    const size_t inFlight = std::max<size_t>(1, std::min({ slots, reader.queueDepth(), maxInFlight }));
    // First in, first out: a freed slot is taken again only after every other one.
    std::deque<size_t> freeSlots;
    for (size_t s = 0; s < slots; ++s)
        freeSlots.push_back(s);
    std::vector<ReadCompletion> done;
    Status failed; // the first failed read
    // Waits for one completion at least (all of them with `all`), freeing their slots.
    auto reapSome = [&](bool all) -> Status {
        DL_TRY(reader.flush());
        do {
            done.clear();
            DL_TRY(reader.reap(done, true));
            for (const auto& c : done) {
                if (!c.status.ok() && failed.ok()) failed = c.status;
                freeSlots.push_back(static_cast<size_t>(c.tag));
            }
        } while (all && reader.inFlight() > 0);
        return {};
    };
    const auto t0 = std::chrono::steady_clock::now();
    for (const ReadRange& r : ranges)
        for (uint64_t at = 0; at < r.bytes && failed.ok();) {
            Status s = reader.inFlight() >= inFlight ? reapSome(false) : Status {};
            if (s.ok() && reader.inFlight() < inFlight && !freeSlots.empty()) {
                const size_t n = static_cast<size_t>(std::min<uint64_t>(chunkBytes, r.bytes - at));
                s = reader.submit({ r.offset + at, n, buffer + freeSlots.front() * chunkBytes, freeSlots.front() });
                if (s.ok()) {
                    freeSlots.pop_front();
                    at += n;
                }
            }
            if (!s.ok()) {
                (void)reapSome(true);
                return s.error();
            }
        }
    if (Status s = reapSome(true); !s.ok()) return s.error();
    if (!failed.ok()) return failed.error();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace dl
