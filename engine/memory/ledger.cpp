#include "memory/ledger.h"

#include "core/largepages.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <new>
#include <string>

namespace dl {

const char* memTagName(MemTag tag)
{
    switch (tag) {
    case MemTag::ResidentWeights:
        return "resident_weights";
    case MemTag::Staging:
        return "staging";
    case MemTag::Activations:
        return "activations";
    case MemTag::Workspace:
        return "workspace";
    }
    return "unknown";
}

size_t MemoryLedger::Sample::total() const
{
    size_t t = 0;
    for (size_t b : bytes)
        t += b;
    return t;
}

MemoryLedger::MemoryLedger(size_t timelineCap)
    : m_cap(std::max<size_t>(timelineCap, 2))
{ }

void MemoryLedger::add(MemTag tag, int64_t bytes)
{
    const size_t i = static_cast<size_t>(tag);
    assert(i < kMemTagCount);
    std::lock_guard lock(m_mutex);
    size_t& cur = m_current[i];
    if (bytes >= 0) {
        cur += static_cast<size_t>(bytes);
        m_total += static_cast<size_t>(bytes);
        m_peak[i] = std::max(m_peak[i], cur);
        m_peakTotal = std::max(m_peakTotal, m_total);
        return;
    }
    // Negating INT64_MIN overflows; go through unsigned arithmetic.
    const size_t release = static_cast<size_t>(0) - static_cast<size_t>(bytes);
    assert(release <= cur && "MemoryLedger: released more than was counted under this tag");
    const size_t n = std::min(release, cur);
    cur -= n;
    m_total -= n;
}

void MemoryLedger::setCapacity(size_t bytes)
{
    std::lock_guard lock(m_mutex);
    m_capacity = bytes;
}

size_t MemoryLedger::capacity() const
{
    std::lock_guard lock(m_mutex);
    return m_capacity;
}

Status MemoryLedger::reserve(MemTag tag, size_t bytes)
{
    {
        std::lock_guard lock(m_mutex);
        if (m_capacity && (bytes > m_capacity || m_total > m_capacity - bytes))
            return makeError(ErrorCode::Internal,
                "out of memory: " + std::to_string(bytes) + " bytes for " + memTagName(tag) + " would bring the "
                    + "engine's memory to " + std::to_string(m_total + bytes) + " bytes, above its limit of "
                    + std::to_string(m_capacity));
    }
    add(tag, static_cast<int64_t>(bytes));
    return {};
}

size_t MemoryLedger::current(MemTag tag) const
{
    std::lock_guard lock(m_mutex);
    return m_current[static_cast<size_t>(tag)];
}

size_t MemoryLedger::peak(MemTag tag) const
{
    std::lock_guard lock(m_mutex);
    return m_peak[static_cast<size_t>(tag)];
}

size_t MemoryLedger::currentTotal() const
{
    std::lock_guard lock(m_mutex);
    return m_total;
}

size_t MemoryLedger::peakTotal() const
{
    std::lock_guard lock(m_mutex);
    return m_peakTotal;
}

std::array<size_t, kMemTagCount> MemoryLedger::currentAll() const
{
    std::lock_guard lock(m_mutex);
    return m_current;
}

void MemoryLedger::resetPeaks()
{
    std::lock_guard lock(m_mutex);
    m_peak = m_current;
    m_peakTotal = m_total;
}

void MemoryLedger::sample(int64_t timeNs)
{
    std::lock_guard lock(m_mutex);
    Sample s { timeNs, m_current };
    if (m_groupCalls == 0 || s.total() > m_groupBest.total()) m_groupBest = s;
    if (++m_groupCalls < m_stride) return;
    m_groupCalls = 0;
    pushSampleLocked(m_groupBest);
}

void MemoryLedger::pushSampleLocked(const Sample& s)
{
    m_timeline.push_back(s);
    if (m_timeline.size() < m_cap) return;
    // Full: merge neighbours, keeping the larger of each pair (the earlier on a tie), and double the group size so
    // that every entry stands for the same number of calls.
    size_t out = 0;
    for (size_t i = 0; i < m_timeline.size(); i += 2) {
        const Sample& a = m_timeline[i];
        const Sample& b = (i + 1 < m_timeline.size()) ? m_timeline[i + 1] : a;
        m_timeline[out++] = b.total() > a.total() ? b : a;
    }
    m_timeline.resize(out);
    m_stride *= 2;
}

std::vector<MemoryLedger::Sample> MemoryLedger::timeline() const
{
    std::lock_guard lock(m_mutex);
    std::vector<Sample> t;
    t.reserve(m_timeline.size() + 1);
    t.assign(m_timeline.begin(), m_timeline.end());
    if (m_groupCalls > 0) t.push_back(m_groupBest);
    return t;
}

void MemoryLedger::clearTimeline()
{
    std::lock_guard lock(m_mutex);
    m_timeline.clear();
    m_stride = 1;
    m_groupCalls = 0;
}

// ---------------------------------------------------------------------------------------------------------------------

LedgerBuffer::~LedgerBuffer()
{
    reset();
}

LedgerBuffer::LedgerBuffer(LedgerBuffer&& other) noexcept
    : m_ledger(other.m_ledger)
    , m_data(other.m_data)
    , m_size(other.m_size)
    , m_alignment(other.m_alignment)
    , m_mapped(other.m_mapped)
    , m_tag(other.m_tag)
{
    other.m_ledger = nullptr;
    other.m_data = nullptr;
    other.m_size = 0;
    other.m_alignment = 0;
}

LedgerBuffer& LedgerBuffer::operator=(LedgerBuffer&& other) noexcept
{
    if (this == &other) return *this;
    reset();
    m_ledger = other.m_ledger;
    m_data = other.m_data;
    m_size = other.m_size;
    m_alignment = other.m_alignment;
    m_mapped = other.m_mapped;
    m_tag = other.m_tag;
    other.m_ledger = nullptr;
    other.m_data = nullptr;
    other.m_size = 0;
    other.m_alignment = 0;
    return *this;
}

void LedgerBuffer::reset()
{
    if (m_data) {
        freeLargeOrAligned(m_data, m_size, m_alignment, m_mapped);
        if (m_ledger) m_ledger->add(m_tag, -static_cast<int64_t>(m_size));
    }
    m_ledger = nullptr;
    m_data = nullptr;
    m_size = 0;
    m_alignment = 0;
    m_mapped = false;
}

Result<LedgerBuffer> LedgerBuffer::tryAllocate(
    MemoryLedger* ledger, MemTag tag, size_t bytes, size_t alignment, Fill fill)
{
    LedgerBuffer buf;
    if (bytes == 0) return buf;
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return invalid("buffer alignment " + std::to_string(alignment) + " is not a power of two");
    // The ledger counts in int64_t; a request that large could not succeed anyway.
    if (bytes > static_cast<size_t>(INT64_MAX))
        return makeError(ErrorCode::Internal, "out of memory: cannot allocate " + std::to_string(bytes) + " bytes");
    alignment = std::max(alignment, alignof(std::max_align_t));
    if (ledger) DL_TRY(ledger->reserve(tag, bytes));
    bool mapped = false;
    // Huge pages for the staging buffers only, which reads land in on every run. Resident weights are read once, and
    // kernels ran slower on huge-page weights on the benchmark machine (docs/architecture.md, "Huge pages").
    std::byte* p = tag == MemTag::Staging ? allocateLargeOrAligned(bytes, alignment, fill == Fill::Zero, mapped)
                                          : allocateSmallPages(bytes, alignment, fill == Fill::Zero, mapped);
    if (!p && ledger) ledger->add(tag, -static_cast<int64_t>(bytes));
    if (!p)
        return makeError(ErrorCode::Internal,
            "out of memory: cannot allocate " + std::to_string(bytes) + " bytes for " + memTagName(tag)
                + " — lower the staging size or keep fewer layers resident");
    buf.m_ledger = ledger;
    buf.m_data = p;
    buf.m_mapped = mapped;
    buf.m_size = bytes;
    buf.m_alignment = alignment;
    buf.m_tag = tag;
    return buf;
}

LedgerBuffer LedgerBuffer::allocate(MemoryLedger* ledger, MemTag tag, size_t bytes, size_t alignment, Fill fill)
{
    auto r = tryAllocate(ledger, tag, bytes, alignment, fill);
    if (!r.ok()) return LedgerBuffer();
    return std::move(r).value();
}

} // namespace dl
