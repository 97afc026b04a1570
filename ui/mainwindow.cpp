#include "mainwindow.h"

#include "format.h"
#include "layertablemodel.h"
#include "localsession.h"
#include "memoryview.h"
#include "modelsummaryview.h"
#include "plotexport.h"
#include "runcontrols.h"
#include "runsview.h"
#include "timelineview.h"
#include "tradeoffview.h"

#include "qcustomplotheader.h"

#include "core/procstat.h"
#include "core/random.h"
#include "model/importer.h"
#include "pack/layerpack.h"
#include "pack/packcache.h"
#include "pipeline/pipeline.h"
#include "plan/config.h"
#include "runbuild.h"
#include "runstore.h"
#include "runtime/executor.h"
#include "runtime/versions.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QGroupBox>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPointer>
#include <QProgressBar>
#include <QScrollArea>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableView>
#include <QThread>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>

#include <algorithm>
#include <memory>

namespace dl::ui {

namespace {

std::unique_ptr<QSettings> studioSettings()
{
    return std::make_unique<QSettings>(QStringLiteral("DemandLayering"), QStringLiteral("Studio"));
}

const QString RecentFilesKey = QStringLiteral("recentFiles");
const QString LastDirectoryKey = QStringLiteral("lastDirectory");
const QString GeometryKey = QStringLiteral("mainWindow/geometry");
const QString StateKey = QStringLiteral("mainWindow/state");
const QString SplitterKey = QStringLiteral("mainWindow/splitter");
const QString HeaderKey = QStringLiteral("layerTable/header");
const QString StoreKey = QStringLiteral("runStore");

enum Page { WelcomePage, ModelPage };

QString firstModelPath(const QMimeData* mime)
{
    if (!mime || !mime->hasUrls()) return {};
    for (const QUrl& url : mime->urls()) {
        if (url.isLocalFile() && MainWindow::isModelFile(url.toLocalFile())) return url.toLocalFile();
    }
    return {};
}

} // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent)
    , m_loader(new ModelLoader(this))
    , m_layerModel(new LayerTableModel(this))
    , m_proxy(new QSortFilterProxyModel(this))
{
    setObjectName(QStringLiteral("MainWindow"));
    setAcceptDrops(true);

    m_proxy->setSourceModel(m_layerModel);
    m_proxy->setSortRole(LayerTableModel::SortRole);
    m_proxy->setFilterKeyColumn(-1);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);

    m_storePath = studioSettings()->value(StoreKey, defaultStorePath()).toString();
    createCentralWidget();
    createDocks();
    createActions();
    createStatusBar();
    m_recorder->setStorePath(m_storePath);
    connect(m_recorder, &RunRecorder::recorded, this, &MainWindow::onRunFinished);
    setSession(new LocalSession(this));
    m_boards->setStorePath(m_storePath);
    connect(m_boards, &Boards::ready, this, &MainWindow::onBoardReady);
    connect(m_boards, &Boards::failed, this, [this](const QString& message) {
        statusBar()->showMessage(tr("Not connected: %1").arg(message));
        Q_EMIT boardFailed(message);
        warn(tr("Connect to Board"), tr("The studio could not connect."), message);
    });
    connect(m_boards, &Boards::warning, this, [this](const QString& message) { statusBar()->showMessage(message); });
    m_runs->setStorePath(m_storePath);

    connect(m_loader, &ModelLoader::started, this, &MainWindow::onLoadStarted);
    connect(m_loader, &ModelLoader::progressChanged, m_progress, &QProgressBar::setValue);
    connect(m_loader, &ModelLoader::finished, this, &MainWindow::onLoadFinished);
    connect(m_loader, &ModelLoader::cancelled, this, &MainWindow::onLoadCancelled);
    connect(m_loader, &ModelLoader::busyChanged, this, &MainWindow::onBusyChanged);

    updateRecentMenu();
    updateTitle();
    restoreWindowState();
}

MainWindow::~MainWindow()
{
    // Files being written finish before the window that is told about them goes.
    delete m_writers;
}

void MainWindow::createCentralWidget()
{
    m_stack = new QStackedWidget(this);

    auto* welcome = new QLabel(
        tr("Open a model with File → Open, or drop an ONNX (.onnx) or Darknet (.cfg) file here."), m_stack);
    welcome->setObjectName(QStringLiteral("welcomeLabel"));
    welcome->setAlignment(Qt::AlignCenter);
    welcome->setWordWrap(true);
    m_stack->addWidget(welcome);

    m_splitter = new QSplitter(Qt::Horizontal, m_stack);
    m_splitter->setObjectName(QStringLiteral("mainSplitter"));

    auto* summaryBox = new QGroupBox(tr("Model"), m_splitter);
    auto* summaryLayout = new QVBoxLayout(summaryBox);
    auto* scroll = new QScrollArea(summaryBox);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    m_summaryView = new ModelSummaryView(scroll);
    scroll->setWidget(m_summaryView);
    summaryLayout->addWidget(scroll);

    auto* layersBox = new QGroupBox(tr("Layers"), m_splitter);
    auto* layersLayout = new QVBoxLayout(layersBox);
    auto* filterRow = new QHBoxLayout;
    m_filter = new QLineEdit(layersBox);
    m_filter->setObjectName(QStringLiteral("layerFilter"));
    m_filter->setPlaceholderText(tr("Filter by name, operator or shape"));
    m_filter->setClearButtonEnabled(true);
    m_layerCount = new QLabel(layersBox);
    filterRow->addWidget(m_filter, 1);
    filterRow->addWidget(m_layerCount);
    layersLayout->addLayout(filterRow);

    m_layerView = new QTableView(layersBox);
    m_layerView->setObjectName(QStringLiteral("layerTable"));
    m_layerView->setModel(m_proxy);
    m_layerView->setSortingEnabled(true);
    m_layerView->sortByColumn(LayerTableModel::IndexColumn, Qt::AscendingOrder);
    m_layerView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_layerView->setAlternatingRowColors(true);
    m_layerView->setWordWrap(false);
    m_layerView->setTextElideMode(Qt::ElideMiddle);
    m_layerView->verticalHeader()->hide();
    m_layerView->verticalHeader()->setDefaultSectionSize(m_layerView->fontMetrics().height() + 6);
    m_layerView->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    // The operator chain is the one column whose width varies a lot; it takes the slack.
    m_layerView->horizontalHeader()->setSectionResizeMode(LayerTableModel::OpsColumn, QHeaderView::Stretch);
    layersLayout->addWidget(m_layerView);

    connect(m_layerView->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
        [this](const QModelIndex& current) {
            if (m_timeline)
                m_timeline->selectLayer(current.isValid() ? current.data(LayerTableModel::LayerIndexRole).toInt() : -1);
        });
    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) {
        m_proxy->setFilterFixedString(text);
        updateLayerCount();
    });

    m_splitter->addWidget(summaryBox);
    m_splitter->addWidget(layersBox);
    m_splitter->setStretchFactor(0, 0);
    m_splitter->setStretchFactor(1, 1);
    m_splitter->setSizes({ 280, 920 });
    m_stack->addWidget(m_splitter);
    setCentralWidget(m_stack);
}

