// The Runs view and the exports on a real run store filled by real runs: the history and its filters, comparing two
// runs (per-layer deltas that are B − A, the summary, the difference plot), exporting a run's CSV and Chrome trace,
// deleting a run, opening a run's timeline from the store, PNG and PDF of a plot, and the about box's versions.
// Every item model runs under QAbstractItemModelTester.

#include "format.h"
#include "layertablemodel.h"
#include "localsession.h"
#include "mainwindow.h"
#include "runrecorder.h"
#include "runsview.h"
#include "testmodels.h"
#include "timelineview.h"

#include "qcustomplotheader.h"

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QSysInfo>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <set>

using namespace dl;
using namespace dl::ui;
using namespace dl::ui::test;

namespace {
constexpr int TimeoutMs = 240000;
}

class TestRunsView : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_store;
    std::vector<RunOutcomePtr> m_runs;

    void record(Arch arch)
    {
        LocalSession session;
        RunRecorder recorder;
        recorder.setStorePath(m_store);
        recorder.attach(&session);
        QSignalSpy finished(&recorder, &RunRecorder::recorded);
        RunRequest r;
        r.modelPath = darknetModel("yolov3-tiny.cfg");
        r.arch = arch;
        r.warmup = 1;
        r.iterations = 2;
        r.packDir = m_dir.filePath(QStringLiteral("packs"));
        QVERIFY(session.start(r) > 0);
        QVERIFY(finished.wait(TimeoutMs));
        const RunOutcomePtr out = finished.at(0).at(0).value<RunOutcomePtr>();
        QVERIFY2(out->status == RunOutcome::Status::Ok, qPrintable(out->error));
        QVERIFY(out->storedRunId > 0);
        m_runs.push_back(out);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_store = m_dir.filePath(QStringLiteral("runs.sqlite"));
        isolateStudio(m_dir.path());
        record(Arch::Async);
        record(Arch::TwoStage);
    }

    void historyFiltersCompareExportDelete()
    {
        RunsView view;
        view.setConfirmations(false);
        QAbstractItemModelTester t1(view.historyModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester t2(view.filterModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester t3(view.deltaModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy refreshed(&view, &RunsView::refreshed);
        view.setStorePath(m_store);
        QVERIFY(refreshed.wait(TimeoutMs));
        QCOMPARE(view.historyModel()->rowCount(), 2);
        QCOMPARE(view.filterModel()->rowCount(), 2); // no model yet; this device's runs
        QCOMPARE(view.historyModel()->runAt(0)->device.host, QSysInfo::machineHostName().toStdString());

        // Filters: another model shows none; this model both; another host none, unless the filter is off.
        view.setModelHash(QStringLiteral("0123"));
        QCOMPARE(view.filterModel()->rowCount(), 0);
        view.modelOnlyBox()->setChecked(false);
        QCOMPARE(view.filterModel()->rowCount(), 2);
        view.modelOnlyBox()->setChecked(true);
        view.setModelHash(QString::fromStdString(view.historyModel()->runAt(0)->modelHash));
        QCOMPARE(view.filterModel()->rowCount(), 2);

        // Compare: B − A per layer, in the delta model, the summary and the plot.
        QSignalSpy compared(&view, &RunsView::compared);
        QVERIFY(view.selectRun(m_runs[0]->storedRunId));
        QVERIFY(view.selectRun(m_runs[1]->storedRunId));
        QVERIFY(view.compareSelected());
        QVERIFY(compared.wait(TimeoutMs));
        LayerDeltaModel* d = view.deltaModel();
        QCOMPARE(d->rowCount(), 14);
        QCOMPARE(d->runA()->id, m_runs[0]->storedRunId);
        for (int l = 0; l < 14; ++l) {
            const double a = m_runs[0]->layers[static_cast<size_t>(l)].kernelMs;
            const double b = m_runs[1]->layers[static_cast<size_t>(l)].kernelMs;
            QCOMPARE(d->value(l, LayerDeltaModel::KernelAColumn), a);
            QCOMPARE(d->value(l, LayerDeltaModel::KernelBColumn), b);
            QCOMPARE(d->value(l, LayerDeltaModel::KernelDeltaColumn), b - a);
        }
        QCOMPARE(view.summaryTable()->item(1, 1)->text(), QStringLiteral("async"));
        QCOMPARE(view.summaryTable()->item(1, 2)->text(), QStringLiteral("two-stage"));
        // The reads, as stored in the runs' columns (schema 2).
        const int last = view.summaryTable()->rowCount() - 1;
        QCOMPARE(view.summaryTable()->item(last, 0)->text(), QStringLiteral("Read rate (MB/s)"));
        QVERIFY(m_runs[0]->readMBps > 0);
        QCOMPARE(view.summaryTable()->item(last, 1)->text(), QLocale().toString(m_runs[0]->readMBps, 'f', 2));
        QCOMPARE(view.summaryTable()->item(last - 1, 1)->text(), formatBytes(m_runs[0]->readBytes));
        QCOMPARE(view.diffPlot()->plottableCount(), 2);
        QCOMPARE(view.diffPlot()->plottable(0)->interface1D()->dataCount(), 14);

        // Export the selected run (one only).
        view.historyView()->clearSelection();
        QVERIFY(view.selectRun(m_runs[0]->storedRunId));
        QSignalSpy exported(&view, &RunsView::exported);
        const QString csv = m_dir.filePath(QStringLiteral("layers.csv"));
        QVERIFY(view.exportSelected(RunStoreJobs::Export::LayersCsv, csv));
        QVERIFY(exported.wait(TimeoutMs));
        QCOMPARE(exported.at(0).at(1).toString(), QString());
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = f.readAll().trimmed().split('\n');
        QCOMPARE(lines.size(), 15);
        QVERIFY(lines[0].startsWith("layer,name,bytes,resident,read_ms"));
        const QList<QByteArray> first = lines[1].split(',');
        QCOMPARE(first[1], QByteArray("\"conv_0\""));
        QVERIFY(std::abs(first[6].toDouble() - m_runs[0]->layers[0].kernelMs) <= 1e-6); // written with 6 decimals
        const QString trace = m_dir.filePath(QStringLiteral("trace.json"));
        QVERIFY(view.exportSelected(RunStoreJobs::Export::ChromeTrace, trace));
        QVERIFY(exported.wait(TimeoutMs));
        QCOMPARE(exported.at(1).at(1).toString(), QString());
        QFile tf(trace);
        QVERIFY(tf.open(QIODevice::ReadOnly));
        QJsonParseError pe;
        const QJsonDocument doc = QJsonDocument::fromJson(tf.readAll(), &pe);
        QCOMPARE(pe.error, QJsonParseError::NoError);
        int kernels = 0;
        for (const auto& e : doc.object().value(QStringLiteral("traceEvents")).toArray())
            if (e.toObject().value(QStringLiteral("ph")) == QStringLiteral("X")
                && e.toObject().value(QStringLiteral("name")).toString().contains(QStringLiteral("conv_22")))
                ++kernels;
        QVERIFY(kernels >= 3); // its kernel in each of the three iterations, and its reads

        // Delete the first run: the store keeps the other.
        QSignalSpy deleted(&view, &RunsView::deleted);
        view.deleteSelected();
        QVERIFY(deleted.wait(TimeoutMs));
        QCOMPARE(deleted.at(0).at(0).toLongLong(), m_runs[0]->storedRunId);
        QVERIFY(refreshed.wait(TimeoutMs));
        QCOMPARE(view.historyModel()->rowCount(), 1);
        auto store = store::RunStore::open(m_store.toStdString());
        QVERIFY(store.ok());
        QCOMPARE((*store)->runCount().value(), int64_t(1));
        QVERIFY(!(*store)->run(m_runs[0]->storedRunId).ok());
    }

    void openTimelineAndSavePlots()
    {
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.resize(1280, 800);
        window.show();
        window.setStorePath(m_store);
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(darknetModel("yolov3-tiny.cfg"));
        QVERIFY(loaded.wait(TimeoutMs));
        RunsView* runs = window.runsView();
        QTRY_VERIFY_WITH_TIMEOUT(runs->filterModel()->rowCount() >= 1, TimeoutMs);
        QVERIFY(runs->selectRun(m_runs[1]->storedRunId));
        QSignalSpy timeline(runs, &RunsView::timelineLoaded);
        runs->openSelectedTimeline();
        QVERIFY(timeline.wait(TimeoutMs));
        TimelineView* t = window.timelineView();
        // Two-stage: every layer's kernel in each timed iteration, from the stored trace.
        for (int it = 1; it <= 2; ++it) {
            std::set<int> kernel;
            for (const auto& s : t->spans(Stage::Kernel))
                if (s.iteration == it && !s.stall) kernel.insert(s.layer);
            QCOMPARE(kernel.size(), size_t(14));
        }
        QCOMPARE(
            window.layerModel()->index(0, LayerTableModel::KernelColumn).data(LayerTableModel::SortRole).toDouble(),
            m_runs[1]->layers[0].kernelMs);

        QSignalSpy saved(&window, &MainWindow::plotExported);
        const QString png = m_dir.filePath(QStringLiteral("timeline.png"));
        const QString pdf = m_dir.filePath(QStringLiteral("timeline.pdf"));
        window.exportPlot(t->plot(), png);
        QVERIFY(saved.wait(TimeoutMs));
        window.exportPlot(t->plot(), pdf);
        QVERIFY(saved.wait(TimeoutMs));
        QCOMPARE(saved.at(0).at(1).toString(), QString());
        QCOMPARE(saved.at(1).at(1).toString(), QString());
        QFile p(png), d(pdf);
        QVERIFY(p.open(QIODevice::ReadOnly) && d.open(QIODevice::ReadOnly));
        QVERIFY(p.read(8) == QByteArray("\x89PNG\r\n\x1a\n", 8));
        QVERIFY(d.read(5) == QByteArray("%PDF-"));
        // An unwritable path is reported, not thrown.
        window.exportPlot(t->plot(), m_dir.filePath(QStringLiteral("no/such/dir/plot.png")));
        QVERIFY(saved.wait(TimeoutMs));
        QVERIFY(!saved.at(2).at(1).toString().isEmpty());

        const QString versions = MainWindow::versionsText();
        QVERIFY2(versions.contains(QRegularExpression(QStringLiteral("oneDNN [0-9]+\\.[0-9]+\\.[0-9]+;"))),
            qPrintable(versions));
        QVERIFY(versions.contains(QLatin1String(qVersion())));
        QVERIFY(versions.contains(QStringLiteral("SQLite 3.")));
    }
};

QTEST_MAIN(TestRunsView)
#include "test_runsview.moc"
