#pragma once

// The studio's main window: opens a model (File → Open, Open Recent, command line, drag and drop) through a
// ModelLoader, shows its summary and layer table, and reports progress with a Cancel button in the status bar.
// Runs go through an EngineSession (a LocalSession unless another is set): the Run dock starts and stops them, the
// timeline and memory docks follow them live, and each finished run fills the table's per-layer columns and is
// recorded in the run store (storePath()).

#include "boards.h"
#include "enginesession.h"
#include "modelloader.h"
#include "runrecorder.h"
#include "runstorejobs.h"
#include "tradeoffplanner.h"
#include "workerthreads.h"

#include <QMainWindow>
#include <QPointer>
#include <QStringList>

class QAction;
class QCustomPlot;
class QDockWidget;
class QLabel;
class QLineEdit;
class QMenu;
class QProgressBar;
class QSortFilterProxyModel;
class QSplitter;
class QThread;
class QStackedWidget;
class QTableView;
class QToolButton;

namespace dl::ui {

class LayerTableModel;
class MemoryView;
class ModelSummaryView;
class RunControls;
class TimelineView;
class TradeoffView;
class RunsView;

class MainWindow : public QMainWindow
{
    Q_OBJECT
    // False keeps errors off the screen (tests, --screenshot); errorOccurred() is emitted either way.
    Q_PROPERTY(bool errorDialogsEnabled READ errorDialogsEnabled WRITE setErrorDialogsEnabled)
    Q_PROPERTY(bool loading READ isLoading NOTIFY loadingChanged)
public:
    static constexpr int MaxRecentFiles = 10;
    // The settings key of the interface language View → Language chose ("en", "ko"; empty: the system's).
    static inline const QString LanguageKey = QStringLiteral("language");

    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // What File → Open does once the user picked a file; also the command line, recent files and drops.
    void openFile(const QString& path);
    // Cancels the load in progress, as the status bar's Cancel button does.
    void cancelLoading();
    // File → Close Model: stops the model's run and a load in progress, empties the views and shows the welcome page.
    void closeModel();

    bool isLoading() const;
    bool errorDialogsEnabled() const { return m_errorDialogs; }
    void setErrorDialogsEnabled(bool enabled) { m_errorDialogs = enabled; }

    // Most recent first, at most MaxRecentFiles, kept in QSettings ("DemandLayering", "Studio").
    QStringList recentFiles() const;
    void clearRecentFiles();
    // Whether a drop of this path would be opened: .onnx and .cfg files.
    static bool isModelFile(const QString& path);

    std::shared_ptr<const ModelSummary> summary() const { return m_summary; }
    QString currentFile() const { return m_currentFile; }
    LayerTableModel* layerModel() const { return m_layerModel; }
    QSortFilterProxyModel* layerProxy() const { return m_proxy; }
    QTableView* layerView() const { return m_layerView; }
    QLineEdit* filterEdit() const { return m_filter; }
    ModelSummaryView* summaryView() const { return m_summaryView; }
    ModelLoader* loader() const { return m_loader; }
    QMenu* recentMenu() const { return m_recentMenu; }
    QToolButton* cancelButton() const { return m_cancelButton; }
    QProgressBar* progressBar() const { return m_progress; }

    // Runs the open model as the Run dock is set (what Run does); 0 when there is no model or a run is going on.
    quint64 startRun();
    void stopRun();
    bool isRunning() const;
    // The session runs go to; the window takes ownership of `session` and drops the one it had (when idle).
    void setSession(EngineSession* session);
    EngineSession* session() const { return m_session; }
    // A ceiling on what the engine's memory ledger may hold in the runs started from now on (0: none).
    void setMemoryLimit(qint64 bytes) { m_memoryLimitBytes = bytes; }
    // The run store: QSettings "runStore", else runs.sqlite in the user's data location.
    QString storePath() const { return m_storePath; }
    void setStorePath(const QString& path);
    static QString defaultStorePath();
    RunControls* runControls() const { return m_runControls; }
    TimelineView* timelineView() const { return m_timeline; }
    MemoryView* memoryView() const { return m_memory; }
    RunOutcomePtr lastOutcome() const { return m_lastOutcome; }
    TradeoffView* tradeoffView() const { return m_tradeoff; }
    TradeoffPlanner* planner() const { return m_planner; }
    RunsView* runsView() const { return m_runs; }
    // Shows a recorded run in the timeline and memory views (Runs → Open Timeline).
    void showStoredRun(const StoredRunPtr& run);
    // Writes a plot (the timeline's, the memory graph's, the trade-off's or the difference plot) as PNG or PDF by the
    // path's suffix; plotExported() tells how it went.
    void exportPlot(QCustomPlot* plot, const QString& path);
    // The versions the about box lists: engine, Qt, oneDNN, SQLite, QCustomPlot, CUDA (when built with it).
    static QString versionsText();
    // What View → Language does: keeps `language` for the next start ("" for the system's) and says so.
    void setLanguage(const QString& language);
    // Plans the open model's trade-off again (after a run, another architecture, another store).
    void replan();
    // What Export Configuration… does once a file is chosen: writes the slider's choice there, off the GUI thread;
    // configExported() tells how it went. False when there is no choice to export.
    bool exportConfiguration(const QString& path);
    // The same for a given plan and choice.
    bool exportConfiguration(const QString& path, const PlanResultPtr& plan, const plan::Choice& choice);
    RunInfoPtr currentRun() const { return m_runInfo; }

