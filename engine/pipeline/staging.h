#pragma once

// Bounded hand-over between pipeline stages: a FIFO staging ring that hands out contiguous regions of a buffer
// (back-pressure: acquire blocks while the ring is full), and a blocking queue. Both wake on stop(), so that a
// cancelled pipeline never hangs; neither busy-waits.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace dl {

class StagingRing
{
public:
    // A ring of `capacity` bytes. With `slots` > 0, it is a set of fixed slots of capacity / slots bytes each,
    // handed out in turn (the double buffers of the sync architecture); otherwise regions are packed one after the
    // other, wrapping to the start when the tail has no room.
    explicit StagingRing(size_t capacity = 0, int slots = 0);
    // Re-shapes an idle ring (as reset() does, with a new size).
    void configure(size_t capacity, int slots);

    // Blocks until `bytes` contiguous bytes are free, then returns their offset; nullopt once stopped, or when
    // `bytes` can never fit. `waited` is set when the call had to wait.
    std::optional<size_t> acquire(size_t bytes, bool* waited = nullptr);
    // acquire() without waiting: nullopt when there is no room now.
    std::optional<size_t> tryAcquire(size_t bytes);
    // Returns the oldest region still held (regions are released in the order they were acquired).
    void release();
    // Wakes every waiter; acquire() fails from now until reset().
    void stop();
    // Forgets every region (no other thread may use the ring meanwhile) and clears stop.
    void reset();

    size_t capacity() const { return m_capacity; }

    // Whether a thread waits in acquire() for room the ring does not have, and the count of the ring's changes
    // (regions handed out or returned, stop, reset), read together: a waiter stays blocked until the count moves.
    std::pair<bool, uint64_t> waiterState() const;

private:
    bool fits(size_t bytes, size_t& offset) const;

    size_t m_capacity;
    int m_slots;
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<std::pair<size_t, size_t>> m_held; // (offset, bytes), oldest first
    size_t m_next = 0; // where the next region starts
    size_t m_handed = 0; // regions handed out since reset (picks the slot)
    size_t m_waiting = 0; // bytes a blocked acquire() asks for; 0: none waits
    uint64_t m_changes = 0;
    bool m_stopped = false;
};

template <typename T> class BlockingQueue
{
public:
    void push(T item)
    {
        {
            std::lock_guard lock(m_mutex);
            m_items.push_back(std::move(item));
            ++m_changes;
        }
        m_cv.notify_all();
    }
    // Waits for an item; nullopt once stopped. `waited` is set when the call had to wait.
    std::optional<T> pop(bool* waited = nullptr)
    {
        std::unique_lock lock(m_mutex);
        if (waited) *waited = m_items.empty() && !m_stopped;
        ++m_waiters;
        m_cv.wait(lock, [&] { return m_stopped || !m_items.empty(); });
        --m_waiters;
        if (m_stopped) return std::nullopt;
        T item = std::move(m_items.front());
        m_items.pop_front();
        ++m_changes;
        return item;
    }
    // pop() without waiting: nullopt when empty or stopped.
    std::optional<T> tryPop()
    {
        std::lock_guard lock(m_mutex);
        if (m_stopped || m_items.empty()) return std::nullopt;
        T item = std::move(m_items.front());
        m_items.pop_front();
        ++m_changes;
        return item;
    }
    void stop()
    {
        {
            std::lock_guard lock(m_mutex);
            m_stopped = true;
            ++m_changes;
        }
        m_cv.notify_all();
    }
    void reset()
    {
        std::lock_guard lock(m_mutex);
        m_items.clear();
        m_stopped = false;
        ++m_changes;
    }
    // Whether a thread waits in pop() on an empty queue, and the count of the queue's changes, read together.
    std::pair<bool, uint64_t> waiterState() const
    {
        std::lock_guard lock(m_mutex);
        return { m_waiters > 0 && m_items.empty() && !m_stopped, m_changes };
    }

private:
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<T> m_items;
    int m_waiters = 0;
    uint64_t m_changes = 0;
    bool m_stopped = false;
};

// A barrier for a fixed number of parties that stop() releases for good (std::barrier cannot be interrupted).
class CycleBarrier
{
public:
    explicit CycleBarrier(int parties = 1)
        : m_parties(parties)
    { }
    // Returns false once stopped. `waited` is set when the call had to wait for another party.
    bool arriveAndWait(bool* waited = nullptr);
    void stop();
    void reset(int parties);
    // How many parties wait for the others, and the count of arrivals, read together.
    std::pair<int, uint64_t> waiterState() const;

private:
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    int m_parties;
    int m_arrived = 0;
    unsigned long m_generation = 0;
    uint64_t m_arrivals = 0;
    bool m_stopped = false;
};

} // namespace dl
