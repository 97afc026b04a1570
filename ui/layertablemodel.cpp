#include "layertablemodel.h"

#include "format.h"

#include <QColor>
#include <QLocale>
#include <QStringList>

#include <algorithm>
#include <string_view>
#include <unordered_map>

namespace dl::ui {

LayerTableModel::LayerTableModel(QObject* parent)
    : QAbstractTableModel(parent)
{ }

void LayerTableModel::setSummary(std::shared_ptr<const ModelSummary> summary)
{
    beginResetModel();
    m_summary = std::move(summary);
    m_resident.clear();
    m_stats.clear();
    m_storedType.clear();
    m_storedBytes.clear();
    endResetModel();
}

void LayerTableModel::setResident(std::vector<bool> resident)
{
    if (!resident.empty() && resident.size() != static_cast<size_t>(rowCount())) resident.clear();
    m_resident = std::move(resident);
    if (rowCount() > 0) Q_EMIT dataChanged(index(0, ResidentColumn), index(rowCount() - 1, ResidentColumn));
}

void LayerTableModel::setResident(const std::vector<bool>& resident, const std::vector<std::string>& names)
{
    const std::vector<int> rows = rowsOf(names);
    if (resident.size() != rows.size() || std::count(rows.begin(), rows.end(), -1) > 0) {
        setResident({});
        return;
    }
    std::vector<int> pieces(static_cast<size_t>(rowCount()), 0), held(pieces.size(), 0);
    for (size_t i = 0; i < rows.size(); ++i) {
        ++pieces[static_cast<size_t>(rows[i])];
        held[static_cast<size_t>(rows[i])] += resident[i] ? 1 : 0;
    }
    std::vector<bool> byRow(pieces.size(), false);
    for (size_t r = 0; r < byRow.size(); ++r)
        byRow[r] = pieces[r] > 0 && held[r] == pieces[r];
    setResident(std::move(byRow));
}

std::vector<int> LayerTableModel::rowsOf(const std::vector<std::string>& names) const
{
    std::unordered_map<std::string_view, int> row;
    if (m_summary)
        for (const LayerSummary& l : m_summary->layers)
            row.emplace(l.name, l.index);
    std::vector<int> out;
    for (const std::string& n : names) {
        auto it = row.find(n);
        if (it == row.end()) {
            const size_t dot = n.rfind('.');
            const bool piece = dot != std::string::npos && dot + 1 < n.size()
                && std::all_of(n.begin() + static_cast<std::ptrdiff_t>(dot) + 1, n.end(),
                    [](char c) { return c >= '0' && c <= '9'; });
            if (piece) it = row.find(std::string_view(n).substr(0, dot));
        }
        out.push_back(it == row.end() ? -1 : it->second);
    }
    return out;
}

void LayerTableModel::setRunStats(std::vector<store::LayerStats> stats)
{
    if (!stats.empty() && stats.size() != static_cast<size_t>(rowCount())) {
        // A run of pieces: each row sums its own.
        std::vector<std::string> names;
        for (const auto& l : stats)
            names.push_back(l.name);
        const std::vector<int> rows = rowsOf(names);
        std::vector<store::LayerStats> byRow;
        if (std::count(rows.begin(), rows.end(), -1) == 0 && m_summary) {
            for (const LayerSummary& l : m_summary->layers)
                byRow.push_back({ l.index, l.name, 0, 0, 0, 0, 0, true });
            std::vector<bool> seen(byRow.size(), false);
            for (size_t i = 0; i < stats.size(); ++i) {
                store::LayerStats& r = byRow[static_cast<size_t>(rows[i])];
                r.bytes += stats[i].bytes;
                r.boundBytes += stats[i].bound();
                r.readMs += stats[i].readMs;
                r.copyMs += stats[i].copyMs;
                r.kernelMs += stats[i].kernelMs;
                r.stallMs += stats[i].stallMs;
                r.resident = r.resident && stats[i].resident;
                seen[static_cast<size_t>(rows[i])] = true;
            }
            for (size_t r = 0; r < byRow.size(); ++r)
                if (!seen[r]) byRow[r].resident = false;
        }
        stats = std::move(byRow);
    }
    m_stats = std::move(stats);
    if (rowCount() > 0) Q_EMIT dataChanged(index(0, ReadColumn), index(rowCount() - 1, StallColumn));
}

void LayerTableModel::setStored(
    const std::vector<std::string>& types, const std::vector<int64_t>& bytes, const std::vector<std::string>& names)
{
    m_storedType.clear();
    m_storedBytes.clear();
    const std::vector<int> rows = rowsOf(names);
    if (!types.empty() && types.size() == names.size() && bytes.size() == names.size()
        && std::count(rows.begin(), rows.end(), -1) == 0) {
        m_storedType.assign(static_cast<size_t>(rowCount()), QString());
        m_storedBytes.assign(m_storedType.size(), 0);
        for (size_t i = 0; i < rows.size(); ++i) {
            const auto r = static_cast<size_t>(rows[i]);
            m_storedBytes[r] += bytes[i];
            QStringList kinds = m_storedType[r].split(QLatin1Char('+'), Qt::SkipEmptyParts);
            for (const QString& k : toQString(types[i]).split(QLatin1Char('+'), Qt::SkipEmptyParts))
                if (!kinds.contains(k)) kinds.append(k);
            kinds.sort();
            m_storedType[r] = kinds.join(QLatin1Char('+'));
        }
    }
    if (rowCount() > 0) Q_EMIT dataChanged(index(0, StoredColumn), index(rowCount() - 1, StoredColumn));
}

int LayerTableModel::rowCount(const QModelIndex& parent) const
{
    if (parent.isValid() || !m_summary) return 0;
    return static_cast<int>(m_summary->layers.size());
}

int LayerTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

static QString joinedOps(const LayerSummary& layer)
{
    QStringList ops;
    ops.reserve(static_cast<qsizetype>(layer.opTypes.size()));
    for (const auto& op : layer.opTypes)
        ops.append(toQString(op));
    return ops.join(QStringLiteral(" + "));
}

QVariant LayerTableModel::displayData(const LayerSummary& layer, int column) const
{
    switch (column) {
    case IndexColumn:
        return layer.index;
    case NameColumn:
        return toQString(layer.name);
    case OpsColumn:
        return joinedOps(layer);
    case WeightColumn:
        return layer.weightBytes ? formatBytes(layer.weightBytes) : QStringLiteral("–");
    case StoredColumn: {
        const auto r = static_cast<size_t>(layer.index);
        if (m_storedType.empty() || m_storedType[r].isEmpty()) return QStringLiteral("–");
        return tr("%1 · %2").arg(m_storedType[r], formatBytes(static_cast<size_t>(m_storedBytes[r])));
    }
    case OutputShapeColumn:
        return formatShape(layer.outputShape);
    case MflopsColumn:
        return formatScaled(layer.flops, 1e6, 2);
    case ResidentColumn:
        if (m_resident.empty()) return QStringLiteral("–");
        return m_resident[static_cast<size_t>(layer.index)] ? tr("yes") : tr("no");
    case ReadColumn:
    case CopyColumn:
    case KernelColumn:
    case StallColumn: {
        const double ms = statMs(layer, column);
        return ms < 0 ? QStringLiteral("–") : QLocale().toString(ms, 'f', 3);
    }
    default:
        return {};
    }
}

double LayerTableModel::statMs(const LayerSummary& layer, int column) const
{
    if (m_stats.empty()) return -1;
    const store::LayerStats& s = m_stats[static_cast<size_t>(layer.index)];
    switch (column) {
    case ReadColumn:
        return s.readMs;
    case CopyColumn:
        return s.copyMs;
    case KernelColumn:
        return s.kernelMs;
    case StallColumn:
        return s.stallMs;
    default:
        return -1;
    }
}

QVariant LayerTableModel::sortData(const LayerSummary& layer, int column) const
{
    // Index, name and ops sort by what they show; the number columns by their raw values.
    switch (column) {
    case WeightColumn:
        return static_cast<qulonglong>(layer.weightBytes);
    case StoredColumn:
        return static_cast<qlonglong>(m_storedBytes.empty() ? -1 : m_storedBytes[static_cast<size_t>(layer.index)]);
    case OutputShapeColumn:
        // Bigger activations sort later; the text form would put "1x1000" after "1x128x52x52".
        return static_cast<qlonglong>(layer.outputShape.empty() ? 0 : numElements(layer.outputShape));
    case MflopsColumn:
        return layer.flops;
    case ReadColumn:
    case CopyColumn:
    case KernelColumn:
    case StallColumn:
        return statMs(layer, column);
    default:
        return displayData(layer, column);
    }
}

QVariant LayerTableModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid) || !m_summary) return {};
    const LayerSummary& layer = m_summary->layers[static_cast<size_t>(index.row())];
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        return displayData(layer, column);
    case SortRole:
        return sortData(layer, column);
    case LayerIndexRole:
        return layer.index;
    case Qt::BackgroundRole:
        // The layers the current configuration keeps resident stand out in every column.
        if (!m_resident.empty() && m_resident[static_cast<size_t>(layer.index)]) return QColor(0xfc, 0xf0, 0xc8);
        return {};
    case Qt::TextAlignmentRole:
        if (column == IndexColumn || column == WeightColumn || column == StoredColumn || column == MflopsColumn
            || column >= ReadColumn)
            return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
        return QVariant::fromValue(Qt::Alignment(Qt::AlignLeft | Qt::AlignVCenter));
    case Qt::ToolTipRole:
        if (column == WeightColumn) return tr("%1 bytes").arg(formatCount(static_cast<int64_t>(layer.weightBytes)));
        if (column == OpsColumn) return tr("%1 nodes: %2").arg(layer.nodeCount).arg(joinedOps(layer));
        if (column == StoredColumn && !m_storedBytes.empty())
            return tr("How the latest run's layer pack stores this layer's weights, and the %1 bytes a read covers")
                .arg(formatCount(m_storedBytes[static_cast<size_t>(layer.index)]));
        if (column == MflopsColumn) return tr("%1 FLOPs").arg(QLocale().toString(layer.flops, 'f', 0));
        if (column >= ReadColumn && !m_stats.empty()) return tr("ms per inference, the mean over the latest run");
        return {};
    default:
        return {};
    }
}

QVariant LayerTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case IndexColumn:
        return tr("#");
    case NameColumn:
        return tr("Name");
    case OpsColumn:
        return tr("Operators");
    case WeightColumn:
        return tr("Weights");
    case StoredColumn:
        return tr("Stored");
    case OutputShapeColumn:
        return tr("Output shape");
    case MflopsColumn:
        return tr("MFLOPs");
    case ResidentColumn:
        return tr("Resident");
    case ReadColumn:
        return tr("Read ms");
    case CopyColumn:
        return tr("Copy ms");
    case KernelColumn:
        return tr("Kernel ms");
    case StallColumn:
        return tr("Stall ms");
    default:
        return {};
    }
}

} // namespace dl::ui
