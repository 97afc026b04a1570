// The local engine session on real models, a real pack cache and a real run store: batches, the recorded run,
// stopping a continuous run, and bad input (a model that is no model, a store from a future schema version, a budget
// below the minimum) reported as a failed run, never a crash.

#include "localsession.h"
#include "runrecorder.h"
#include "runstore.h"
#include "testmodels.h"
#include "workerthreads.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <string>

using namespace dl;
using namespace dl::ui;
using namespace dl::ui::test;

namespace {
constexpr int RunTimeoutMs = 240000;
}

class TestSession : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    RunRequest request(dl::Arch arch, int iterations) const
    {
        RunRequest r;
        r.modelPath = darknetModel("yolov3-tiny.cfg");
        r.arch = arch;
        r.warmup = 1;
        r.iterations = iterations;
        r.threads = 2;
        r.packDir = m_dir.filePath(QStringLiteral("packs"));
        return r;
    }

    static RunOutcomePtr waitFor(QSignalSpy& finished)
    {
        if (finished.isEmpty() && !finished.wait(RunTimeoutMs)) return nullptr;
        return finished.takeFirst().at(0).value<RunOutcomePtr>();
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // Where no thread can be had (here: the address space capped just above what the process has mapped, so that a
    // new thread's stack cannot be), a background job fails with the reason and still ends; nothing aborts.
    void aJobWithNoThreadToBeHadFailsAndEnds()
    {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
        QSKIP("a sanitizer reserves its shadow memory in the address space this case caps");
#endif
        long mappedKb = 0;
        {
            std::ifstream status("/proc/self/status");
            for (std::string line; std::getline(status, line);)
                if (line.rfind("VmSize:", 0) == 0) mappedKb = std::stol(line.substr(7));
        }
        QVERIFY(mappedKb > 0);
        rlimit before {};
        QVERIFY(getrlimit(RLIMIT_AS, &before) == 0);
        WorkerThreads workers(nullptr);
        QString failure;
        int ended = 0;
        bool ran = false;
        workers.onThreadEnded([&] { ++ended; });
        rlimit capped = before;
        capped.rlim_cur = static_cast<rlim_t>(mappedKb + 2048) * 1024; // 2 MiB more: no room for an 8 MiB stack
        QVERIFY(setrlimit(RLIMIT_AS, &capped) == 0);
        workers.start(
            QStringLiteral("no-room"), [&ran] { ran = true; }, [&](const QString& what) { failure = what; });
        QVERIFY(setrlimit(RLIMIT_AS, &before) == 0);
        QVERIFY(QTest::qWaitFor([&] { return ended == 1; }, 5000));
        QVERIFY(!ran);
        QVERIFY2(!failure.isEmpty(), "the job's failure was not told");
        QCOMPARE(workers.running(), 0);
        qInfo("the job failed with: %s", qPrintable(failure));
        // With the address space back, the next job runs.
        workers.start(QStringLiteral("room"), [&ran] { ran = true; });
        QVERIFY(QTest::qWaitFor([&] { return ended == 2; }, 5000));
        QVERIFY(ran);
    }

    void runIsBatchedAndRecorded()
    {
        LocalSession session;
        RunRecorder recorder;
        recorder.setStorePath(m_dir.filePath(QStringLiteral("runs.sqlite")));
        recorder.attach(&session);
        QSignalSpy started(&session, &EngineSession::runStarted);
        QSignalSpy finished(&session, &EngineSession::runFinished);
        QSignalSpy recorded(&recorder, &RunRecorder::recorded);
        std::vector<EventBatchPtr> batches;
        connect(&session, &EngineSession::eventsArrived, this, [&](const EventBatchPtr& b) { batches.push_back(b); });

        RunRequest r = request(Arch::Async, 3);
        const auto t0 = std::chrono::steady_clock::now();
        const quint64 id = session.start(r);
        QVERIFY(id > 0);
        QVERIFY(session.isRunning());
        QCOMPARE(session.start(r), quint64(0)); // one run at a time
        RunOutcomePtr out = waitFor(finished);
        const double elapsedMs
            = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        QVERIFY(out);
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QCOMPARE(out->id, id);
        QVERIFY(!session.isRunning());
        QCOMPARE(started.size(), 1);
        const RunInfoPtr info = started.at(0).at(0).value<RunInfoPtr>();
        QCOMPARE(info->id, id);
        QCOMPARE(info->layerNames.size(), size_t(14));
        QCOMPARE(out->latenciesMs.size(), size_t(3));
        QCOMPARE(out->layers.size(), size_t(14));

        // Batches: of this run, no faster than the flusher's interval (one more for the final flush), and together
        // every event, as the store has them.
        QVERIFY(!batches.empty());
        QVERIFY2(batches.size() <= static_cast<size_t>(elapsedMs / LocalSession::kBatchIntervalMs) + 2,
            qPrintable(QStringLiteral("%1 batches in %2 ms").arg(batches.size()).arg(elapsedMs)));
        size_t events = 0;
        int iterations = 0;
        for (const auto& b : batches) {
            QCOMPARE(b->id, id);
            events += b->events.size();
            iterations = std::max(iterations, b->iterationsDone);
            QCOMPARE(b->iterationsPlanned, 4);
        }
        QCOMPARE(iterations, 4);
        QCOMPARE(batches.back()->latencies.empty() && batches.size() == 1, false);

        // The recorder took the outcome after the session let it go; the run is stored as this device's.
        QCOMPARE(out->storedRunId, qint64(0));
        out = waitFor(recorded);
        QVERIFY(out);
        QVERIFY2(out->storedRunId > 0, qPrintable(out->storeError));
        auto store = store::RunStore::open(recorder.storePath().toStdString());
        QVERIFY(store.ok());
        auto run = (*store)->run(out->storedRunId);
        QVERIFY2(run.ok(), run.ok() ? "" : run.error().message.c_str());
        QCOMPARE(run->arch, std::string("async"));
        QCOMPARE(run->iterations, 3);
        QCOMPARE(run->layers.size(), size_t(14));
        QCOMPARE(run->events.size(), events);
        QVERIFY(run->peakByTag[static_cast<size_t>(MemTag::Staging)] > 0);
        QCOMPARE(run->latencyMedianMs, out->medianMs);
        QCOMPARE(run->device.host, dl::thisDevice().host);
        // The stored report is the engine's own document, the one dlayer run --json prints.
        auto report = dl::reportFromJson(run->reportJson);
        QVERIFY2(report.ok(), report.ok() ? "" : report.error().message.c_str());
        QCOMPARE(report->schema, dl::RunReport::kSchema);
        QCOMPARE(report->source, std::string("studio"));
        QCOMPARE(report->latenciesMs, out->latenciesMs);
        // Each layer's kernel ran in every timed iteration.
        for (const auto& l : run->layers)
            QVERIFY2(l.kernelMs > 0, l.name.c_str());
    }

    void stopEndsAContinuousRun()
    {
        LocalSession session;
        QSignalSpy finished(&session, &EngineSession::runFinished);
        int latencies = 0;
        connect(&session, &EngineSession::eventsArrived, this, [&](const EventBatchPtr& b) {
            latencies += static_cast<int>(b->latencies.size());
            QCOMPARE(b->iterationsPlanned, 0);
            if (latencies >= 4) session.stop();
        });
        RunRequest r = request(Arch::TwoStage, 1);
        r.continuous = true;
        QVERIFY(session.start(r) > 0);
        RunOutcomePtr out = waitFor(finished);
        QVERIFY(out);
        // A continuous run that had timed iterations ends Ok when stopped: those iterations are its result.
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QVERIFY(out->latenciesMs.size() >= 3);
        QCOMPARE(out->storedRunId, qint64(0)); // no store was named
        QTRY_COMPARE_WITH_TIMEOUT(session.runningThreads(), 0, 10000);
    }

    void stopDuringSetUpCancels()
    {
        LocalSession session;
        QSignalSpy finished(&session, &EngineSession::runFinished);
        RunRequest r = request(Arch::Sequential, 1000);
        r.modelPath = darknetModel("yolov4-tiny.cfg");
        QVERIFY(session.start(r) > 0);
        session.stop();
        RunOutcomePtr out = waitFor(finished);
        QVERIFY(out);
        QVERIFY(out->status == RunOutcome::Status::Cancelled);
    }

    // A finite run stopped part-way is kept as cancelled, with the iterations it finished.
    void aStoppedRunIsRecordedAsCancelled()
    {
        LocalSession session;
        RunRecorder recorder;
        recorder.setStorePath(m_dir.filePath(QStringLiteral("stopped.sqlite")));
        recorder.attach(&session);
        QSignalSpy finished(&recorder, &RunRecorder::recorded);
        int latencies = 0;
        connect(&session, &EngineSession::eventsArrived, this, [&](const EventBatchPtr& b) {
            latencies += static_cast<int>(b->latencies.size());
            if (latencies >= 4) session.stop();
        });
        RunRequest r = request(Arch::TwoStage, 1000);
        QVERIFY(session.start(r) > 0);
        RunOutcomePtr out = waitFor(finished);
        QVERIFY(out);
        QVERIFY(out->status == RunOutcome::Status::Cancelled);
        QVERIFY(out->latenciesMs.size() >= 3 && out->latenciesMs.size() < 1000);
        QVERIFY(out->storedRunId > 0);
        auto store = store::RunStore::open(recorder.storePath().toStdString());
        QVERIFY(store.ok());
        auto run = (*store)->run(out->storedRunId);
        QVERIFY(run.ok());
        QVERIFY(run->status == store::RunStatus::Cancelled);
        QCOMPARE(run->iterations, static_cast<int>(out->latenciesMs.size()));
    }

    void badInputFailsTheRun_data()
    {
        QTest::addColumn<QString>("what");
        QTest::newRow("not a model") << QStringLiteral("garbage");
        QTest::newRow("out of memory") << QStringLiteral("memory");
        QTest::newRow("budget below the minimum") << QStringLiteral("budget");
        QTest::newRow("resident layer out of range") << QStringLiteral("resident");
    }
    void badInputFailsTheRun()
    {
        QFETCH(QString, what);
        RunRequest r = request(Arch::TwoStage, 1);
        QString expected;
        if (what == QLatin1String("garbage")) {
            r.modelPath = m_dir.filePath(QStringLiteral("garbage.onnx"));
            QVERIFY(writeGarbage(r.modelPath));
            expected = QStringLiteral("garbage.onnx");
        } else if (what == QLatin1String("memory")) {
            r.memoryLimitBytes = 8 << 20; // yolov3-tiny's activations alone need more
            expected = QStringLiteral("out of memory");
        } else if (what == QLatin1String("budget")) {
            r.budgetBytes = 4096;
            expected = QStringLiteral("minimum");
        } else {
            r.resident = { 3, 99 };
            expected = QStringLiteral("99");
        }
        LocalSession session;
        QSignalSpy finished(&session, &EngineSession::runFinished);
        QVERIFY(session.start(r) > 0);
        RunOutcomePtr out = waitFor(finished);
        QVERIFY(out);
        QVERIFY(out->status == RunOutcome::Status::Failed);
        QVERIFY2(out->error.contains(expected), qPrintable(out->error));
        QVERIFY(!session.isRunning());
        // The session takes the next run as if nothing had happened.
        QVERIFY(session.start(request(Arch::TwoStage, 1)) > 0);
        out = waitFor(finished);
        QVERIFY(out && out->status == RunOutcome::Status::Ok);
    }

    // A store the run cannot go to (made by a newer build) loses the record, not the run: the outcome says why.
    void anUnwritableStoreIsReportedAfterTheRun()
    {
        const QString path = m_dir.filePath(QStringLiteral("future.sqlite"));
        {
            auto s = store::RunStore::open(path.toStdString());
            QVERIFY(s.ok());
        }
        sqlite3* db = nullptr;
        QCOMPARE(sqlite3_open(path.toUtf8().constData(), &db), SQLITE_OK);
        QCOMPARE(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(db);
        LocalSession session;
        RunRecorder recorder;
        recorder.setStorePath(path);
        recorder.attach(&session);
        QSignalSpy recorded(&recorder, &RunRecorder::recorded);
        QVERIFY(session.start(request(Arch::TwoStage, 1)) > 0);
        RunOutcomePtr out = waitFor(recorded);
        QVERIFY(out);
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QCOMPARE(out->storedRunId, qint64(0));
        QVERIFY2(out->storeError.contains(QStringLiteral("newer")), qPrintable(out->storeError));
    }
};

QTEST_GUILESS_MAIN(TestSession)
#include "test_session.moc"