void MainWindow::createDocks()
{
    setDockOptions(AnimatedDocks | AllowNestedDocks | AllowTabbedDocks);
    auto dock = [this](QWidget* widget, const QString& title, const QString& name, Qt::DockWidgetArea area) {
        auto* d = new QDockWidget(title, this);
        d->setObjectName(name);
        d->setWidget(widget);
        addDockWidget(area, d);
        return d;
    };
    m_runControls = new RunControls(this);
    dock(m_runControls, tr("Run"), QStringLiteral("runDock"), Qt::LeftDockWidgetArea);
    m_timeline = new TimelineView(this);
    m_timeline->setObjectName(QStringLiteral("timelineView"));
    m_timeline->setMinimumHeight(120);
    QDockWidget* timelineDock
        = dock(m_timeline, tr("Pipeline Timeline"), QStringLiteral("timelineDock"), Qt::BottomDockWidgetArea);
    m_memory = new MemoryView(this);
    m_memory->setObjectName(QStringLiteral("memoryView"));
    m_memory->setMinimumHeight(120);
    QDockWidget* memoryDock = dock(m_memory, tr("Memory"), QStringLiteral("memoryDock"), Qt::BottomDockWidgetArea);
    splitDockWidget(timelineDock, memoryDock, Qt::Horizontal);
    m_tradeoff = new TradeoffView(this);
    m_tradeoff->setObjectName(QStringLiteral("tradeoffView"));
    QDockWidget* tradeoffDock
        = dock(m_tradeoff, tr("Trade-off"), QStringLiteral("tradeoffDock"), Qt::RightDockWidgetArea);
    m_runs = new RunsView(this);
    m_runs->setObjectName(QStringLiteral("runsView"));
    QDockWidget* runsDock = dock(m_runs, tr("Runs"), QStringLiteral("runsDock"), Qt::RightDockWidgetArea);
    tabifyDockWidget(tradeoffDock, runsDock);
    tradeoffDock->raise();
    connect(m_runs, &RunsView::timelineLoaded, this, &MainWindow::showStoredRun);
    connect(m_runs, &RunsView::errorOccurred, this, [this](const QString& message) {
        statusBar()->showMessage(message);
        Q_EMIT errorOccurred(message);
    });
    m_planner = new TradeoffPlanner(this);
    connect(m_planner, &TradeoffPlanner::planned, this, [this](const PlanResultPtr& r) {
        // A plan of another model than the open one is stale.
        if (r->request.modelPath != m_currentFile) return;
        m_tradeoff->setResult(r);
        m_runs->setModelHash(r->modelHash);
    });
    connect(m_tradeoff, &TradeoffView::residentChanged, this,
        [this](const std::vector<bool>& resident, const std::vector<std::string>& names) {
            m_layerModel->setResident(resident, names);
        });
    connect(m_tradeoff, &TradeoffView::archChanged, this, &MainWindow::replan);
    connect(m_tradeoff, &TradeoffView::precisionChanged, this, &MainWindow::replan);
    connect(m_tradeoff, &TradeoffView::runRequested, this, &MainWindow::startChoiceRun);
    connect(m_tradeoff, &TradeoffView::profileRequested, this, &MainWindow::startProfileRun);
    connect(m_tradeoff, &TradeoffView::exportRequested, this, [this](const plan::Choice& choice) {
        // The plan and the choice as they were when asked: a plan that arrives while the dialog is open changes them.
        const PlanResultPtr plan = m_tradeoff->result();
        const QString path = QFileDialog::getSaveFileName(this, tr("Export Configuration"),
            QDir(QFileInfo(m_currentFile).absolutePath())
                .filePath(QFileInfo(m_currentFile).completeBaseName() + QStringLiteral(".config.json")),
            tr("Configurations (*.json);;All files (*)"));
        if (!path.isEmpty()) exportConfiguration(path, plan, choice);
    });
    resizeDocks({ timelineDock, memoryDock }, { 640, 520 }, Qt::Horizontal);
    resizeDocks({ tradeoffDock }, { 460 }, Qt::Horizontal);
    resizeDocks({ timelineDock }, { 300 }, Qt::Vertical);

    connect(m_runControls, &RunControls::runRequested, this, [this] { startRun(); });
    connect(m_runControls, &RunControls::stopRequested, this, &MainWindow::stopRun);
    connect(m_timeline, &TimelineView::layerClicked, this, &MainWindow::selectLayerRow);
}

void MainWindow::setSession(EngineSession* session)
{
    if (!session || session == m_session) return;
    if (m_session && m_session->isRunning()) return;
    delete m_session;
    m_session = session;
    m_session->setParent(this);
    connectSession();
}

