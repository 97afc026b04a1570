// The studio's responsiveness, measured on a real window under the offscreen platform:
//   1. how long opening a model takes until its layer table is shown (YOLOv4's cfg and ISNet by default), the
//      median of --repeat opens;
//   2. with a model of --layers small layers running continuously (two-stage, so reads and kernels both stream
//      events), how often the timeline and the memory graph redraw per second and the longest stall of the GUI
//      event loop (the largest gap between ticks of a 1 ms timer, less the 1 ms), over --seconds.
//
//   QT_QPA_PLATFORM=offscreen build/bench/studio_bench [--models A.cfg,B.onnx] [--repeat 3] [--layers 400]
//       [--seconds 20] [--write docs/benchmarks.md]
//
// Prints a table; with --write it replaces the section between "<!-- studio:begin -->" and "<!-- studio:end -->".

#include "benchreport.h"
#include "layertablemodel.h"
#include "mainwindow.h"
#include "memoryview.h"
#include "runcontrols.h"
#include "timelineview.h"

#include "qcustomplotheader.h"

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace dl;
using namespace dl::ui;

namespace {

[[noreturn]] void die(const std::string& message)
{
    std::fprintf(stderr, "studio_bench: %s\n", message.c_str());
    std::exit(1);
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// Waits (running the event loop) until `done` or the timeout; false on timeout.
template <typename F> bool waitUntil(F done, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > timeoutMs) return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    }
    return true;
}

