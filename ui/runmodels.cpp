#include "runmodels.h"

#include "format.h"

#include <QColor>
#include <QDateTime>
#include <QLocale>

#include <cmath>
#include <limits>

namespace dl::ui {

namespace {

QString qs(const std::string& s)
{
    return QString::fromStdString(s);
}

QString ms(double v)
{
    return std::isnan(v) ? QStringLiteral("–") : QLocale().toString(v, 'f', 3);
}

QString signedMs(double v)
{
    if (std::isnan(v)) return QStringLiteral("–");
    return (v > 0 ? QStringLiteral("+") : QString()) + QLocale().toString(v, 'f', 3);
}

} // namespace

RunHistoryModel::RunHistoryModel(QObject* parent)
    : QAbstractTableModel(parent)
{ }

void RunHistoryModel::setRuns(RunListPtr runs)
{
    beginResetModel();
    m_runs = std::move(runs);
    endResetModel();
}

const store::RunSummary* RunHistoryModel::runAt(int row) const
{
    if (!m_runs || row < 0 || static_cast<size_t>(row) >= m_runs->size()) return nullptr;
    return &(*m_runs)[static_cast<size_t>(row)];
}

int RunHistoryModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() || !m_runs ? 0 : static_cast<int>(m_runs->size());
}

int RunHistoryModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RunHistoryModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const store::RunSummary& r = *runAt(index.row());
    const int c = index.column();
    switch (role) {
    case RunIdRole:
        return static_cast<qlonglong>(r.id);
    case ModelHashRole:
        return qs(r.modelHash);
    case DeviceHostRole:
        return qs(r.device.host);
    case SortRole:
        switch (c) {
        case IdColumn:
            return static_cast<qlonglong>(r.id);
        case StartedColumn:
            return static_cast<qlonglong>(r.startedMs);
        case IterationsColumn:
            return r.iterations;
        case LatencyColumn:
            return r.latencyMedianMs;
        case WeightsColumn:
            return static_cast<qlonglong>(r.weightsPeak);
        case PeakColumn:
            return static_cast<qlonglong>(r.peakTotal);
        default:
            return data(index, Qt::DisplayRole);
        }
    case Qt::DisplayRole:
        switch (c) {
        case IdColumn:
            return static_cast<qlonglong>(r.id);
        case StartedColumn:
            return QDateTime::fromMSecsSinceEpoch(r.startedMs).toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
        case ModelColumn:
            return qs(r.modelName);
        case ArchColumn:
            return qs(r.arch);
        case StatusColumn:
            return QString::fromLatin1(store::runStatusName(r.status));
        case IterationsColumn:
            return r.iterations;
        case LatencyColumn:
            return QLocale().toString(r.latencyMedianMs, 'f', 2);
        case WeightsColumn:
            return formatBytes(static_cast<size_t>(r.weightsPeak));
        case PeakColumn:
            return formatBytes(static_cast<size_t>(r.peakTotal));
        case DeviceColumn:
            return qs(r.device.host);
        default:
            return {};
        }
    case Qt::ToolTipRole:
        if (c == DeviceColumn) return tr("%1, %2 backend").arg(qs(r.device.cpu), qs(r.device.backend));
        if (c == ModelColumn) return tr("sha256 %1").arg(qs(r.modelHash));
        return {};
    case Qt::TextAlignmentRole:
        if (c == IdColumn || c == IterationsColumn || c == LatencyColumn || c == WeightsColumn || c == PeakColumn)
            return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
        return {};
    default:
        return {};
    }
}

QVariant RunHistoryModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case IdColumn:
        return tr("Run");
    case StartedColumn:
        return tr("Started");
    case ModelColumn:
        return tr("Model");
    case ArchColumn:
        return tr("Architecture");
    case StatusColumn:
        return tr("Status");
    case IterationsColumn:
        return tr("Iterations");
    case LatencyColumn:
        return tr("Median ms");
    case WeightsColumn:
        return tr("Weights peak");
    case PeakColumn:
        return tr("Total peak");
    case DeviceColumn:
        return tr("Device");
    default:
        return {};
    }
}

RunFilterModel::RunFilterModel(QObject* parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(RunHistoryModel::SortRole);
}