void MainWindow::connectSession()
{
    connect(m_session, &EngineSession::runStarted, this, &MainWindow::onRunStarted);
    connect(m_session, &EngineSession::eventsArrived, this, &MainWindow::onRunEvents);
    // The views take a run's outcome once it is recorded (with the identity of the device that ran it).
    m_recorder->attach(m_session);
    connect(m_session, &EngineSession::runFinished, this, [this](const RunOutcomePtr& outcome) {
        if (outcome->id == m_runId && !m_recorder->storePath().isEmpty())
            m_runControls->setProgress(tr("Recording the run…"), -1);
    });
    connect(m_session, &EngineSession::progressChanged, this, &MainWindow::onRunProgress);
    connect(m_session, &EngineSession::busyChanged, this, [this](bool busy) {
        m_runControls->setRunning(busy);
        m_runAction->setEnabled(!busy && m_summary);
        m_stopAction->setEnabled(busy);
    });
}

QString MainWindow::defaultStorePath()
{
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    return QDir(dir.isEmpty() ? QDir::homePath() : dir).filePath(QStringLiteral("runs.sqlite"));
}

void MainWindow::setStorePath(const QString& path)
{
    m_storePath = path;
    m_recorder->setStorePath(path);
    m_boards->setStorePath(path);
    if (RemoteSession* remote = remoteSession()) remote->setStorePath(path);
    studioSettings()->setValue(StoreKey, path);
    if (m_runs) m_runs->setStorePath(path);
    replan();
}

void MainWindow::showStoredRun(const StoredRunPtr& run)
{
    if (!run) return;
    auto info = std::make_shared<RunInfo>();
    info->id = 0; // not a live run: the views follow it until the next one starts
    info->modelPath = QString::fromStdString(run->model.path);
    info->arch = parseArch(run->arch).value_or(Arch::TwoStage);
    for (const auto& l : run->layers) {
        info->layerNames.push_back(l.name);
        info->layerBytes.push_back(l.bytes);
        info->resident.push_back(l.resident);
    }
    // The first span after set-up is time 0, as in a live run (set-up's spans, if any, come before it).
    int64_t origin = INT64_MAX, first = INT64_MAX;
    for (const auto& e : run->events) {
        first = std::min(first, e.beginNs);
        if (e.iteration >= 0) origin = std::min(origin, e.beginNs);
    }
    info->originNs = origin != INT64_MAX ? origin : first != INT64_MAX ? first : 0;
    auto batch = std::make_shared<EventBatch>();
    batch->id = 0;
    for (const auto& e : run->events)
        batch->events.push_back(store::traceEventOf(e));
    for (const auto& m : run->samples)
        batch->counters.push_back(store::counterSampleOf(m));
    // The live run, if any, goes on and is still reported; only the views show the stored one (their run id 0
    // drops the live batches) until the next run starts.
    m_runInfo = info;
    m_timeline->beginRun(info);
    m_memory->beginRun(info);
    m_timeline->addEvents(batch);
    m_memory->addEvents(batch);
    m_timeline->showAll();
    // A run of whole layers, or of pieces: the table shows each piece's on its layer's row.
    m_layerModel->setResident(info->resident, info->layerNames);
    m_layerModel->setRunStats(run->layers);
    m_layerModel->setStored({}, {}, {}); // the store keeps no layer's stored type
    statusBar()->showMessage(tr("Showing run %1 (%2, %3)")
                                 .arg(run->id)
                                 .arg(QString::fromStdString(run->arch), QString::fromStdString(run->model.name)));
}

void MainWindow::exportPlot(QCustomPlot* plot, const QString& path)
{
    writeFileInBackground(*m_writers, path, renderPlot(plot, path), [this, path](const QString& error) {
        statusBar()->showMessage(error.isEmpty() ? tr("Saved %1").arg(QDir::toNativeSeparators(path)) : error);
        Q_EMIT plotExported(path, error);
    });
}

void MainWindow::setLanguage(const QString& language)
{
    studioSettings()->setValue(LanguageKey, language);
    statusBar()->showMessage(tr("The language changes when the studio starts again"));
}

QString MainWindow::versionsText()
{
    const std::string cuda = cudaVersion();
    return tr("Engine %1; Qt %2; oneDNN %3; SQLite %4; QCustomPlot %5; CUDA %6")
        .arg(QLatin1String(DL_VERSION), QLatin1String(qVersion()), QString::fromStdString(oneDnnVersion()),
            QLatin1String(store::sqliteVersion()), QLatin1String(QCUSTOMPLOT_VERSION_STR),
            cuda.empty() ? tr("not built in") : QString::fromStdString(cuda));
}

void MainWindow::replan()
{
    if (!m_summary || m_currentFile.isEmpty() || !m_planner) return;
    PlanRequest r;
    r.storePath = m_storePath;
    r.modelPath = m_currentFile;
    r.weightsPath = m_weightsFile;
    r.arch = m_tradeoff->arch();
    r.precision = m_tradeoff->precision();
    r.layers = m_layerModel->rowCount();
    // A board's runs plan the board: the trade-off weighs the runs of the device the runs go to.
    if (RemoteSession* remote = remoteSession()) r.deviceHost = remote->board().host;
    m_planner->plan(r);
}

void MainWindow::startChoiceRun(const plan::Choice& choice)
{
    const PlanResultPtr plan = m_tradeoff->result();
    if (!plan || m_session->isRunning()) return;
    m_runControls->setArch(plan->request.arch);
    m_runControls->setBudgetMiB(0);
    m_runControls->setContinuous(false);
    RunRequest r = requestForModel();
    r.stagingBytes = static_cast<qint64>(choice.config.stagingBytes);
    r.resident = choice.config.resident;
    r.budgetBytes = 0;
    r.precision = plan->request.precision; // what the plan's profiles read (dl::plan::chooseProfiles)
    // Its layers as its profile cut them: the resident set names them.
    r.splitBytes = plan->profiles.empty() ? 0 : static_cast<qint64>(plan->profileOf(choice).splitBytes);
    m_runInfo.reset();
    m_runId = m_session->start(r);
    m_runModel = m_currentFile;
    m_verifyRunId = m_runId;
    if (m_runId) {
        statusBar()->showMessage(
            tr("Verifying the %1 budget's configuration…").arg(formatBytes(static_cast<size_t>(choice.budgetBytes))));
        Q_EMIT runStarted(m_runId);
    }
}

