#pragma once

// The live pipeline timeline: one lane per stage (read, copy, kernel), a bar per layer per iteration, stalls marked
// beneath the bars of the stage that waited. While a run goes on it follows the latest iteration; dragging or
// zooming (mouse wheel, +/-, arrow keys) stops following, F follows again and Home shows everything kept. Hovering
// a bar tells its layer, times and bytes; clicking it selects the layer (layerClicked), and selectLayer()
// highlights a layer's bars. QCustomPlot draws it; its header stays out of this one.

#include "enginesession.h"

#include <QPoint>
#include <QWidget>

#include <vector>

class QCustomPlot;
class QToolButton;

namespace dl::ui {

class SpanPlottable;

struct TimelineSpan
{
    double beginMs = 0, endMs = 0; // since the run's set-up ended (RunInfo::originNs)
    int layer = -1;
    int iteration = 0;
    uint64_t bytes = 0;
    bool stall = false;
};

class TimelineView : public QWidget
{
    Q_OBJECT
public:
    // Lanes from the top.
    static constexpr Stage kLanes[3] = { Stage::Read, Stage::Copy, Stage::Kernel };
    // The iterations kept for a continuous run, and for a run of set length (enough for any run one reads bar by
    // bar, bounded for one of a hundred thousand); older ones scroll away.
    static constexpr int kKeptIterations = 20;
    static constexpr int kKeptIterationsOfSetRuns = 200;

    explicit TimelineView(QWidget* parent = nullptr);
    ~TimelineView() override;

    // Starts afresh for a run; its layer names label the bars.
    void beginRun(const RunInfoPtr& info);
    void addEvents(const EventBatchPtr& batch);
    void clear();

    void setFollowing(bool follow);
    bool isFollowing() const { return m_following; }
    void selectLayer(int layer); // -1: none
    int selectedLayer() const { return m_selected; }
    // Shows every span kept.
    void showAll();

    // What the view holds, for tests and the benchmark.
    const std::vector<TimelineSpan>& spans(Stage stage) const;
    int latestIteration() const { return m_latestIteration; }
    quint64 runId() const { return m_runId; }
    QCustomPlot* plot() const { return m_plot; }
    int replotCount() const { return m_replots; }
    // The span under a widget position of the plot, or nullptr; its stage in `stage`.
    const TimelineSpan* spanAt(const QPoint& plotPos, Stage* stage = nullptr) const;
    // The centre of a span's bar in the plot's widget coordinates (for tests that click it).
    QPoint barCentre(Stage stage, const TimelineSpan& span) const;
    QString layerName(int layer) const;

Q_SIGNALS:
    void layerClicked(int layer);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void trim();
    void follow();
    void requestReplot();
    QString tooltipFor(Stage stage, const TimelineSpan& span) const;

    QCustomPlot* m_plot = nullptr;
    SpanPlottable* m_spans = nullptr;
    QToolButton* m_followButton = nullptr;
    RunInfoPtr m_info;
    quint64 m_runId = 0;
    std::vector<TimelineSpan> m_lanes[3];
    int m_latestIteration = -1;
    int m_selected = -1;
    bool m_following = true;
    int m_replots = 0;
    QPoint m_pressPos;
};

} // namespace dl::ui
