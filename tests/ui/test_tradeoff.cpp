// The trade-off from the main window under the offscreen platform, on a real model, a real run store and the real
// dlayer: profile, plan, drag the slider (the table's Resident column follows at once), export the configuration and
// run it with `dlayer run --config` (the resident set and weight peak it predicted), verify the choice from the
// studio, and a store from a future schema version told plainly.

#include "layertablemodel.h"
#include "mainwindow.h"
#include "runcontrols.h"
#include "testmodels.h"
#include "tradeoffview.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <set>

using namespace dl;
using namespace dl::ui;
using namespace dl::ui::test;

namespace {
constexpr int TimeoutMs = 240000;
}

class TestTradeoff : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    static PlanResultPtr nextPlan(QSignalSpy& planned)
    {
        if (planned.isEmpty() && !planned.wait(TimeoutMs)) return nullptr;
        return planned.takeFirst().at(0).value<PlanResultPtr>();
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        isolateStudio(m_dir.path());
    }

    void profilePlanSlideExportAndVerify()
    {
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.setStorePath(m_dir.filePath(QStringLiteral("runs.sqlite")));
        window.resize(1280, 800);
        window.show(); // buttons take clicks when shown
        QSignalSpy planned(window.planner(), &TradeoffPlanner::planned);
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(darknetModel("yolov3-tiny.cfg"));
        QVERIFY(loaded.wait(TimeoutMs));
        TradeoffView* view = window.tradeoffView();

        // Nothing recorded yet: no frontier, and a message saying what to do.
        PlanResultPtr plan = nextPlan(planned);
        QVERIFY(plan);
        QVERIFY(!plan->hasFrontier());
        QVERIFY2(plan->error.contains(QStringLiteral("profile")), qPrintable(plan->error));
        QVERIFY(!view->slider()->isEnabled());
        QVERIFY(!view->exportButton()->isEnabled());

        // Profile: a sequential run, recorded, then planned from.
        window.runControls()->setIterations(1, 2);
        QSignalSpy finished(&window, &MainWindow::runFinished);
        QTest::mouseClick(view->profileButton(), Qt::LeftButton);
        QVERIFY(finished.wait(TimeoutMs));
        RunOutcomePtr out = finished.takeFirst().at(0).value<RunOutcomePtr>();
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QVERIFY(out->storedRunId > 0);
        plan = nextPlan(planned);
        QVERIFY(plan);
        QVERIFY2(plan->hasFrontier(), qPrintable(plan->error));
        QCOMPARE(plan->profileRunId, out->storedRunId);
        QCOMPARE(plan->profileArch, QStringLiteral("sequential"));
        QVERIFY(plan->frontier.size() >= 50);
        QCOMPARE(view->runPointCount(), 1);
        QVERIFY(view->slider()->isEnabled());

        // Dragging: each step shows its prediction and resident set at once, with no event loop in between.
        LayerTableModel* table = window.layerModel();
        int chosen = -1;
        for (int i = 0; i <= view->slider()->maximum(); ++i) {
            const QString before = view->predictionLabel()->text();
            view->slider()->setValue(i);
            const plan::Choice* c = view->selectedChoice();
            QVERIFY(c);
            QCOMPARE(c, &plan->frontier[static_cast<size_t>(i)]);
            if (i > 0
                && plan->frontier[static_cast<size_t>(i)].budgetBytes
                    != plan->frontier[static_cast<size_t>(i - 1)].budgetBytes)
                QVERIFY(view->predictionLabel()->text() != before);
            std::set<int> shown;
            for (int l = 0; l < table->rowCount(); ++l)
                if (table->index(l, LayerTableModel::ResidentColumn).data().toString() == tr("yes")) shown.insert(l);
            QCOMPARE(shown, std::set<int>(c->config.resident.begin(), c->config.resident.end()));
            // The first budget that keeps some layers resident but not all of them.
            if (chosen < 0 && !c->config.resident.empty() && c->config.resident.size() < size_t(table->rowCount()))
                chosen = i;
        }
        QVERIFY(chosen >= 0);
        view->slider()->setValue(chosen);
        const plan::Choice choice = *view->selectedChoice();

        // Export, then run the file with dlayer: it keeps the predicted layers resident and holds the predicted
        // weight bytes, as its ledger counts them.
        const QString config = m_dir.filePath(QStringLiteral("choice.json"));
        QSignalSpy exported(&window, &MainWindow::configExported);
        QVERIFY(window.exportConfiguration(config));
        QVERIFY(exported.wait(TimeoutMs));
        QVERIFY2(exported.at(0).at(1).toBool(), qPrintable(exported.at(0).at(2).toString()));
        QProcess dlayer;
        dlayer.start(QStringLiteral(DL_DLAYER),
            { QStringLiteral("run"), darknetModel("yolov3-tiny.cfg"), QStringLiteral("--config"), config,
                QStringLiteral("--iterations"), QStringLiteral("1"), QStringLiteral("--warmup"), QStringLiteral("0"),
                QStringLiteral("--json") });
        QVERIFY(dlayer.waitForFinished(TimeoutMs));
        QVERIFY2(dlayer.exitCode() == 0, dlayer.readAllStandardError().constData());
        const QJsonObject report = QJsonDocument::fromJson(dlayer.readAllStandardOutput()).object();
        QJsonArray expected;
        for (int l : choice.config.resident)
            expected.append(l);
        QCOMPARE(report.value(QStringLiteral("resident_layers")).toArray(), expected);
        QCOMPARE(report.value(QStringLiteral("arch")).toString(), QStringLiteral("two-stage"));
        QCOMPARE(
            static_cast<uint64_t>(
                report.value(QStringLiteral("memory")).toObject().value(QStringLiteral("weights_bytes")).toDouble()),
            choice.prediction.weightsPeak);

        // Run this configuration from the studio: the measured point goes beside the prediction, with the same
        // weight peak, and the slider stays at the chosen budget after the plan is refreshed.
        QTest::mouseClick(view->runButton(), Qt::LeftButton);
        QVERIFY(finished.wait(TimeoutMs));
        out = finished.takeFirst().at(0).value<RunOutcomePtr>();
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QCOMPARE(
            out->peaks[static_cast<size_t>(MemTag::ResidentWeights)] + out->peaks[static_cast<size_t>(MemTag::Staging)],
            choice.prediction.weightsPeak);
        QCOMPARE(view->measuredCount(), 1);
        plan = nextPlan(planned);
        QVERIFY(plan && plan->hasFrontier());
        QCOMPARE(view->runPointCount(), 2);
        QCOMPARE(view->measuredCount(), 1);
        QCOMPARE(view->selectedChoice()->budgetBytes, choice.budgetBytes);
    }

    void futureStoreIsToldPlainly()
    {
        const QString path = m_dir.filePath(QStringLiteral("future.sqlite"));
        sqlite3* db = nullptr;
        QCOMPARE(sqlite3_open(path.toUtf8().constData(), &db), SQLITE_OK);
        QCOMPARE(sqlite3_exec(db, "PRAGMA application_id = 1145852499; PRAGMA user_version = 99; CREATE TABLE t(x);",
                     nullptr, nullptr, nullptr),
            SQLITE_OK);
        sqlite3_close(db);

        MainWindow window;
        window.setErrorDialogsEnabled(false);
        QSignalSpy planned(window.planner(), &TradeoffPlanner::planned);
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.setStorePath(path);
        window.openFile(darknetModel("yolov3-tiny.cfg"));
        QVERIFY(loaded.wait(TimeoutMs));
        PlanResultPtr plan;
        while (!plan || plan->request.modelPath.isEmpty())
            plan = nextPlan(planned);
        QVERIFY(plan);
        QVERIFY(!plan->hasFrontier());
        QVERIFY2(plan->error.contains(QStringLiteral("newer")), qPrintable(plan->error));
    }
};

QTEST_MAIN(TestTradeoff)
#include "test_tradeoff.moc"