void MainWindow::startProfileRun()
{
    if (m_session->isRunning()) return;
    m_runControls->setArch(Arch::Sequential);
    m_runControls->setBudgetMiB(0);
    m_runControls->setContinuous(false);
    // A profile of the packs the trade-off plans for (dl::plan::chooseProfiles).
    m_runControls->setPrecision(m_tradeoff->precision());
    startRun();
}

bool MainWindow::exportConfiguration(const QString& path)
{
    const plan::Choice* choice = m_tradeoff->selectedChoice();
    return choice && exportConfiguration(path, m_tradeoff->result(), *choice);
}

namespace {

// The configuration a choice of the plan names, with where its prediction came from.
plan::RunConfig configOf(const PlanResult& planResult, const plan::Choice& chosen)
{
    const PlanResult* plan = &planResult;
    const plan::Choice* choice = &chosen;
    const PlanProfile& profile = plan->profileOf(chosen); // whose layers the configuration names
    plan::RunConfig c;
    c.modelHash = plan->modelHash.toStdString();
    c.modelName = plan->modelName.toStdString();
    c.layers = static_cast<int>(profile.model.layers.size());
    c.arch = plan->request.arch;
    c.precision = plan->request.precision; // the packs its profiles read
    c.splitBytes = profile.splitBytes;
    c.stagingBytes = choice->config.stagingBytes;
    c.resident = choice->config.resident;
    c.budgetBytes = choice->budgetBytes;
    c.predictedLatencyMs = choice->prediction.latencyMs;
    c.predictedWeightsBytes = choice->prediction.weightsPeak;
    c.predictedPeakBytes = choice->prediction.peakTotal;
    c.lowerBoundMs = choice->lowerBoundMs;
    c.madeBy = "dlstudio " DL_VERSION;
    c.madeAt = QDateTime::currentDateTimeUtc().toString(Qt::ISODate).toStdString();
    c.profile = QStringLiteral("run %1 (%2) in %3")
                    .arg(profile.runId)
                    .arg(profile.arch, plan->request.storePath)
                    .toStdString();
    if (profile.calibrationRunId)
        c.profile += QStringLiteral("; contention from run %1: reads beside kernels at %2 of the disk's rate")
                         .arg(profile.calibrationRunId)
                         .arg(profile.model.contention.readFactor, 0, 'f', 2)
                         .toStdString();
    if (profile.kernelScale != 1.0)
        c.profile += QStringLiteral("; kernels × %1, to the speed of run %2 on the layers both profiles share")
                         .arg(profile.kernelScale, 0, 'f', 3)
                         .arg(plan->frontierProfile()->runId)
                         .toStdString();
    if (plan->profiles.size() > 1) {
        QStringList others;
        for (const PlanProfile& p : plan->profiles)
            if (p.runId != profile.runId)
                others << (p.splitBytes ? QStringLiteral("layers split at %1 bytes (run %2)").arg(p.splitBytes)
                                        : QStringLiteral("whole layers (run %1)"))
                              .arg(p.runId);
        c.profile += QStringLiteral(", chosen over the store's profiles of %1")
                         .arg(others.join(QStringLiteral("; ")))
                         .toStdString();
    }
    return c;
}

} // namespace

bool MainWindow::exportConfiguration(const QString& path, const PlanResultPtr& plan, const plan::Choice& chosen)
{
    if (!plan || plan->profiles.empty()) return false;
    const plan::RunConfig c = configOf(*plan, chosen);
    // Written off the GUI thread, beside the target and renamed into place; the answer comes back queued.
    writeFileInBackground(
        *m_writers, path, QByteArray::fromStdString(plan::configToJson(c)), [this, path](const QString& error) {
            statusBar()->showMessage(error.isEmpty()
                    ? tr("Exported the configuration to %1").arg(QDir::toNativeSeparators(path))
                    : tr("Could not export the configuration: %1").arg(error));
            Q_EMIT configExported(path, error.isEmpty(), error);
        });
    return true;
}

void MainWindow::chooseStorePath()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Run Store"), m_storePath,
        tr("Run stores (*.sqlite *.db);;All files (*)"), nullptr, QFileDialog::DontConfirmOverwrite);
    if (!path.isEmpty()) setStorePath(path);
}

RunRequest MainWindow::requestForModel() const
{
    RunRequest r = m_runControls->request();
    r.modelPath = m_currentFile;
    r.weightsPath = m_weightsFile;
    for (const auto& in : m_summary->inputs)
        r.inputShapes[in.name] = in.shape; // as the summary planned them (dynamic sizes bound)
    r.memoryLimitBytes = m_memoryLimitBytes;
    return r;
}

quint64 MainWindow::startRun()
{
    if (!m_summary || m_currentFile.isEmpty() || m_session->isRunning()) return 0;
    RunRequest r = requestForModel();
    m_runInfo.reset();
    m_runId = m_session->start(r);
    m_runModel = m_currentFile;
    if (m_runId) {
        statusBar()->showMessage(tr("Running %1 (%2) on the %3…")
                                     .arg(QFileInfo(m_currentFile).fileName(), QString::fromLatin1(archName(r.arch)),
                                         m_session->description()));
        Q_EMIT runStarted(m_runId);
    }
    return m_runId;
}

void MainWindow::stopRun()
{
    if (m_session->isRunning()) {
        m_session->stop();
        statusBar()->showMessage(tr("Stopping…"));
    }
}

bool MainWindow::isRunning() const
{
    return m_session->isRunning();
}

void MainWindow::onRunProgress(quint64 id, const QString& phase, int percent)
{
    if (id == m_runId) m_runControls->setProgress(phase, percent);
}

void MainWindow::onRunStarted(const RunInfoPtr& info)
{
    if (info->id != m_runId) return;
    m_runInfo = info;
    m_timeline->beginRun(info);
    m_memory->beginRun(info);
    if (m_runModel == m_currentFile) {
        m_layerModel->setResident(info->resident, info->layerNames);
        m_layerModel->setStored(info->layerStored, info->layerBytes, info->layerNames);
    }
    m_runControls->setProgress(tr("Running: %1, staging %2, reads by %3")
                                   .arg(QString::fromLatin1(archName(info->arch)),
                                       formatBytes(static_cast<size_t>(info->stagingBytes)), info->reader),
        0);
}

