#include "mainwindow.h"

#include "format.h"
#include "layertablemodel.h"
#include "modelsummaryview.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QScrollArea>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTableView>
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

    createCentralWidget();
    createActions();
    createStatusBar();

    connect(m_loader, &ModelLoader::started, this, &MainWindow::onLoadStarted);
    connect(m_loader, &ModelLoader::progressChanged, m_progress, &QProgressBar::setValue);
    connect(m_loader, &ModelLoader::finished, this, &MainWindow::onLoadFinished);
    connect(m_loader, &ModelLoader::cancelled, this, &MainWindow::onLoadCancelled);
    connect(m_loader, &ModelLoader::busyChanged, this, &MainWindow::onBusyChanged);

    updateRecentMenu();
    updateTitle();
    restoreWindowState();
}

MainWindow::~MainWindow() = default;

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

    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) {
        m_proxy->setFilterFixedString(text);
        updateLayerCount();
    });

    m_splitter->addWidget(summaryBox);
    m_splitter->addWidget(layersBox);
    m_splitter->setStretchFactor(0, 0);
    m_splitter->setStretchFactor(1, 1);
    m_splitter->setSizes({ 360, 840 });
    m_stack->addWidget(m_splitter);
    setCentralWidget(m_stack);
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

    fileMenu->addSeparator();
    m_cancelAction = fileMenu->addAction(tr("&Cancel Loading"), this, &MainWindow::cancelLoading);
    m_cancelAction->setObjectName(QStringLiteral("actionCancel"));
    m_cancelAction->setShortcut(Qt::Key_Escape);
    m_cancelAction->setEnabled(false);

    fileMenu->addSeparator();
    QAction* quit = fileMenu->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

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

    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_cancelButton);
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
           "<p>Demand Layering: Ji et al., RTSS 2022.</p>")
            .arg(QLatin1String(DL_VERSION)));
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
    m_summary = result->summary;
    m_currentFile = result->path;
    m_layerModel->setSummary(m_summary);
    m_summaryView->setSummary(m_summary);
    m_filter->clear();
    updateLayerCount();
    m_layerView->resizeColumnsToContents();
    // Long operator chains would otherwise push the numbers off screen.
    for (int column = 0; column < LayerTableModel::ColumnCount; ++column)
        m_layerView->setColumnWidth(column, std::min(m_layerView->columnWidth(column), 320));
    m_stack->setCurrentIndex(ModelPage);
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
