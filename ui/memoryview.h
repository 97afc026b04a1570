#pragma once

// The memory graph: the ledger's bytes over time stacked by tag (resident weights and staging at the bottom, where
// the weight budget applies, then activations and workspace), the budget as a line, the process's RSS as a line,
// and the read bandwidth as a track of its own beneath. Fed from the session's batches; QCustomPlot draws it.

#include "enginesession.h"

#include <QWidget>

#include <array>

class QCustomPlot;
class QCPAxisRect;
class QCPGraph;
class QCPItemStraightLine;

namespace dl::ui {

class MemoryView : public QWidget
{
    Q_OBJECT
public:
    // A continuous run keeps this much of its latest history.
    static constexpr double kWindowSeconds = 30;
    // A run of set length keeps this much (all of any run one would read sample by sample).
    static constexpr double kWindowSecondsOfSetRuns = 600;
    // Samples closer than this are merged into the one with the larger total (and the larger bandwidth), so that a
    // fast model's thousands of samples a second cost the redraw little while the peaks stay.
    static constexpr double kBucketSeconds = 0.002;

    explicit MemoryView(QWidget* parent = nullptr);

    void beginRun(const RunInfoPtr& info);
    void addEvents(const EventBatchPtr& batch);
    void clear();

    QCustomPlot* plot() const { return m_plot; }
    // Points held, for tests: of the stack (per tag), of the RSS line and of the bandwidth track.
    int memoryPointCount() const;
    int rssPointCount() const;
    int bandwidthPointCount() const;
    // The largest stacked total held (the ledger's total), and the budget line's value (0: none).
    double largestTotalBytes() const { return m_largestTotal; }
    double budgetBytes() const;
    int replotCount() const { return m_replots; }

private:
    void trim(double nowS);
    void addSample(double t, const std::array<double, kMemTagCount>& bytes, double total, double mbps);
    void flushBucket();

    QCustomPlot* m_plot = nullptr;
    QCPAxisRect* m_bandwidthRect = nullptr;
    QCPGraph* m_stack[kMemTagCount] = {};
    QCPGraph* m_rss = nullptr;
    QCPGraph* m_bandwidth = nullptr;
    QCPItemStraightLine* m_budget = nullptr;
    RunInfoPtr m_info;
    quint64 m_runId = 0;
    double m_largestTotal = 0;
    double m_lastS = 0;
    // The bucket being filled: its time, the largest sample so far and the largest bandwidth.
    struct Bucket
    {
        bool valid = false; // indices are negative before time zero (set-up)
        long long index = 0;
        double t = 0;
        std::array<double, kMemTagCount> bytes {};
        double total = -1;
        double mbps = 0;
    } m_bucket;
    int m_replots = 0;
};

} // namespace dl::ui
