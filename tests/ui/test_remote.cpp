// The studio on a board: a real `dlayer serve` on 127.0.0.1 (its own state directory, a random port), the studio's
// main window (offscreen) connected to it with the pairing line. The fingerprint is confirmed once and pinned, the
// token kept out of QSettings, runs go to the board and come back live and recorded with the board's identity, the
// board's runs sync by uuid, the trade-off plans the board's profile and deploys its choice to the board (where
// `dlayer run --config NAME` runs it), a changed certificate is refused, and a board killed mid-run is reported
// within about 2 s.

#include "boardkeyring.h"
#include "boards.h"
#include "mainwindow.h"
#include "remotesession.h"
#include "runcontrols.h"
#include "runstore.h"
#include "testmodels.h"
#include "tradeoffplanner.h"
#include "tradeoffview.h"

#include "remote/credentials.h"

#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <sys/stat.h>

using namespace dl;
using namespace dl::ui;
using namespace dl::ui::test;

namespace {

constexpr int TimeoutMs = 240000;

// One `dlayer serve`.
class Agent
{
public:
    ~Agent() { stop(); }
    bool start(const QString& state)
    {
        m_state = state;
        m_p.setStandardErrorFile(state + QStringLiteral(".log"), QIODevice::Append);
        m_p.start(QStringLiteral(DL_DLAYER),
            { QStringLiteral("serve"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                QStringLiteral("--state"), state });
        if (!m_p.waitForStarted(10000)) return false;
        QByteArray out;
        QElapsedTimer t;
        t.start();
        while (!out.contains("listening on") && t.elapsed() < 30000 && m_p.state() == QProcess::Running) {
            m_p.waitForReadyRead(200);
            out += m_p.readAllStandardOutput();
        }
        for (const QByteArray& line : out.split('\n'))
            if (line.startsWith("pair with: ")) m_pairing = QString::fromUtf8(line.mid(11));
        return !m_pairing.isEmpty();
    }
    void stop()
    {
        if (m_p.state() == QProcess::NotRunning) return;
        m_p.terminate();
        if (!m_p.waitForFinished(10000)) m_p.kill();
        m_p.waitForFinished(5000);
    }
    void kill()
    {
        ::kill(static_cast<pid_t>(m_p.processId()), SIGKILL);
        m_p.waitForFinished(5000);
    }
    QString pairing() const { return m_pairing; }
    QString address() const { return m_pairing.section(QLatin1Char(' '), 1, 1); }
    QString token() const { return m_pairing.section(QStringLiteral("token="), 1); }
    QString state() const { return m_state; }

private:
    QProcess m_p;
    QString m_state, m_pairing;
};

RunOutcomePtr nextOutcome(QSignalSpy& finished)
{
    if (finished.isEmpty() && !finished.wait(TimeoutMs)) return nullptr;
    return finished.takeFirst().at(0).value<RunOutcomePtr>();
}

PlanResultPtr nextPlan(QSignalSpy& planned)
{
    if (planned.isEmpty() && !planned.wait(TimeoutMs)) return nullptr;
    return planned.takeLast().at(0).value<PlanResultPtr>();
}

} // namespace

class TestRemote : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir { QStringLiteral(DL_TEST_TMP "/remote-XXXXXX") };
    Agent m_agent;
    QStringList m_confirmed; // fingerprints the user was asked to trust

    void prepare(MainWindow& window)
    {
        window.setErrorDialogsEnabled(false);
        window.setStorePath(m_dir.filePath(QStringLiteral("studio.sqlite")));
        window.boards()->setConfirmFingerprint([this](const QString&, const QString& fp) {
            m_confirmed << fp;
            return true;
        });
        window.boards()->keyring()->setFallbackPath(m_dir.filePath(QStringLiteral("boards.tokens")));
    }

    bool connectWith(MainWindow& window, const BoardInput& input)
    {
        QSignalSpy connected(&window, &MainWindow::boardConnected);
        QSignalSpy failed(&window, &MainWindow::boardFailed);
        window.connectToBoard(input);
        QElapsedTimer t;
        t.start();
        while (connected.isEmpty() && failed.isEmpty() && t.elapsed() < 30000)
            QTest::qWait(50);
        if (!failed.isEmpty()) qWarning("%s", qPrintable(failed.first().first().toString()));
        return !connected.isEmpty();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        isolateStudio(m_dir.path());
        QVERIFY(m_agent.start(m_dir.filePath(QStringLiteral("board"))));
    }

