#pragma once

// Item models of the Runs view: the run history (one row per recorded run) and the per-layer comparison of two runs.
// Like the layer table, SortRole carries raw numbers for a QSortFilterProxyModel.

#include "runstorejobs.h"

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>

namespace dl::ui {

class RunHistoryModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        IdColumn,
        StartedColumn,
        ModelColumn,
        ArchColumn,
        StatusColumn,
        IterationsColumn,
        LatencyColumn,
        WeightsColumn,
        PeakColumn,
        DeviceColumn,
        ColumnCount
    };
    enum Role {
        SortRole = Qt::UserRole,
        RunIdRole,
        ModelHashRole,
        DeviceHostRole,
    };

    explicit RunHistoryModel(QObject* parent = nullptr);
    void setRuns(RunListPtr runs);
    const RunListPtr& runs() const { return m_runs; }
    // The run at a row, or nullptr.
    const store::RunSummary* runAt(int row) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    RunListPtr m_runs;
};

// Keeps the runs of one model (by hash) and one device (by host), either filter off when empty.
class RunFilterModel : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    explicit RunFilterModel(QObject* parent = nullptr);
    void setModelHash(const QString& hash);
    void setDeviceHost(const QString& host);

protected:
    bool filterAcceptsRow(int row, const QModelIndex& parent) const override;

private:
    QString m_hash, m_host;
};

// Two runs side by side, one row per layer: each stage's ms in A and in B and the difference B − A. Layers are
// matched by index; a run with fewer layers leaves the other's extra rows with dashes.
class LayerDeltaModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        IndexColumn,
        NameColumn,
        KernelAColumn,
        KernelBColumn,
        KernelDeltaColumn,
        ReadAColumn,
        ReadBColumn,
        ReadDeltaColumn,
        StallAColumn,
        StallBColumn,
        StallDeltaColumn,
        ColumnCount
    };
    enum Role { SortRole = Qt::UserRole };

    explicit LayerDeltaModel(QObject* parent = nullptr);
    void setRuns(StoredRunPtr a, StoredRunPtr b);
    const StoredRunPtr& runA() const { return m_a; }
    const StoredRunPtr& runB() const { return m_b; }
    // The number at a cell (NaN where a run lacks the layer).
    double value(int row, int column) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    StoredRunPtr m_a, m_b;
};

} // namespace dl::ui
