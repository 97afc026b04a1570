#include "runsview.h"

#include "format.h"

#include "qcustomplotheader.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QSysInfo>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

namespace dl::ui {

RunsView::RunsView(QWidget* parent)
    : QWidget(parent)
    , m_jobs(new RunStoreJobs(this))
    , m_history(new RunHistoryModel(this))
    , m_filter(new RunFilterModel(this))
    , m_delta(new LayerDeltaModel(this))
{
    m_filter->setSourceModel(m_history);
    m_modelOnly = new QCheckBox(tr("This model only"), this);
    m_modelOnly->setChecked(true);
    m_deviceOnly = new QCheckBox(tr("This device only"), this);
    m_deviceOnly->setChecked(true);
    m_deviceOnly->setToolTip(tr("Runs recorded on %1").arg(QSysInfo::machineHostName()));
    connect(m_modelOnly, &QCheckBox::toggled, this, &RunsView::updateFilter);
    connect(m_deviceOnly, &QCheckBox::toggled, this, &RunsView::updateFilter);
    auto* refresh = new QPushButton(tr("Refresh"), this);
    connect(refresh, &QPushButton::clicked, this, &RunsView::refresh);
    m_compare = new QPushButton(tr("Compare"), this);
    m_compare->setObjectName(QStringLiteral("compareButton"));
    m_compare->setToolTip(tr("Compare the two selected runs"));
    connect(m_compare, &QPushButton::clicked, this, &RunsView::compareSelected);
    m_timeline = new QPushButton(tr("Open Timeline"), this);
    m_timeline->setToolTip(tr("Show the selected run in the timeline and memory views"));
    connect(m_timeline, &QPushButton::clicked, this, &RunsView::openSelectedTimeline);
    m_delete = new QPushButton(tr("Delete"), this);
    connect(m_delete, &QPushButton::clicked, this, &RunsView::deleteSelected);

    m_view = new QTableView(this);
    m_view->setObjectName(QStringLiteral("runsTable"));
    m_view->setModel(m_filter);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(RunHistoryModel::IdColumn, Qt::DescendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->verticalHeader()->hide();
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &RunsView::updateButtons);

    m_summary = new QTableWidget(this);
    m_summary->setObjectName(QStringLiteral("compareSummary"));
    m_summary->setColumnCount(4);
    m_summary->setHorizontalHeaderLabels({ tr("Measure"), tr("A"), tr("B"), tr("B − A") });
    m_summary->verticalHeader()->hide();
    m_summary->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_deltaView = new QTableView(this);
    m_deltaView->setObjectName(QStringLiteral("layerDeltas"));
    auto* deltaProxy = new QSortFilterProxyModel(this);
    deltaProxy->setSourceModel(m_delta);
    deltaProxy->setSortRole(LayerDeltaModel::SortRole);
    m_deltaView->setModel(deltaProxy);
    m_deltaView->setSortingEnabled(true);
    m_deltaView->verticalHeader()->hide();
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("diffPlot"));
    m_plot->xAxis->setLabel(tr("layer"));
    m_plot->yAxis->setLabel(tr("B − A (ms per inference)"));
    m_plot->legend->setVisible(true);
    m_plot->legend->setFont(font());
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    auto* tabs = new QTabWidget(this);
    tabs->addTab(m_summary, tr("Summary"));
    tabs->addTab(m_deltaView, tr("Per layer"));
    tabs->addTab(m_plot, tr("Difference plot"));
    m_status = new QLabel(this);
    m_status->setEnabled(false);

