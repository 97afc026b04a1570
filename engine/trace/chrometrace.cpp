#include "trace/chrometrace.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace dl {

namespace {

constexpr size_t kFlushBytes = 64 * 1024; // what a crash may lose
constexpr int kMaxLanes = 499; // per track; tids leave room for this many (see trackId)
constexpr size_t kLaneMemory = 4096; // spans remembered per lane to check overlaps against

const char* defaultStallReason(Stage stage)
{
    switch (stage) {
    case Stage::Read:
        return "waiting for staging space";
    case Stage::Copy:
        return "waiting for a read";
    case Stage::Kernel:
        return "waiting for weights";
    case Stage::Setup:
        break;
    }
    return "waiting";
}

template <typename T> void appendNumber(std::string& out, T v)
{
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void appendFixed(std::string& out, double v, int decimals)
{
    if (!std::isfinite(v)) v = 0; // JSON has no NaN or infinity
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
    if (r.ec != std::errc()) {
        out += '0';
        return;
    }
    out.append(buf, r.ptr);
}

void appendQuoted(std::string& out, std::string_view s)
{
    out += '"';
    appendJsonString(out, s);
    out += '"';
}

} // namespace

void appendJsonString(std::string& out, std::string_view s)
{
    static const char* const kHex = "0123456789abcdef";
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += kHex[c >> 4];
                    out += kHex[c & 0xF];
                } else {
                    out += static_cast<char>(c);
                }
            }
            ++i;
            continue;
        }
        // A multi-byte UTF-8 sequence: pass it through only if it is well formed (no overlong forms, no surrogates,
        // nothing above U+10FFFF), since a JSON parser rejects the whole file otherwise.
        size_t len = 0;
        uint32_t cp = 0, min = 0;
        if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        }
        bool valid = len > 0 && i + len <= n;
        for (size_t k = 1; valid && k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            valid = (cc & 0xC0) == 0x80;
            cp = (cp << 6) | (cc & 0x3F);
        }
        valid = valid && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        if (valid) {
            out.append(s.data() + i, len);
            i += len;
        } else {
            out += "\\ufffd";
            ++i;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------------

Result<std::unique_ptr<ChromeTraceWriter>> ChromeTraceWriter::open(
    const std::string& path, std::vector<std::string> layerNames)
{
    return open(path, std::move(layerNames), Options {});
}

Result<std::unique_ptr<ChromeTraceWriter>> ChromeTraceWriter::open(
    const std::string& path, std::vector<std::string> layerNames, Options options)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        const int err = errno;
        return makeError(ErrorCode::Io, "cannot create trace file '" + path + "': " + std::strerror(err));
    }
    return std::unique_ptr<ChromeTraceWriter>(
        new ChromeTraceWriter(path, fd, std::move(layerNames), std::move(options)));
}

ChromeTraceWriter::ChromeTraceWriter(std::string path, int fd, std::vector<std::string> layerNames, Options options)
    : m_path(std::move(path))
    , m_fd(fd)
    , m_options(std::move(options))
{
    m_originNs = m_options.originNs ? *m_options.originNs : traceClockNs();
    m_layerLabels.reserve(layerNames.size());
    for (size_t i = 0; i < layerNames.size(); ++i) {
        std::string label = "L"; // then the number: GCC 12 at -O3 misreads `"L" + std::string` (-Wrestrict)
        label += std::to_string(i);
        if (!layerNames[i].empty()) {
            label += ' ';
            appendJsonString(label, layerNames[i]);
        }
        m_layerLabels.push_back(std::move(label));
    }

    std::lock_guard lock(m_mutex);
    // displayTimeUnit first so that a file cut short by a crash is repaired by appending "]}".
    m_buf = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
    beginRecord();
    m_buf += "{\"ph\":\"M\",\"pid\":1,\"tid\":0,\"name\":\"process_name\",\"args\":{\"name\":";
    appendQuoted(m_buf, m_options.processName);
    m_buf += "}}";
    // The stage tracks are there from the start, in pipeline order, even before their first span.
    for (size_t s = 0; s < kStageCount; ++s)
        trackId(static_cast<Stage>(s), false, 0);
}

ChromeTraceWriter::~ChromeTraceWriter()
{
    (void)close();
}

void ChromeTraceWriter::beginRecord()
{
    if (!m_firstRecord) m_buf += ",\n";
    m_firstRecord = false;
}