void MainWindow::onRunEvents(const EventBatchPtr& batch)
{
    if (batch->id != m_runId) return;
    m_timeline->addEvents(batch);
    m_memory->addEvents(batch);
    if (batch->iterationsPlanned > 0)
        m_runControls->setProgress(tr("Iteration %1 of %2").arg(batch->iterationsDone).arg(batch->iterationsPlanned),
            batch->iterationsDone * 100 / batch->iterationsPlanned);
    else if (!batch->latencies.empty())
        m_runControls->setProgress(tr("Iteration %1: %2 ms")
                                       .arg(batch->latencies.back().first + 1)
                                       .arg(QLocale().toString(batch->latencies.back().second, 'f', 1)),
            -1);
}

void MainWindow::onRunFinished(const RunOutcomePtr& outcome)
{
    if (outcome->id != m_runId) return;
    m_lastOutcome = outcome;
    m_runControls->setRunning(false);
    QString message;
    switch (outcome->status) {
    case RunOutcome::Status::Ok:
        // Another model opened (or none) since the run started: its layers are not the table's.
        if (m_runModel == m_currentFile) m_layerModel->setRunStats(outcome->layers);
        message = tr("%1: median %2 ms over %3 runs, weights %4 at peak, RSS %5")
                      .arg(QString::fromLatin1(outcome->info ? archName(outcome->info->arch) : ""))
                      .arg(QLocale().toString(outcome->medianMs, 'f', 1))
                      .arg(outcome->latenciesMs.size())
                      .arg(formatBytes(outcome->peaks[static_cast<size_t>(MemTag::ResidentWeights)]
                          + outcome->peaks[static_cast<size_t>(MemTag::Staging)]))
                      .arg(formatBytes(outcome->rssPeak));
        if (outcome->storedRunId) message += tr("; recorded as run %1").arg(outcome->storedRunId);
        m_runControls->setProgress(message, 100);
        break;
    case RunOutcome::Status::Cancelled:
        message = tr("Run stopped");
        if (outcome->storedRunId) message += tr("; recorded as run %1").arg(outcome->storedRunId);
        m_runControls->setProgress(message, 0);
        break;
    case RunOutcome::Status::Failed:
        message = tr("Run failed: %1").arg(outcome->error);
        m_runControls->setProgress(message, 0);
        break;
    }
    if (!outcome->storeError.isEmpty()) message += tr(" (not recorded: %1)").arg(outcome->storeError);
    if (outcome->status == RunOutcome::Status::Ok && outcome->id == m_verifyRunId)
        m_tradeoff->addMeasured(static_cast<double>(outcome->peaks[static_cast<size_t>(MemTag::ResidentWeights)]
                                    + outcome->peaks[static_cast<size_t>(MemTag::Staging)]),
            outcome->medianMs);
    if (outcome->storedRunId) {
        replan();
        m_runs->refresh();
    }
    statusBar()->showMessage(message);
    Q_EMIT runFinished(outcome);
    if (outcome->status == RunOutcome::Status::Failed) {
        Q_EMIT errorOccurred(outcome->error);
        if (m_errorDialogs) {
            auto* box = new QMessageBox(
                QMessageBox::Critical, tr("Run Failed"), tr("The run failed."), QMessageBox::Ok, this);
            box->setObjectName(QStringLiteral("runErrorDialog"));
            box->setInformativeText(outcome->error);
            box->setAttribute(Qt::WA_DeleteOnClose);
            box->open();
        }
    }
}