    void pairsPinsAndKeepsTheTokenOutOfSettings()
    {
        MainWindow window;
        prepare(window);
        QSignalSpy synced(&window, &MainWindow::runsSynced);
        QVERIFY(connectWith(window, parseBoardInput(QString(), m_agent.pairing(), window.boards()->known())));
        QCOMPARE(m_confirmed.size(), 1); // first use: the user compared the fingerprint
        QVERIFY(m_agent.pairing().contains(m_confirmed.first()));
        QVERIFY(window.remoteSession());
        QVERIFY2(
            window.whereLabel()->text().startsWith(QStringLiteral("Board ")), qPrintable(window.whereLabel()->text()));
        QVERIFY(window.whereLabel()->text().contains(window.remoteSession()->board().backend));
        QVERIFY(synced.wait(30000) || !synced.isEmpty());
        // Remembered: the address and the fingerprint in QSettings, the token nowhere there.
        const QList<KnownBoard> known = window.boards()->known();
        QCOMPARE(known.size(), 1);
        QCOMPARE(known.first().hostPort, m_agent.address());
        QCOMPARE(known.first().fingerprint, m_confirmed.first());
        QSettings settings(QStringLiteral("DemandLayering"), QStringLiteral("Studio"));
        settings.sync();
        for (const QString& key : settings.allKeys())
            QVERIFY2(!settings.value(key).toString().contains(m_agent.token()), qPrintable(key));
        QFile raw(settings.fileName());
        QVERIFY(raw.open(QIODevice::ReadOnly));
        QVERIFY(!raw.readAll().contains(m_agent.token().toUtf8()));
        // No keychain in a test session: the token went to the fallback file, 0600, with a warning said.
        QElapsedTimer t;
        t.start();
        while (!QFile::exists(window.boards()->keyring()->fallbackPath()) && t.elapsed() < 30000)
            QTest::qWait(50);
        QFile tokens(window.boards()->keyring()->fallbackPath());
        QVERIFY(tokens.open(QIODevice::ReadOnly));
        QVERIFY(tokens.readAll().contains(m_agent.token().toUtf8()));
        struct stat st
        {
        };
        QCOMPARE(::stat(QFile::encodeName(tokens.fileName()).constData(), &st), 0);
        QCOMPARE(st.st_mode & 0777, 0600u);

        // Connecting again needs nothing typed: the pinned fingerprint and the kept token; no second question.
        window.disconnectBoard();
        QVERIFY(!window.remoteSession());
        QVERIFY(window.whereLabel()->text().startsWith(QStringLiteral("Local engine")));
        const BoardInput again = parseBoardInput(m_agent.address(), QString(), window.boards()->known());
        QVERIFY(again.needsStoredToken);
        QVERIFY(connectWith(window, again));
        QCOMPARE(m_confirmed.size(), 1);
    }

