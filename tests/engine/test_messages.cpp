// The run messages of the board protocol: a run request names its model by identity only and refuses paths, unknown
// fields and values out of range, naming them; the spec it becomes runs through the engine session, which checks the
// model's identity; event batches travel and are checked row by row.

#include "remote/messages.h"
#include "session/session.h"

#include <QTemporaryDir>
#include <QTest>

using namespace dl;
using namespace dl::remote;

namespace {

const char* const kModel = DL_SOURCE_DIR "/resources/models/darknet/yolov3-tiny.cfg";

Json request()
{
    RunSpec s;
    s.modelHash = std::string(64, 'c');
    s.arch = Arch::Async;
    s.stagingBytes = 8 << 20;
    s.resident = { 1, 3 };
    s.warmup = 1;
    s.iterations = 3;
    s.threads = 2;
    s.seed = 7;
    s.inputShapes["data"] = { 1, 3, 416, 416 };
    s.read.queueDepth = 4;
    s.read.verify = Verify::Always;
    return runRequestToJson(s);
}

} // namespace

class TestMessages : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void aRequestBecomesTheSameSpecOnTheBoard()
    {
        auto s = runSpecFromRequest(request(), "/board/models/cccc.cfg");
        QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
        QCOMPARE(s->model, std::string("/board/models/cccc.cfg"));
        QCOMPARE(s->modelHash, std::string(64, 'c'));
        QVERIFY(s->arch == Arch::Async);
        QCOMPARE(s->stagingBytes, uint64_t(8 << 20));
        QCOMPARE(s->resident, (std::vector<int> { 1, 3 }));
        QCOMPARE(s->iterations, 3);
        QCOMPARE(s->warmup, 1);
        QCOMPARE(s->seed, uint64_t(7));
        QCOMPARE(s->inputShapes.at("data"), (Shape { 1, 3, 416, 416 }));
        QCOMPARE(s->read.queueDepth, 4u);
        QVERIFY(s->read.verify == Verify::Always);
        QCOMPARE(s->source, std::string("agent"));
        QVERIFY(s->packDir.empty() && s->traceFile.empty() && s->inputFiles.empty());
        QVERIFY(!s->precision); // the model's own
        RunSpec half;
        half.modelHash = std::string(64, 'c');
        half.precision = Precision::F16;
        auto h = runSpecFromRequest(runRequestToJson(half, "", ""), "/board/models/cccc.cfg");
        QVERIFY(h.ok());
        QCOMPARE(h->precision, std::optional<Precision>(Precision::F16));
        QVERIFY(!s->backend); // the board's own choice (its configuration's, else the CPU)
        half.backend = BackendKind::Cuda;
        auto c = runSpecFromRequest(runRequestToJson(half, "", ""), "/board/models/cccc.cfg");
        QVERIFY(c.ok());
        QCOMPARE(c->backend, std::optional<BackendKind>(BackendKind::Cuda));
    }

    void badRequestsAreNamed_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("says");
        QTest::newRow("a path for the model") << "model"
                                              << "\"../../etc/passwd\""
                                              << "by sha256";
        QTest::newRow("a pack directory") << "pack_dir"
                                          << "\"/tmp\""
                                          << "does not take 'pack_dir'";
        QTest::newRow("a trace file") << "trace"
                                      << "\"/etc/x\""
                                      << "does not take 'trace'";
        QTest::newRow("no iterations") << "iterations"
                                       << "0"
                                       << "'iterations'";
        QTest::newRow("negative staging") << "staging_bytes"
                                          << "-1"
                                          << "'staging_bytes'";
        QTest::newRow("an unknown architecture") << "arch"
                                                 << "\"warp\""
                                                 << "'arch'";
        QTest::newRow("a layer that is text") << "resident_layers"
                                              << "[\"1\"]"
                                              << "layer index";
        QTest::newRow("a shape of zero") << "input_shapes"
                                         << "{\"data\": [1, 0]}"
                                         << "bad dimension";
        QTest::newRow("a budget beside staging") << "budget_bytes"
                                                 << "1048576"
                                                 << "either a budget";
        QTest::newRow("a bad verify") << "read"
                                      << "{\"verify\": \"maybe\"}"
                                      << "read.verify";
        QTest::newRow("an unknown precision") << "precision"
                                              << "\"fp8\""
                                              << "'precision'";
        QTest::newRow("a precision that is a number") << "precision"
                                                      << "16"
                                                      << "'precision'";
        QTest::newRow("an unknown backend") << "backend"
                                            << "\"tpu\""
                                            << "'backend'";
        QTest::newRow("a backend that is a list") << "backend"
                                                  << "[\"cuda\"]"
                                                  << "'backend'";
    }
    void badRequestsAreNamed()
    {
        QFETCH(QString, key);
        QFETCH(QString, value);
        QFETCH(QString, says);
        Json r = request();
        r[key.toStdString()] = Json::parse(value.toStdString());
        auto s = runSpecFromRequest(r, "/board/models/x.cfg");
        QVERIFY(!s.ok());
        QCOMPARE(s.error().code, ErrorCode::Invalid);
        QVERIFY2(s.error().message.find(says.toStdString()) != std::string::npos, s.error().message.c_str());
    }

    // The identity travels to the session, which refuses a file that is not that model and runs one that is.
    void theSessionChecksTheRequestedIdentity()
    {
        QTemporaryDir dir;
        RunSpec local;
        local.model = kModel;
        local.arch = Arch::TwoStage;
        local.iterations = 1;
        local.warmup = 0;
        local.threads = 2;
        local.packDir = dir.filePath(QStringLiteral("packs")).toStdString();
        auto prepared = Session::prepare(local);
        QVERIFY(prepared.ok());
        const std::string hash = (*prepared)->setup().modelHash;
        prepared = Error {};

        local.modelHash = hash;
        auto onBoard = runSpecFromRequest(runRequestToJson(local), kModel);
        QVERIFY(onBoard.ok());
        onBoard->packDir = local.packDir; // the board's own
        auto ok = Session::prepare(*onBoard);
        QVERIFY2(ok.ok(), ok.ok() ? "" : ok.error().message.c_str());
        QCOMPARE((*ok)->run().report.status, std::string("ok"));

        local.modelHash = std::string(64, '0');
        auto wrong = runSpecFromRequest(runRequestToJson(local), kModel);
        QVERIFY(wrong.ok());
        wrong->packDir = local.packDir;
        auto refused = Session::prepare(*wrong);
        QVERIFY(!refused.ok());
        QVERIFY2(refused.error().message.find("not the model asked for") != std::string::npos,
            refused.error().message.c_str());
    }

    void eventBatchesTravelAndAreChecked()
    {
        const std::vector<TraceEvent> events = { traceEvent(EventKind::End, Stage::Read, 3, 1, 100, 250, 4096),
            traceEvent(EventKind::Stall, Stage::Kernel, 4, 1, 260, 300),
            traceEvent(EventKind::Begin, Stage::Setup, -1, -1, 5) };
        LiveBatch batch;
        batch.events = events;
        batch.dropped = 17;
        CounterSample c;
        c.timeNs = 120;
        c.hasMemory = true;
        c.memoryBytes = { 1, 2, 3, 4 };
        c.readMBps = 812.5;
        batch.counters = { c };
        batch.latencies = { { 3, 12.25 } };
        batch.rss = { { 130, 1 << 20 } };
        batch.iterationsDone = 4;
        batch.iterationsPlanned = 12;
        const Json body = batchToJson(batch);
        // Through the frame format too, as it travels.
        auto frame = encodeFrame(MessageType::Events, body);
        QVERIFY(frame.ok());
        FrameReader reader;
        std::vector<Frame> frames;
        QVERIFY(reader.feed(frame->data(), frame->size(), frames).ok());
        QCOMPARE(frames.size(), size_t(1));
        auto back = batchFromJson(frames[0].body);
        QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
        QCOMPARE(back->dropped, uint64_t(17));
        QCOMPARE(back->events.size(), events.size());
        for (size_t i = 0; i < events.size(); ++i) {
            QCOMPARE(back->events[i].kind, events[i].kind);
            QCOMPARE(back->events[i].stage, events[i].stage);
            QCOMPARE(back->events[i].layer, events[i].layer);
            QCOMPARE(back->events[i].iteration, events[i].iteration);
            QCOMPARE(back->events[i].beginNs, events[i].beginNs);
            QCOMPARE(back->events[i].endNs, events[i].endNs);
            QCOMPARE(back->events[i].bytes, events[i].bytes);
        }
        QCOMPARE(back->counters.size(), size_t(1));
        QCOMPARE(back->counters[0].memoryBytes, c.memoryBytes);
        QCOMPARE(back->counters[0].readMBps, 812.5);
        QVERIFY(back->counters[0].hasMemory);
        QCOMPARE(back->latencies, batch.latencies);
        QCOMPARE(back->rss, batch.rss);
        QCOMPARE(back->iterationsDone, 4);
        QCOMPARE(back->iterationsPlanned, 12);
        // A byte string that is not whole records, or records out of range, is refused.
        Json cut = body;
        auto bytes = cut["events"].get_binary();
        bytes.pop_back();
        cut["events"] = Json::binary(bytes);
        QVERIFY(!batchFromJson(cut).ok());
        Json badKind = body;
        bytes = badKind["events"].get_binary();
        bytes[0] = 9; // no such kind
        badKind["events"] = Json::binary(bytes);
        QVERIFY(!batchFromJson(badKind).ok());
        Json badCounter = body;
        bytes = badCounter["counters"].get_binary();
        bytes[8] = 7; // has_memory is 0 or 1
        badCounter["counters"] = Json::binary(bytes);
        QVERIFY(!batchFromJson(badCounter).ok());
        Json badLatency = body;
        badLatency["latencies"][0] = "fast";
        QVERIFY(!batchFromJson(badLatency).ok());
        QVERIFY(!batchFromJson(Json { { "events", "many" } }).ok());
        QVERIFY(!batchFromJson(Json { { "events", Json::array() } }).ok()); // rows are no longer taken
    }

    void setupAndProgressTravel()
    {
        SessionSetup s;
        s.modelPath = "/board/models/x.onnx";
        s.modelHash = std::string(64, 'a');
        s.arch = Arch::Async;
        s.layerNames = { "conv_0", "conv_1" };
        s.layerBytes = { 4096, 8192 };
        s.layerStored = { "fp16", "fp16+fp32" };
        s.precision = Precision::F16;
        s.resident = { true, false };
        s.stagingBytes = 1 << 20;
        s.splitBytes = 65536;
        s.reader = "io_uring + O_DIRECT";
        s.directIo = true;
        auto back = setupFromJson(setupToJson(s, 12345));
        QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
        QCOMPARE(back->originNs, int64_t(12345));
        QVERIFY(back->setup.modelPath.empty()); // board paths do not travel
        QCOMPARE(back->setup.layerNames, s.layerNames);
        QCOMPARE(back->setup.layerBytes, s.layerBytes);
        QCOMPARE(back->setup.layerStored, s.layerStored);
        QCOMPARE(back->setup.precision, Precision::F16);
        QCOMPARE(back->setup.resident, s.resident);
        QCOMPARE(back->setup.arch.value(), Arch::Async);
        QCOMPARE(back->setup.stagingBytes, s.stagingBytes);
        QCOMPARE(back->setup.reader, s.reader);
        Json wrong = setupToJson(s, 0);
        wrong["layer_bytes"] = Json::array({ 1 }); // not one per layer
        QVERIFY(!setupFromJson(wrong).ok());
        wrong = setupToJson(s, 0);
        wrong["layer_stored"] = Json::array({ "fp16" }); // not one per layer
        QVERIFY(!setupFromJson(wrong).ok());
        wrong = setupToJson(s, 0);
        wrong["precision"] = "bf16";
        QVERIFY(!setupFromJson(wrong).ok());

        Progress p;
        p.phase = Progress::Phase::Packing;
        p.percent = 40;
        p.done = 4;
        p.total = 10;
        p.detail = "m.onnx";
        auto pb = progressFromJson(progressToJson(p));
        QVERIFY(pb.ok());
        QCOMPARE(progressText(*pb), progressText(p));
        QVERIFY(!progressFromJson(Json { { "phase", 99 } }).ok());
    }
};

QTEST_GUILESS_MAIN(TestMessages)
#include "test_messages.moc"
