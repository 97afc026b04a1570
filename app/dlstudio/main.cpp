// dlstudio: opens the main window, optionally with a model, in the user's language.
//
//   dlstudio [MODEL] [--lang ko] [--store DB] [--board LINE|HOST:PORT] [--run ARCH] [--split MIB]
//            [--view tradeoff|runs] [--budget MIB] [--compare-last] [--screenshot FILE.png]
//
// --board connects to a board's agent (dlayer serve) first: its pairing line (which names its fingerprint, so that
// nothing is asked), or HOST:PORT of a board paired before; runs then go there.
// --run starts a run of the model with that architecture as soon as it has loaded, its layers cut above MIB with
// --split. --view brings the Trade-off or the Runs view to the front; --budget puts the trade-off's slider at the
// frontier's budget nearest MIB; --compare-last compares the two newest runs of the model in the Runs view.
// --screenshot grabs the window once all that is done (the model loaded, the run finished, the plan or the comparison
// shown) and quits (exit status 0), or quits with status 2 on an error: the README's run check and the screenshots of
// scripts/screenshots.sh come from it.

#include "appicon.h"
#include "mainwindow.h"
#include "processmemory.h"
#include "runcontrols.h"
#include "runsview.h"
#include "tradeoffview.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QDockWidget>
#include <QFileInfo>
#include <QLibraryInfo>
#include <QLocale>
#include <QPixmap>
#include <QSettings>
#include <QTimer>
#include <QTranslator>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

