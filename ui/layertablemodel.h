#pragma once

// The layer table: one row per layer of a ModelSummary (see engine/runtime/modelinfo.h). Display text is
// formatted for people; SortRole carries the raw number so that a QSortFilterProxyModel sorts "9.5 KiB" below
// "10.0 MiB".

#include "runtime/modelinfo.h"

#include <QAbstractTableModel>

#include <memory>

namespace dl::ui {

class LayerTableModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { IndexColumn, NameColumn, OpsColumn, WeightColumn, OutputShapeColumn, MflopsColumn, ColumnCount };
    enum Role {
        SortRole = Qt::UserRole, // number for numeric columns, text otherwise
        LayerIndexRole, // the layer's index in the summary, whatever the column
    };
    Q_ENUM(Column)

    explicit LayerTableModel(QObject* parent = nullptr);

    // Shows `summary`'s layers (nullptr: none). The model shares ownership; the summary is never modified.
    void setSummary(std::shared_ptr<const ModelSummary> summary);
    const std::shared_ptr<const ModelSummary>& summary() const { return m_summary; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QVariant displayData(const LayerSummary& layer, int column) const;
    QVariant sortData(const LayerSummary& layer, int column) const;

    std::shared_ptr<const ModelSummary> m_summary;
};

} // namespace dl::ui