void MainWindow::selectLayerRow(int layer)
{
    const QModelIndex source = m_layerModel->index(layer, 0);
    const QModelIndex row = m_proxy->mapFromSource(source);
    if (!row.isValid()) return;
    m_layerView->selectionModel()->setCurrentIndex(
        row, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_layerView->scrollTo(row);
}

void MainWindow::createActions()
{
    QMenu* fileMenu = menuBar()->addMenu(tr("&File"));

    QAction* open = fileMenu->addAction(tr("&Open…"), this, &MainWindow::showOpenDialog);
    open->setObjectName(QStringLiteral("actionOpen"));
    open->setShortcut(QKeySequence::Open);
    open->setStatusTip(tr("Open an ONNX model or a Darknet configuration"));

    m_recentMenu = fileMenu->addMenu(tr("Open &Recent"));
    m_recentMenu->setObjectName(QStringLiteral("menuRecent"));
    m_closeAction = fileMenu->addAction(tr("&Close Model"), this, &MainWindow::closeModel);
    m_closeAction->setObjectName(QStringLiteral("actionCloseModel"));
    m_closeAction->setShortcut(QKeySequence::Close);
    m_closeAction->setStatusTip(tr("Close the model, stopping its run"));
    m_closeAction->setEnabled(false);

    QMenu* exportMenu = fileMenu->addMenu(tr("&Export"));
    exportMenu->addAction(tr("&Configuration…"), this, [this] {
        if (const plan::Choice* c = m_tradeoff->selectedChoice()) Q_EMIT m_tradeoff->exportRequested(*c);
    });
    auto exportRun = [this](RunStoreJobs::Export what, const QString& title, const QString& filter) {
        const QString path = QFileDialog::getSaveFileName(this, title, QString(), filter);
        if (!path.isEmpty() && !m_runs->exportSelected(what, path))
            statusBar()->showMessage(tr("Select one run in the Runs view first"));
    };
    exportMenu->addAction(tr("Selected Run as Chrome &Trace…"), this, [exportRun, this] {
        exportRun(RunStoreJobs::Export::ChromeTrace, tr("Export Chrome Trace"), tr("Chrome traces (*.json)"));
    });
    exportMenu->addAction(tr("Selected Run's Layers as &CSV…"), this, [exportRun, this] {
        exportRun(RunStoreJobs::Export::LayersCsv, tr("Export Layer Statistics"), tr("CSV files (*.csv)"));
    });
    exportMenu->addSeparator();
    const std::pair<QString, std::function<QCustomPlot*()>> plots[] = {
        { tr("&Timeline as PNG or PDF…"), [this] { return m_timeline->plot(); } },
        { tr("&Memory Graph as PNG or PDF…"), [this] { return m_memory->plot(); } },
        { tr("T&rade-off as PNG or PDF…"), [this] { return m_tradeoff->plot(); } },
        { tr("&Difference Plot as PNG or PDF…"), [this] { return m_runs->diffPlot(); } },
    };
    for (const auto& [text, which] : plots)
        exportMenu->addAction(text, this, [this, which = which] {
            const QString path = QFileDialog::getSaveFileName(
                this, tr("Save Plot"), QString(), tr("PNG images (*.png);;PDF documents (*.pdf)"));
            if (!path.isEmpty()) exportPlot(which(), path);
        });

    fileMenu->addSeparator();
    QAction* connectBoard = fileMenu->addAction(tr("Connect to &Board…"), this, &MainWindow::showConnectDialog);
    connectBoard->setObjectName(QStringLiteral("actionConnectBoard"));
    connectBoard->setStatusTip(tr("Run on a board's agent (dlayer serve) over TLS"));
    m_disconnectAction = fileMenu->addAction(tr("&Disconnect from Board"), this, &MainWindow::disconnectBoard);
    m_disconnectAction->setObjectName(QStringLiteral("actionDisconnectBoard"));
    m_disconnectAction->setEnabled(false);

    fileMenu->addSeparator();
    m_cancelAction = fileMenu->addAction(tr("&Cancel Loading"), this, &MainWindow::cancelLoading);
    m_cancelAction->setObjectName(QStringLiteral("actionCancel"));
    m_cancelAction->setShortcut(Qt::Key_Escape);
    m_cancelAction->setEnabled(false);

    fileMenu->addSeparator();
    QAction* quit = fileMenu->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    QMenu* runMenu = menuBar()->addMenu(tr("&Run"));
    m_runAction = runMenu->addAction(tr("&Run"), this, [this] { startRun(); });
    m_runAction->setObjectName(QStringLiteral("actionRun"));
    m_runAction->setShortcut(Qt::Key_F5);
    m_runAction->setEnabled(false);
    m_stopAction = runMenu->addAction(tr("&Stop"), this, &MainWindow::stopRun);
    m_stopAction->setObjectName(QStringLiteral("actionStop"));
    m_stopAction->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_F5));
    m_stopAction->setEnabled(false);
    runMenu->addSeparator();
    m_deployAction = runMenu->addAction(tr("&Deploy Configuration to Board…"), this, [this] {
        bool ok = false;
        const QString name = QInputDialog::getText(this, tr("Deploy to Board"),
            tr("Name of the configuration on the board (dlayer run MODEL --config NAME):"), QLineEdit::Normal,
            QStringLiteral("%1-%2").arg(
                QFileInfo(m_currentFile).completeBaseName(), QLatin1String(archName(m_tradeoff->arch()))),
            &ok);
        if (ok && !name.trimmed().isEmpty() && !deployConfiguration(name.trimmed()))
            statusBar()->showMessage(tr("Choose a budget in the trade-off view first"));
    });
    m_deployAction->setObjectName(QStringLiteral("actionDeploy"));
    m_deployAction->setEnabled(false);
    QAction* store = runMenu->addAction(tr("Run S&tore…"), this, &MainWindow::chooseStorePath);
    store->setStatusTip(tr("Choose the SQLite file every run is recorded in"));

    QMenu* viewMenu = menuBar()->addMenu(tr("&View"));
    for (QDockWidget* dock : findChildren<QDockWidget*>())
        viewMenu->addAction(dock->toggleViewAction());
    viewMenu->addSeparator();
    QAction* follow
        = viewMenu->addAction(tr("&Follow Latest Iteration"), this, [this] { m_timeline->setFollowing(true); });
    follow->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    viewMenu->addSeparator();
    // Each language is named in itself, so that it can be found whatever the interface speaks.
    QMenu* languageMenu = viewMenu->addMenu(tr("&Language"));
    auto* languages = new QActionGroup(this);
    const QString current = studioSettings()->value(LanguageKey).toString();
    const std::pair<QString, QString> choices[] = { { QString(), tr("System Default") },
        { QStringLiteral("en"), QStringLiteral("English") }, { QStringLiteral("ko"), QStringLiteral("한국어") } };
    for (const auto& [code, name] : choices) {
        QAction* a = languageMenu->addAction(name, this, [this, code = code] { setLanguage(code); });
        a->setCheckable(true);
        a->setChecked(code == current);
        a->setData(code);
        languages->addAction(a);
    }

    QMenu* helpMenu = menuBar()->addMenu(tr("&Help"));
    helpMenu->addAction(tr("&About Demand Layering Studio"), this, &MainWindow::showAbout);
    helpMenu->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::createStatusBar()
{
    m_progress = new QProgressBar(statusBar());
    m_progress->setObjectName(QStringLiteral("loadProgress"));
    m_progress->setRange(0, 100);
    m_progress->setMaximumWidth(220);
    m_progress->hide();

    m_cancelButton = new QToolButton(statusBar());
    m_cancelButton->setObjectName(QStringLiteral("cancelButton"));
    m_cancelButton->setDefaultAction(m_cancelAction);
    m_cancelButton->setText(tr("Cancel"));
    m_cancelButton->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_cancelButton->hide();

    m_where = new QLabel(statusBar());
    m_where->setObjectName(QStringLiteral("whereLabel"));
    statusBar()->addPermanentWidget(m_where);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_cancelButton);
    updateWhere();
    statusBar()->showMessage(tr("Ready"));
}

bool MainWindow::isModelFile(const QString& path)
{
    const QString suffix = QFileInfo(path).suffix();
    return suffix.compare(QStringLiteral("onnx"), Qt::CaseInsensitive) == 0
        || suffix.compare(QStringLiteral("cfg"), Qt::CaseInsensitive) == 0;
}

void MainWindow::openFile(const QString& path)
{
    if (path.isEmpty()) return;
    // Only the path is resolved here; reading (and failing to read) the file is the worker's business.
    m_loader->load(QFileInfo(path).absoluteFilePath());
}

void MainWindow::cancelLoading()
{
    m_loader->cancel();
}

