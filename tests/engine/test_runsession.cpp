// The engine session on a real model and a real pack cache on disk: a run as one call, its report through the one
// serializer and back, the model's identity checked, and a stop honoured in every phase of set-up, resident reads
// included.

#include "session/runreport.h"
#include "session/session.h"

#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <set>

using namespace dl;

namespace {

const char* const kModel = DL_SOURCE_DIR "/resources/models/darknet/yolov3-tiny.cfg";

RunSpec spec(const QTemporaryDir& dir, const std::string& packs)
{
    RunSpec s;
    s.model = kModel;
    s.arch = Arch::TwoStage;
    s.warmup = 0;
    s.iterations = 2;
    s.threads = 2;
    s.packDir = dir.filePath(QString::fromStdString(packs)).toStdString();
    return s;
}

} // namespace

class TestRunSession : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir { DL_TEST_TMP "/session-XXXXXX" }; // the build tree, a real disk: O_DIRECT applies

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // One call from model file to report; the report survives its own serializer field for field.
    void aRunIsOneCallAndItsReportRoundTrips()
    {
        std::set<Progress::Phase> phases;
        auto prepared
            = Session::prepare(spec(m_dir, "packs"), nullptr, [&](const Progress& p) { phases.insert(p.phase); });
        QVERIFY2(prepared.ok(), prepared.ok() ? "" : prepared.error().message.c_str());
        Session& session = **prepared;
        QCOMPARE(session.setup().layerNames.size(), size_t(14));
        QVERIFY(!session.setup().packPath.empty());
        QCOMPARE(session.setup().modelHash.size(), size_t(64));
        QVERIFY(phases.count(Progress::Phase::Importing) && phases.count(Progress::Phase::Packing)
            && phases.count(Progress::Phase::SettingUp));
        int iterations = 0;
        IterationHooks hooks;
        hooks.after = [&](int, double ms) -> Status {
            ++iterations;
            return ms > 0 ? Status() : Status(invalid("no time"));
        };
        SessionOutcome out = session.run(hooks);
        QCOMPARE(out.report.status, std::string("ok"));
        QCOMPARE(iterations, 2);
        QCOMPARE(out.report.latenciesMs.size(), size_t(2));
        QCOMPARE(out.report.arch, std::string("two-stage"));
        QCOMPARE(out.report.modelHash, session.setup().modelHash);
        QCOMPARE(out.report.device, thisDevice());
        QVERIFY(out.report.read && out.report.read->bytes > 0);
        QVERIFY(out.report.memory.peakBytes >= out.report.memory.weightsBytes + out.report.memory.activationsBytes);
        QCOMPARE(out.report.outputs.size(), size_t(2));
        QVERIFY(!out.events.empty());
        QCOMPARE(out.endIteration - out.firstIteration, 2);

        const std::string text = reportToJson(out.report);
        auto back = reportFromJson(text);
        QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
        QCOMPARE(reportToJson(*back), text);
        QCOMPARE(back->latenciesMs, out.report.latenciesMs);
        QCOMPARE(back->memory.byTag, out.report.memory.byTag);
        QCOMPARE(back->outputs[0].sha256, out.report.outputs[0].sha256);

        // A prepared session runs once.
        QCOMPARE(session.run().report.status, std::string("failed"));
    }

    // A stop set in any phase of set-up ends prepare() with Cancelled there: import, planning, packing, and the
    // resident reads (preload reads every layer at set-up).
    void aStopIsHonouredInEveryPhase_data()
    {
        QTest::addColumn<int>("phase");
        QTest::newRow("importing") << int(Progress::Phase::Importing);
        QTest::newRow("planning") << int(Progress::Phase::Planning);
        QTest::newRow("packing") << int(Progress::Phase::Packing);
        QTest::newRow("resident reads") << int(Progress::Phase::SettingUp);
    }
    void aStopIsHonouredInEveryPhase()
    {
        QFETCH(int, phase);
        static int fresh = 0; // a pack cache of its own, so that packing happens
        RunSpec s = spec(m_dir, "stop-" + std::to_string(++fresh));
        s.arch = Arch::Preload;
        std::atomic<bool> stop { false };
        bool seen = false;
        auto prepared = Session::prepare(s, &stop, [&](const Progress& p) {
            if (static_cast<int>(p.phase) == phase) {
                seen = true;
                stop = true;
            }
        });
        QVERIFY(seen);
        QVERIFY(!prepared.ok());
        QCOMPARE(prepared.error().code, ErrorCode::Cancelled);
    }

    // The model is named by identity too: a file that is not that model is refused, naming both hashes.
    void theModelsIdentityIsChecked()
    {
        RunSpec s = spec(m_dir, "packs");
        s.modelHash = std::string(64, 'a');
        auto prepared = Session::prepare(s);
        QVERIFY(!prepared.ok());
        QCOMPARE(prepared.error().code, ErrorCode::Invalid);
        QVERIFY2(prepared.error().message.find("aaaaaaaaaaaaaaaa") != std::string::npos
                && prepared.error().message.find("not the model asked for") != std::string::npos,
            prepared.error().message.c_str());
    }

    // The parser names a field of the wrong type and refuses a newer schema, naming both.
    void theReportParserSaysWhatIsWrong()
    {
        auto r = reportFromJson(R"({"schema": 1, "memory": {"peak_bytes": "lots"}})");
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("memory.peak_bytes") != std::string::npos, r.error().message.c_str());
        r = reportFromJson(R"({"schema": 7})");
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("schema 7") != std::string::npos, r.error().message.c_str());
        r = reportFromJson("[1, 2]");
        QVERIFY(!r.ok());
        // The studio's reports from before the schema read as they were.
        r = reportFromJson(R"({"arch": "async", "latency_ms": 12.5, "read_mb_per_s": 900.0, "reader": "pread"})");
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(r->schema, 0);
        QCOMPARE(r->latencyMedianMs, 12.5);
        QVERIFY(r->read && r->read->mbPerS == 900.0);
    }
};

QTEST_GUILESS_MAIN(TestRunSession)
#include "test_runsession.moc"
