#include "memoryview.h"

#include "qcustomplotheader.h"

#include <QVBoxLayout>

#include <cmath>

namespace dl::ui {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

QString tagLabel(MemTag tag)
{
    switch (tag) {
    case MemTag::ResidentWeights:
        return MemoryView::tr("resident weights");
    case MemTag::Staging:
        return MemoryView::tr("staging");
    case MemTag::Activations:
        return MemoryView::tr("activations");
    case MemTag::Workspace:
        return MemoryView::tr("workspace");
    }
    return {};
}

} // namespace

MemoryView::MemoryView(QWidget* parent)
    : QWidget(parent)
{
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("memoryPlot"));
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_plot->yAxis->setLabel(tr("memory (MiB)"));
    // Step lines and fills of thousands of samples: drawn without antialiasing, as fast polylines.
    m_plot->setNotAntialiasedElements(QCP::aePlottables | QCP::aeFills);
    m_plot->setPlottingHint(QCP::phFastPolylines, true);
    m_plot->legend->setVisible(true);
    m_plot->legend->setFont(font());
    // A light, see-through legend in the corner where the stack is lowest at the start of a run.
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    m_plot->legend->setBrush(QColor(255, 255, 255, 190));
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->legend->setRowSpacing(0);

    static const QColor colours[kMemTagCount]
        = { QColor(0x3b, 0x82, 0xc4), QColor(0x6c, 0xb4, 0xee), QColor(0xf0, 0xa2, 0x3b), QColor(0xb0, 0xb0, 0xb0) };
    // Each tag's graph is the running sum up to it, filled down to zero with an opaque brush and drawn from the top
    // of the stack down, so that each shows as its own band: cheaper to draw than filling between graphs.
    for (size_t k = kMemTagCount; k-- > 0;) {
        QCPGraph* g = m_plot->addGraph();
        g->setName(tagLabel(static_cast<MemTag>(k)));
        g->setLineStyle(QCPGraph::lsStepLeft);
        g->setPen(QPen(colours[k].darker(115), 1));
        g->setBrush(colours[k].lighter(110));
        m_stack[k] = g;
    }
    m_rss = m_plot->addGraph();
    m_rss->setName(tr("process RSS"));
    m_rss->setPen(QPen(QColor(0xc0, 0x30, 0x30), 1.5));
    m_budget = new QCPItemStraightLine(m_plot);
    m_budget->setPen(QPen(QColor(0x20, 0x20, 0x20), 1.5, Qt::DashLine));
    m_budget->setVisible(false);

    // Read bandwidth: its own axis rect beneath, sharing the time axis's range.
    m_bandwidthRect = new QCPAxisRect(m_plot);
    m_plot->plotLayout()->addElement(1, 0, m_bandwidthRect);
    m_plot->plotLayout()->setRowStretchFactor(1, 0.35);
    m_bandwidthRect->axis(QCPAxis::atLeft)->setLabel(tr("read MB/s"));
    m_bandwidthRect->axis(QCPAxis::atBottom)->setLabel(tr("time since set-up (s)"));
    auto* group = new QCPMarginGroup(m_plot);
    m_plot->axisRect()->setMarginGroup(QCP::msLeft | QCP::msRight, group);
    m_bandwidthRect->setMarginGroup(QCP::msLeft | QCP::msRight, group);
    m_bandwidth = m_plot->addGraph(m_bandwidthRect->axis(QCPAxis::atBottom), m_bandwidthRect->axis(QCPAxis::atLeft));
    m_bandwidth->setName(tr("read bandwidth"));
    m_bandwidth->setPen(QPen(QColor(0x3b, 0x82, 0xc4), 1));
    m_bandwidth->setBrush(QColor(0x3b, 0x82, 0xc4, 60));
    m_bandwidth->removeFromLegend();
    connect(m_plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), m_bandwidthRect->axis(QCPAxis::atBottom),
        qOverload<const QCPRange&>(&QCPAxis::setRange));
    connect(m_plot, &QCustomPlot::afterReplot, this, [this] { ++m_replots; });

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
}