void RunFilterModel::setModelHash(const QString& hash)
{
    m_hash = hash;
    invalidateFilter();
}

void RunFilterModel::setDeviceHost(const QString& host)
{
    m_host = host;
    invalidateFilter();
}

bool RunFilterModel::filterAcceptsRow(int row, const QModelIndex& parent) const
{
    const QModelIndex i = sourceModel()->index(row, 0, parent);
    if (!m_hash.isEmpty() && i.data(RunHistoryModel::ModelHashRole).toString() != m_hash) return false;
    if (!m_host.isEmpty() && i.data(RunHistoryModel::DeviceHostRole).toString() != m_host) return false;
    return true;
}

LayerDeltaModel::LayerDeltaModel(QObject* parent)
    : QAbstractTableModel(parent)
{ }

void LayerDeltaModel::setRuns(StoredRunPtr a, StoredRunPtr b)
{
    beginResetModel();
    m_a = std::move(a);
    m_b = std::move(b);
    endResetModel();
}

int LayerDeltaModel::rowCount(const QModelIndex& parent) const
{
    if (parent.isValid() || !m_a || !m_b) return 0;
    return static_cast<int>(std::max(m_a->layers.size(), m_b->layers.size()));
}

int LayerDeltaModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

double LayerDeltaModel::value(int row, int column) const
{
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    auto stat = [&](const StoredRunPtr& r, int stage) {
        if (!r || row < 0 || static_cast<size_t>(row) >= r->layers.size()) return nan;
        const store::LayerStats& l = r->layers[static_cast<size_t>(row)];
        return stage == 0 ? l.kernelMs : stage == 1 ? l.readMs : l.stallMs;
    };
    if (column < KernelAColumn) return nan;
    const int stage = (column - KernelAColumn) / 3, which = (column - KernelAColumn) % 3;
    const double a = stat(m_a, stage), b = stat(m_b, stage);
    return which == 0 ? a : which == 1 ? b : b - a;
}

QVariant LayerDeltaModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const int row = index.row(), c = index.column();
    auto name = [&]() -> QString {
        if (static_cast<size_t>(row) < m_a->layers.size()) return qs(m_a->layers[static_cast<size_t>(row)].name);
        return qs(m_b->layers[static_cast<size_t>(row)].name);
    };
    if (role == SortRole) {
        if (c == IndexColumn) return row;
        if (c == NameColumn) return name();
        return value(row, c);
    }
    if (role == Qt::DisplayRole) {
        if (c == IndexColumn) return row;
        if (c == NameColumn) return name();
        const bool delta = (c - KernelAColumn) % 3 == 2;
        return delta ? signedMs(value(row, c)) : ms(value(row, c));
    }
    if (role == Qt::ForegroundRole && c >= KernelAColumn && (c - KernelAColumn) % 3 == 2) {
        const double v = value(row, c);
        if (v > 0.05) return QColor(0xb0, 0x30, 0x30); // B slower
        if (v < -0.05) return QColor(0x2a, 0x80, 0x40);
        return {};
    }
    if (role == Qt::TextAlignmentRole && c != NameColumn)
        return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
    return {};
}

QVariant LayerDeltaModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    const QString a = m_a ? tr("run %1").arg(m_a->id) : tr("A");
    const QString b = m_b ? tr("run %1").arg(m_b->id) : tr("B");
    switch (section) {
    case IndexColumn:
        return tr("#");
    case NameColumn:
        return tr("Layer");
    case KernelAColumn:
        return tr("Kernel ms, %1").arg(a);
    case KernelBColumn:
        return tr("Kernel ms, %1").arg(b);
    case KernelDeltaColumn:
        return tr("Kernel Δ");
    case ReadAColumn:
        return tr("Read ms, %1").arg(a);
    case ReadBColumn:
        return tr("Read ms, %1").arg(b);
    case ReadDeltaColumn:
        return tr("Read Δ");
    case StallAColumn:
        return tr("Stall ms, %1").arg(a);
    case StallBColumn:
        return tr("Stall ms, %1").arg(b);
    case StallDeltaColumn:
        return tr("Stall Δ");
    default:
        return {};
    }
}

} // namespace dl::ui
