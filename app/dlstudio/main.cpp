// dlstudio: opens the main window, optionally with a model, in the user's language.
//
//   dlstudio [MODEL] [--lang ko] [--screenshot FILE.png]
//
// --screenshot grabs the window once the model has loaded and quits (exit status 0), or quits with status 2 on a
// load error: the README's run check and its screenshot both come from it.

#include "appicon.h"
#include "mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QLocale>
#include <QPixmap>
#include <QTimer>
#include <QTranslator>

#include <cstdio>

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

} // namespace

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("DemandLayering"));
    QCoreApplication::setApplicationName(QStringLiteral("Studio"));
    QCoreApplication::setApplicationVersion(QLatin1String(DL_VERSION));
    QApplication::setWindowIcon(dl::ui::appIcon());

    const QString language = languageArgument(QCoreApplication::arguments());
    const QLocale locale = language.isEmpty() ? QLocale() : QLocale(language);
    if (!language.isEmpty()) QLocale::setDefault(locale);
    QTranslator translator;
    // The .qm files are compiled in by qt_add_translations under :/i18n.
    if (translator.load(locale, QStringLiteral("dlstudio"), QStringLiteral("_"), QStringLiteral(":/i18n")))
        QCoreApplication::installTranslator(&translator);

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
    parser.addOption(langOption);
    parser.addOption(screenshotOption);
    parser.process(app);

    dl::ui::MainWindow window;
    const QString screenshot = parser.value(screenshotOption);
    const QStringList positional = parser.positionalArguments();
    if (!screenshot.isEmpty()) {
        // A fixed size, whatever the saved geometry, so that pictures from different runs compare.
        window.resize(1280, 800);
        window.setErrorDialogsEnabled(false);
        QObject::connect(&window, &dl::ui::MainWindow::modelLoaded, &window,
            [&window, screenshot] { grabAndQuit(window, screenshot); });
        QObject::connect(&window, &dl::ui::MainWindow::errorOccurred, &window, [](const QString& message) {
            std::fprintf(stderr, "dlstudio: %s\n", qPrintable(message));
            QCoreApplication::exit(2);
        });
        if (positional.isEmpty()) grabAndQuit(window, screenshot);
    }
    window.show();
    if (!positional.isEmpty()) window.openFile(positional.first());
    return QApplication::exec();
}