    void runsOnTheBoardLiveAndRecorded()
    {
        // A run made on the board by the command line first: the studio fetches it when it connects.
        QProcess cli;
        const QString pairFile = m_dir.filePath(QStringLiteral("pairing"));
        QFile f(pairFile);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(m_agent.pairing().toUtf8());
        f.close();
        cli.start(QStringLiteral(DL_DLAYER),
            { QStringLiteral("run"), darknetModel("yolov3-tiny.cfg"), QStringLiteral("--agent"), m_agent.address(),
                QStringLiteral("--token-file"), pairFile, QStringLiteral("--arch"), QStringLiteral("async"),
                QStringLiteral("--iterations"), QStringLiteral("2"), QStringLiteral("--json") });
        QVERIFY(cli.waitForFinished(TimeoutMs));
        QCOMPARE(cli.exitCode(), 0);
        const QString cliUuid = QJsonDocument::fromJson(cli.readAllStandardOutput())
                                    .object()
                                    .value(QStringLiteral("recorded"))
                                    .toObject()
                                    .value(QStringLiteral("uuid"))
                                    .toString();
        QVERIFY(store::isRunUuid(cliUuid.toStdString()));

        MainWindow window;
        prepare(window);
        QSignalSpy synced(&window, &MainWindow::runsSynced);
        QVERIFY(connectWith(window, parseBoardInput(m_agent.address(), QString(), window.boards()->known())));
        QVERIFY(synced.wait(60000) || !synced.isEmpty());
        QVERIFY(synced.first().at(0).toInt() >= 1);
        {
            auto store = store::RunStore::open(window.storePath().toStdString());
            QVERIFY(store.ok());
            QVERIFY((*store)->runIdByUuid(cliUuid.toStdString()).value() > 0);
        }

        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(darknetModel("yolov3-tiny.cfg"));
        QVERIFY(loaded.wait(TimeoutMs));
        window.runControls()->setArch(Arch::TwoStage);
        window.runControls()->setIterations(1, 3);
        int batches = 0;
        connect(window.session(), &EngineSession::eventsArrived, this,
            [&](const EventBatchPtr& b) { batches += !b->events.empty(); });
        QSignalSpy finished(&window, &MainWindow::runFinished);
        QVERIFY(window.startRun() > 0);
        RunOutcomePtr out = nextOutcome(finished);
        QVERIFY(out);
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QVERIFY(batches >= 1);
        QVERIFY(out->info);
        QCOMPARE(out->info->layerNames.size(), size_t(14));
        QCOMPARE(out->layers.size(), size_t(14)); // the table's per-layer columns
        QVERIFY(out->peakTotal > 0 && out->rssPeak > 0); // the memory graph's ledger and the board's RSS
        QVERIFY(out->storedRunId > 0);
        QVERIFY(out->boardRun);
        // Recorded in the studio's store as the board recorded it: its uuid, its report's source.
        auto store = store::RunStore::open(window.storePath().toStdString());
        QVERIFY(store.ok());
        auto run = (*store)->run(out->storedRunId);
        QVERIFY(run.ok());
        QCOMPARE(run->uuid, out->boardRun->uuid);
        QCOMPARE(QJsonDocument::fromJson(QByteArray::fromStdString(run->reportJson))
                     .object()
                     .value(QStringLiteral("source"))
                     .toString(),
            QStringLiteral("agent"));
        QCOMPARE(QString::fromStdString(run->device.host), window.remoteSession()->board().host);
    }

    void profilePlanAndDeployToTheBoard()
    {
        MainWindow window;
        prepare(window);
        window.resize(1280, 800);
        window.show(); // buttons take clicks when shown
        QVERIFY(connectWith(window, parseBoardInput(m_agent.address(), QString(), window.boards()->known())));
        QSignalSpy planned(window.planner(), &TradeoffPlanner::planned);
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(darknetModel("yolov3-tiny.cfg"));
        QVERIFY(loaded.wait(TimeoutMs));
        QVERIFY(nextPlan(planned)); // the first plan, of the board's runs so far
        // Profile on the board: a sequential run there, recorded here, planned from.
        window.runControls()->setIterations(1, 2);
        QVERIFY(window.tradeoffView()->profileButton()->isEnabled());
        QSignalSpy finished(&window, &MainWindow::runFinished);
        QTest::mouseClick(window.tradeoffView()->profileButton(), Qt::LeftButton);
        RunOutcomePtr out = nextOutcome(finished);
        QVERIFY(out);
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        PlanResultPtr plan;
        QElapsedTimer t;
        t.start();
        while ((!plan || !plan->hasFrontier()) && t.elapsed() < TimeoutMs)
            plan = nextPlan(planned);
        QVERIFY(plan && plan->hasFrontier());
        QCOMPARE(plan->request.deviceHost, window.remoteSession()->board().host); // the board's runs
        window.tradeoffView()->slider()->setValue(window.tradeoffView()->slider()->maximum() / 3);
        QVERIFY(window.tradeoffView()->selectedChoice());

        // Run This Configuration: on the board, its measurement beside the prediction.
        QTest::mouseClick(window.tradeoffView()->runButton(), Qt::LeftButton);
        out = nextOutcome(finished);
        QVERIFY(out);
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QVERIFY(out->boardRun);
        QCOMPARE(window.tradeoffView()->measuredCount(), 1);
        // Export Configuration writes the choice here, as for a local plan.
        QSignalSpy exported(&window, &MainWindow::configExported);
        QVERIFY(window.exportConfiguration(m_dir.filePath(QStringLiteral("board-choice.json"))));
        QVERIFY(exported.wait(30000));
        QVERIFY(exported.first().at(1).toBool());

        QSignalSpy deployed(&window, &MainWindow::configDeployed);
        QVERIFY(window.deployConfiguration(QStringLiteral("tiny-third")));
        QVERIFY(deployed.wait(30000));
        QVERIFY2(deployed.first().at(1).toString().isEmpty(), qPrintable(deployed.first().at(1).toString()));
        // On the board, dlayer runs it by name.
        QProcess onBoard;
        onBoard.start(QStringLiteral(DL_DLAYER),
            { QStringLiteral("run"), darknetModel("yolov3-tiny.cfg"), QStringLiteral("--config"),
                QStringLiteral("tiny-third"), QStringLiteral("--state"), m_agent.state(),
                QStringLiteral("--iterations"), QStringLiteral("1"), QStringLiteral("--json"),
                QStringLiteral("--pack-dir"), m_dir.filePath(QStringLiteral("board-cli-packs")) });
        QVERIFY(onBoard.waitForFinished(TimeoutMs));
        QVERIFY2(onBoard.exitCode() == 0, onBoard.readAllStandardError().constData());
        const QJsonObject report = QJsonDocument::fromJson(onBoard.readAllStandardOutput()).object();
        QCOMPARE(report.value(QStringLiteral("arch")).toString(), QStringLiteral("two-stage"));
        QCOMPARE(report.value(QStringLiteral("config")).toObject().value(QStringLiteral("file")).toString(),
            QStringLiteral("tiny-third"));
    }

