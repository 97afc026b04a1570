#pragma once

// Trace events: what each pipeline stage did when, as plain structs pushed to sinks (a Chrome-trace file, storage, the
// live UI). The pipeline never knows who listens; with no sink attached, emitting costs one atomic load.

#include "memory/ledger.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace dl {

enum class Stage : uint8_t { Read, Copy, Kernel, Setup };
inline constexpr size_t kStageCount = 4;
// "read", "copy", "kernel", "setup".
const char* stageName(Stage stage);

// Begin marks a span's start; End carries the whole span (beginNs..endNs), so sinks need not pair them; Stall is a
// span during which `stage` waited for another stage (name: the reason, e.g. "waiting for weights").
enum class EventKind : uint8_t { Begin, End, Stall };

struct TraceEvent
{
    EventKind kind = EventKind::Begin;
    Stage stage = Stage::Kernel;
    int layer = -1; // layer index, -1 for none
    int iteration = 0;
    int64_t beginNs = 0; // traceClockNs() time; for End and Stall when the span began, for Begin the event's time
    int64_t endNs = 0; // for End and Stall
    uint64_t bytes = 0; // bytes read or copied (End of Read/Copy)
    const char* name = nullptr; // optional label with static storage duration (sinks keep the pointer)
};

// The time an event stands at: beginNs for Begin, endNs for End and Stall.
inline int64_t eventTimeNs(const TraceEvent& e)
{
    return e.kind == EventKind::Begin ? e.beginNs : e.endNs;
}

// An event with its fields in one call (beginNs doubles as the time of a Begin).
inline TraceEvent traceEvent(EventKind kind, Stage stage, int layer, int iteration, int64_t beginNs, int64_t endNs = 0,
    uint64_t bytes = 0, const char* name = nullptr)
{
    TraceEvent e;
    e.kind = kind;
    e.stage = stage;
    e.layer = layer;
    e.iteration = iteration;
    e.beginNs = beginNs;
    e.endNs = endNs;
    e.bytes = bytes;
    e.name = name;
    return e;
}

// Nanoseconds on std::chrono::steady_clock: the one monotonic clock every stage stamps events with.
int64_t traceClockNs();

// Counter values as of timeNs, delivered after an event when any of them changed.
struct CounterSample
{
    int64_t timeNs = 0;
    bool hasMemory = false; // false when no ledger is attached; memoryBytes are then zero
    std::array<size_t, kMemTagCount> memoryBytes {}; // by MemTag
    double readMBps = 0; // decimal MB (1e6 bytes) per second read over the Tracer's bandwidth window
};

// Receives events from a Tracer, one call at a time (the Tracer serialises delivery), each emitting thread's events in
// its emit order. A sink must not call back into the Tracer that delivers to it.
class TraceSink
{
public:
    virtual ~TraceSink() = default;
    virtual void onEvent(const TraceEvent& e) = 0;
    // Called after an event when a counter changed, and after the first event once the sink was added.
    virtual void onCounters(const CounterSample& c) { (void)c; }
    // Tracer::flush(): push buffered output to its destination (e.g. at the end of an iteration).
    virtual void flush() { }
};

// Thread-safe fan-out of events to sinks. Sinks and the ledger are not owned: each must outlive its attachment (remove
// it, or destroy the Tracer, first).
class Tracer
{
public:
    struct Options
    {
        // Read bandwidth is the bytes of Read spans that ended within this window before the sample, per second.
        int64_t bandwidthWindowNs = 50'000'000;
    };

    Tracer();
    explicit Tracer(Options options);
    Tracer(const Tracer&) = delete;
    Tracer& operator=(const Tracer&) = delete;

    void addSink(TraceSink* sink);
    void removeSink(TraceSink* sink);
    // Samples `ledger` (nullable) at every event into its timeline, and sends its values to sinks as counters.
    void setLedger(MemoryLedger* ledger);

    // Whether emit() does anything (a sink or a ledger is attached). Callers may skip building events when false.
    bool active() const { return m_active.load(std::memory_order_acquire); }

    // Delivers `e` to every sink, then the counters if they changed. Counter times are the event's time, raised where
    // needed so that counter samples never go back in time when threads deliver slightly out of order.
    // Qt defines `emit` as an empty macro: this header shields the declaration, but a Qt translation unit that calls
    // it needs QT_NO_EMIT (Q_EMIT still works there).
#pragma push_macro("emit")
#undef emit
    void emit(const TraceEvent& e);
#pragma pop_macro("emit")
    // Samples the ledger now and delivers counters if they changed, e.g. after allocating buffers outside any span.
    void emitCounters(int64_t timeNs);
    void flush();

    // Shorthands that stamp traceClockNs(). begin() returns the time it stamped, to pass to end().
    int64_t begin(Stage stage, int layer, int iteration, const char* name = nullptr);
    void end(Stage stage, int layer, int iteration, int64_t beginNs, uint64_t bytes = 0, const char* name = nullptr);
    void stall(Stage stage, int layer, int iteration, int64_t beginNs, int64_t endNs, const char* reason = nullptr);

    // The read bandwidth of the latest counter sample.
    double readMBps() const;

private:
    void updateActiveLocked();
    void deliverCountersLocked(int64_t timeNs);

    const Options m_options;
    std::atomic<bool> m_active { false };
    mutable std::mutex m_mutex;
    std::vector<TraceSink*> m_sinks;
    MemoryLedger* m_ledger = nullptr;

    int64_t m_lastCounterNs = INT64_MIN;
    bool m_forceCounters = true; // a sink was added: it has not seen the counters yet
    CounterSample m_lastCounters;
    // Read spans that ended within the window, ordered by end time, and the sum of their bytes.
    std::deque<std::pair<int64_t, uint64_t>> m_recentReads;
    uint64_t m_windowBytes = 0;
};

// Emits Begin now and End when it goes out of scope (or at end()). With a null tracer it does nothing.
class TraceSpan
{
public:
    TraceSpan(Tracer* tracer, Stage stage, int layer, int iteration, const char* name = nullptr);
    ~TraceSpan();
    TraceSpan(const TraceSpan&) = delete;
    TraceSpan& operator=(const TraceSpan&) = delete;

    void setBytes(uint64_t bytes) { m_bytes = bytes; }
    void end();

private:
    Tracer* m_tracer;
    Stage m_stage;
    int m_layer;
    int m_iteration;
    const char* m_name;
    int64_t m_beginNs = 0;
    uint64_t m_bytes = 0;
};

// Keeps every event and counter sample in memory (thread-safe): for tests, and for a UI that takes them in batches.
class CollectingSink : public TraceSink
{
public:
    struct Batch
    {
        std::vector<TraceEvent> events;
        std::vector<CounterSample> counters;
    };

    void onEvent(const TraceEvent& e) override;
    void onCounters(const CounterSample& c) override;

    std::vector<TraceEvent> events() const;
    std::vector<CounterSample> counters() const;
    size_t eventCount() const;
    // Moves out everything collected so far and starts empty.
    Batch take();
    void clear();

private:
    mutable std::mutex m_mutex;
    Batch m_data;
};

} // namespace dl