bool MainWindow::isLoading() const
{
    return m_loader->isBusy();
}

void MainWindow::closeModel()
{
    cancelLoading();
    stopRun();
    if (m_summary) releaseCachedKernels(); // the model's compiled kernels go with it
    m_summary.reset();
    m_currentFile.clear();
    m_weightsFile.clear();
    m_layerModel->setSummary(nullptr);
    m_summaryView->setSummary(nullptr);
    m_timeline->clear();
    m_memory->clear();
    m_tradeoff->setResult(nullptr);
    m_runControls->setModelReady(false);
    m_runAction->setEnabled(false);
    m_closeAction->setEnabled(false);
    m_filter->clear();
    updateLayerCount();
    m_stack->setCurrentIndex(WelcomePage);
    updateTitle();
}

void MainWindow::showOpenDialog()
{
    auto settings = studioSettings();
    const QString dir = settings->value(LastDirectoryKey, QDir::homePath()).toString();
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Model"), dir,
        tr("Models (*.onnx *.cfg);;ONNX models (*.onnx);;Darknet configurations (*.cfg);;All files (*)"));
    if (path.isEmpty()) return;
    settings->setValue(LastDirectoryKey, QFileInfo(path).absolutePath());
    openFile(path);
}

void MainWindow::showAbout()
{
    QMessageBox::about(this, tr("About Demand Layering Studio"),
        tr("<h3>Demand Layering Studio %1</h3>"
           "<p>Inspect DNN models layer by layer and plan how their weights stream from storage at run time.</p>"
           "<p>Demand Layering: Ji et al., RTSS 2022.</p><p>%2</p>")
            .arg(QLatin1String(DL_VERSION), versionsText().toHtmlEscaped()));
}

void MainWindow::onLoadStarted(const QString& path)
{
    m_progress->setValue(0);
    m_progress->setFormat(tr("%1: %p%").arg(QFileInfo(path).fileName()));
    statusBar()->showMessage(tr("Loading %1…").arg(QDir::toNativeSeparators(path)));
}

void MainWindow::onBusyChanged(bool busy)
{
    m_progress->setVisible(busy);
    m_cancelButton->setVisible(busy);
    m_cancelAction->setEnabled(busy);
    if (busy)
        setCursor(Qt::BusyCursor);
    else
        unsetCursor();
    Q_EMIT loadingChanged(busy);
}

void MainWindow::onLoadFinished(const LoadResultPtr& result)
{
    if (result->status != LoadResult::Status::Loaded || !result->summary) {
        reportError(result->path, result->error);
        return;
    }
    if (m_summary && result->path != m_currentFile) releaseCachedKernels(); // the model before goes, its kernels too
    m_summary = result->summary;
    m_currentFile = result->path;
    m_weightsFile = result->weightsPath;
    m_layerModel->setSummary(m_summary);
    m_timeline->clear();
    m_memory->clear();
    m_runControls->setModelReady(true);
    m_runAction->setEnabled(!m_session->isRunning());
    m_tradeoff->setResult(nullptr);
    replan();
    m_summaryView->setSummary(m_summary);
    m_filter->clear();
    updateLayerCount();
    m_layerView->resizeColumnsToContents();
    // Long operator chains would otherwise push the numbers off screen.
    for (int column = 0; column < LayerTableModel::ColumnCount; ++column)
        m_layerView->setColumnWidth(column, std::min(m_layerView->columnWidth(column), 320));
    m_stack->setCurrentIndex(ModelPage);
    m_closeAction->setEnabled(true);
    addRecentFile(result->path);
    updateTitle();

    const double seconds = static_cast<double>(result->importMs + result->summarizeMs) / 1000.0;
    const bool seeded = m_summary->format == "darknet" && result->weightsPath.isEmpty();
    const QString message
        = (seeded ? tr("Loaded %1: %2 layers in %3 s (seeded random weights)") : tr("Loaded %1: %2 layers in %3 s"))
              .arg(QFileInfo(result->path).fileName())
              .arg(m_summary->layers.size())
              .arg(QLocale().toString(seconds, 'f', 2));
    statusBar()->showMessage(message);
    Q_EMIT modelLoaded(result->path);
}

void MainWindow::onLoadCancelled(const QString& path)
{
    statusBar()->showMessage(tr("Cancelled loading %1").arg(QFileInfo(path).fileName()), 5000);
    Q_EMIT loadCancelled(path);
}

