#pragma once

// The trade-off: every recorded run of the open model as a point (weight memory against median latency, coloured by
// architecture), the planner's frontier and lower bound as curves, and the memory-budget slider. Dragging the slider
// moves a marker along the frontier and shows at once the predicted latency, the memory breakdown and (through
// residentChanged) the resident layers; nothing is computed on the way, the frontier is planned beforehand off the
// GUI thread. "Run this configuration" asks the window to verify the chosen point, whose measurement is then drawn
// beside the prediction; "Export configuration…" writes the file `dlayer run --config` runs.

#include "tradeoffplanner.h"

#include <QWidget>

class QComboBox;
class QCustomPlot;
class QCPGraph;
class QLabel;
class QPushButton;
class QSlider;

namespace dl::ui {

class TradeoffView : public QWidget
{
    Q_OBJECT
public:
    explicit TradeoffView(QWidget* parent = nullptr);

    // Shows a plan (nullptr: none, e.g. no model).
    void setResult(const PlanResultPtr& result);
    const PlanResultPtr& result() const { return m_result; }
    // The verification of the chosen point: measured weight peak and median latency, drawn beside the prediction.
    void addMeasured(double weightsBytes, double latencyMs);

    // The frontier index the slider stands at; -1 without a frontier.
    int selectedIndex() const;
    void setSelectedIndex(int index);
    // The choice there, or nullptr.
    const plan::Choice* selectedChoice() const;
    // The architecture the frontier is planned for (the box above the plot).
    dl::Arch arch() const;
    // The packs it is planned for (the box beside it): the slider walks this precision's frontier, the other one is
    // drawn beside it.
    dl::Precision precision() const;
    void setPrecision(dl::Precision precision);
    // Points on the other precision's frontier as drawn (0 when it has none).
    int otherFrontierPointCount() const;

    QSlider* slider() const { return m_slider; }
    QCustomPlot* plot() const { return m_plot; }
    QPushButton* runButton() const { return m_run; }
    QPushButton* exportButton() const { return m_export; }
    QPushButton* profileButton() const { return m_profile; }
    QLabel* predictionLabel() const { return m_prediction; }
    int measuredCount() const;
    int runPointCount() const;

Q_SIGNALS:
    // The resident set of the chosen point, by layer index (empty when there is none).
    // By layer of the chosen point's profile, named `names` (whole layers, or pieces of them).
    void residentChanged(const std::vector<bool>& resident, const std::vector<std::string>& names);
    void runRequested(const dl::plan::Choice& choice);
    void exportRequested(const dl::plan::Choice& choice);
    void profileRequested();
    // Another architecture was picked for the frontier: the window plans again.
    void archChanged(dl::Arch arch);
    // Another precision was picked: the window plans again.
    void precisionChanged(dl::Precision precision);

private:
    void onSlider(int index);
    // Which splits the plan weighed, for the status line; empty for one profile of whole layers.
    static QString splitsText(const PlanResult& result);
    // The other precision's frontier, for the status line.
    static QString otherText(const PlanResult& result);
    void updateButtons();

    QCustomPlot* m_plot = nullptr;
    std::vector<QCPGraph*> m_runGraphs; // by architecture
    QCPGraph* m_frontier = nullptr;
    QCPGraph* m_other = nullptr; // the other precision's frontier
    QCPGraph* m_bound = nullptr;
    QCPGraph* m_marker = nullptr;
    QCPGraph* m_measured = nullptr;
    QComboBox* m_arch = nullptr;
    QComboBox* m_precision = nullptr;
    QSlider* m_slider = nullptr;
    QLabel* m_prediction = nullptr;
    QLabel* m_breakdown = nullptr;
    QLabel* m_status = nullptr;
    QPushButton* m_run = nullptr;
    QPushButton* m_export = nullptr;
    QPushButton* m_profile = nullptr;
    PlanResultPtr m_result;
};

} // namespace dl::ui

Q_DECLARE_METATYPE(dl::plan::Choice)
