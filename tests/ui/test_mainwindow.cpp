// The main window under the offscreen platform: opening through File → Open, errors, cancel, recent files,
// drag and drop, and window state.

#include "layertablemodel.h"
#include "mainwindow.h"
#include "model/importer.h"
#include "modelsummaryview.h"
#include "testmodels.h"

#include <QAction>
#include <QApplication>
#include <QFileDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QProcess>
#include <QProgressBar>
#include <QSettings>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <QToolButton>
#include <QUrl>

using namespace dl;
using namespace dl::ui;

namespace {
constexpr int LoadTimeoutMs = 180000;

QSettings studioSettings()
{
    return QSettings(QStringLiteral("DemandLayering"), QStringLiteral("Studio"));
}
} // namespace

class TestMainWindow : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_settingsDir;
    QTemporaryDir m_dir;
    int m_mediumLayers = 0;

    static QMessageBox* visibleErrorDialog()
    {
        for (QWidget* w : QApplication::topLevelWidgets()) {
            if (auto* box = qobject_cast<QMessageBox*>(w); box && box->isVisible()) return box;
        }
        return nullptr;
    }

    static void sendDrop(MainWindow& window, const QList<QUrl>& urls, bool* enterAccepted)
    {
        QMimeData mime;
        mime.setUrls(urls);
        const QPoint pos = window.rect().center();
        QDragEnterEvent enter(pos, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(&window, &enter);
        *enterAccepted = enter.isAccepted();
        if (!enter.isAccepted()) return;
        QDropEvent drop(QPointF(pos), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(&window, &drop);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_settingsDir.isValid());
        QVERIFY(m_dir.isValid());
        // Keep the user's own recent files and window state out of reach.
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_settingsDir.path());
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());

        // The expected row count comes straight from the engine, not through the window.
        auto graph = importModel(test::mediumModel().toStdString());
        QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
        auto summary = summarizeModel(graph.value());
        QVERIFY2(summary.ok(), summary.ok() ? "" : summary.error().message.c_str());
        m_mediumLayers = static_cast<int>(summary->layers.size());
        QVERIFY(m_mediumLayers > 10);
    }

    void init() { studioSettings().clear(); }

    void opensModelThroughFileOpenAction()
    {
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);

        // File → Open runs a modal QFileDialog; answer it as a user would once it is up.
        QTimer::singleShot(0, this, [] {
            QTRY_VERIFY(qobject_cast<QFileDialog*>(QApplication::activeModalWidget()));
            auto* dialog = qobject_cast<QFileDialog*>(QApplication::activeModalWidget());
            dialog->selectFile(test::mediumModel());
            static_cast<QDialog*>(dialog)->accept(); // QFileDialog::accept() is protected; same override
        });
        auto* open = window.findChild<QAction*>(QStringLiteral("actionOpen"));
        QVERIFY(open);
        open->trigger();

        QVERIFY(window.isLoading());
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, LoadTimeoutMs);
        QCOMPARE(loaded.at(0).at(0).toString(), test::mediumModel());
        QCOMPARE(window.layerView()->model()->rowCount(), m_mediumLayers);
        QCOMPARE(window.layerModel()->rowCount(), m_mediumLayers);
        QVERIFY(window.layerView()->isVisible());
        QVERIFY(!window.isLoading());
        QVERIFY(!window.progressBar()->isVisible());
        QCOMPARE(window.summaryView()->text(ModelSummaryView::Layers), QString::number(m_mediumLayers));
        QCOMPARE(window.summaryView()->text(ModelSummaryView::File), QStringLiteral("yolov4-tiny.cfg"));
        QCOMPARE(window.summaryView()->text(ModelSummaryView::Format), QStringLiteral("Darknet"));
        QVERIFY(window.windowTitle().contains(QStringLiteral("yolov4-tiny.cfg")));
    }

    void filterBoxFiltersTable()
    {
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(test::mediumModel());
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, LoadTimeoutMs);
        QTest::keyClicks(window.filterEdit(), QStringLiteral("maxpool"));
        const int shown = window.layerView()->model()->rowCount();
        QVERIFY(shown > 0);
        QVERIFY(shown < m_mediumLayers);
        window.filterEdit()->clear();
        QCOMPARE(window.layerView()->model()->rowCount(), m_mediumLayers);
    }

    void garbageFileReportsError()
    {
        const QString path = m_dir.filePath(QStringLiteral("broken.onnx"));
        QVERIFY(test::writeGarbage(path));
        MainWindow window;
        window.show();
        QSignalSpy errors(&window, &MainWindow::errorOccurred);
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        window.openFile(path);
        QTRY_COMPARE_WITH_TIMEOUT(errors.count(), 1, LoadTimeoutMs);
        const QString message = errors.at(0).at(0).toString();
        QVERIFY(!message.isEmpty());
        QCOMPARE(loaded.count(), 0);
        QVERIFY(!window.summary());
        QVERIFY(window.recentFiles().isEmpty());

        // The dialog shows the engine's message and does not block the event loop.
        QTRY_VERIFY(visibleErrorDialog());
        QMessageBox* box = visibleErrorDialog();
        QCOMPARE(box->icon(), QMessageBox::Critical);
        QCOMPARE(box->informativeText(), message);
        QVERIFY(box->text().contains(QStringLiteral("broken.onnx")));
        box->accept();
    }

    void suppressedDialogsStayHidden()
    {
        const QString path = m_dir.filePath(QStringLiteral("broken2.onnx"));
        QVERIFY(test::writeGarbage(path));
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.show();
        QSignalSpy errors(&window, &MainWindow::errorOccurred);
        window.openFile(path);
        QTRY_COMPARE_WITH_TIMEOUT(errors.count(), 1, LoadTimeoutMs);
        QTest::qWait(50);
        QVERIFY(!visibleErrorDialog());
    }

    void cancelButtonStopsLoad()
    {
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        QSignalSpy cancelled(&window, &MainWindow::loadCancelled);
        QSignalSpy errors(&window, &MainWindow::errorOccurred);
        QSignalSpy progress(window.loader(), &ModelLoader::progressChanged);

        window.openFile(test::largeModel());
        QVERIFY(window.isLoading());
        QVERIFY(window.cancelButton()->isVisible());
        QVERIFY(window.progressBar()->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty(), LoadTimeoutMs);

        QTest::mouseClick(window.cancelButton(), Qt::LeftButton);
        QCOMPARE(cancelled.count(), 1);
        QVERIFY(!window.isLoading());
        QVERIFY(!window.cancelButton()->isVisible());
        QVERIFY(!window.progressBar()->isVisible());

        QTRY_COMPARE_WITH_TIMEOUT(window.loader()->runningJobs(), 0, LoadTimeoutMs);
        QTest::qWait(50);
        QCOMPARE(loaded.count(), 0);
        QCOMPARE(errors.count(), 0);
        QCOMPARE(cancelled.count(), 1);
        QVERIFY(!window.isLoading());
        QVERIFY(!window.summary());
        QCOMPARE(window.layerModel()->rowCount(), 0);
    }

    void recentFilesUpdate()
    {
        // Stale entries from an earlier session: the list keeps the newest ten.
        QStringList old;
        for (int i = 0; i < 12; ++i)
            old.append(QStringLiteral("/nowhere/old%1.onnx").arg(i));
        studioSettings().setValue(QStringLiteral("recentFiles"), old);

        MainWindow window;
        window.setErrorDialogsEnabled(false);
        QCOMPARE(window.recentFiles(), old);
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);

        window.openFile(test::smallOnnxModel());
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, LoadTimeoutMs);
        window.openFile(test::mediumModel());
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 2, LoadTimeoutMs);

        QStringList files = window.recentFiles();
        QCOMPARE(files.size(), MainWindow::MaxRecentFiles);
        QCOMPARE(files.at(0), test::mediumModel());
        QCOMPARE(files.at(1), test::smallOnnxModel());
        QCOMPARE(files.at(2), old.at(0));

        // The menu lists them in the same order, and choosing one opens it and moves it to the top.
        QList<QAction*> entries;
        for (QAction* action : window.recentMenu()->actions()) {
            if (!action->data().toString().isEmpty()) entries.append(action);
        }
        QCOMPARE(entries.size(), MainWindow::MaxRecentFiles);
        QCOMPARE(entries.at(0)->data().toString(), test::mediumModel());
        entries.at(1)->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 3, LoadTimeoutMs);
        files = window.recentFiles();
        QCOMPARE(files.at(0), test::smallOnnxModel());
        QCOMPARE(files.at(1), test::mediumModel());
        QCOMPARE(files.count(test::smallOnnxModel()), 1);

        // A new window reads the same list.
        MainWindow other;
        QCOMPARE(other.recentFiles(), files);
        other.clearRecentFiles();
        QVERIFY(window.recentFiles().isEmpty());
        QVERIFY(!other.recentMenu()->isEnabled());
    }

    void dropOpensModelFiles()
    {
        MainWindow window;
        window.setErrorDialogsEnabled(false);
        window.show();
        QSignalSpy loaded(&window, &MainWindow::modelLoaded);
        bool accepted = true;

        const QString text = m_dir.filePath(QStringLiteral("readme.txt"));
        QVERIFY(test::writeGarbage(text));
        sendDrop(window, { QUrl::fromLocalFile(text) }, &accepted);
        QVERIFY(!accepted);
        QVERIFY(!window.isLoading());

        sendDrop(window, { QUrl::fromLocalFile(text), QUrl::fromLocalFile(test::smallOnnxModel()) }, &accepted);
        QVERIFY(accepted);
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, LoadTimeoutMs);
        QCOMPARE(loaded.at(0).at(0).toString(), test::smallOnnxModel());
        QVERIFY(window.layerModel()->rowCount() > 0);
    }

    void windowStateIsRestored()
    {
        {
            MainWindow window;
            window.show();
            QVERIFY(QTest::qWaitForWindowExposed(&window));
            window.resize(1213, 677);
            QTRY_COMPARE(window.size(), QSize(1213, 677));
            window.close();
        }
        MainWindow restored;
        restored.show();
        QVERIFY(QTest::qWaitForWindowExposed(&restored));
        QCOMPARE(restored.size(), QSize(1213, 677));
    }

    // dlstudio's own options: a value it cannot use stops it with the option named, before any window opens.
    void studioRefusesBadCommandLines()
    {
        const QList<QPair<QStringList, QString>> cases {
            { { QStringLiteral("--budget"), QStringLiteral("twelve") }, QStringLiteral("--budget takes a size") },
            { { QStringLiteral("--budget"), QStringLiteral("-3") }, QStringLiteral("--budget takes a size") },
            { { QStringLiteral("--split"), QStringLiteral("2") }, QStringLiteral("give --run ARCH with it") },
            { { QStringLiteral("--run"), QStringLiteral("warp") }, QStringLiteral("--run takes preload") },
            { { QStringLiteral("--run"), QStringLiteral("sync"), QStringLiteral("--split"), QStringLiteral("0") },
                QStringLiteral("--split takes a size") },
            { { QStringLiteral("--view"), QStringLiteral("nowhere") },
                QStringLiteral("--view takes tradeoff or runs") },
        };
        for (const auto& [args, message] : cases) {
            QProcess studio;
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
            studio.setProcessEnvironment(env);
            studio.start(QStringLiteral(DL_DLSTUDIO), args);
            QVERIFY(studio.waitForFinished(60000));
            const QString err = QString::fromUtf8(studio.readAllStandardError());
            QCOMPARE(studio.exitCode(), 2);
            QVERIFY2(err.contains(message), qPrintable(args.join(QLatin1Char(' ')) + QStringLiteral(": ") + err));
        }
    }
};

QTEST_MAIN(TestMainWindow)
#include "test_mainwindow.moc"