// Track ids double as sort indices: stage by stage in pipeline order, each stage's lanes, then its stall lanes.
int ChromeTraceWriter::trackId(Stage stage, bool stall, int lane)
{
    const int tid = 1 + static_cast<int>(stage) * 1000 + (stall ? 500 : 0) + lane;
    if (std::find(m_namedTracks.begin(), m_namedTracks.end(), tid) != m_namedTracks.end()) return tid;
    m_namedTracks.push_back(tid);
    std::string name = stageName(stage);
    if (stall) name += " stall";
    if (lane > 0) { // appended piece by piece: GCC 12 at -O3 misreads `" " + std::string` as overlapping (-Wrestrict)
        name += ' ';
        name += std::to_string(lane + 1);
    }
    writeTrackMetadata(tid, name);
    return tid;
}

void ChromeTraceWriter::writeTrackMetadata(int tid, const std::string& name)
{
    beginRecord();
    m_buf += "{\"ph\":\"M\",\"pid\":1,\"tid\":";
    appendNumber(m_buf, tid);
    m_buf += ",\"name\":\"thread_name\",\"args\":{\"name\":";
    appendQuoted(m_buf, name);
    m_buf += "}},\n{\"ph\":\"M\",\"pid\":1,\"tid\":";
    appendNumber(m_buf, tid);
    m_buf += ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":";
    appendNumber(m_buf, tid);
    m_buf += "}}";
}

int ChromeTraceWriter::laneFor(Lanes& track, int64_t beginNs, int64_t endNs)
{
    // A zero-length span still takes its place, so that two of them at one instant get distinct keys.
    const int64_t b = beginNs;
    const int64_t e = std::max(endNs, b == INT64_MAX ? b : b + 1);
    for (size_t i = 0; i < track.lanes.size(); ++i) {
        auto& spans = track.lanes[i];
        // Spans in a lane do not overlap, so ordered by begin they are ordered by end too: only the last span that
        // begins before `e` can reach past `b`.
        if (b < track.forgotten[i]) continue;
        auto next = spans.lower_bound(e);
        if (next != spans.begin() && std::prev(next)->second > b) continue;
        spans.emplace(b, e);
        if (spans.size() > kLaneMemory) {
            track.forgotten[i] = std::max(track.forgotten[i], spans.begin()->second);
            spans.erase(spans.begin());
        }
        return static_cast<int>(i);
    }
    if (track.lanes.size() < static_cast<size_t>(kMaxLanes)) {
        track.lanes.emplace_back();
        track.forgotten.push_back(INT64_MIN);
        track.lanes.back().emplace(b, e);
        return static_cast<int>(track.lanes.size() - 1);
    }
    return kMaxLanes - 1; // hundreds of spans at once: overlap in the last lane rather than lose the span
}

void ChromeTraceWriter::appendTime(int64_t ns)
{
    int64_t rel = 0;
    if (__builtin_sub_overflow(ns, m_originNs, &rel)) rel = ns < m_originNs ? INT64_MIN + 1 : INT64_MAX;
    appendMicros(rel);
}

void ChromeTraceWriter::appendMicros(int64_t ns)
{
    // Microseconds with exactly three decimals, from integers: no rounding, nanoseconds survive.
    if (ns < 0) {
        m_buf += '-';
        ns = ns == INT64_MIN ? INT64_MAX : -ns;
    }
    appendNumber(m_buf, ns / 1000);
    const int frac = static_cast<int>(ns % 1000);
    m_buf += '.';
    m_buf += static_cast<char>('0' + frac / 100);
    m_buf += static_cast<char>('0' + frac / 10 % 10);
    m_buf += static_cast<char>('0' + frac % 10);
}

