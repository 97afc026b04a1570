// Trace events, the Chrome-trace writer and the memory ledger: the file parses as JSON with the expected tracks, lanes
// never overlap, hostile names are escaped, errors name the path; delivery is exact under concurrency; the ledger
// counts per tag, its buffers count and un-count, and its timeline stays capped without losing peaks.

// Tracer::emit() collides with Qt's `emit` macro; Q_EMIT remains for Qt code.
#define QT_NO_EMIT

#include "memory/ledger.h"
#include "trace/chrometrace.h"
#include "trace/trace.h"

#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

using namespace dl;
using json = nlohmann::json;

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

json parseJson(const std::string& text)
{
    return json::parse(text, nullptr, /*allow_exceptions=*/false);
}

TraceEvent span(EventKind kind, Stage stage, int layer, int iteration, int64_t b, int64_t e, uint64_t bytes = 0,
    const char* name = nullptr)
{
    return traceEvent(kind, stage, layer, iteration, b, e, bytes, name);
}

std::map<int, std::string> threadNames(const json& trace)
{
    std::map<int, std::string> names;
    for (const json& ev : trace["traceEvents"])
        if (ev["ph"] == "M" && ev["name"] == "thread_name") names[ev["tid"].get<int>()] = ev["args"]["name"];
    return names;
}

std::vector<json> eventsWithPhase(const json& trace, const char* ph)
{
    std::vector<json> out;
    for (const json& ev : trace["traceEvents"])
        if (ev["ph"] == ph) out.push_back(ev);
    return out;
}

int64_t toNs(const json& micros)
{
    return std::llround(micros.get<double>() * 1000.0);
}

// Empty when no two X events on one track overlap; otherwise a description of the first pair that does.
std::string findOverlap(const json& trace)
{
    std::map<int, std::vector<std::pair<int64_t, int64_t>>> byTrack;
    for (const json& ev : eventsWithPhase(trace, "X")) {
        const int64_t b = toNs(ev["ts"]);
        byTrack[ev["tid"].get<int>()].push_back({ b, b + toNs(ev["dur"]) });
    }
    for (auto& [tid, spans] : byTrack) {
        std::sort(spans.begin(), spans.end());
        int64_t reach = INT64_MIN;
        for (const auto& [b, e] : spans) {
            if (b < reach)
                return "track " + std::to_string(tid) + ": span at " + std::to_string(b) + " begins before "
                    + std::to_string(reach);
            reach = std::max(reach, e);
        }
    }
    return {};
}

} // namespace

class TestTrace : public QObject
{
    Q_OBJECT

private slots:
    void writerWritesTracksSpansLanesAndCounters()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath(QStringLiteral("run.json")).toStdString();
        ChromeTraceWriter::Options opts;
        opts.originNs = 0;
        auto writer = ChromeTraceWriter::open(path, { "conv1", "conv2", "fc" }, opts);
        QVERIFY(writer.ok());

        MemoryLedger ledger;
        CollectingSink collected;
        Tracer tracer;
        tracer.addSink(writer->get());
        tracer.addSink(&collected);
        tracer.setLedger(&ledger);