    // Two rows, so that the dock stays narrow.
    auto* filters = new QHBoxLayout;
    filters->addWidget(m_modelOnly);
    filters->addWidget(m_deviceOnly);
    filters->addStretch(1);
    auto* bar = new QHBoxLayout;
    bar->addWidget(refresh);
    bar->addWidget(m_compare);
    bar->addWidget(m_timeline);
    bar->addWidget(m_delete);
    bar->addStretch(1);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_view);
    split->addWidget(tabs);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(filters);
    layout->addLayout(bar);
    layout->addWidget(split, 1);
    layout->addWidget(m_status);

    connect(m_jobs, &RunStoreJobs::listed, this, [this](quint64 ticket, const RunListPtr& runs, const QString& error) {
        if (ticket != m_listTicket) return;
        m_history->setRuns(runs);
        m_view->resizeColumnsToContents();
        m_status->setText(
            error.isEmpty() ? tr("%1 of %2 runs shown").arg(m_filter->rowCount()).arg(runs->size()) : error);
        if (!error.isEmpty()) Q_EMIT errorOccurred(error);
        updateButtons();
        Q_EMIT refreshed();
    });
    connect(m_jobs, &RunStoreJobs::loaded, this, [this](quint64 ticket, const StoredRunPtr& run, const QString& error) {
        if (!error.isEmpty() && (ticket == m_ticketA || ticket == m_ticketB || ticket == m_timelineTicket)) {
            m_status->setText(error);
            Q_EMIT errorOccurred(error);
            return;
        }
        if (ticket == m_timelineTicket) Q_EMIT timelineLoaded(run);
        if (ticket == m_ticketA) m_a = run;
        if (ticket == m_ticketB) m_b = run;
        if ((ticket == m_ticketA || ticket == m_ticketB) && m_a && m_b) showComparison();
    });
    connect(m_jobs, &RunStoreJobs::removed, this, [this](quint64, qint64 id, const QString& error) {
        if (!error.isEmpty()) {
            m_status->setText(error);
            Q_EMIT errorOccurred(error);
            return;
        }
        Q_EMIT deleted(id);
        this->refresh();
    });
    connect(m_jobs, &RunStoreJobs::exported, this, [this](quint64, const QString& path, const QString& error) {
        m_status->setText(error.isEmpty() ? tr("Exported %1").arg(path) : error);
        Q_EMIT exported(path, error);
    });
    updateFilter();
}

void RunsView::setStorePath(const QString& path)
{
    m_storePath = path;
    refresh();
}

void RunsView::setModelHash(const QString& hash)
{
    m_modelHash = hash;
    updateFilter();
}

void RunsView::refresh()
{
    m_listTicket = m_jobs->list(m_storePath);
}

void RunsView::updateFilter()
{
    m_filter->setModelHash(m_modelOnly->isChecked() ? m_modelHash : QString());
    m_filter->setDeviceHost(m_deviceOnly->isChecked() ? QSysInfo::machineHostName() : QString());
    updateButtons();
}

std::vector<qint64> RunsView::selectedIds() const
{
    std::vector<qint64> ids;
    for (const QModelIndex& i : m_view->selectionModel()->selectedRows())
        ids.push_back(i.data(RunHistoryModel::RunIdRole).toLongLong());
    std::sort(ids.begin(), ids.end());
    return ids;
}

void RunsView::updateButtons()
{
    const size_t n = selectedIds().size();
    m_compare->setEnabled(n == 2);
    m_timeline->setEnabled(n == 1);
    m_delete->setEnabled(n > 0);
}

bool RunsView::selectRun(qint64 id)
{
    for (int r = 0; r < m_filter->rowCount(); ++r) {
        const QModelIndex i = m_filter->index(r, 0);
        if (i.data(RunHistoryModel::RunIdRole).toLongLong() == id) {
            m_view->selectionModel()->select(i, QItemSelectionModel::Select | QItemSelectionModel::Rows);
            return true;
        }
    }
    return false;
}

void RunsView::compare(qint64 a, qint64 b)
{
    m_a.reset();
    m_b.reset();
    m_ticketA = m_jobs->load(m_storePath, a);
    m_ticketB = m_jobs->load(m_storePath, b);
}

bool RunsView::compareSelected()
{
    const auto ids = selectedIds();
    if (ids.size() != 2) return false;
    compare(ids[0], ids[1]);
    return true;
}

void RunsView::openSelectedTimeline()
{
    const auto ids = selectedIds();
    if (ids.size() == 1) m_timelineTicket = m_jobs->load(m_storePath, ids[0]);
}

void RunsView::deleteSelected()
{
    const auto ids = selectedIds();
    if (ids.empty()) return;
    if (m_confirm
        && QMessageBox::question(
               this, tr("Delete Runs"), tr("Delete %n run(s) from the run store?", nullptr, int(ids.size())))
            != QMessageBox::Yes)
        return;
    for (qint64 id : ids)
        m_jobs->remove(m_storePath, id);
}

