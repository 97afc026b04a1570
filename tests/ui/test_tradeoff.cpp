// The trade-off from the main window under the offscreen platform, on a real model, a real run store and the real
// dlayer: profile, plan, drag the slider (the table's Resident column follows at once), export the configuration and
// run it with `dlayer run --config` (the resident set and weight peak it predicted), verify the choice from the
// studio, and a store from a future schema version told plainly.

#include "core/procstat.h"
#include "core/random.h"
#include "layertablemodel.h"
#include "mainwindow.h"
#include "model/importer.h"
#include "pack/layerpack.h"
#include "pack/packcache.h"
#include "pipeline/pipeline.h"
#include "plan/budget.h"
#include "plan/config.h"
#include "plan/profiles.h"
#include "runbuild.h"
#include "runcontrols.h"
#include "runstore.h"
#include "runtime/executor.h"
#include "runtime/versions.h"
#include "testmodels.h"
#include "tradeoffview.h"

#include <QFile>
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

#include <algorithm>
#include <map>
#include <set>

using namespace dl;
using namespace dl::ui;
using namespace dl::ui::test;

namespace {
constexpr int TimeoutMs = 240000;
constexpr size_t MiB = size_t(1) << 20;
} // namespace

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

    // Exports the window's chosen configuration to `config` and runs it with `dlayer run --config`: its report, or
    // an empty object after a failed check.
    static QJsonObject exportAndRun(MainWindow& window, const QString& config)
    {
        QSignalSpy exported(&window, &MainWindow::configExported);
        if (!window.exportConfiguration(config) || !exported.wait(TimeoutMs)) return {};
        if (!exported.at(0).at(1).toBool()) {
            qWarning() << exported.at(0).at(2).toString();
            return {};
        }
        QProcess dlayer;
        dlayer.start(QStringLiteral(DL_DLAYER),
            { QStringLiteral("run"), darknetModel("yolov3-tiny.cfg"), QStringLiteral("--config"), config,
                QStringLiteral("--iterations"), QStringLiteral("1"), QStringLiteral("--warmup"), QStringLiteral("0"),
                QStringLiteral("--json") });
        if (!dlayer.waitForFinished(TimeoutMs)) return {};
        if (dlayer.exitCode() != 0) {
            qWarning() << dlayer.readAllStandardError();
            return {};
        }
        return QJsonDocument::fromJson(dlayer.readAllStandardOutput()).object();
    }

    // The weight peak as a dlayer report and as the studio's ledger give it.
    static uint64_t weightsBytes(const QJsonObject& report)
    {
        return static_cast<uint64_t>(
            report.value(QStringLiteral("memory")).toObject().value(QStringLiteral("weights_bytes")).toDouble());
    }
    static uint64_t weightsBytes(const RunOutcome& out)
    {
        return static_cast<uint64_t>(
            out.peaks[static_cast<size_t>(MemTag::ResidentWeights)] + out.peaks[static_cast<size_t>(MemTag::Staging)]);
    }

    static QJsonArray residentOf(const plan::Choice& choice)
    {
        QJsonArray layers;
        for (int l : choice.config.resident)
            layers.append(l);
        return layers;
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
        QVERIFY(plan->frontierProfile());
        QCOMPARE(plan->frontierProfile()->runId, out->storedRunId);
        QCOMPARE(plan->frontierProfile()->arch, QStringLiteral("sequential"));
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
        const QJsonObject report = exportAndRun(window, m_dir.filePath(QStringLiteral("choice.json")));
        QVERIFY(!report.isEmpty());
        QCOMPARE(report.value(QStringLiteral("resident_layers")).toArray(), residentOf(choice));
        QCOMPARE(report.value(QStringLiteral("arch")).toString(), QStringLiteral("two-stage"));
        QCOMPARE(weightsBytes(report), choice.prediction.weightsPeak);

        // Run this configuration from the studio: the measured point goes beside the prediction, with the same
        // weight peak, and the slider stays at the chosen budget after the plan is refreshed.
        QTest::mouseClick(view->runButton(), Qt::LeftButton);
        QVERIFY(finished.wait(TimeoutMs));
        out = finished.takeFirst().at(0).value<RunOutcomePtr>();
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QCOMPARE(weightsBytes(*out), choice.prediction.weightsPeak);
        QCOMPARE(view->measuredCount(), 1);
        plan = nextPlan(planned);
        QVERIFY(plan && plan->hasFrontier());
        QCOMPARE(view->runPointCount(), 2);
        QCOMPARE(view->measuredCount(), 1);
        QCOMPARE(view->selectedChoice()->budgetBytes, choice.budgetBytes);
    }

    // fp16 packs: the trade-off plans for them from a profile of an fp16 pack, draws the fp32 frontier beside, and a
    // point exported runs with an fp16 pack holding the weight bytes it predicted, byte for byte.
    void fp16FrontierBesideFp32()
    {
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.setStorePath(m_dir.filePath(QStringLiteral("fp16.sqlite")));
        window.resize(1280, 800);
        window.show();
        QSignalSpy planned(window.planner(), &TradeoffPlanner::planned);
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(darknetModel("yolov3-tiny.cfg"));
        QVERIFY(loaded.wait(TimeoutMs));
        TradeoffView* view = window.tradeoffView();
        QVERIFY(nextPlan(planned));
        window.runControls()->setIterations(1, 2);
        QSignalSpy finished(&window, &MainWindow::runFinished);

        // An fp32 profile: its frontier, nothing beside it yet.
        QCOMPARE(view->precision(), Precision::F32);
        QTest::mouseClick(view->profileButton(), Qt::LeftButton);
        QVERIFY(finished.wait(TimeoutMs));
        QVERIFY(finished.takeFirst().at(0).value<RunOutcomePtr>()->status == RunOutcome::Status::Ok);
        PlanResultPtr plan = nextPlan(planned);
        QVERIFY(plan && plan->hasFrontier());
        QVERIFY(plan->otherFrontier.empty());
        QVERIFY2(plan->otherError.contains(QStringLiteral("fp16")), qPrintable(plan->otherError));
        QCOMPARE(view->otherFrontierPointCount(), 0);
        const size_t fp32Points = plan->frontier.size();

        // Planning for fp16 packs: no profile of them yet, the fp32 frontier drawn beside.
        view->setPrecision(Precision::F16);
        plan = nextPlan(planned);
        QVERIFY(plan);
        QCOMPARE(plan->request.precision, Precision::F16);
        QVERIFY(!plan->hasFrontier());
        QVERIFY2(plan->error.contains(QStringLiteral("fp16")), qPrintable(plan->error));
        QCOMPARE(plan->otherFrontier.size(), fp32Points);

        // Profile with fp16 chosen: a sequential run of an fp16 pack; then both frontiers.
        QTest::mouseClick(view->profileButton(), Qt::LeftButton);
        QVERIFY(finished.wait(TimeoutMs));
        const RunOutcomePtr profile = finished.takeFirst().at(0).value<RunOutcomePtr>();
        QVERIFY2(profile->status == RunOutcome::Status::Ok, qPrintable(profile->error));
        QCOMPARE(profile->info->precision, Precision::F16);
        plan = nextPlan(planned);
        QVERIFY(plan);
        QVERIFY2(plan->hasFrontier(), qPrintable(plan->error));
        QCOMPARE(plan->frontierProfile()->runId, profile->storedRunId);
        QVERIFY(plan->frontierProfile()->model.widens());
        QVERIFY(!plan->otherFrontier.empty());
        QVERIFY(view->otherFrontierPointCount() > 0);
        // The frontiers end at the whole model, which costs the same either way (an fp16 pack's layers are held
        // widened); they start apart: fp16 two-stage needs a widened layer beside its ring.
        QCOMPARE(plan->frontier.back().budgetBytes, plan->otherFrontier.back().budgetBytes);
        QVERIFY(plan->frontier.front().budgetBytes > plan->otherFrontier.front().budgetBytes);

        // A point keeping some layers resident, exported and run by dlayer: an fp16 pack, the predicted weights.
        int chosen = -1;
        for (int i = 0; i <= view->slider()->maximum() && chosen < 0; ++i) {
            view->slider()->setValue(i);
            const plan::Choice* c = view->selectedChoice();
            if (!c->config.resident.empty() && c->config.resident.size() < size_t(window.layerModel()->rowCount()))
                chosen = i;
        }
        QVERIFY(chosen >= 0);
        const plan::Choice choice = *view->selectedChoice();
        const QString config = m_dir.filePath(QStringLiteral("fp16-choice.json"));
        const QJsonObject report = exportAndRun(window, config);
        QVERIFY(!report.isEmpty());
        QFile file(config);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QCOMPARE(QJsonDocument::fromJson(file.readAll()).object().value(QStringLiteral("precision")).toString(),
            QStringLiteral("fp16"));
        QCOMPARE(report.value(QStringLiteral("precision")).toObject().value(QStringLiteral("weights")).toString(),
            QStringLiteral("fp16"));
        QCOMPARE(report.value(QStringLiteral("resident_layers")).toArray(), residentOf(choice));
        QCOMPARE(weightsBytes(report), choice.prediction.weightsPeak);
        view->setPrecision(Precision::F32);
        QVERIFY(nextPlan(planned));
    }

    // Budgets below the model's largest layer: a budget run cuts the layers itself, and a profile of a split joins
    // the whole-layer one, so that the frontier reaches below the largest layer; a point of the split profile runs
    // from the studio and from an exported file with the pieces its resident set names.
    void splitReachesBelowTheLargestLayer()
    {
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.setStorePath(m_dir.filePath(QStringLiteral("split.sqlite")));
        window.resize(1280, 800);
        window.show();
        QSignalSpy planned(window.planner(), &TradeoffPlanner::planned);
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        QSignalSpy finished(&window, &MainWindow::runFinished);
        window.openFile(darknetModel("yolov3-tiny.cfg")); // its largest layer: 18 MiB of 34 MiB
        QVERIFY(loaded.wait(TimeoutMs));
        TradeoffView* view = window.tradeoffView();
        LayerTableModel* table = window.layerModel();
        QVERIFY(nextPlan(planned));
        size_t largest = 0;
        for (const auto& l : table->summary()->layers)
            largest = std::max(largest, l.weightBytes);
        QVERIFY(largest > 16 * MiB);

        // A two-stage run under 8 MiB: refused with whole layers, so the budget cuts them.
        RunControls* controls = window.runControls();
        controls->setIterations(1, 2);
        controls->setArch(Arch::TwoStage);
        controls->setBudgetMiB(8);
        QTest::mouseClick(controls->runButton(), Qt::LeftButton);
        QVERIFY(finished.wait(TimeoutMs));
        RunOutcomePtr out = finished.takeFirst().at(0).value<RunOutcomePtr>();
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QVERIFY(out->info->splitBytes > 0);
        QCOMPARE(out->info->splitBytes, static_cast<qint64>(splitForBudget(Arch::TwoStage, 8 * MiB)));
        QVERIFY(out->info->layerNames.size() > static_cast<size_t>(table->rowCount()));
        const int64_t weights = out->peaks[static_cast<size_t>(MemTag::ResidentWeights)]
            + out->peaks[static_cast<size_t>(MemTag::Staging)];
        QVERIFY(weights <= 8 * static_cast<int64_t>(MiB));
        // The table shows the pieces' times on their layers' rows: every row, each the sum of its pieces'.
        QCOMPARE(table->runStats().size(), static_cast<size_t>(table->rowCount()));
        std::vector<double> kernels(static_cast<size_t>(table->rowCount()), 0);
        const std::vector<int> rows = table->rowsOf(out->info->layerNames);
        for (size_t i = 0; i < out->layers.size(); ++i) {
            QVERIFY(rows[i] >= 0);
            kernels[static_cast<size_t>(rows[i])] += out->layers[i].kernelMs;
        }
        for (int r = 0; r < table->rowCount(); ++r)
            QCOMPARE(table->runStats()[static_cast<size_t>(r)].kernelMs, kernels[static_cast<size_t>(r)]);
        QVERIFY(nextPlan(planned));

        // Profiles of whole layers and of layers cut above 2 MiB.
        controls->setBudgetMiB(0);
        QTest::mouseClick(view->profileButton(), Qt::LeftButton);
        QVERIFY(finished.wait(TimeoutMs));
        QVERIFY(finished.takeFirst().at(0).value<RunOutcomePtr>()->status == RunOutcome::Status::Ok);
        QVERIFY(nextPlan(planned));
        controls->setSplitMiB(2);
        QTest::mouseClick(view->profileButton(), Qt::LeftButton);
        QVERIFY(finished.wait(TimeoutMs));
        out = finished.takeFirst().at(0).value<RunOutcomePtr>();
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QCOMPARE(out->info->splitBytes, static_cast<qint64>(2 * MiB));
        PlanResultPtr plan = nextPlan(planned);
        QVERIFY(plan);
        QVERIFY2(plan->hasFrontier(), qPrintable(plan->error));
        QCOMPARE(plan->profiles.size(), size_t(2));
        QCOMPARE(plan->frontierProfile()->splitBytes, uint64_t(2 * MiB));
        QCOMPARE(plan->pointProfile.size(), plan->frontier.size());
        const PlanProfile* whole = nullptr;
        for (const PlanProfile& p : plan->profiles)
            if (p.splitBytes == 0) whole = &p;
        QVERIFY(whole);
        QCOMPARE(static_cast<int>(whole->model.layers.size()), table->rowCount());
        QVERIFY(plan->frontier.front().budgetBytes < largest);
        QVERIFY(plan->frontier.front().budgetBytes < plan::minimumBudget(whole->model, Arch::TwoStage));
        QCOMPARE(plan->profileOf(size_t(0)).splitBytes, uint64_t(2 * MiB));

        // The smallest budget that keeps some pieces resident: the table marks the rows all of whose pieces are.
        // Whether any point of the split keeps pieces resident depends on the profiles' times (where a larger ring
        // predicts as fast, the ring wins); without one, the split's largest budget, whose rows none are resident.
        int chosen = -1, lastSplit = -1;
        for (int i = 0; i <= view->slider()->maximum(); ++i) {
            if (!plan->profileOf(static_cast<size_t>(i)).splitBytes) continue;
            lastSplit = i;
            if (chosen < 0 && !plan->frontier[static_cast<size_t>(i)].config.resident.empty()) chosen = i;
        }
        QVERIFY(lastSplit >= 0);
        if (chosen < 0) {
            qInfo("no point of the split keeps pieces resident in these profiles: its largest budget instead");
            chosen = lastSplit;
        }
        view->slider()->setValue(chosen);
        const plan::Choice choice = *view->selectedChoice();
        const plan::CostModel& pieces = plan->profileOf(static_cast<size_t>(chosen)).model;
        std::vector<std::string> names;
        for (const auto& l : pieces.layers)
            names.push_back(l.name);
        const std::vector<int> pieceRows = table->rowsOf(names);
        std::map<int, std::pair<int, int>> count; // row -> (pieces, resident pieces)
        for (size_t i = 0; i < names.size(); ++i) {
            QVERIFY2(pieceRows[i] >= 0, names[i].c_str());
            ++count[pieceRows[i]].first;
        }
        for (int l : choice.config.resident)
            ++count[pieceRows[static_cast<size_t>(l)]].second;
        for (int r = 0; r < table->rowCount(); ++r)
            QCOMPARE(table->index(r, LayerTableModel::ResidentColumn).data().toString() == tr("yes"),
                count[r].second == count[r].first);

        // Export: the file names the split and its layers; dlayer runs it with that resident set and weight peak.
        const QString config = m_dir.filePath(QStringLiteral("split-choice.json"));
        const QJsonObject report = exportAndRun(window, config);
        QVERIFY(!report.isEmpty());
        QFile file(config);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QJsonObject cfg = QJsonDocument::fromJson(file.readAll()).object();
        QCOMPARE(cfg.value(QStringLiteral("split_bytes")).toInteger(), qint64(2 * MiB));
        QCOMPARE(report.value(QStringLiteral("resident_layers")).toArray(), residentOf(choice));
        QCOMPARE(report.value(QStringLiteral("split_bytes")).toInteger(), qint64(2 * MiB));
        QCOMPARE(weightsBytes(report), choice.prediction.weightsPeak);

        // And from the studio: the run cuts the layers as the point's profile did.
        QTest::mouseClick(view->runButton(), Qt::LeftButton);
        QVERIFY(finished.wait(TimeoutMs));
        out = finished.takeFirst().at(0).value<RunOutcomePtr>();
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QCOMPARE(out->info->splitBytes, qint64(2 * MiB));
        QCOMPARE(weightsBytes(*out), choice.prediction.weightsPeak);
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

    // A store with runs of the model but none to profile from (a preload run streams nothing) says the same thing in
    // the studio and in dlayer plan: the one message of plan/profiles.h, naming what to record.
    void noProfileIsTheSameMessageInTheStudioAndTheCli()
    {
        const QString db = m_dir.filePath(QStringLiteral("noprofile.sqlite"));
        QProcess dlayer;
        dlayer.start(QStringLiteral(DL_DLAYER),
            { QStringLiteral("run"), darknetModel("yolov3-tiny.cfg"), QStringLiteral("--arch"),
                QStringLiteral("preload"), QStringLiteral("--pack-dir"), m_dir.filePath(QStringLiteral("packs")),
                QStringLiteral("--iterations"), QStringLiteral("1"), QStringLiteral("--warmup"), QStringLiteral("0"),
                QStringLiteral("--record"), db });
        QVERIFY(dlayer.waitForFinished(TimeoutMs));
        QVERIFY2(dlayer.exitCode() == 0, dlayer.readAllStandardError().constData());
        const QString expected = QString::fromStdString(plan::noProfileMessage(db.toStdString(), std::nullopt));
        QVERIFY(expected.contains(QStringLiteral("Profile in the studio")));

        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.setStorePath(db);
        QSignalSpy planned(window.planner(), &TradeoffPlanner::planned);
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(darknetModel("yolov3-tiny.cfg"));
        QVERIFY(loaded.wait(TimeoutMs));
        const PlanResultPtr plan = nextPlan(planned);
        QVERIFY(plan);
        QVERIFY(!plan->hasFrontier());
        QCOMPARE(plan->error, expected);

        dlayer.start(QStringLiteral(DL_DLAYER),
            { QStringLiteral("plan"), darknetModel("yolov3-tiny.cfg"), QStringLiteral("--profile"), db,
                QStringLiteral("--budget"), QStringLiteral("64M") });
        QVERIFY(dlayer.waitForFinished(TimeoutMs));
        QCOMPARE(dlayer.exitCode(), 1);
        const QString err = QString::fromUtf8(dlayer.readAllStandardError());
        QVERIFY2(err.contains(expected), qPrintable(err));
    }
};

QTEST_MAIN(TestTradeoff)
#include "test_tradeoff.moc"
