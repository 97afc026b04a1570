#include "layertablemodel.h"

#include "format.h"

#include <QLocale>
#include <QStringList>

namespace dl::ui {

LayerTableModel::LayerTableModel(QObject* parent)
    : QAbstractTableModel(parent)
{ }

void LayerTableModel::setSummary(std::shared_ptr<const ModelSummary> summary)
{
    beginResetModel();
    m_summary = std::move(summary);
    endResetModel();
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
    case OutputShapeColumn:
        return formatShape(layer.outputShape);
    case MflopsColumn:
        return formatScaled(layer.flops, 1e6, 2);
    default:
        return {};
    }
}

QVariant LayerTableModel::sortData(const LayerSummary& layer, int column) const
{
    // Index, name and ops sort by what they show; the number columns by their raw values.
    switch (column) {
    case WeightColumn:
        return static_cast<qulonglong>(layer.weightBytes);
    case OutputShapeColumn:
        // Bigger activations sort later; the text form would put "1x1000" after "1x128x52x52".
        return static_cast<qlonglong>(layer.outputShape.empty() ? 0 : numElements(layer.outputShape));
    case MflopsColumn:
        return layer.flops;
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
    case Qt::TextAlignmentRole:
        if (column == IndexColumn || column == WeightColumn || column == MflopsColumn)
            return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
        return QVariant::fromValue(Qt::Alignment(Qt::AlignLeft | Qt::AlignVCenter));
    case Qt::ToolTipRole:
        if (column == WeightColumn) return tr("%1 bytes").arg(formatCount(static_cast<int64_t>(layer.weightBytes)));
        if (column == OpsColumn) return tr("%1 nodes: %2").arg(layer.nodeCount).arg(joinedOps(layer));
        if (column == MflopsColumn) return tr("%1 FLOPs").arg(QLocale().toString(layer.flops, 'f', 0));
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
    case OutputShapeColumn:
        return tr("Output shape");
    case MflopsColumn:
        return tr("MFLOPs");
    default:
        return {};
    }
}

} // namespace dl::ui