void ChromeTraceWriter::writeSpan(const TraceEvent& e, bool stall)
{
    const int stageIndex = std::min<int>(static_cast<int>(e.stage), kStageCount - 1);
    const Stage stage = static_cast<Stage>(stageIndex);
    Lanes& lanes = stall ? m_stallLanes[stageIndex] : m_spanLanes[stageIndex];
    const int tid = trackId(stage, stall, laneFor(lanes, e.beginNs, e.endNs));
    const bool haveLabel = e.layer >= 0 && static_cast<size_t>(e.layer) < m_layerLabels.size();

    beginRecord();
    m_buf += "{\"ph\":\"X\",\"pid\":1,\"tid\":";
    appendNumber(m_buf, tid);
    m_buf += ",\"cat\":\"";
    m_buf += stall ? "stall" : stageName(stage);
    m_buf += "\",\"name\":\"";
    if (stall) {
        m_buf += "stall: ";
        appendJsonString(m_buf, e.name ? e.name : defaultStallReason(stage));
    } else {
        bool any = false;
        if (haveLabel) {
            m_buf += m_layerLabels[e.layer];
            any = true;
        } else if (e.layer >= 0) {
            m_buf += 'L';
            appendNumber(m_buf, e.layer);
            any = true;
        }
        if (e.name) {
            if (any) m_buf += ' ';
            appendJsonString(m_buf, e.name);
            any = true;
        }
        if (!any) m_buf += stageName(stage);
    }
    m_buf += "\",\"ts\":";
    appendTime(e.beginNs);
    m_buf += ",\"dur\":";
    const int64_t durNs = e.endNs > e.beginNs ? e.endNs - e.beginNs : 0;
    appendMicros(durNs);
    if (stall) m_buf += ",\"cname\":\"terrible\""; // red in chrome://tracing; Perfetto colours by name
    m_buf += ",\"args\":{\"layer\":";
    appendNumber(m_buf, e.layer);
    if (stall && haveLabel) {
        m_buf += ",\"layer_label\":\"";
        m_buf += m_layerLabels[e.layer];
        m_buf += '"';
    }
    m_buf += ",\"iteration\":";
    appendNumber(m_buf, e.iteration);
    if (!stall) {
        m_buf += ",\"bytes\":";
        appendNumber(m_buf, e.bytes);
        if (e.bytes > 0 && durNs > 0) {
            m_buf += ",\"MB/s\":";
            appendFixed(m_buf, static_cast<double>(e.bytes) * 1e3 / static_cast<double>(durNs), 1);
        }
    }
    m_buf += "}}";
}

void ChromeTraceWriter::onEvent(const TraceEvent& e)
{
    if (e.kind == EventKind::Begin) return;
    std::lock_guard lock(m_mutex);
    if (m_closed) return;
    writeSpan(e, e.kind == EventKind::Stall);
    if (m_buf.size() >= kFlushBytes) writeOutLocked();
}

void ChromeTraceWriter::onCounters(const CounterSample& c)
{
    std::lock_guard lock(m_mutex);
    if (m_closed) return;
    if (c.hasMemory && (!m_haveMemory || c.memoryBytes != m_lastMemory)) {
        m_haveMemory = true;
        m_lastMemory = c.memoryBytes;
        beginRecord();
        m_buf += "{\"ph\":\"C\",\"pid\":1,\"name\":\"memory (MiB)\",\"ts\":";
        appendTime(c.timeNs);
        m_buf += ",\"args\":{";
        for (size_t i = 0; i < kMemTagCount; ++i) {
            if (i) m_buf += ',';
            m_buf += '"';
            m_buf += memTagName(static_cast<MemTag>(i));
            m_buf += "\":";
            appendFixed(m_buf, static_cast<double>(c.memoryBytes[i]) / (1024.0 * 1024.0), 3);
        }
        m_buf += "}}";
    }
    if (!m_haveBandwidth || c.readMBps != m_lastBandwidth) {
        m_haveBandwidth = true;
        m_lastBandwidth = c.readMBps;
        beginRecord();
        m_buf += "{\"ph\":\"C\",\"pid\":1,\"name\":\"read bandwidth\",\"ts\":";
        appendTime(c.timeNs);
        m_buf += ",\"args\":{\"MB/s\":";
        appendFixed(m_buf, c.readMBps, 1);
        m_buf += "}}";
    }
    if (m_buf.size() >= kFlushBytes) writeOutLocked();
}

void ChromeTraceWriter::flush()
{
    std::lock_guard lock(m_mutex);
    if (!m_closed) writeOutLocked();
}

void ChromeTraceWriter::failLocked(const char* what, int err)
{
    if (!m_error)
        m_error = makeError(ErrorCode::Io,
            std::string("cannot ") + what + " trace file '" + m_path + "': " + std::strerror(err)
                + (err == ENOSPC ? " — free some disk space" : ""));
}

void ChromeTraceWriter::writeOutLocked()
{
    // After a failed write the file is unusable; keep the first error and stop writing.
    if (m_error || m_fd < 0) {
        m_buf.clear();
        return;
    }
    size_t done = 0;
    while (done < m_buf.size()) {
        const ssize_t n = ::write(m_fd, m_buf.data() + done, m_buf.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            failLocked("write", errno);
            break;
        }
        done += static_cast<size_t>(n);
    }
    m_buf.clear();
}

Status ChromeTraceWriter::close()
{
    std::lock_guard lock(m_mutex);
    if (!m_closed) {
        m_closed = true;
        m_buf += "\n]}\n";
        writeOutLocked();
        if (::close(m_fd) != 0) failLocked("finish", errno);
        m_fd = -1;
        m_spanLanes = {};
        m_stallLanes = {};
    }
    if (m_error) return *m_error;
    return Status {};
}

} // namespace dl