namespace {

// --lang must be known before the translator, which must be installed before the parser's translated help.
QString languageArgument(const QStringList& arguments)
{
    const QString option = QStringLiteral("--lang");
    for (qsizetype i = 1; i < arguments.size(); ++i) {
        if (arguments[i] == option && i + 1 < arguments.size()) return arguments[i + 1];
        if (arguments[i].startsWith(option + QLatin1Char('='))) return arguments[i].mid(option.size() + 1);
    }
    return {};
}

void grabAndQuit(dl::ui::MainWindow& window, const QString& file)
{
    // Let the table lay out and paint once before the grab.
    QTimer::singleShot(400, &window, [&window, file] {
        const QPixmap shot = window.grab();
        if (!shot.save(file)) {
            std::fprintf(stderr, "dlstudio: cannot write %s\n", qPrintable(QDir::toNativeSeparators(file)));
            QCoreApplication::exit(1);
            return;
        }
        std::printf(
            "dlstudio: wrote %s (%dx%d)\n", qPrintable(QDir::toNativeSeparators(file)), shot.width(), shot.height());
        QCoreApplication::exit(0);
    });
}

// The command line, checked; what is wrong is said on stderr and ends the program with status 2.
struct CommandLine
{
    std::optional<dl::Arch> runArch;
    double splitMiB = 0, budgetMiB = 0;
    QString store, view, screenshot, board;
    bool compareLast = false;
    QStringList positional;
};

// --lang, else the language chosen in View → Language (dl::ui::MainWindow::LanguageKey), else the system's. The
// studio's own .qm files come from the installed tree (DL_TRANSLATIONS_DIR, relative to the program: what
// `cmake --install` and the package lay out), else from the copies qt_add_translations compiled in under :/i18n;
// Qt's, for its standard dialogs, from Qt's translations directory.
void installLanguage(QTranslator& translator, QTranslator& qtTranslator)
{
    QString language = languageArgument(QCoreApplication::arguments());
    if (language.isEmpty())
        language = QSettings(QStringLiteral("DemandLayering"), QStringLiteral("Studio"))
                       .value(dl::ui::MainWindow::LanguageKey)
                       .toString();
    const QLocale locale = language.isEmpty() ? QLocale() : QLocale(language);
    if (!language.isEmpty()) QLocale::setDefault(locale);
    const QString installed
        = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral(DL_TRANSLATIONS_DIR));
    for (const QString& dir : { installed, QStringLiteral(":/i18n") })
        if (translator.load(locale, QStringLiteral("dlstudio"), QStringLiteral("_"), dir)) {
            QCoreApplication::installTranslator(&translator);
            break;
        }
    if (qtTranslator.load(
            locale, QStringLiteral("qtbase"), QStringLiteral("_"), QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
        QCoreApplication::installTranslator(&qtTranslator);
}

std::optional<CommandLine> parseCommandLine(QApplication& app)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QCoreApplication::translate("main", "Demand Layering Studio"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("model"),
        QCoreApplication::translate("main", "An ONNX model (.onnx) or Darknet configuration (.cfg) to open."),
        QStringLiteral("[model]"));
    const QCommandLineOption langOption(QStringLiteral("lang"),
        QCoreApplication::translate("main", "User interface language, e.g. en or ko (default: the system's)."),
        QStringLiteral("language"));
    const QCommandLineOption screenshotOption(QStringLiteral("screenshot"),
        QCoreApplication::translate(
            "main", "Save a picture of the window to <file> once the model has loaded, then quit."),
        QStringLiteral("file"));
    const QCommandLineOption storeOption(QStringLiteral("store"),
        QCoreApplication::translate("main", "Record runs in the run store <file> (default: the one last chosen)."),
        QStringLiteral("file"));
    const QCommandLineOption runOption(QStringLiteral("run"),
        QCoreApplication::translate("main", "Run the model with architecture <arch> once it has loaded."),
        QStringLiteral("arch"));
    const QCommandLineOption splitOption(QStringLiteral("split"),
        QCoreApplication::translate("main", "Cut the run's layers whose weights exceed <MiB> into pieces."),
        QStringLiteral("MiB"));
    const QCommandLineOption viewOption(QStringLiteral("view"),
        QCoreApplication::translate("main", "Bring a view to the front: tradeoff or runs."), QStringLiteral("view"));
    const QCommandLineOption budgetOption(QStringLiteral("budget"),
        QCoreApplication::translate("main", "Put the trade-off's slider at the budget nearest <MiB>."),
        QStringLiteral("MiB"));
    const QCommandLineOption compareOption(QStringLiteral("compare-last"),
        QCoreApplication::translate("main", "Compare the two newest runs of the model in the Runs view."));
    parser.addOption(langOption);
    parser.addOption(screenshotOption);
    parser.addOption(storeOption);
    parser.addOption(runOption);
    parser.addOption(splitOption);
    parser.addOption(viewOption);
    parser.addOption(budgetOption);
    parser.addOption(compareOption);
    const QCommandLineOption boardOption(QStringLiteral("board"),
        QCoreApplication::translate("main",
            "Run on a board's agent: the pairing line 'dlayer serve' printed, or HOST:PORT of a board paired before."),
        QStringLiteral("LINE"));
    parser.addOption(boardOption);
    parser.process(app);

    std::optional<dl::Arch> runArch;
    if (parser.isSet(runOption)) {
        runArch = dl::parseArch(parser.value(runOption).toStdString());
        if (!runArch) {
            std::fprintf(stderr, "dlstudio: --run takes preload, sequential, sync, async or two-stage, not '%s'\n",
                qPrintable(parser.value(runOption)));
            return std::nullopt;
        }
    }

    // A size in MiB above 0 (0 when the option is not given); nullopt, said on stderr, for anything else.
    auto mibOf = [&parser](const QCommandLineOption& option) -> std::optional<double> {
        if (!parser.isSet(option)) return 0.0;
        bool ok = false;
        const double v = parser.value(option).toDouble(&ok);
        if (ok && v > 0) return v;
        std::fprintf(stderr, "dlstudio: --%s takes a size in MiB above 0, not '%s'\n",
            qPrintable(option.names().constFirst()), qPrintable(parser.value(option)));
        return std::nullopt;
    };
    const std::optional<double> splitArg = mibOf(splitOption), budgetArg = mibOf(budgetOption);
    if (!splitArg || !budgetArg) return std::nullopt;
    const double splitMiB = *splitArg, budgetMiB = *budgetArg;
    if (parser.isSet(splitOption) && !runArch) {
        std::fprintf(stderr, "dlstudio: --split cuts the layers of the run --run starts; give --run ARCH with it\n");
        return std::nullopt;
    }

    CommandLine cl;
    cl.runArch = runArch;
    cl.splitMiB = splitMiB;
    cl.budgetMiB = budgetMiB;
    if (parser.isSet(storeOption)) cl.store = QFileInfo(parser.value(storeOption)).absoluteFilePath();
    cl.view = parser.value(viewOption);
    if (!cl.view.isEmpty() && cl.view != QLatin1String("tradeoff") && cl.view != QLatin1String("runs")) {
        std::fprintf(stderr, "dlstudio: --view takes tradeoff or runs, not '%s'\n", qPrintable(cl.view));
        return std::nullopt;
    }
    cl.compareLast = parser.isSet(compareOption);
    cl.screenshot = parser.value(screenshotOption);
    cl.board = parser.value(boardOption);
    cl.positional = parser.positionalArguments();
    return cl;
}

// What --run, --view, --budget, --compare-last and --screenshot ask of the window, and whether it is shown yet.
struct Automation
{
    bool planShown = false, compared = false, listAgain = false;
};

void follow(dl::ui::MainWindow& window, const CommandLine& cl, Automation& state)
{
    const double budgetMiB = cl.budgetMiB;
    const bool compareLast = cl.compareLast;
    bool& planShown = state.planShown;
    bool& compared = state.compared;
    bool& listAgain = state.listAgain;
    // The trade-off's plan (and, asked for, the slider at a budget); the Runs view's comparison.
    QObject::connect(window.planner(), &dl::ui::TradeoffPlanner::planned, &window,
        [&window, &planShown, budgetMiB](const dl::ui::PlanResultPtr& plan) {
            if (!plan->hasFrontier()) return;
            if (budgetMiB > 0) {
                int best = 0;
                for (size_t i = 0; i < plan->frontier.size(); ++i)
                    if (std::abs(static_cast<double>(plan->frontier[i].budgetBytes) / 1048576.0 - budgetMiB) < std::abs(
                            static_cast<double>(plan->frontier[static_cast<size_t>(best)].budgetBytes) / 1048576.0
                            - budgetMiB))
                        best = static_cast<int>(i);
                window.tradeoffView()->setSelectedIndex(best);
            }
            planShown = true;
        });
    // The comparison waits for the plan, which gives the Runs view the model's hash to filter by, and a fresh list.
    if (compareLast)
        QObject::connect(window.planner(), &dl::ui::TradeoffPlanner::planned, &window, [&window, &listAgain] {
            listAgain = true;
            window.runsView()->refresh();
        });
    if (compareLast)
        QObject::connect(window.runsView(), &dl::ui::RunsView::refreshed, &window, [&window, &listAgain] {
            if (!listAgain) return;
            listAgain = false;
            dl::ui::RunFilterModel* f = window.runsView()->filterModel();
            std::vector<qint64> ids;
            for (int r = 0; r < f->rowCount(); ++r)
                ids.push_back(f->index(r, 0).data(dl::ui::RunHistoryModel::RunIdRole).toLongLong());
            std::sort(ids.begin(), ids.end());
            if (ids.size() >= 2) window.runsView()->compare(ids[ids.size() - 2], ids.back());
        });
    QObject::connect(window.runsView(), &dl::ui::RunsView::compared, &window, [&compared] { compared = true; });
}

void arrangeScreenshot(dl::ui::MainWindow& window, const CommandLine& cl, Automation& state)
{
    const QString& screenshot = cl.screenshot;
    const QString& view = cl.view;
    const bool& compareLast = cl.compareLast; // references: the lambdas below outlive this function
    const auto& runArch = cl.runArch;
    bool& planShown = state.planShown;
    bool& compared = state.compared;
    if (!screenshot.isEmpty() && !runArch && (view == QLatin1String("tradeoff") || compareLast)) {
        // Wait for what was asked to show, checking now and then.
        window.resize(1280, 800);
        window.setErrorDialogsEnabled(false);
        auto* poll = new QTimer(&window);
        QObject::connect(poll, &QTimer::timeout, &window, [&, poll] {
            if ((view == QLatin1String("tradeoff") && !planShown) || (compareLast && !compared)) return;
            poll->stop();
            grabAndQuit(window, screenshot);
        });
        poll->start(100);
        QObject::connect(&window, &dl::ui::MainWindow::errorOccurred, &window, [](const QString& message) {
            std::fprintf(stderr, "dlstudio: %s\n", qPrintable(message));
            QCoreApplication::exit(2);
        });
    } else if (!screenshot.isEmpty()) {
        // A fixed size, whatever the saved geometry, so that pictures from different runs compare.
        window.resize(1280, 800);
        window.setErrorDialogsEnabled(false);
        if (runArch)
            QObject::connect(&window, &dl::ui::MainWindow::runFinished, &window,
                [&window, screenshot](const dl::ui::RunOutcomePtr& outcome) {
                    if (outcome->status == dl::ui::RunOutcome::Status::Ok) grabAndQuit(window, screenshot);
                });
        else
            QObject::connect(&window, &dl::ui::MainWindow::modelLoaded, &window,
                [&window, screenshot] { grabAndQuit(window, screenshot); });
        QObject::connect(&window, &dl::ui::MainWindow::errorOccurred, &window, [](const QString& message) {
            std::fprintf(stderr, "dlstudio: %s\n", qPrintable(message));
            QCoreApplication::exit(2);
        });
        if (cl.positional.isEmpty()) grabAndQuit(window, screenshot);
    }
}

} // namespace