void MainWindow::reportError(const QString& path, const QString& message)
{
    const QString fileName = QFileInfo(path).fileName();
    statusBar()->showMessage(tr("Could not open %1").arg(fileName));
    Q_EMIT errorOccurred(message);
    if (!m_errorDialogs) return;
    // Window-modal but not blocking: a nested event loop here would let later results re-enter this slot.
    auto* box = new QMessageBox(QMessageBox::Critical, tr("Cannot Open Model"),
        tr("Could not open the model %1.").arg(fileName), QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("errorDialog"));
    box->setInformativeText(message);
    box->setDetailedText(QDir::toNativeSeparators(path));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::warn(const QString& title, const QString& text, const QString& detail)
{
    Q_EMIT errorOccurred(detail);
    if (!m_errorDialogs) return;
    // Window-modal but not blocking, as the other error boxes.
    auto* box = new QMessageBox(QMessageBox::Warning, title, text, QMessageBox::Ok, this);
    box->setInformativeText(detail);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

RemoteSession* MainWindow::remoteSession() const
{
    return qobject_cast<RemoteSession*>(m_session);
}

void MainWindow::showConnectDialog()
{
    auto* dialog = new ConnectDialog(m_boards, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] { connectToBoard(dialog->input()); });
    dialog->open();
}

void MainWindow::connectToBoard(const BoardInput& input)
{
    statusBar()->showMessage(tr("Connecting to %1…").arg(input.address.hostPort));
    m_boards->connectTo(input);
}

void MainWindow::onBoardReady(RemoteSession* session)
{
    if (m_session->isRunning()) {
        delete session;
        const QString message = tr("A run is in progress: connect to the board once it has ended");
        statusBar()->showMessage(message);
        Q_EMIT boardFailed(message);
        return;
    }
    setSession(session);
    connect(session, &RemoteSession::linkLost, this, [this, session](const QString& message) {
        const QString text = tr("The link to %1 was lost: %2").arg(session->description(), message);
        updateWhere();
        statusBar()->showMessage(text);
        Q_EMIT boardLinkLost(message);
        warn(tr("Board"), tr("The link to the board was lost."), text);
    });
    connect(session, &RemoteSession::runsSynced, this, [this](int fetched, const QString& error) {
        if (fetched > 0) {
            m_runs->refresh();
            replan();
        }
        if (!error.isEmpty())
            statusBar()->showMessage(tr("The board's runs were not all fetched: %1").arg(error));
        else if (fetched > 0)
            statusBar()->showMessage(tr("Fetched %n run(s) from the board", nullptr, fetched));
        Q_EMIT runsSynced(fetched, error);
    });
    connect(session, &RemoteSession::configDeployed, this, [this](const QString& name, const QString& error) {
        statusBar()->showMessage(error.isEmpty() ? tr("Deployed the configuration '%1' to the board").arg(name)
                                                 : tr("Could not deploy the configuration: %1").arg(error));
        Q_EMIT configDeployed(name, error);
    });
    session->syncRuns();
    updateWhere();
    replan();
    statusBar()->showMessage(tr("Connected to %1").arg(session->description()));
    Q_EMIT boardConnected(session->description());
}

void MainWindow::disconnectBoard()
{
    if (!remoteSession() || m_session->isRunning()) return;
    setSession(new LocalSession(this));
    updateWhere();
    replan();
    statusBar()->showMessage(tr("Runs go to the local engine"));
}

void MainWindow::updateWhere()
{
    if (!m_where) return;
    const RemoteSession* remote = remoteSession();
    m_disconnectAction->setEnabled(remote != nullptr);
    m_deployAction->setEnabled(remote != nullptr);
    if (!remote) {
        m_where->setText(tr("Local engine (%1)").arg(QString::fromStdString(thisDevice().backend)));
        m_where->setToolTip(QString::fromStdString(thisDevice().cpu));
        return;
    }
    const BoardInfo& b = remote->board();
    m_where->setText(remote->isConnected() ? tr("Board %1 (%2)").arg(b.host, b.backend)
                                           : tr("Board %1: link lost").arg(b.host.isEmpty() ? b.hostPort : b.host));
    m_where->setToolTip(
        tr("%1 at %2, %3; engine %4; certificate %5").arg(b.host, b.hostPort, b.cpu, b.engine, b.fingerprint));
}

bool MainWindow::deployConfiguration(const QString& name)
{
    RemoteSession* remote = remoteSession();
    const plan::Choice* choice = m_tradeoff->selectedChoice();
    const PlanResultPtr plan = m_tradeoff->result();
    if (!remote || !choice || !plan || plan->profiles.empty()) return false;
    remote->deployConfig(name, QString::fromStdString(plan::configToJson(configOf(*plan, *choice))));
    return true;
}

QStringList MainWindow::recentFiles() const
{
    return studioSettings()->value(RecentFilesKey).toStringList();
}

void MainWindow::clearRecentFiles()
{
    studioSettings()->remove(RecentFilesKey);
    updateRecentMenu();
}

void MainWindow::addRecentFile(const QString& path)
{
    QStringList files = recentFiles();
    files.removeAll(path);
    files.prepend(path);
    while (files.size() > MaxRecentFiles)
        files.removeLast();
    studioSettings()->setValue(RecentFilesKey, files);
    updateRecentMenu();
}

void MainWindow::updateRecentMenu()
{
    m_recentMenu->clear();
    const QStringList files = recentFiles();
    for (qsizetype i = 0; i < files.size(); ++i) {
        const QString& path = files[i];
        QString name = QFileInfo(path).fileName();
        name.replace(QLatin1Char('&'), QStringLiteral("&&"));
        const QString text = i < 9 ? QStringLiteral("&%1 %2").arg(i + 1).arg(name) : name;
        QAction* action = m_recentMenu->addAction(text, this, [this, path] { openFile(path); });
        action->setData(path);
        action->setToolTip(QDir::toNativeSeparators(path));
        action->setStatusTip(QDir::toNativeSeparators(path));
    }
    if (!files.isEmpty()) {
        m_recentMenu->addSeparator();
        m_recentMenu->addAction(tr("&Clear Menu"), this, &MainWindow::clearRecentFiles);
    }
    m_recentMenu->setEnabled(!files.isEmpty());
}

void MainWindow::updateLayerCount()
{
    const int shown = m_proxy->rowCount();
    const int total = m_layerModel->rowCount();
    m_layerCount->setText(shown == total ? tr("%1 layers").arg(total) : tr("%1 of %2 layers").arg(shown).arg(total));
}

void MainWindow::updateTitle()
{
    if (m_currentFile.isEmpty())
        setWindowTitle(tr("Demand Layering Studio"));
    else
        setWindowTitle(tr("%1 — Demand Layering Studio").arg(QFileInfo(m_currentFile).fileName()));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    if (!firstModelPath(event->mimeData()).isEmpty()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    const QString path = firstModelPath(event->mimeData());
    if (path.isEmpty()) return;
    event->acceptProposedAction();
    openFile(path);
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    m_loader->cancel();
    m_session->stop();
    saveWindowState();
    QMainWindow::closeEvent(event);
}

void MainWindow::saveWindowState() const
{
    auto settings = studioSettings();
    settings->setValue(GeometryKey, saveGeometry());
    settings->setValue(StateKey, saveState());
    settings->setValue(SplitterKey, m_splitter->saveState());
    settings->setValue(HeaderKey, m_layerView->horizontalHeader()->saveState());
}

void MainWindow::restoreWindowState()
{
    auto settings = studioSettings();
    if (!restoreGeometry(settings->value(GeometryKey).toByteArray())) resize(1200, 760);
    restoreState(settings->value(StateKey).toByteArray());
    m_splitter->restoreState(settings->value(SplitterKey).toByteArray());
    m_layerView->horizontalHeader()->restoreState(settings->value(HeaderKey).toByteArray());
}

} // namespace dl::ui