        // A synthetic run: three reads in flight at once per iteration, then copy and kernel one layer at a time, the
        // kernel stalling whenever its weights are not there yet.
        std::vector<TraceEvent> events;
        events.push_back(span(EventKind::End, Stage::Setup, -1, 0, 0, 100'000, 0, "open pack"));
        const int64_t ms = 1'000'000;
        int stalls = 0;
        int64_t kernelFree = 0;
        for (int it = 0; it < 2; ++it) {
            const int64_t base = ms + it * 2 * ms;
            for (int l = 0; l < 3; ++l) {
                const int64_t rb = base + l * 100'000, re = rb + 250'000;
                events.push_back(span(EventKind::Begin, Stage::Read, l, it, rb, rb));
                events.push_back(span(EventKind::End, Stage::Read, l, it, rb, re, 4 * kMiB));
                const int64_t ce = re + 50'000;
                events.push_back(span(EventKind::End, Stage::Copy, l, it, re, ce, 4 * kMiB));
                if (ce > kernelFree) {
                    events.push_back(span(EventKind::Stall, Stage::Kernel, l, it, kernelFree, ce));
                    ++stalls;
                }
                const int64_t kb = std::max(ce, kernelFree);
                kernelFree = kb + 400'000;
                events.push_back(span(EventKind::End, Stage::Kernel, l, it, kb, kernelFree));
            }
        }
        std::stable_sort(events.begin(), events.end(),
            [](const TraceEvent& a, const TraceEvent& b) { return eventTimeNs(a) < eventTimeNs(b); });
        ledger.add(MemTag::Staging, 8 * kMiB);
        ledger.add(MemTag::Activations, 3 * kMiB / 2);
        tracer.emitCounters(0);
        for (const TraceEvent& e : events)
            tracer.emit(e);
        ledger.add(MemTag::Staging, -8 * static_cast<int64_t>(kMiB));
        tracer.emitCounters(kernelFree);
        Status st = writer.value()->close();
        QVERIFY2(st.ok(), st.ok() ? "" : st.error().message.c_str());

        QCOMPARE(collected.eventCount(), events.size());
        QCOMPARE(ledger.timeline().size(), events.size() + 2); // one sample per event and per emitCounters

        const json trace = parseJson(readFile(path));
        QVERIFY(!trace.is_discarded());
        QCOMPARE(trace["displayTimeUnit"].get<std::string>(), std::string("ms"));
        QVERIFY(trace["traceEvents"].is_array());

        const auto names = threadNames(trace);
        std::set<std::string> nameSet;
        for (const auto& [tid, name] : names)
            nameSet.insert(name);
        for (const char* expected : { "read", "read 2", "read 3", "copy", "kernel", "setup", "kernel stall" })
            QVERIFY2(nameSet.count(expected), expected);
        QVERIFY(!nameSet.count("read 4")); // three reads at once need three lanes, not more
        int sortIndices = 0;
        for (const json& ev : eventsWithPhase(trace, "M"))
            sortIndices += ev["name"] == "thread_sort_index";
        QCOMPARE(sortIndices, int(names.size()));

        const auto spans = eventsWithPhase(trace, "X");
        QCOMPARE(spans.size(), size_t(1 + 2 * 3 * 3 + stalls));
        QCOMPARE(findOverlap(trace), std::string());

        // Layer 1's read of iteration 0: 1.1 ms after the origin, 250 us long, on a read lane.
        bool foundRead = false, foundStall = false, foundSetup = false;
        for (const json& ev : spans) {
            const std::string track = names.at(ev["tid"].get<int>());
            if (ev["name"] == "L1 conv2" && ev["cat"] == "read" && ev["args"]["iteration"] == 0) {
                foundRead = true;
                QCOMPARE(ev["ts"].get<double>(), 1100.0);
                QCOMPARE(ev["dur"].get<double>(), 250.0);
                QCOMPARE(ev["args"]["layer"].get<int>(), 1);
                QCOMPARE(ev["args"]["bytes"].get<uint64_t>(), 4 * kMiB);
                QVERIFY(track.rfind("read", 0) == 0);
            }
            if (ev["name"] == "stall: waiting for weights") {
                foundStall = true;
                QCOMPARE(track, std::string("kernel stall"));
            }
            if (ev["name"] == "open pack") {
                foundSetup = true;
                QCOMPARE(track, std::string("setup"));
            }
        }
        QVERIFY(foundRead && foundStall && foundSetup);

        // Counters: memory by tag in MiB (staging 8 MiB, later released), and the read bandwidth.
        double maxStaging = -1, lastStaging = -1, maxBandwidth = -1;
        for (const json& ev : eventsWithPhase(trace, "C")) {
            if (ev["name"] == "memory (MiB)") {
                for (MemTag t : { MemTag::ResidentWeights, MemTag::Staging, MemTag::Activations, MemTag::Workspace })
                    QVERIFY(ev["args"].contains(memTagName(t)));
                QCOMPARE(ev["args"]["activations"].get<double>(), 1.5);
                lastStaging = ev["args"]["staging"].get<double>();
                maxStaging = std::max(maxStaging, lastStaging);
            } else if (ev["name"] == "read bandwidth") {
                maxBandwidth = std::max(maxBandwidth, ev["args"]["MB/s"].get<double>());
            }
        }
        QCOMPARE(maxStaging, 8.0);
        QCOMPARE(lastStaging, 0.0);
        // All six 4 MiB reads end inside one 50 ms window.
        QCOMPARE(maxBandwidth, std::round(6.0 * 4 * kMiB * 1e3 / 50e6 * 10) / 10);
    }

    void bandwidthFollowsItsWindowAndCountersNeverStepBack()
    {
        Tracer::Options opts;
        opts.bandwidthWindowNs = 10'000'000;
        Tracer tracer(opts);
        CollectingSink sink;
        tracer.addSink(&sink);
        const int64_t ms = 1'000'000;
        auto lastMBps = [&] { return sink.counters().back().readMBps; };

        tracer.emit(span(EventKind::End, Stage::Read, 0, 0, 0, 1 * ms, 10'000'000));
        QCOMPARE(lastMBps(), 1000.0);
        tracer.emit(span(EventKind::End, Stage::Read, 1, 0, 1 * ms, 2 * ms, 10'000'000));
        QCOMPARE(lastMBps(), 2000.0);
        const size_t samples = sink.counters().size();
        tracer.emit(span(EventKind::End, Stage::Kernel, 0, 0, 2 * ms, 5 * ms));
        QCOMPARE(sink.counters().size(), samples); // nothing changed: no sample
        tracer.emit(span(EventKind::End, Stage::Kernel, 1, 0, 5 * ms, 11'500'000));
        QCOMPARE(lastMBps(), 1000.0); // the first read left the window at 11 ms
        QCOMPARE(tracer.readMBps(), 1000.0);
        tracer.emit(span(EventKind::End, Stage::Kernel, 2, 0, 12 * ms, 20 * ms));
        QCOMPARE(lastMBps(), 0.0);
        // Delivered late, stamped early: the counter time does not go back.
        tracer.emit(span(EventKind::End, Stage::Read, 2, 0, 14 * ms, 15 * ms, 5'000'000));
        QCOMPARE(sink.counters().back().timeNs, 20 * ms);
        QCOMPARE(lastMBps(), 500.0);
        const auto counters = sink.counters();
        for (size_t i = 1; i < counters.size(); ++i)
            QVERIFY(counters[i].timeNs >= counters[i - 1].timeNs);
        QVERIFY(!counters.back().hasMemory);
    }

    void hostileNamesAreEscaped()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath(QStringLiteral("hostile.json")).toStdString();
        // Quotes, backslashes, control characters, valid UTF-8, then invalid bytes: a stray continuation-free lead,
        // an overlong '/', a UTF-16 surrogate, and a sequence cut short at the end.
        const std::string hostile = std::string("q\"uote\\back\nnl\ttab\x01\x1f\x7f ünï 日本 😀 ") + "\xff" + "\xc0\xaf"
            + "\xed\xa0\x80" + "end\xe6\x97";
        const std::string expected = std::string("L0 q\"uote\\back\nnl\ttab\x01\x1f\x7f ünï 日本 😀 ") + "\uFFFD"
            + "\uFFFD\uFFFD" + "\uFFFD\uFFFD\uFFFD" + "end\uFFFD\uFFFD";
        ChromeTraceWriter::Options opts;
        opts.processName = "\"}]} injected";
        {
            auto writer = ChromeTraceWriter::open(path, { hostile }, opts);
            QVERIFY(writer.ok());
            (*writer)->onEvent(span(EventKind::End, Stage::Kernel, 0, 0, 10, 20));
            (*writer)->onEvent(span(EventKind::End, Stage::Setup, -1, 0, 10, 20, 0, "\"},{\"ph\":\"X"));
            (*writer)->onEvent(span(EventKind::Stall, Stage::Read, 0, 0, 10, 20, 0, "back\\slash"));
        }
        const json trace = parseJson(readFile(path));
        QVERIFY(!trace.is_discarded());
        std::vector<std::string> names;
        for (const json& ev : eventsWithPhase(trace, "X"))
            names.push_back(ev["name"]);
        QCOMPARE(names.size(), size_t(3));
        QCOMPARE(names[0], expected);
        QCOMPARE(names[1], std::string("\"},{\"ph\":\"X"));
        QCOMPARE(names[2], std::string("stall: back\\slash"));
        for (const json& ev : eventsWithPhase(trace, "M"))
            if (ev["name"] == "process_name")
                QCOMPARE(ev["args"]["name"].get<std::string>(), std::string("\"}]} injected"));

        std::string out;
        appendJsonString(out, std::string_view("a\0b", 3));
        QCOMPARE(out, std::string("a\\u0000b"));
    }