int main(int argc, char** argv)
{
    dl::ui::limitMallocRetention(); // before any thread starts
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("DemandLayering"));
    QCoreApplication::setApplicationName(QStringLiteral("Studio"));
    QCoreApplication::setApplicationVersion(QLatin1String(DL_VERSION));
    QApplication::setWindowIcon(dl::ui::appIcon());
    QTranslator translator, qtTranslator;
    installLanguage(translator, qtTranslator);
    const std::optional<CommandLine> cl = parseCommandLine(app);
    if (!cl) return 2;

    dl::ui::MainWindow window;
    if (!cl->store.isEmpty()) window.setStorePath(cl->store);
    // The run starts once the model is loaded and, with --board, the board is connected.
    bool loaded = false, boardReady = cl->board.isEmpty();
    auto startWhenReady = [&window, &cl, &loaded, &boardReady] {
        if (cl->runArch && loaded && boardReady) window.startRun();
    };
    if (cl->runArch) {
        window.runControls()->setArch(*cl->runArch);
        window.runControls()->setSplitMiB(cl->splitMiB);
        QObject::connect(&window, &dl::ui::MainWindow::modelLoaded, &window, [&loaded, startWhenReady] {
            loaded = true;
            startWhenReady();
        });
    }
    if (!cl->board.isEmpty()) {
        const bool line = cl->board.startsWith(QLatin1String("dlayer-agent "));
        // A pairing line names the fingerprint itself: the user brought it from the board's console.
        if (line) window.boards()->setConfirmFingerprint([](const QString&, const QString&) { return true; });
        QObject::connect(&window, &dl::ui::MainWindow::boardConnected, &window, [&boardReady, startWhenReady] {
            boardReady = true;
            startWhenReady();
        });
        QObject::connect(&window, &dl::ui::MainWindow::boardFailed, &window, [](const QString& message) {
            std::fprintf(stderr, "dlstudio: %s\n", qPrintable(message));
            QCoreApplication::exit(2);
        });
        window.connectToBoard(dl::ui::parseBoardInput(
            line ? QString() : cl->board, line ? cl->board : QString(), window.boards()->known()));
    }
    if (!cl->view.isEmpty())
        if (auto* dock = window.findChild<QDockWidget*>(cl->view + QStringLiteral("Dock"))) dock->raise();
    Automation state;
    follow(window, *cl, state);
    if (!cl->screenshot.isEmpty()) arrangeScreenshot(window, *cl, state);
    window.show();
    if (!cl->positional.isEmpty()) window.openFile(cl->positional.first());
    return QApplication::exec();
}