// A Darknet cfg of `layers` 3x3 convolutions of 16 channels on a 32x32 image: tiny kernels, so that events come as
// fast as a real model's ever would.
QString writeManyLayerCfg(const QString& dir, int layers)
{
    const QString path = QDir(dir).filePath(QStringLiteral("conv%1.cfg").arg(layers));
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) die("cannot write " + path.toStdString());
    QByteArray text = "[net]\nbatch=1\nwidth=32\nheight=32\nchannels=3\n\n";
    for (int i = 0; i < layers; ++i)
        text += "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n";
    f.write(text);
    return path;
}

} // namespace

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true); // settings and the default store stay out of the user's
    const QString cache
        = qEnvironmentVariable("DL_CACHE", QDir::homePath() + QStringLiteral("/.cache/demand-layering"));
    QStringList models = { QStringLiteral(DL_DARKNET_DIR "/yolov4.cfg"), cache + QStringLiteral("/models/isnet.onnx") };
    int repeat = 3, layers = 400;
    double seconds = 20;
    std::string writeTo;
    const QStringList args = QCoreApplication::arguments();
    for (int i = 1; i < args.size(); ++i) {
        const QString a = args[i];
        auto next = [&]() -> QString {
            if (i + 1 >= args.size()) die("missing value after " + a.toStdString());
            return args[++i];
        };
        if (a == QLatin1String("--models"))
            models = next().split(QLatin1Char(','));
        else if (a == QLatin1String("--repeat"))
            repeat = std::max(1, next().toInt());
        else if (a == QLatin1String("--layers"))
            layers = std::max(1, next().toInt());
        else if (a == QLatin1String("--seconds"))
            seconds = std::max(1.0, next().toDouble());
        else if (a == QLatin1String("--write"))
            writeTo = next().toStdString();
        else
            die("unknown option " + a.toStdString());
    }
    QTemporaryDir tmp;
    qputenv("DL_PACK_CACHE", tmp.filePath(QStringLiteral("packs")).toUtf8());

    // 1. Opening a model until the table shows its layers.
    struct Open
    {
        QString name;
        int rows = 0;
        std::vector<double> ms;
    };
    std::vector<Open> opens;
    for (const QString& model : models) {
        if (!QFileInfo::exists(model)) die(model.toStdString() + " does not exist (scripts/fetch-models.sh)");
        Open o;
        o.name = QFileInfo(model).fileName();
        for (int k = 0; k < repeat; ++k) {
            MainWindow w;
            w.setErrorDialogsEnabled(false);
            w.resize(1280, 800);
            w.show();
            QCoreApplication::processEvents();
            bool loaded = false;
            QObject::connect(&w, &MainWindow::modelLoaded, &w, [&] { loaded = true; });
            QElapsedTimer t;
            t.start();
            w.openFile(model);
            if (!waitUntil([&] { return loaded; }, 120000)) die("opening " + model.toStdString() + " timed out");
            o.ms.push_back(static_cast<double>(t.nsecsElapsed()) / 1e6);
            o.rows = w.layerModel()->rowCount();
            if (qEnvironmentVariableIsSet("DL_BENCH_VERBOSE"))
                std::fprintf(stderr, "%s: %.0f ms; %s\n", qPrintable(o.name), o.ms.back(),
                    qPrintable(w.statusBar()->currentMessage()));
        }
        opens.push_back(o);
    }

    // 2. A continuous run of a many-layer model.
    const QString cfg = writeManyLayerCfg(tmp.path(), layers);
    MainWindow w;
    w.setErrorDialogsEnabled(false);
    w.setStorePath(tmp.filePath(QStringLiteral("runs.sqlite")));
    w.resize(1280, 800);
    w.show();
    bool loaded = false;
    QObject::connect(&w, &MainWindow::modelLoaded, &w, [&] { loaded = true; });
    w.openFile(cfg);
    if (!waitUntil([&] { return loaded; }, 120000)) die("opening the generated model timed out");
    const int modelLayers = w.layerModel()->rowCount();
    w.runControls()->setArch(Arch::TwoStage);
    w.runControls()->setContinuous(true);
    int batches = 0, iterations = 0;
    QObject::connect(w.session(), &EngineSession::eventsArrived, &w, [&](const EventBatchPtr& b) {
        ++batches;
        iterations = b->iterationsDone;
    });
    if (!w.startRun()) die("the run did not start");
    // Measure from the first iterations on (packing and set-up come before).
    if (!waitUntil([&] { return iterations >= 2; }, 300000)) die("the run did not get going");
    const int timeline0 = w.timelineView()->replotCount(), memory0 = w.memoryView()->replotCount();
    const int batches0 = batches, iterations0 = iterations;
    double longestGapMs = 0;
    // The longest redraw of each plot, to tell what a stall was made of.
    double longestReplotMs[2] = { 0, 0 };
    std::vector<double> replotMs[2];
    QElapsedTimer replotTimer[2];
    QCustomPlot* plots[2] = { w.timelineView()->plot(), w.memoryView()->plot() };
    for (int k = 0; k < 2; ++k) {
        QObject::connect(plots[k], &QCustomPlot::beforeReplot, &w, [&, k] { replotTimer[k].start(); });
        QObject::connect(plots[k], &QCustomPlot::afterReplot, &w, [&, k] {
            const double ms = static_cast<double>(replotTimer[k].nsecsElapsed()) / 1e6;
            longestReplotMs[k] = std::max(longestReplotMs[k], ms);
            replotMs[k].push_back(ms);
        });
    }
    QElapsedTimer sinceTick, total;
    QTimer tick;
    tick.setInterval(1);
    QObject::connect(&tick, &QTimer::timeout, &w, [&] {
        longestGapMs = std::max(longestGapMs, static_cast<double>(sinceTick.nsecsElapsed()) / 1e6);
        sinceTick.restart();
    });
    sinceTick.start();
    total.start();
    tick.start();
    QEventLoop loop;
    QTimer::singleShot(static_cast<int>(seconds * 1000), &loop, &QEventLoop::quit);
    loop.exec();
    tick.stop();
    const double elapsedS = static_cast<double>(total.nsecsElapsed()) / 1e9;
    const double timelineRate = (w.timelineView()->replotCount() - timeline0) / elapsedS;
    const double memoryRate = (w.memoryView()->replotCount() - memory0) / elapsedS;
    const double batchRate = (batches - batches0) / elapsedS;
    const double iterationRate = (iterations - iterations0) / elapsedS;
    bool finished = false;
    QObject::connect(&w, &MainWindow::runFinished, &w, [&] { finished = true; });
    w.stopRun();
    if (!waitUntil([&] { return finished; }, 60000)) die("the run did not stop");

    std::ostringstream t;
    char buf[512];
    t << "Machine: " << dlbench::machineDescription() << "; Qt " << qVersion()
      << ", offscreen platform, window 1280x800.\n";
    t << "Command: `QT_QPA_PLATFORM=offscreen build/bench/studio_bench --repeat " << repeat << " --layers " << layers
      << " --seconds " << seconds << "`\n\n";
    t << "| model | layers | open until the table shows (median ms) | min ms | max ms |\n|---|---:|---:|---:|---:|\n";
    for (const auto& o : opens) {
        std::snprintf(buf, sizeof buf, "| %s | %d | %.0f | %.0f | %.0f |\n", qPrintable(o.name), o.rows, median(o.ms),
            *std::min_element(o.ms.begin(), o.ms.end()), *std::max_element(o.ms.begin(), o.ms.end()));
        t << buf;
    }
    std::snprintf(buf, sizeof buf,
        "\nA generated %d-layer model (3x3 convolutions, 16 channels, 32x32) running two-stage continuously for %.0f "
        "s, "
        "%.1f inferences a second, %.1f event batches a second:\n\n",
        modelLayers, elapsedS, iterationRate, batchRate);
    t << buf;
    t << "| measure | value |\n|---|---:|\n";
    std::snprintf(buf, sizeof buf, "| timeline redraws per second | %.1f |\n", timelineRate);
    t << buf;
    std::snprintf(buf, sizeof buf, "| memory graph redraws per second | %.1f |\n", memoryRate);
    t << buf;
    std::snprintf(
        buf, sizeof buf, "| longest event-loop stall (gap between 1 ms timer ticks) | %.1f ms |\n", longestGapMs);
    t << buf;
    std::snprintf(buf, sizeof buf,
        "| timeline redraw, median and longest | %.1f ms, %.1f ms |\n| memory graph redraw, median and longest | %.1f "
        "ms, %.1f ms |\n",
        median(replotMs[0]), longestReplotMs[0], median(replotMs[1]), longestReplotMs[1]);
    t << buf;
    std::snprintf(buf, sizeof buf, "| bars held by the timeline, points by the memory graph at the end | %zu, %d |\n",
        w.timelineView()->spans(Stage::Read).size() + w.timelineView()->spans(Stage::Kernel).size(),
        w.memoryView()->memoryPointCount());
    t << buf;
    const std::string table = t.str();
    std::fputs(table.c_str(), stdout);
    if (!writeTo.empty() && !dlbench::writeSection(writeTo, "studio", "Studio", table)) die("cannot write " + writeTo);
    return 0;
}