bool RunsView::exportSelected(RunStoreJobs::Export what, const QString& path)
{
    const auto ids = selectedIds();
    if (ids.size() != 1) return false;
    m_jobs->exportRun(m_storePath, ids[0], what, path);
    return true;
}

void RunsView::showComparison()
{
    m_delta->setRuns(m_a, m_b);
    const store::Run& a = *m_a;
    const store::Run& b = *m_b;
    struct Row
    {
        QString name;
        double a, b;
        bool bytes;
    };
    auto weights = [](const store::Run& r) {
        return static_cast<double>(r.peakByTag[static_cast<size_t>(MemTag::ResidentWeights)]
            + r.peakByTag[static_cast<size_t>(MemTag::Staging)]);
    };
    const std::vector<Row> rows = {
        { tr("Median latency (ms)"), a.latencyMedianMs, b.latencyMedianMs, false },
        { tr("Minimum latency (ms)"), a.latencyMinMs, b.latencyMinMs, false },
        { tr("Kernel stall (ms per inference)"), a.stallMs, b.stallMs, false },
        { tr("Weights peak"), weights(a), weights(b), true },
        { tr("Ledger peak"), static_cast<double>(a.peakTotal), static_cast<double>(b.peakTotal), true },
        { tr("RSS peak"), static_cast<double>(a.rssPeak), static_cast<double>(b.rssPeak), true },
        { tr("Read per inference"), static_cast<double>(a.readBytes), static_cast<double>(b.readBytes), true },
        { tr("Read rate (MB/s)"), a.readMBps, b.readMBps, false },
    };
    m_summary->setRowCount(static_cast<int>(rows.size()) + 2);
    auto text = [&](int r, int c, const QString& t) { m_summary->setItem(r, c, new QTableWidgetItem(t)); };
    text(0, 0, tr("Run"));
    text(0, 1, QString::number(a.id));
    text(0, 2, QString::number(b.id));
    text(1, 0, tr("Architecture"));
    text(1, 1, QString::fromStdString(a.arch));
    text(1, 2, QString::fromStdString(b.arch));
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& row = rows[i];
        const int r = static_cast<int>(i) + 2;
        auto fmt = [&](double v) {
            if (row.bytes)
                return (v < 0 ? QStringLiteral("−") : QString()) + formatBytes(static_cast<size_t>(std::abs(v)));
            return QLocale().toString(v, 'f', 2);
        };
        text(r, 0, row.name);
        text(r, 1, fmt(row.a));
        text(r, 2, fmt(row.b));
        const double d = row.b - row.a;
        QString delta = (d > 0 ? QStringLiteral("+") : QString()) + fmt(d);
        if (row.a != 0)
            delta += QStringLiteral(" (%1%2 %)")
                         .arg(d > 0 ? QStringLiteral("+") : QString())
                         .arg(QLocale().toString(d / row.a * 100, 'f', 1));
        text(r, 3, delta);
    }
    m_summary->resizeColumnsToContents();

    // The difference plot: per layer, B − A of the kernel and of the kernel's stall.
    m_plot->clearPlottables();
    auto* kernel = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    kernel->setName(tr("kernel"));
    kernel->setBrush(QColor(0x3d, 0xa5, 0x5d));
    kernel->setPen(Qt::NoPen);
    kernel->setWidth(0.4);
    auto* stall = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    stall->setName(tr("stall"));
    stall->setBrush(QColor(0xd6, 0x3b, 0x3b));
    stall->setPen(Qt::NoPen);
    stall->setWidth(0.4);
    const int n = m_delta->rowCount();
    for (int l = 0; l < n; ++l) {
        const double k = m_delta->value(l, LayerDeltaModel::KernelDeltaColumn);
        const double s = m_delta->value(l, LayerDeltaModel::StallDeltaColumn);
        if (!std::isnan(k)) kernel->addData(l - 0.2, k);
        if (!std::isnan(s)) stall->addData(l + 0.2, s);
    }
    m_plot->rescaleAxes();
    m_plot->xAxis->setRange(-1, std::max(1, n));
    m_plot->replot(QCustomPlot::rpQueuedReplot);
    m_status->setText(tr("Run %1 against run %2").arg(b.id).arg(a.id));
    Q_EMIT compared();
}

} // namespace dl::ui