    void aChangedCertificateIsRefused()
    {
        MainWindow window;
        prepare(window);
        Agent other;
        QVERIFY(other.start(m_dir.filePath(QStringLiteral("other-board"))));
        // The other agent's address, with the fingerprint of the first: as if the board's agent had been replaced.
        BoardInput input;
        input.address = { other.address(), m_confirmed.first(), other.token() };
        QSignalSpy failed(&window, &MainWindow::boardFailed);
        window.connectToBoard(input);
        QVERIFY(failed.wait(30000));
        const QString message = failed.first().first().toString();
        QVERIFY2(message.contains(QStringLiteral("not the one paired with")), qPrintable(message));
        QVERIFY(!window.remoteSession());
        // A pairing line that disagrees with the pinned fingerprint is refused before connecting.
        const QString line = m_agent.pairing().section(QStringLiteral(" sha256="), 0, 0) + QStringLiteral(" sha256=")
            + other.pairing().section(QStringLiteral("sha256="), 1).section(QLatin1Char(' '), 0, 0)
            + QStringLiteral(" token=") + m_agent.token();
        const BoardInput changed = parseBoardInput(QString(), line, window.boards()->known());
        QVERIFY2(changed.error.contains(QStringLiteral("pinned")), qPrintable(changed.error));
    }

    void aKilledBoardIsReportedWithinTwoSeconds()
    {
        MainWindow window;
        prepare(window);
        QVERIFY(connectWith(window, parseBoardInput(m_agent.address(), QString(), window.boards()->known())));
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(darknetModel("yolov3-tiny.cfg"));
        QVERIFY(loaded.wait(TimeoutMs));
        window.runControls()->setArch(Arch::TwoStage);
        window.runControls()->setIterations(0, 1000);
        QElapsedTimer sinceKill;
        bool killed = false;
        connect(window.session(), &EngineSession::eventsArrived, this, [&](const EventBatchPtr& b) {
            if (!killed && b->iterationsDone >= 2) {
                killed = true;
                m_agent.kill();
                sinceKill.start();
            }
        });
        QSignalSpy finished(&window, &MainWindow::runFinished);
        QSignalSpy lost(&window, &MainWindow::boardLinkLost);
        QVERIFY(window.startRun() > 0);
        RunOutcomePtr out = nextOutcome(finished);
        QVERIFY(killed);
        QVERIFY(out);
        const qint64 seen = sinceKill.elapsed();
        QCOMPARE(out->status, RunOutcome::Status::Failed);
        QVERIFY2(out->error.contains(QStringLiteral("link to the board was lost")), qPrintable(out->error));
        qInfo("the studio reported the killed board after %lld ms: %s", static_cast<long long>(seen),
            qPrintable(out->error));
        QVERIFY2(seen < 3500, qPrintable(QString::number(seen)));
        QVERIFY(lost.wait(5000) || !lost.isEmpty());
        QVERIFY2(
            window.whereLabel()->text().contains(QStringLiteral("link lost")), qPrintable(window.whereLabel()->text()));
        // The board's store, killed mid-run, is whole.
        auto store = store::RunStore::open((m_agent.state() + QStringLiteral("/runs.db")).toStdString());
        QVERIFY(store.ok());
        QCOMPARE((*store)->integrityCheck().value(), std::string("ok"));
    }
};

QTEST_MAIN(TestRemote)
#include "test_remote.moc"
