#pragma once

// The Runs view: the run store's history, filtered to the open model and this device (either filter can be turned
// off), sortable; compare two runs side by side (a summary with differences, per-layer deltas, and a plot of them);
// delete a run; open a run's timeline in the timeline and memory views; export a run's Chrome trace or per-layer CSV.
// Every read and write of the store happens on a worker thread (RunStoreJobs).

#include "runmodels.h"

#include <QWidget>

class QCheckBox;
class QCustomPlot;
class QLabel;
class QPushButton;
class QTableView;
class QTableWidget;

namespace dl::ui {

class RunsView : public QWidget
{
    Q_OBJECT
public:
    explicit RunsView(QWidget* parent = nullptr);

    void setStorePath(const QString& path);
    // The open model's hash (from the trade-off's plan); empty: none.
    void setModelHash(const QString& hash);
    void refresh();

    // Compares the runs with these ids (A, then B); the answer shows once both are loaded (compared()).
    void compare(qint64 a, qint64 b);
    // The two selected rows, oldest as A; false unless exactly two are selected.
    bool compareSelected();
    // Deletes the selected runs (after asking, when confirmations are on).
    void deleteSelected();
    void openSelectedTimeline();
    // Exports the selected run; writing happens off the GUI thread (exported()).
    bool exportSelected(RunStoreJobs::Export what, const QString& path);
    void setConfirmations(bool on) { m_confirm = on; }
    // Selects the row of a run, if it is shown.
    bool selectRun(qint64 id);

    RunHistoryModel* historyModel() const { return m_history; }
    RunFilterModel* filterModel() const { return m_filter; }
    LayerDeltaModel* deltaModel() const { return m_delta; }
    QTableView* historyView() const { return m_view; }
    QTableWidget* summaryTable() const { return m_summary; }
    QCustomPlot* diffPlot() const { return m_plot; }
    QCheckBox* modelOnlyBox() const { return m_modelOnly; }
    QCheckBox* deviceOnlyBox() const { return m_deviceOnly; }
    RunStoreJobs* jobs() const { return m_jobs; }

Q_SIGNALS:
    void refreshed();
    void compared();
    void deleted(qint64 runId);
    void timelineLoaded(dl::ui::StoredRunPtr run);
    void exported(const QString& path, const QString& error);
    void errorOccurred(const QString& message);

private:
    std::vector<qint64> selectedIds() const;
    void updateFilter();
    void updateButtons();
    void showComparison();

    RunStoreJobs* m_jobs = nullptr;
    RunHistoryModel* m_history = nullptr;
    RunFilterModel* m_filter = nullptr;
    LayerDeltaModel* m_delta = nullptr;
    QTableView* m_view = nullptr;
    QTableView* m_deltaView = nullptr;
    QTableWidget* m_summary = nullptr;
    QCustomPlot* m_plot = nullptr;
    QCheckBox* m_modelOnly = nullptr;
    QCheckBox* m_deviceOnly = nullptr;
    QPushButton* m_compare = nullptr;
    QPushButton* m_delete = nullptr;
    QPushButton* m_timeline = nullptr;
    QLabel* m_status = nullptr;
    QString m_storePath;
    QString m_modelHash;
    quint64 m_listTicket = 0;
    quint64 m_ticketA = 0, m_ticketB = 0, m_timelineTicket = 0;
    StoredRunPtr m_a, m_b;
    bool m_confirm = true;
};

} // namespace dl::ui
