#include "pipeline/staging.h"

namespace dl {

StagingRing::StagingRing(size_t capacity, int slots)
    : m_capacity(capacity)
    , m_slots(slots)
{ }

void StagingRing::configure(size_t capacity, int slots)
{
    {
        std::lock_guard lock(m_mutex);
        m_capacity = capacity;
        m_slots = slots;
    }
    reset();
}

bool StagingRing::fits(size_t bytes, size_t& offset) const
{
    if (m_slots > 0) {
        const size_t slot = m_capacity / static_cast<size_t>(m_slots);
        if (bytes > slot || m_held.size() >= static_cast<size_t>(m_slots)) return false;
        offset = (m_handed % static_cast<size_t>(m_slots)) * slot;
        return true;
    }
    if (m_held.empty()) {
        offset = 0;
        return bytes <= m_capacity;
    }
    const size_t tail = m_held.front().first; // start of the oldest region
    if (m_next > tail) {
        // Free space: [m_next, capacity) and [0, tail).
        if (m_next + bytes <= m_capacity) {
            offset = m_next;
            return true;
        }
        if (bytes <= tail) {
            offset = 0;
            return true;
        }
        return false;
    }
    // Wrapped: free space is [m_next, tail).
    if (m_next + bytes <= tail) {
        offset = m_next;
        return true;
    }
    return false;
}

std::optional<size_t> StagingRing::acquire(size_t bytes, bool* waited)
{
    std::unique_lock lock(m_mutex);
    const size_t limit = m_slots > 0 ? m_capacity / static_cast<size_t>(m_slots) : m_capacity;
    if (bytes > limit) return std::nullopt;
    size_t offset = 0;
    if (waited) *waited = false;
    while (!m_stopped && !fits(bytes, offset)) {
        if (waited) *waited = true;
        m_waiting = bytes;
        m_cv.wait(lock);
    }
    m_waiting = 0;
    if (m_stopped) return std::nullopt;
    m_held.emplace_back(offset, bytes);
    m_next = offset + bytes;
    ++m_handed;
    ++m_changes;
    return offset;
}

std::pair<bool, uint64_t> StagingRing::waiterState() const
{
    std::lock_guard lock(m_mutex);
    size_t offset = 0;
    return { m_waiting > 0 && !m_stopped && !fits(m_waiting, offset), m_changes };
}

std::optional<size_t> StagingRing::tryAcquire(size_t bytes)
{
    std::lock_guard lock(m_mutex);
    size_t offset = 0;
    if (m_stopped || !fits(bytes, offset)) return std::nullopt;
    m_held.emplace_back(offset, bytes);
    m_next = offset + bytes;
    ++m_handed;
    ++m_changes;
    return offset;
}

void StagingRing::release()
{
    {
        std::lock_guard lock(m_mutex);
        if (m_held.empty()) return;
        m_held.pop_front();
        if (m_held.empty()) m_next = 0;
        ++m_changes;
    }
    m_cv.notify_all();
}

void StagingRing::stop()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopped = true;
        ++m_changes;
    }
    m_cv.notify_all();
}

void StagingRing::reset()
{
    std::lock_guard lock(m_mutex);
    m_held.clear();
    m_next = 0;
    m_handed = 0;
    m_stopped = false;
    ++m_changes;
}

bool CycleBarrier::arriveAndWait(bool* waited)
{
    std::unique_lock lock(m_mutex);
    if (waited) *waited = false;
    if (m_stopped) return false;
    ++m_arrivals;
    if (++m_arrived == m_parties) {
        m_arrived = 0;
        ++m_generation;
        lock.unlock();
        m_cv.notify_all();
        return true;
    }
    const unsigned long gen = m_generation;
    if (waited) *waited = true;
    m_cv.wait(lock, [&] { return m_stopped || m_generation != gen; });
    return !m_stopped || m_generation != gen;
}

std::pair<int, uint64_t> CycleBarrier::waiterState() const
{
    std::lock_guard lock(m_mutex);
    return { m_stopped ? 0 : m_arrived, m_arrivals };
}

void CycleBarrier::stop()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopped = true;
    }
    m_cv.notify_all();
}

void CycleBarrier::reset(int parties)
{
    std::lock_guard lock(m_mutex);
    m_parties = parties;
    m_arrived = 0;
    m_stopped = false;
}

} // namespace dl
