#pragma once

// The layer table: one row per layer of a ModelSummary (see engine/runtime/modelinfo.h). Display text is
// formatted for people; SortRole carries the raw number so that a QSortFilterProxyModel sorts "9.5 KiB" below
// "10.0 MiB". Beside the model's own columns it shows, per layer, how the latest run's pack stored its weights (type
// and bytes read), whether the current configuration keeps it resident and the read, copy, kernel and stall times of
// the latest run (a dash until there is one).

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
        StoredColumn,
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
    // The same for a configuration or run whose layers are named `names` and may be pieces of the rows' layers (a
    // layer cut at a split, dl::splitLargeLayers(), is pieces "NAME.0", "NAME.1", ...): a row is resident when every
    // piece of it is. Ignored when some layer is no row's.
    void setResident(const std::vector<bool>& resident, const std::vector<std::string>& names);
    // Per-layer times of a run, by layer index, or by name for a run of pieces: a row's times are then its pieces'
    // sums (empty: none). Ignored when some layer is no row's.
    void setRunStats(std::vector<store::LayerStats> stats);
    // The row each of `names` belongs to: the row of that name, else, for a piece "NAME.K", NAME's row; -1 for none.
    std::vector<int> rowsOf(const std::vector<std::string>& names) const;
    const std::vector<store::LayerStats>& runStats() const { return m_stats; }
    // How a run's pack stores each of its layers ("fp16", "fp32", "fp16+fp32") and the bytes a read covers, by layer
    // named `names` (pieces sum into their row; a row whose pieces differ shows both types). Empty, or a layer that is
    // no row's: none.
    void setStored(const std::vector<std::string>& types, const std::vector<int64_t>& bytes,
        const std::vector<std::string>& names);

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
    std::vector<QString> m_storedType; // by row; empty: no run
    std::vector<int64_t> m_storedBytes;
};

} // namespace dl::ui
