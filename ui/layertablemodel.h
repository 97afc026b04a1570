#pragma once

// The layer table: one row per layer of a ModelSummary (see engine/runtime/modelinfo.h). Display text is
// formatted for people; SortRole carries the raw number so that a QSortFilterProxyModel sorts "9.5 KiB" below
// "10.0 MiB". Beside the model's own columns it shows, per layer, whether the current configuration keeps it resident
// and the read, copy, kernel and stall times of the latest run (a dash until there is one).

#include "runstore.h"
#include "runtime/modelinfo.h"

#include <QAbstractTableModel>

#include <memory>
#include <vector>

namespace dl::ui {

class LayerTableModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        IndexColumn,
        NameColumn,
        OpsColumn,
        WeightColumn,
        OutputShapeColumn,
        MflopsColumn,
        ResidentColumn,
        ReadColumn,
        CopyColumn,
        KernelColumn,
        StallColumn,
        ColumnCount
    };
    enum Role {
        SortRole = Qt::UserRole, // number for numeric columns, text otherwise
        LayerIndexRole, // the layer's index in the summary, whatever the column
    };
    Q_ENUM(Column)

    explicit LayerTableModel(QObject* parent = nullptr);

    // Shows `summary`'s layers (nullptr: none). The model shares ownership; the summary is never modified.
    void setSummary(std::shared_ptr<const ModelSummary> summary);
    const std::shared_ptr<const ModelSummary>& summary() const { return m_summary; }
    // Which layers the current configuration keeps resident, by layer index (empty: no configuration). A vector of
    // another length than the layers is ignored, as are the statistics below.
    void setResident(std::vector<bool> resident);
    const std::vector<bool>& resident() const { return m_resident; }
    // Per-layer times of a run, by layer index (empty: none).
    void setRunStats(std::vector<store::LayerStats> stats);
    const std::vector<store::LayerStats>& runStats() const { return m_stats; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QVariant displayData(const LayerSummary& layer, int column) const;
    QVariant sortData(const LayerSummary& layer, int column) const;
    double statMs(const LayerSummary& layer, int column) const; // -1 without statistics

    std::shared_ptr<const ModelSummary> m_summary;
    std::vector<bool> m_resident;
    std::vector<store::LayerStats> m_stats;
};

} // namespace dl::ui