    // The board (File → Connect to Board…): connects in the background and, once trusted, runs go there;
    // boardConnected() or boardFailed() follows. Disconnecting goes back to the local engine.
    void connectToBoard(const BoardInput& input);
    void disconnectBoard();
    Boards* boards() const { return m_boards; }
    RemoteSession* remoteSession() const;
    // The status bar's "where runs go" (the local engine, or the board and its backend).
    QLabel* whereLabel() const { return m_where; }
    // Deploy to Board: the trade-off's chosen configuration saved on the board under `name` (`dlayer run MODEL
    // --config NAME` there runs it); configDeployed() follows. False when there is no board or no choice.
    bool deployConfiguration(const QString& name);

Q_SIGNALS:
    void modelLoaded(const QString& path);
    void errorOccurred(const QString& message);
    void loadCancelled(const QString& path);
    void loadingChanged(bool loading);
    void runStarted(quint64 id);
    void runFinished(dl::ui::RunOutcomePtr outcome);
    void configExported(const QString& path, bool ok, const QString& message);
    void plotExported(const QString& path, const QString& error);
    void boardConnected(const QString& description);
    void boardFailed(const QString& message);
    void boardLinkLost(const QString& message);
    void runsSynced(int fetched, const QString& error);
    void configDeployed(const QString& name, const QString& error);

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void createActions();
    void createCentralWidget();
    void createStatusBar();
    void createDocks();
    void connectSession();
    void chooseStorePath();
    void onRunStarted(const RunInfoPtr& info);
    void onRunEvents(const EventBatchPtr& batch);
    void onRunFinished(const RunOutcomePtr& outcome);
    void onRunProgress(quint64 id, const QString& phase, int percent);
    void selectLayerRow(int layer);
    void startChoiceRun(const plan::Choice& choice);
    // The Run dock's request for the open model, recorded in the store.
    RunRequest requestForModel() const;
    void startProfileRun();
    void showOpenDialog();
    void showAbout();
    void onLoadStarted(const QString& path);
    void onLoadFinished(const LoadResultPtr& result);
    void onLoadCancelled(const QString& path);
    void onBusyChanged(bool busy);
    void onBoardReady(RemoteSession* session);
    void updateWhere();
    void showConnectDialog();
    void reportError(const QString& path, const QString& message);
    // errorOccurred(detail), and a warning box unless error dialogs are off.
    void warn(const QString& title, const QString& text, const QString& detail);
    void addRecentFile(const QString& path);
    void updateRecentMenu();
    void updateTitle();
    void updateLayerCount();
    void saveWindowState() const;
    void restoreWindowState();

    ModelLoader* m_loader = nullptr;
    LayerTableModel* m_layerModel = nullptr;
    QSortFilterProxyModel* m_proxy = nullptr;
    QStackedWidget* m_stack = nullptr;
    QSplitter* m_splitter = nullptr;
    ModelSummaryView* m_summaryView = nullptr;
    QTableView* m_layerView = nullptr;
    QLineEdit* m_filter = nullptr;
    QLabel* m_layerCount = nullptr;
    QProgressBar* m_progress = nullptr;
    QToolButton* m_cancelButton = nullptr;
    QAction* m_cancelAction = nullptr;
    QAction* m_closeAction = nullptr;
    QMenu* m_recentMenu = nullptr;
    std::shared_ptr<const ModelSummary> m_summary;
    QString m_currentFile;
    QString m_weightsFile; // the Darknet .weights the loader used, if any
    EngineSession* m_session = nullptr;
    RunRecorder* m_recorder = new RunRecorder(this);
    qint64 m_memoryLimitBytes = 0;
    RunControls* m_runControls = nullptr;
    TimelineView* m_timeline = nullptr;
    MemoryView* m_memory = nullptr;
    RunsView* m_runs = nullptr;
    QAction* m_runAction = nullptr;
    QAction* m_stopAction = nullptr;
    QString m_storePath;
    quint64 m_runId = 0; // the run the views follow
    QString m_runModel; // the model that run runs: its layers go to the layer table only while that model is open
    RunInfoPtr m_runInfo;
    RunOutcomePtr m_lastOutcome;
    TradeoffView* m_tradeoff = nullptr;
    TradeoffPlanner* m_planner = nullptr;
    WorkerThreads* m_writers = new WorkerThreads(this); // files being written in the background
    quint64 m_verifyRunId = 0; // a run of the trade-off's choice, whose measurement goes beside the prediction
    bool m_errorDialogs = true;
    Boards* m_boards = new Boards(this);
    QLabel* m_where = nullptr;
    QAction* m_disconnectAction = nullptr;
    QAction* m_deployAction = nullptr;
};

} // namespace dl::ui
