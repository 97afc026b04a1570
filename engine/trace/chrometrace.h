#pragma once

// Writes trace events as a Chrome JSON trace, which Perfetto (ui.perfetto.dev) and chrome://tracing open.
//
// Layout: one process; a track per stage ("read", "copy", "kernel", "setup"), spans as complete ("X") events named
// "L12 conv5_3"; spans that overlap on a track (several reads in flight) go to extra lanes "read 2", "read 3", ... so
// that no track holds overlapping spans; stalls on their own tracks ("kernel stall") as spans named
// "stall: waiting for weights"; counters "memory (MiB)" (a series per MemTag) and "read bandwidth" (MB/s).
// The file is streamed as events arrive; should the process die, appending "]}" to the file repairs it.

#include "core/result.h"
#include "trace/trace.h"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dl {

class ChromeTraceWriter : public TraceSink
{
public:
    struct Options
    {
        std::string processName = "demand layering";
        // traceClockNs() time written as 0; by default the clock at open(). Earlier events get negative times.
        std::optional<int64_t> originNs;
    };

    // Creates (truncates) `path`. layerNames[i] names layer i in span names. Fails with Io naming the path.
    static Result<std::unique_ptr<ChromeTraceWriter>> open(
        const std::string& path, std::vector<std::string> layerNames, Options options);
    static Result<std::unique_ptr<ChromeTraceWriter>> open(
        const std::string& path, std::vector<std::string> layerNames);
    // Closes the file if close() was not called; errors are then lost.
    ~ChromeTraceWriter() override;
    ChromeTraceWriter(const ChromeTraceWriter&) = delete;
    ChromeTraceWriter& operator=(const ChromeTraceWriter&) = delete;

    // Begin events are not written: a span is written when its End arrives.
    void onEvent(const TraceEvent& e) override;
    // Writes a counter only when its value changed since the last one written.
    void onCounters(const CounterSample& c) override;
    void flush() override;

    // Finishes the JSON and closes the file. Returns the first write error (Io naming the path), from this call or
    // any earlier write; later calls return the same result. Events after close() are dropped.
    Status close();

    const std::string& path() const { return m_path; }

private:
    struct Lanes
    {
        // Per lane, the spans it holds (begin -> end), non-overlapping; trimmed to the newest kLaneMemory.
        std::vector<std::map<int64_t, int64_t>> lanes;
        // Per lane, the latest end among the spans trimmed away: a span beginning before it might overlap one of
        // them (spans of several threads arrive out of time order), so it goes to another lane.
        std::vector<int64_t> forgotten;
    };

    ChromeTraceWriter(std::string path, int fd, std::vector<std::string> layerNames, Options options);

    int laneFor(Lanes& track, int64_t beginNs, int64_t endNs);
    int trackId(Stage stage, bool stall, int lane);
    void writeSpan(const TraceEvent& e, bool stall);
    void writeTrackMetadata(int tid, const std::string& name);
    void appendTime(int64_t ns); // relative to the origin
    void appendMicros(int64_t ns);
    void beginRecord();
    void writeOutLocked();
    void failLocked(const char* what, int err);

    std::mutex m_mutex;
    std::string m_path;
    int m_fd = -1;
    std::vector<std::string> m_layerLabels; // "L12 conv5_3", JSON-escaped, without quotes
    Options m_options;
    int64_t m_originNs = 0;

    std::string m_buf;
    bool m_firstRecord = true;
    bool m_closed = false;
    std::optional<Error> m_error;

    std::array<Lanes, kStageCount> m_spanLanes;
    std::array<Lanes, kStageCount> m_stallLanes;
    std::vector<int> m_namedTracks; // tids whose metadata has been written

    bool m_haveMemory = false;
    std::array<size_t, kMemTagCount> m_lastMemory {};
    bool m_haveBandwidth = false;
    double m_lastBandwidth = 0;
};

// Appends `s` to `out` as the inside of a JSON string: quotes, backslashes and control characters escaped, valid UTF-8
// passed through, each byte of an invalid UTF-8 sequence replaced by U+FFFD (so the output is always valid JSON).
void appendJsonString(std::string& out, std::string_view s);

} // namespace dl