    void openFailsWithIoNamingThePath()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath(QStringLiteral("no/such/dir/trace.json")).toStdString();
        auto writer = ChromeTraceWriter::open(path, {});
        QVERIFY(!writer.ok());
        QCOMPARE(writer.error().code, ErrorCode::Io);
        QVERIFY2(writer.error().message.find(path) != std::string::npos, writer.error().message.c_str());
    }

    void closeReportsWriteErrors()
    {
        // /dev/full accepts open() and fails every write with ENOSPC.
        if (!QFile::exists(QStringLiteral("/dev/full"))) QSKIP("no /dev/full on this system");
        auto writer = ChromeTraceWriter::open("/dev/full", { "conv1" });
        QVERIFY(writer.ok());
        for (int i = 0; i < 100; ++i)
            (*writer)->onEvent(span(EventKind::End, Stage::Kernel, 0, i, i * 10, i * 10 + 5));
        Status st = (*writer)->close();
        QVERIFY(!st.ok());
        QCOMPARE(st.error().code, ErrorCode::Io);
        QVERIFY2(st.error().message.find("/dev/full") != std::string::npos, st.error().message.c_str());
        Status again = (*writer)->close();
        QVERIFY(!again.ok());
        QCOMPARE(again.error().message, st.error().message);
        (*writer)->onEvent(span(EventKind::End, Stage::Kernel, 0, 0, 0, 5)); // after close: dropped, no crash
    }

    void flushedFileIsRepairableAndDestructorFinishesIt()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath(QStringLiteral("partial.json")).toStdString();
        auto writer = ChromeTraceWriter::open(path, { "conv1" });
        QVERIFY(writer.ok());
        std::unique_ptr<ChromeTraceWriter> w = std::move(writer).value();
        w->onEvent(span(EventKind::End, Stage::Read, 0, 0, traceClockNs(), traceClockNs() + 1000, 4096));
        w->flush();
        // As a crash would leave it: everything flushed, no closing brackets. The header documents the repair.
        const json repaired = parseJson(readFile(path) + "]}");
        QVERIFY(!repaired.is_discarded());
        QCOMPARE(eventsWithPhase(repaired, "X").size(), size_t(1));

        w->onEvent(span(EventKind::End, Stage::Read, 0, 1, traceClockNs(), traceClockNs() + 1000, 4096));
        w.reset();
        const json trace = parseJson(readFile(path));
        QVERIFY(!trace.is_discarded());
        QCOMPARE(eventsWithPhase(trace, "X").size(), size_t(2));
    }

    void lanesNeverOverlapWhenSpansArriveOutOfOrder()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath(QStringLiteral("lanes.json")).toStdString();
        ChromeTraceWriter::Options opts;
        opts.originNs = 0;
        auto writer = ChromeTraceWriter::open(path, {}, opts);
        QVERIFY(writer.ok());

        std::mt19937 rng(42);
        std::vector<TraceEvent> events;
        for (int i = 0; i < 2000; ++i) {
            const int64_t b = std::uniform_int_distribution<int64_t>(0, 10'000'000)(rng);
            const int64_t d = std::uniform_int_distribution<int64_t>(0, 200'000)(rng);
            events.push_back(span(EventKind::End, Stage::Read, i, 0, b, b + d));
        }
        for (int i = 0; i < 5; ++i) // zero-length spans at one instant, and spans meeting end to begin
            events.push_back(span(EventKind::End, Stage::Copy, i, 0, 777, 777));
        events.push_back(span(EventKind::End, Stage::Copy, 9, 0, 100, 777));
        events.push_back(span(EventKind::End, Stage::Copy, 9, 0, 777, 900));
        events.push_back(span(EventKind::Stall, Stage::Kernel, 0, 0, 0, 1000)); // stalls overlapping each other
        events.push_back(span(EventKind::Stall, Stage::Kernel, 1, 0, 500, 1500, 0, "waiting for a copy"));
        std::shuffle(events.begin(), events.end(), rng);
        for (const TraceEvent& e : events)
            (*writer)->onEvent(e);
        QVERIFY((*writer)->close().ok());

        const json trace = parseJson(readFile(path));
        QVERIFY(!trace.is_discarded());
        QCOMPARE(eventsWithPhase(trace, "X").size(), events.size());
        QCOMPARE(findOverlap(trace), std::string());
        // Every track that holds a span has its name.
        const auto names = threadNames(trace);
        for (const json& ev : eventsWithPhase(trace, "X"))
            QVERIFY(names.count(ev["tid"].get<int>()));
        std::set<std::string> nameSet;
        for (const auto& [tid, name] : names)
            nameSet.insert(name);
        QVERIFY(nameSet.count("kernel stall 2"));
    }

    void tracerWithoutSinksIsInertAndSpansEmitBeginAndEnd()
    {
        Tracer tracer;
        QVERIFY(!tracer.active());
        tracer.emit(span(EventKind::End, Stage::Read, 0, 0, 0, 10, 100)); // nobody listens: nothing happens
        tracer.emitCounters(5);
        tracer.flush();
        {
            TraceSpan nothing(nullptr, Stage::Kernel, 0, 0);
        }

        CollectingSink sink;
        tracer.addSink(&sink);
        tracer.addSink(&sink); // twice: still delivered once
        QVERIFY(tracer.active());
        {
            TraceSpan s(&tracer, Stage::Copy, 3, 7, "h2d");
            s.setBytes(1234);
        }
        tracer.removeSink(&sink);
        QVERIFY(!tracer.active());
        tracer.emit(span(EventKind::End, Stage::Read, 0, 0, 0, 10, 100));

        auto batch = sink.take();
        QCOMPARE(batch.events.size(), size_t(2));
        QCOMPARE(sink.eventCount(), size_t(0));
        QCOMPARE(batch.events[0].kind, EventKind::Begin);
        QCOMPARE(batch.events[1].kind, EventKind::End);
        QCOMPARE(batch.events[1].beginNs, batch.events[0].beginNs);
        QVERIFY(batch.events[1].endNs >= batch.events[1].beginNs);
        QCOMPARE(batch.events[1].bytes, uint64_t(1234));
        QCOMPARE(batch.events[1].layer, 3);
        QCOMPARE(batch.events[1].iteration, 7);
        QCOMPARE(std::string(batch.events[1].name), std::string("h2d"));
        QCOMPARE(batch.counters.size(), size_t(1)); // the first event after adding; nothing changed after
    }

    void tracerDeliversEveryEventFromManyThreads()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath(QStringLiteral("threads.json")).toStdString();
        auto writer = ChromeTraceWriter::open(path, {});
        QVERIFY(writer.ok());
        MemoryLedger ledger(1024);
        CollectingSink sink;
        Tracer tracer;
        tracer.addSink(&sink);
        tracer.addSink(writer->get());
        tracer.setLedger(&ledger);

        constexpr int kThreads = 4, kEvents = 10'000;
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                const MemTag tag = static_cast<MemTag>(t % kMemTagCount);
                for (int i = 0; i < kEvents; ++i) {
                    ledger.add(tag, 4096);
                    const int64_t b = traceClockNs();
                    tracer.emit(span(EventKind::End, Stage::Read, i, t, b, traceClockNs(), 4096));
                    ledger.add(tag, -4096);
                }
            });
        }
        for (auto& th : threads)
            th.join();
        tracer.removeSink(writer->get());
        QVERIFY((*writer)->close().ok());

        const auto events = sink.events();
        QCOMPARE(events.size(), size_t(kThreads * kEvents));
        // Each thread's events arrive complete and in its own order.
        std::vector<int> next(kThreads, 0);
        for (const TraceEvent& e : events) {
            QCOMPARE(e.layer, next[e.iteration]);
            ++next[e.iteration];
        }
        for (MemTag t : { MemTag::ResidentWeights, MemTag::Staging, MemTag::Activations, MemTag::Workspace }) {
            QCOMPARE(ledger.current(t), size_t(0));
            QCOMPARE(ledger.peak(t), size_t(4096));
        }
        QVERIFY(ledger.timeline().size() <= 1024);
        QVERIFY(!sink.counters().empty());

        const json trace = parseJson(readFile(path));
        QVERIFY(!trace.is_discarded());
        QCOMPARE(eventsWithPhase(trace, "X").size(), size_t(kThreads * kEvents));
        QCOMPARE(findOverlap(trace), std::string());
    }

    void ledgerCountsPerTagUnderConcurrency()
    {
        QCOMPARE(std::string(memTagName(MemTag::ResidentWeights)), std::string("resident_weights"));
        QCOMPARE(std::string(memTagName(MemTag::Staging)), std::string("staging"));
        QCOMPARE(std::string(memTagName(MemTag::Activations)), std::string("activations"));
        QCOMPARE(std::string(memTagName(MemTag::Workspace)), std::string("workspace"));

        MemoryLedger ledger;
        constexpr int kThreads = 4, kSteps = 10'000;
        // Everyone adds, then (after the barrier) everyone releases: the peaks are exactly the sums.
        std::barrier sync(kThreads);
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                const MemTag tag = t < 2 ? MemTag::Staging : MemTag::Activations;
                for (int i = 0; i < kSteps; ++i)
                    ledger.add(tag, 3);
                sync.arrive_and_wait();
                for (int i = 0; i < kSteps; ++i)
                    ledger.add(tag, -3);
            });
        }
        for (auto& th : threads)
            th.join();
        QCOMPARE(ledger.peak(MemTag::Staging), size_t(2 * 3 * kSteps));
        QCOMPARE(ledger.peak(MemTag::Activations), size_t(2 * 3 * kSteps));
        QCOMPARE(ledger.peak(MemTag::ResidentWeights), size_t(0));
        QCOMPARE(ledger.peakTotal(), size_t(4 * 3 * kSteps));
        QCOMPARE(ledger.currentTotal(), size_t(0));
        QCOMPARE(ledger.current(MemTag::Staging), size_t(0));

        ledger.resetPeaks();
        QCOMPARE(ledger.peakTotal(), size_t(0));
        QCOMPARE(ledger.peak(MemTag::Staging), size_t(0));
        ledger.add(MemTag::Workspace, 100);
        ledger.add(MemTag::Staging, 50);
        ledger.add(MemTag::Workspace, -100);
        ledger.add(MemTag::Staging, 20);
        QCOMPARE(ledger.peak(MemTag::Workspace), size_t(100));
        QCOMPARE(ledger.peakTotal(), size_t(150)); // the largest total at once, not the sum of the tag peaks (170)
        QCOMPARE(ledger.currentTotal(), size_t(70));
        ledger.resetPeaks();
        QCOMPARE(ledger.peak(MemTag::Workspace), size_t(0));
        QCOMPARE(ledger.peak(MemTag::Staging), size_t(70));
    }

    void ledgerBufferCountsAndUncounts()
    {
        MemoryLedger ledger;
        {
            LedgerBuffer a = LedgerBuffer::allocate(&ledger, MemTag::Staging, 10'000);
            QVERIFY(!a.empty());
            QCOMPARE(a.size(), size_t(10'000));
            QCOMPARE(reinterpret_cast<uintptr_t>(a.data()) % 4096, uintptr_t(0));
            QVERIFY(std::all_of(a.data(), a.data() + a.size(), [](std::byte b) { return b == std::byte { 0 }; }));
            QCOMPARE(ledger.current(MemTag::Staging), size_t(10'000));

            LedgerBuffer b(std::move(a)); // the count moves with the memory
            QVERIFY(a.empty());
            QCOMPARE(a.size(), size_t(0));
            QCOMPARE(ledger.current(MemTag::Staging), size_t(10'000));

            LedgerBuffer c
                = LedgerBuffer::allocate(&ledger, MemTag::Workspace, 5000, 64, LedgerBuffer::Fill::Uninitialised);
            QCOMPARE(reinterpret_cast<uintptr_t>(c.data()) % 64, uintptr_t(0));
            QCOMPARE(ledger.current(MemTag::Workspace), size_t(5000));
            c = std::move(b); // c's own memory is freed and un-counted
            QCOMPARE(ledger.current(MemTag::Workspace), size_t(0));
            QCOMPARE(ledger.current(MemTag::Staging), size_t(10'000));
            QCOMPARE(c.tag(), MemTag::Staging);
            c.data()[9999] = std::byte { 7 };

            LedgerBuffer d = LedgerBuffer::allocate(&ledger, MemTag::Activations, 100);
            d.reset();
            QVERIFY(d.empty());
            QCOMPARE(ledger.current(MemTag::Activations), size_t(0));
        }
        QCOMPARE(ledger.currentTotal(), size_t(0));
        QCOMPARE(ledger.peak(MemTag::Staging), size_t(10'000));

        LedgerBuffer unledgered = LedgerBuffer::allocate(nullptr, MemTag::Staging, 8192);
        QVERIFY(!unledgered.empty());
        QVERIFY(LedgerBuffer::allocate(&ledger, MemTag::Staging, 0).empty());
        auto bad = LedgerBuffer::tryAllocate(&ledger, MemTag::Staging, 100, 3000);
        QVERIFY(!bad.ok());
        QCOMPARE(bad.error().code, ErrorCode::Invalid);
        QVERIFY(LedgerBuffer::allocate(&ledger, MemTag::Staging, 100, 3000).empty());
        QCOMPARE(ledger.currentTotal(), size_t(0));
    }

    // A ledger with a capacity refuses what would pass it, naming the tag, the bytes and the limit, and counts nothing
    // for the refusal; what fits still goes through, up to the byte.
    void ledgerCapacityRefusesWhatWouldPassIt()
    {
        MemoryLedger ledger;
        ledger.setCapacity(100'000);
        QCOMPARE(ledger.capacity(), size_t(100'000));
        LedgerBuffer a = LedgerBuffer::allocate(&ledger, MemTag::Activations, 60'000);
        QVERIFY(!a.empty());
        auto refused = LedgerBuffer::tryAllocate(&ledger, MemTag::Staging, 40'001);
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error().code, ErrorCode::Internal);
        const std::string& m = refused.error().message;
        QVERIFY2(m.find("out of memory") != std::string::npos && m.find("40001") != std::string::npos
                && m.find("staging") != std::string::npos && m.find("100000") != std::string::npos,
            m.c_str());
        QCOMPARE(ledger.currentTotal(), size_t(60'000)); // the refusal counted nothing
        QCOMPARE(ledger.peakTotal(), size_t(60'000));
        LedgerBuffer b = LedgerBuffer::allocate(&ledger, MemTag::Staging, 40'000); // exactly to the limit
        QVERIFY(!b.empty());
        QCOMPARE(ledger.currentTotal(), size_t(100'000));
        QVERIFY(!ledger.reserve(MemTag::Workspace, 1).ok());
        b.reset();
        QVERIFY(ledger.reserve(MemTag::Workspace, 1).ok());
        ledger.add(MemTag::Workspace, -1);
        ledger.setCapacity(0); // no limit
        QVERIFY(ledger.reserve(MemTag::Workspace, size_t(1) << 40).ok());
        ledger.add(MemTag::Workspace, -(int64_t(1) << 40));
        QCOMPARE(ledger.currentTotal(), size_t(60'000));
    }

    void ledgerTimelineIsCappedAndKeepsPeaks()
    {
        MemoryLedger ledger(64);
        constexpr int kSamples = 1000;
        for (int i = 0; i < kSamples; ++i) {
            ledger.add(MemTag::Workspace, 1);
            if (i == 517) ledger.add(MemTag::Staging, static_cast<int64_t>(kMiB));
            ledger.sample(int64_t(i) * 10);
            if (i == 517) ledger.add(MemTag::Staging, -static_cast<int64_t>(kMiB));
        }
        const auto timeline = ledger.timeline();
        QVERIFY(timeline.size() <= 64);
        QVERIFY(timeline.size() >= 32);
        for (size_t i = 1; i < timeline.size(); ++i)
            QVERIFY(timeline[i].timeNs > timeline[i - 1].timeNs);
        // The whole run is covered, and the one-sample spike survived the thinning.
        QVERIFY(timeline.front().timeNs < kSamples * 10 / 16);
        QCOMPARE(timeline.back().timeNs, int64_t(kSamples - 1) * 10);
        QCOMPARE(timeline.back().bytes[size_t(MemTag::Workspace)], size_t(kSamples));
        QVERIFY(std::any_of(timeline.begin(), timeline.end(),
            [](const MemoryLedger::Sample& s) { return s.bytes[size_t(MemTag::Staging)] == kMiB; }));

        ledger.clearTimeline();
        QVERIFY(ledger.timeline().empty());
        ledger.sample(5);
        QCOMPARE(ledger.timeline().size(), size_t(1));
        QCOMPARE(ledger.timeline()[0].total(), size_t(kSamples));
    }
};

QTEST_GUILESS_MAIN(TestTrace)
#include "test_trace.moc"
