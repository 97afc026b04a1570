#include "trace/trace.h"

#include <algorithm>
#include <chrono>

namespace dl {

const char* stageName(Stage stage)
{
    switch (stage) {
    case Stage::Read:
        return "read";
    case Stage::Copy:
        return "copy";
    case Stage::Kernel:
        return "kernel";
    case Stage::Setup:
        return "setup";
    }
    return "unknown";
}

int64_t traceClockNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// ---------------------------------------------------------------------------------------------------------------------

Tracer::Tracer()
    : Tracer(Options {})
{ }

Tracer::Tracer(Options options)
    : m_options(options)
{ }

void Tracer::updateActiveLocked()
{
    m_active.store(!m_sinks.empty() || m_ledger != nullptr, std::memory_order_release);
}

void Tracer::addSink(TraceSink* sink)
{
    if (!sink) return;
    std::lock_guard lock(m_mutex);
    if (std::find(m_sinks.begin(), m_sinks.end(), sink) != m_sinks.end()) return;
    m_sinks.push_back(sink);
    m_forceCounters = true;
    updateActiveLocked();
}

void Tracer::removeSink(TraceSink* sink)
{
    std::lock_guard lock(m_mutex);
    m_sinks.erase(std::remove(m_sinks.begin(), m_sinks.end(), sink), m_sinks.end());
    updateActiveLocked();
}

void Tracer::setLedger(MemoryLedger* ledger)
{
    std::lock_guard lock(m_mutex);
    m_ledger = ledger;
    m_forceCounters = true;
    updateActiveLocked();
}

void Tracer::emit(const TraceEvent& e)
{
    if (!active()) return;
    std::lock_guard lock(m_mutex);
    // Threads stamp their events before taking the lock, so deliveries can be slightly out of time order; counters
    // are step functions and must not step back.
    const int64_t t = std::max(eventTimeNs(e), m_lastCounterNs);
    m_lastCounterNs = t;
    for (TraceSink* s : m_sinks)
        s->onEvent(e);

    const int64_t W = m_options.bandwidthWindowNs;
    if (e.kind == EventKind::End && e.stage == Stage::Read && e.bytes > 0 && W > 0 && e.endNs > t - W) {
        // Usually the newest: insert from the back to keep the window ordered by end time.
        auto it = m_recentReads.end();
        while (it != m_recentReads.begin() && std::prev(it)->first > e.endNs)
            --it;
        m_recentReads.insert(it, { e.endNs, e.bytes });
        m_windowBytes += e.bytes;
    }
    deliverCountersLocked(t);
}

void Tracer::emitCounters(int64_t timeNs)
{
    if (!active()) return;
    std::lock_guard lock(m_mutex);
    const int64_t t = std::max(timeNs, m_lastCounterNs);
    m_lastCounterNs = t;
    deliverCountersLocked(t);
}

void Tracer::deliverCountersLocked(int64_t t)
{
    const int64_t W = m_options.bandwidthWindowNs;
    while (!m_recentReads.empty() && m_recentReads.front().first <= t - W) {
        m_windowBytes -= m_recentReads.front().second;
        m_recentReads.pop_front();
    }

    CounterSample c;
    c.timeNs = t;
    if (m_ledger) {
        m_ledger->sample(t);
        c.hasMemory = true;
        c.memoryBytes = m_ledger->currentAll();
    }
    // bytes per ns * 1e3 = MB/s (1e9 ns/s over 1e6 bytes/MB)
    c.readMBps = W > 0 ? static_cast<double>(m_windowBytes) * 1e3 / static_cast<double>(W) : 0.0;

    const bool changed = m_forceCounters || c.hasMemory != m_lastCounters.hasMemory
        || c.memoryBytes != m_lastCounters.memoryBytes || c.readMBps != m_lastCounters.readMBps;
    m_lastCounters = c;
    if (!changed || m_sinks.empty()) return;
    m_forceCounters = false;
    for (TraceSink* s : m_sinks)
        s->onCounters(c);
}

void Tracer::flush()
{
    std::lock_guard lock(m_mutex);
    for (TraceSink* s : m_sinks)
        s->flush();
}

double Tracer::readMBps() const
{
    std::lock_guard lock(m_mutex);
    return m_lastCounters.readMBps;
}

int64_t Tracer::begin(Stage stage, int layer, int iteration, const char* name)
{
    const int64_t now = traceClockNs();
    emit(traceEvent(EventKind::Begin, stage, layer, iteration, now, 0, 0, name));
    return now;
}

void Tracer::end(Stage stage, int layer, int iteration, int64_t beginNs, uint64_t bytes, const char* name)
{
    if (!active()) return;
    emit(traceEvent(EventKind::End, stage, layer, iteration, beginNs, traceClockNs(), bytes, name));
}

void Tracer::stall(Stage stage, int layer, int iteration, int64_t beginNs, int64_t endNs, const char* reason)
{
    emit(traceEvent(EventKind::Stall, stage, layer, iteration, beginNs, endNs, 0, reason));
}

// ---------------------------------------------------------------------------------------------------------------------

TraceSpan::TraceSpan(Tracer* tracer, Stage stage, int layer, int iteration, const char* name)
    : m_tracer(tracer)
    , m_stage(stage)
    , m_layer(layer)
    , m_iteration(iteration)
    , m_name(name)
{
    if (m_tracer) m_beginNs = m_tracer->begin(stage, layer, iteration, name);
}

TraceSpan::~TraceSpan()
{
    end();
}

void TraceSpan::end()
{
    if (!m_tracer) return;
    m_tracer->end(m_stage, m_layer, m_iteration, m_beginNs, m_bytes, m_name);
    m_tracer = nullptr;
}

// ---------------------------------------------------------------------------------------------------------------------

void CollectingSink::onEvent(const TraceEvent& e)
{
    std::lock_guard lock(m_mutex);
    m_data.events.push_back(e);
}

void CollectingSink::onCounters(const CounterSample& c)
{
    std::lock_guard lock(m_mutex);
    m_data.counters.push_back(c);
}

std::vector<TraceEvent> CollectingSink::events() const
{
    std::lock_guard lock(m_mutex);
    return m_data.events;
}

std::vector<CounterSample> CollectingSink::counters() const
{
    std::lock_guard lock(m_mutex);
    return m_data.counters;
}

size_t CollectingSink::eventCount() const
{
    std::lock_guard lock(m_mutex);
    return m_data.events.size();
}

CollectingSink::Batch CollectingSink::take()
{
    std::lock_guard lock(m_mutex);
    Batch out = std::move(m_data);
    m_data = Batch {};
    return out;
}

void CollectingSink::clear()
{
    std::lock_guard lock(m_mutex);
    m_data = Batch {};
}

} // namespace dl