void MemoryView::clear()
{
    for (QCPGraph* g : m_stack)
        g->data()->clear();
    m_rss->data()->clear();
    m_bandwidth->data()->clear();
    m_largestTotal = 0;
    m_lastS = 0;
    m_bucket = Bucket {};
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void MemoryView::beginRun(const RunInfoPtr& info)
{
    m_info = info;
    m_runId = info ? info->id : 0;
    clear();
    const bool budget = info && info->budgetBytes > 0;
    m_budget->setVisible(budget);
    if (budget) {
        const double y = static_cast<double>(info->budgetBytes) / kMiB;
        m_budget->point1->setCoords(0, y);
        m_budget->point2->setCoords(1, y);
    }
}

void MemoryView::addEvents(const EventBatchPtr& batch)
{
    if (!batch || !m_info || batch->id != m_runId) return;
    const double origin = static_cast<double>(m_info->originNs);
    for (const auto& c : batch->counters) {
        const double t = (static_cast<double>(c.timeNs) - origin) / 1e9;
        std::array<double, kMemTagCount> bytes {};
        double sum = 0;
        for (size_t k = 0; c.hasMemory && k < kMemTagCount; ++k) {
            bytes[k] = static_cast<double>(c.memoryBytes[k]);
            sum += bytes[k];
        }
        addSample(t, bytes, c.hasMemory ? sum : -1, c.readMBps);
        m_largestTotal = std::max(m_largestTotal, sum);
        m_lastS = std::max(m_lastS, t);
    }
    flushBucket();
    for (const auto& [ns, bytes] : batch->rss) {
        const double t = (static_cast<double>(ns) - origin) / 1e9;
        m_rss->addData(t, static_cast<double>(bytes) / kMiB);
        m_lastS = std::max(m_lastS, t);
    }
    trim(m_lastS);
    // The whole run so far (or the window), and room above the RSS and the budget.
    double top = m_largestTotal / kMiB;
    for (auto it = m_rss->data()->constBegin(); it != m_rss->data()->constEnd(); ++it)
        top = std::max(top, it->value);
    if (m_budget->visible()) top = std::max(top, m_budget->point1->coords().y());
    const double window = m_info->continuous ? kWindowSeconds : kWindowSecondsOfSetRuns;
    const double from = std::max(-0.05, m_lastS - window);
    m_plot->xAxis->setRange(from, std::max(m_lastS, from + 0.1));
    m_plot->yAxis->setRange(0, top * 1.1 + 1);
    bool found = false;
    const QCPRange bw = m_bandwidth->getValueRange(found);
    m_bandwidthRect->axis(QCPAxis::atLeft)->setRange(0, found ? std::max(1.0, bw.upper * 1.1) : 1.0);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void MemoryView::addSample(double t, const std::array<double, kMemTagCount>& bytes, double total, double mbps)
{
    const auto index = static_cast<long long>(std::floor(t / kBucketSeconds));
    if (!m_bucket.valid || index != m_bucket.index) {
        flushBucket();
        m_bucket = Bucket { true, index, t, bytes, total, mbps };
        return;
    }
    if (total > m_bucket.total) {
        m_bucket.t = t;
        m_bucket.bytes = bytes;
        m_bucket.total = total;
    }
    m_bucket.mbps = std::max(m_bucket.mbps, mbps);
}

void MemoryView::flushBucket()
{
    if (!m_bucket.valid) return;
    if (m_bucket.total >= 0) {
        double sum = 0;
        for (size_t k = 0; k < kMemTagCount; ++k) {
            sum += m_bucket.bytes[k];
            m_stack[k]->addData(m_bucket.t, sum / kMiB);
        }
    }
    m_bandwidth->addData(m_bucket.t, m_bucket.mbps);
    m_bucket = Bucket {};
}

void MemoryView::trim(double nowS)
{
    const double keepFrom = nowS - (m_info && m_info->continuous ? kWindowSeconds : kWindowSecondsOfSetRuns);
    if (keepFrom <= 0) return;
    for (QCPGraph* g : m_stack)
        g->data()->removeBefore(keepFrom);
    m_rss->data()->removeBefore(keepFrom);
    m_bandwidth->data()->removeBefore(keepFrom);
}

int MemoryView::memoryPointCount() const
{
    return m_stack[0]->data()->size();
}

int MemoryView::rssPointCount() const
{
    return m_rss->data()->size();
}

int MemoryView::bandwidthPointCount() const
{
    return m_bandwidth->data()->size();
}

double MemoryView::budgetBytes() const
{
    return m_budget->visible() ? m_budget->point1->coords().y() * kMiB : 0;
}

} // namespace dl::ui
