// A run from the main window under the offscreen platform, on a real model with a real pack and run store: the
// timeline holds a bar per layer per stage, the memory graph its samples, the table the run's per-layer columns, the
// store the run; clicking a bar selects its layer's row and selecting a row highlights its bars.

#include "layertablemodel.h"
#include "mainwindow.h"
#include "memoryview.h"
#include "runcontrols.h"
#include "runstore.h"
#include "testmodels.h"
#include "timelineview.h"

#include "qcustomplotheader.h"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QItemSelectionModel>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStandardItemModel>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include <set>

using namespace dl;
using namespace dl::ui;
using namespace dl::ui::test;

namespace {
constexpr int TimeoutMs = 240000;
}

class TestRunViews : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        isolateStudio(m_dir.path());
    }

    // The Backend box offers CUDA only where the device probe (run off the GUI thread) says it can run; here, without
    // a driver, the item is disabled and the note under the box gives the probe's reason.
    void theCudaChoiceSaysWhyItIsUnavailable()
    {
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.show();
        RunControls* controls = window.runControls();
        QComboBox* box = controls->backendBox();
        auto* note = controls->findChild<QLabel*>(QStringLiteral("backendNote"));
        QVERIFY(box && note);
        const BackendAvailability cuda = backendAvailability(BackendKind::Cuda);
        QVERIFY(!cuda.available); // no GPU on the machines these tests run on; the device script covers one
        QTRY_VERIFY_WITH_TIMEOUT(note->text().contains(QString::fromStdString(cuda.why)), 30000);
        const int i = box->findData(QStringLiteral("cuda"));
        QVERIFY(i > 0);
        auto* model = qobject_cast<QStandardItemModel*>(box->model());
        QVERIFY(model && !model->item(i)->isEnabled());
        QCOMPARE(box->itemData(i, Qt::ToolTipRole).toString(), QString::fromStdString(cuda.why));
        // Chosen anyway (a saved setting, a script): the choice goes back to the CPU, and runs ask for it.
        box->setCurrentIndex(i);
        QCOMPARE(box->currentData().toString(), QStringLiteral("cpu"));
        QCOMPARE(controls->request().backend, BackendKind::Cpu);
        // Where it can run, the item is enabled, chosen, and asked for.
        controls->setBackendAvailable(BackendKind::Cuda, true, QStringLiteral("a device"));
        QVERIFY(model->item(i)->isEnabled());
        box->setCurrentIndex(i);
        QCOMPARE(controls->request().backend, BackendKind::Cuda);
        QVERIFY(note->text().contains(QStringLiteral("a device")));
    }

    void runFromTheWindowFillsEveryView()
    {
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.setStorePath(m_dir.filePath(QStringLiteral("runs.sqlite")));
        window.resize(1280, 800);
        window.show();
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(darknetModel("yolov3-tiny.cfg"));
        QVERIFY(loaded.wait(TimeoutMs));
        LayerTableModel* model = window.layerModel();
        QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const int rows = model->rowCount();
        QCOMPARE(rows, 14);
        QCOMPARE(model->index(0, LayerTableModel::KernelColumn).data().toString(), QStringLiteral("–"));

        window.runControls()->setArch(Arch::Async);
        window.runControls()->setIterations(1, 2);
        QSignalSpy finished(&window, &MainWindow::runFinished);
        QVERIFY(window.runControls()->runButton()->isEnabled());
        QTest::mouseClick(window.runControls()->runButton(), Qt::LeftButton);
        QVERIFY(window.isRunning());
        QVERIFY(window.runControls()->stopButton()->isEnabled());
        QVERIFY(finished.wait(TimeoutMs));
        const RunOutcomePtr out = finished.at(0).at(0).value<RunOutcomePtr>();
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QVERIFY(!window.runControls()->stopButton()->isEnabled());

        // The timeline: in each timed iteration (1 and 2) a kernel bar for every layer, and a read and a copy bar for
        // every layer with weights (async streams them all).
        TimelineView* t = window.timelineView();
        const RunInfoPtr info = window.currentRun();
        QVERIFY(info);
        for (int it = 1; it <= 2; ++it) {
            std::set<int> read, copy, kernel;
            for (const auto& s : t->spans(Stage::Read))
                if (s.iteration == it && !s.stall) read.insert(s.layer);
            for (const auto& s : t->spans(Stage::Copy))
                if (s.iteration == it && !s.stall) copy.insert(s.layer);
            for (const auto& s : t->spans(Stage::Kernel))
                if (s.iteration == it && !s.stall) kernel.insert(s.layer);
            QCOMPARE(kernel.size(), size_t(rows));
            std::set<int> weighted;
            for (int l = 0; l < rows; ++l)
                if (info->layerBytes[static_cast<size_t>(l)] > 0) weighted.insert(l);
            QCOMPARE(read, weighted);
            QCOMPARE(copy, weighted);
        }
        QCOMPARE(t->latestIteration(), 2);
        QVERIFY(t->replotCount() > 0);

        // The memory graph: samples of the stack, the RSS line and the bandwidth track; staging shows in the stack.
        MemoryView* m = window.memoryView();
        // Samples come in buckets of 2 ms, so how many a run leaves depends on the machine's speed (12-15 on a fast
        // one for these three inferences); several, at least, over the run.
        QVERIFY2(m->memoryPointCount() > 2, qPrintable(QString::number(m->memoryPointCount())));
        QVERIFY(m->rssPointCount() > 0);
        QVERIFY(m->bandwidthPointCount() > 0);
        QVERIFY(m->largestTotalBytes() >= static_cast<double>(out->peaks[static_cast<size_t>(MemTag::Staging)]));

        // The table's run columns, from the run.
        QCOMPARE(model->index(0, LayerTableModel::ResidentColumn).data().toString(), tr("no"));
        for (int l = 0; l < rows; ++l) {
            const double kernelMs
                = model->index(l, LayerTableModel::KernelColumn).data(LayerTableModel::SortRole).toDouble();
            QCOMPARE(kernelMs, out->layers[static_cast<size_t>(l)].kernelMs);
            QVERIFY(kernelMs > 0);
        }

        // The store has the run, with the same per-layer times.
        auto store = store::RunStore::open(window.storePath().toStdString());
        QVERIFY(store.ok());
        auto run = (*store)->run(out->storedRunId);
        QVERIFY(run.ok());
        QCOMPARE(run->arch, std::string("async"));
        QCOMPARE(run->layers.size(), size_t(rows));
        for (int l = 0; l < rows; ++l)
            QCOMPARE(run->layers[static_cast<size_t>(l)].kernelMs, out->layers[static_cast<size_t>(l)].kernelMs);

        // Clicking a kernel bar selects its layer's row; selecting a row highlights that layer's bars.
        t->showAll();
        t->plot()->replot();
        const TimelineSpan* target = nullptr;
        for (const auto& s : t->spans(Stage::Kernel))
            if (!s.stall && s.iteration == 2 && (!target || s.endMs - s.beginMs > target->endMs - target->beginMs))
                target = &s;
        QVERIFY(target);
        const int layer = target->layer;
        const QPoint at = t->barCentre(Stage::Kernel, *target);
        Stage stage = Stage::Read;
        const TimelineSpan* hit = t->spanAt(at, &stage);
        QVERIFY(hit);
        QCOMPARE(hit->layer, layer);
        QCOMPARE(stage, Stage::Kernel);
        QSignalSpy clicked(t, &TimelineView::layerClicked);
        QTest::mouseClick(t->plot(), Qt::LeftButton, Qt::NoModifier, at);
        QCOMPARE(clicked.size(), 1);
        QCOMPARE(clicked.at(0).at(0).toInt(), layer);
        QCOMPARE(t->selectedLayer(), layer);
        const QModelIndex current = window.layerView()->selectionModel()->currentIndex();
        QCOMPARE(current.data(LayerTableModel::LayerIndexRole).toInt(), layer);

        const int other = (layer + 1) % rows;
        window.layerView()->selectionModel()->setCurrentIndex(
            window.layerProxy()->mapFromSource(model->index(other, 0)), QItemSelectionModel::ClearAndSelect);
        QCOMPARE(t->selectedLayer(), other);

        // Zooming with the keyboard stops following; F follows again.
        t->plot()->setFocus();
        const double before = t->plot()->xAxis->range().size();
        QTest::keyClick(t->plot(), Qt::Key_Plus);
        QVERIFY(t->plot()->xAxis->range().size() < before);
        QVERIFY(!t->isFollowing());
        QTest::keyClick(t->plot(), Qt::Key_F);
        QVERIFY(t->isFollowing());
    }

    // Samples before time zero (set-up) are kept, merged by 2 ms buckets like any others.
    void memorySamplesBeforeTimeZeroAreKept()
    {
        MemoryView view;
        auto info = std::make_shared<RunInfo>();
        info->id = 7;
        info->originNs = 1'000'000'000;
        view.beginRun(info);
        auto batch = std::make_shared<EventBatch>();
        batch->id = 7;
        auto sample = [&](int64_t atNs, size_t staging) {
            CounterSample c;
            c.timeNs = info->originNs + atNs;
            c.hasMemory = true;
            c.memoryBytes[static_cast<size_t>(MemTag::Staging)] = staging;
            batch->counters.push_back(c);
        };
        sample(-1'000'000, 100); // -1 ms: bucket -1
        sample(-500'000, 300); // -0.5 ms: the same bucket, larger
        sample(10'000'000, 200); // 10 ms
        view.addEvents(batch);
        QCOMPARE(view.memoryPointCount(), 2);
        QCOMPARE(view.largestTotalBytes(), 300.0);
        QCOMPARE(view.bandwidthPointCount(), 2);
    }

    // The table shows what `dlayer info` says of the same model, row by row.
    void tableMatchesDlayerInfo_data()
    {
        QTest::addColumn<QString>("model");
        QTest::newRow("yolov4-tiny.cfg") << darknetModel("yolov4-tiny.cfg");
        QTest::newRow("ONNX Conv2d") << smallOnnxModel();
    }
    void tableMatchesDlayerInfo()
    {
        QFETCH(QString, model);
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(model);
        QVERIFY(loaded.wait(TimeoutMs));
        QProcess info;
        info.start(QStringLiteral(DL_DLAYER), { QStringLiteral("info"), model, QStringLiteral("--json") });
        QVERIFY(info.waitForFinished(TimeoutMs));
        QCOMPARE(info.exitCode(), 0);
        const QJsonArray layers
            = QJsonDocument::fromJson(info.readAllStandardOutput()).object().value(QStringLiteral("layers")).toArray();
        LayerTableModel* m = window.layerModel();
        QCOMPARE(m->rowCount(), static_cast<int>(layers.size()));
        QVERIFY(m->rowCount() > 0);
        for (int r = 0; r < m->rowCount(); ++r) {
            const QJsonObject l = layers[r].toObject();
            QCOMPARE(
                m->index(r, LayerTableModel::IndexColumn).data().toInt(), l.value(QStringLiteral("index")).toInt());
            QCOMPARE(
                m->index(r, LayerTableModel::NameColumn).data().toString(), l.value(QStringLiteral("name")).toString());
            QCOMPARE(m->index(r, LayerTableModel::WeightColumn).data(LayerTableModel::SortRole).toULongLong(),
                static_cast<qulonglong>(l.value(QStringLiteral("weight_bytes")).toDouble()));
            QStringList ops;
            for (const auto& op : l.value(QStringLiteral("ops")).toArray())
                ops.append(op.toString());
            QCOMPARE(m->index(r, LayerTableModel::OpsColumn).data().toString(), ops.join(QStringLiteral(" + ")));
            QCOMPARE(m->index(r, LayerTableModel::MflopsColumn).data(LayerTableModel::SortRole).toDouble(),
                l.value(QStringLiteral("flops")).toDouble());
        }
    }

    void budgetRunShowsTheResidentSetAndTheBudget()
    {
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.setStorePath(m_dir.filePath(QStringLiteral("runs.sqlite")));
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(darknetModel("yolov3-tiny.cfg"));
        QVERIFY(loaded.wait(TimeoutMs));
        window.runControls()->setArch(Arch::TwoStage);
        window.runControls()->setBudgetMiB(24);
        window.runControls()->setIterations(0, 1);
        QSignalSpy finished(&window, &MainWindow::runFinished);
        QVERIFY(window.startRun() > 0);
        QVERIFY(finished.wait(TimeoutMs));
        const RunOutcomePtr out = finished.at(0).at(0).value<RunOutcomePtr>();
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        const RunInfoPtr info = window.currentRun();
        QCOMPARE(window.memoryView()->budgetBytes(), 24.0 * 1024 * 1024);
        // The budget cuts the layers as dlayer run --budget does; a row is resident when all of its pieces are.
        QCOMPARE(info->splitBytes, qint64(8) << 20);
        const std::vector<int> rows = window.layerModel()->rowsOf(info->layerNames);
        QVERIFY(rows.size() > static_cast<size_t>(window.layerModel()->rowCount()));
        std::vector<int> pieces(static_cast<size_t>(window.layerModel()->rowCount()), 0), held(pieces.size(), 0);
        for (size_t i = 0; i < rows.size(); ++i) {
            QVERIFY(rows[i] >= 0);
            ++pieces[static_cast<size_t>(rows[i])];
            held[static_cast<size_t>(rows[i])] += info->resident[i] ? 1 : 0;
        }
        int resident = 0;
        for (int l = 0; l < window.layerModel()->rowCount(); ++l) {
            const bool yes
                = window.layerModel()->index(l, LayerTableModel::ResidentColumn).data().toString() == tr("yes");
            QCOMPARE(yes, held[static_cast<size_t>(l)] == pieces[static_cast<size_t>(l)]);
            // Resident rows stand out in every column.
            QCOMPARE(
                window.layerModel()->index(l, LayerTableModel::NameColumn).data(Qt::BackgroundRole).isValid(), yes);
            resident += yes;
        }
        QVERIFY(resident > 0); // 24 MiB holds the ring of 8 MiB pieces and some layers besides
        QVERIFY(out->peaks[0] + out->peaks[1] <= size_t(24) << 20);
    }

    // The Run dock's "Weights in pack": an fp16 run reads about half the bytes of an fp32 one, and the layer table
    // shows how the run's pack stored each layer, and the bytes.
    void fp16PackShowsInTheLayerTable()
    {
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.setStorePath(m_dir.filePath(QStringLiteral("runs.sqlite")));
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(darknetModel("yolov3-tiny.cfg"));
        QVERIFY(loaded.wait(TimeoutMs));
        LayerTableModel* model = window.layerModel();
        QCOMPARE(model->index(0, LayerTableModel::StoredColumn).data().toString(), QStringLiteral("–"));
        window.runControls()->setArch(Arch::TwoStage);
        window.runControls()->setIterations(0, 1);
        std::map<Precision, RunOutcomePtr> outcomes;
        for (Precision p : { Precision::F32, Precision::F16 }) {
            window.runControls()->setPrecision(p);
            QCOMPARE(window.runControls()->request().precision, std::optional<Precision>(p));
            QSignalSpy finished(&window, &MainWindow::runFinished);
            QVERIFY(window.startRun() > 0);
            QVERIFY(finished.wait(TimeoutMs));
            outcomes[p] = finished.at(0).at(0).value<RunOutcomePtr>();
            QVERIFY2(outcomes[p]->status == RunOutcome::Status::Ok, qPrintable(outcomes[p]->error));
            const RunInfoPtr info = window.currentRun();
            QCOMPARE(info->precision, p);
            const QString type = QString::fromLatin1(precisionName(p));
            int weighted = 0;
            for (int l = 0; l < model->rowCount(); ++l) {
                if (info->layerBytes[static_cast<size_t>(l)] == 0) continue;
                ++weighted;
                const QString shown = model->index(l, LayerTableModel::StoredColumn).data().toString();
                QVERIFY2(shown.startsWith(type), qPrintable(shown));
                QCOMPARE(model->index(l, LayerTableModel::StoredColumn).data(LayerTableModel::SortRole).toLongLong(),
                    info->layerBytes[static_cast<size_t>(l)]);
            }
            QVERIFY(weighted > 5);
        }
        // Half the bytes, give or take the 4 KiB each layer's read is rounded to.
        const double ratio = static_cast<double>(outcomes[Precision::F16]->readBytes)
            / static_cast<double>(outcomes[Precision::F32]->readBytes);
        QVERIFY2(ratio > 0.45 && ratio < 0.55, qPrintable(QString::number(ratio)));
        // The stored run says which pack it read.
        auto store = store::RunStore::open(window.storePath().toStdString());
        QVERIFY(store.ok());
        auto run = (*store)->run(outcomes[Precision::F16]->storedRunId);
        QVERIFY(run.ok());
        QVERIFY(run->configJson.find("\"precision\":\"fp16\"") != std::string::npos);
        window.runControls()->setPrecision(std::nullopt);
        QVERIFY(!window.runControls()->request().precision);
    }

    // A run that runs out of memory ends as a failed run with the engine's message; the window stays, takes the
    // next run as if nothing had happened, and records only the runs that ran.
    void aRunOutOfMemoryFailsAndTheStudioGoesOn()
    {
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.setStorePath(m_dir.filePath(QStringLiteral("oom.sqlite")));
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(darknetModel("yolov3-tiny.cfg"));
        QVERIFY(loaded.wait(TimeoutMs));
        window.runControls()->setArch(Arch::TwoStage);
        window.runControls()->setIterations(1, 1);
        QSignalSpy finished(&window, &MainWindow::runFinished);

        window.setMemoryLimit(8 << 20); // less than yolov3-tiny's largest layer alone
        QVERIFY(window.startRun() > 0);
        QVERIFY(finished.wait(TimeoutMs));
        RunOutcomePtr out = finished.takeFirst().at(0).value<RunOutcomePtr>();
        QVERIFY(out->status == RunOutcome::Status::Failed);
        QVERIFY2(out->error.contains(QStringLiteral("out of memory")), qPrintable(out->error));
        QCOMPARE(out->storedRunId, qint64(0)); // it never ran
        QVERIFY(!window.isRunning());
        QVERIFY(window.runControls()->runButton()->isEnabled());

        window.setMemoryLimit(0);
        QVERIFY(window.startRun() > 0);
        QVERIFY(finished.wait(TimeoutMs));
        out = finished.takeFirst().at(0).value<RunOutcomePtr>();
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QVERIFY2(out->storedRunId > 0, qPrintable(out->storeError));
        QCOMPARE(window.layerModel()->rowCount(), 14);
    }
};

QTEST_MAIN(TestRunViews)
#include "test_runviews.moc"
