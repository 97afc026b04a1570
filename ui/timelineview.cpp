#include "timelineview.h"

#include "format.h"

#include "qcustomplotheader.h"

#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>

namespace dl::ui {

namespace {

constexpr double kBarHalf = 0.36; // of a lane's height of 1
constexpr double kStallTop = -0.14, kStallBottom = -0.36; // stalls: the lower part of the lane, below the bars' middle

// Lane index → value-axis position: read on top.
double laneY(int lane)
{
    return 2.0 - lane;
}

QColor stageColour(int lane, bool odd)
{
    static const QColor base[3] = { QColor(0x3b, 0x82, 0xc4), QColor(0x8e, 0x6c, 0xbf), QColor(0x3d, 0xa5, 0x5d) };
    return odd ? base[lane].lighter(125) : base[lane];
}

} // namespace

// Draws the spans of the three lanes that fall in the visible key range, batched by brush.
class SpanPlottable : public QCPAbstractPlottable
{
public:
    SpanPlottable(QCPAxis* keyAxis, QCPAxis* valueAxis, const std::vector<TimelineSpan>* lanes)
        : QCPAbstractPlottable(keyAxis, valueAxis)
        , m_lanes(lanes)
    {
        setSelectable(QCP::stNone);
    }
    void setSelectedLayer(int layer) { m_selected = layer; }

    double selectTest(const QPointF&, bool, QVariant*) const override { return -1; }
    QCPRange getKeyRange(bool& found, QCP::SignDomain) const override
    {
        found = false;
        QCPRange r;
        for (int l = 0; l < 3; ++l)
            for (const auto& s : m_lanes[l]) {
                if (!found) r = QCPRange(s.beginMs, s.endMs);
                r.expand(QCPRange(s.beginMs, s.endMs));
                found = true;
            }
        return r;
    }
    QCPRange getValueRange(bool& found, QCP::SignDomain, const QCPRange&) const override
    {
        found = true;
        return QCPRange(-0.5, 2.5);
    }

protected:
    void draw(QCPPainter* painter) override
    {
        QCPAxis* k = keyAxis();
        QCPAxis* v = valueAxis();
        if (!k || !v) return;
        const QCPRange range = k->range();
        painter->setPen(Qt::NoPen);
        for (int l = 0; l < 3; ++l) {
            const double y = laneY(l);
            const double top = v->coordToPixel(y + kBarHalf), bottom = v->coordToPixel(y - kBarHalf);
            const double stallTop = v->coordToPixel(y + kStallTop), stallBottom = v->coordToPixel(y + kStallBottom);
            QVector<QRectF> even, odd, stalls, selected;
            double lastRight = -1e9;
            for (const auto& s : m_lanes[l]) {
                if (s.endMs < range.lower || s.beginMs > range.upper) continue;
                double x0 = k->coordToPixel(s.beginMs), x1 = k->coordToPixel(s.endMs);
                if (x1 - x0 < 1) x1 = x0 + 1; // every bar shows, however short
                if (s.stall) {
                    stalls.append(QRectF(QPointF(x0, stallTop), QPointF(x1, stallBottom)));
                    continue;
                }
                QRectF r(QPointF(x0, top), QPointF(x1, bottom));
                if (s.layer == m_selected) {
                    selected.append(r);
                } else if (x1 <= lastRight + 0.5) {
                    // Within the pixel the previous bar already covers: a run of sub-pixel bars draws as one.
                } else {
                    (s.layer & 1 ? odd : even).append(r);
                }
                lastRight = std::max(lastRight, x1);
            }
            painter->setBrush(stageColour(l, false));
            painter->drawRects(even);
            painter->setBrush(stageColour(l, true));
            painter->drawRects(odd);
            painter->setBrush(QBrush(QColor(0xd6, 0x3b, 0x3b), Qt::BDiagPattern));
            painter->setPen(QPen(QColor(0xd6, 0x3b, 0x3b), 0));
            painter->drawRects(stalls);
            painter->setPen(QPen(QColor(0x20, 0x20, 0x20), 1.5));
            painter->setBrush(QColor(0xf2, 0xc1, 0x2e));
            painter->drawRects(selected);
            painter->setPen(Qt::NoPen);
        }
    }
    void drawLegendIcon(QCPPainter*, const QRectF&) const override { }

private:
    const std::vector<TimelineSpan>* m_lanes;
    int m_selected = -1;
};

TimelineView::TimelineView(QWidget* parent)
    : QWidget(parent)
{
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("timelinePlot"));
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_plot->setFocusPolicy(Qt::StrongFocus);
    m_plot->setMouseTracking(true);
    m_plot->installEventFilter(this);
    m_plot->xAxis->setLabel(tr("time since set-up (ms)"));
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    ticker->addTick(laneY(0), tr("read"));
    ticker->addTick(laneY(1), tr("copy"));
    ticker->addTick(laneY(2), tr("kernel"));
    m_plot->yAxis->setTicker(ticker);
    m_plot->yAxis->setRange(-0.6, 2.6);
    m_plot->yAxis->grid()->setVisible(false);
    m_plot->xAxis->setRange(0, 100);
    m_spans = new SpanPlottable(m_plot->xAxis, m_plot->yAxis, m_lanes);
    connect(m_plot, &QCustomPlot::afterReplot, this, [this] { ++m_replots; });

    m_followButton = new QToolButton(this);
    m_followButton->setText(tr("Follow"));
    m_followButton->setToolTip(tr("Follow the latest iteration (F)"));
    m_followButton->setCheckable(true);
    m_followButton->setChecked(true);
    connect(m_followButton, &QToolButton::toggled, this, &TimelineView::setFollowing);
    auto* all = new QToolButton(this);
    all->setText(tr("Show all"));
    all->setToolTip(tr("Show every iteration kept (Home)"));
    connect(all, &QToolButton::clicked, this, &TimelineView::showAll);
    auto* hint = new QLabel(tr("Drag to pan, wheel or +/- to zoom; click a bar to select its layer"), this);
    hint->setEnabled(false);

    auto* bar = new QHBoxLayout;
    bar->addWidget(m_followButton);
    bar->addWidget(all);
    bar->addWidget(hint, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(bar);
    layout->addWidget(m_plot, 1);
}

TimelineView::~TimelineView() = default;

void TimelineView::clear()
{
    for (auto& lane : m_lanes)
        lane.clear();
    m_latestIteration = -1;
    requestReplot();
}

void TimelineView::beginRun(const RunInfoPtr& info)
{
    m_info = info;
    m_runId = info ? info->id : 0;
    clear();
    setFollowing(true);
}

void TimelineView::addEvents(const EventBatchPtr& batch)
{
    if (!batch || !m_info || batch->id != m_runId) return; // another run's, late
    const double origin = static_cast<double>(m_info->originNs);
    for (const auto& e : batch->events) {
        if (e.kind == EventKind::Begin || e.layer < 0) continue;
        int lane = -1;
        for (int l = 0; l < 3; ++l)
            if (kLanes[l] == e.stage) lane = l;
        if (lane < 0) continue;
        TimelineSpan s;
        s.beginMs = (static_cast<double>(e.beginNs) - origin) / 1e6;
        s.endMs = (static_cast<double>(e.endNs) - origin) / 1e6;
        s.layer = e.layer;
        s.iteration = e.iteration;
        s.bytes = e.bytes;
        s.stall = e.kind == EventKind::Stall;
        m_lanes[lane].push_back(s);
        if (e.stage == Stage::Kernel && !s.stall) m_latestIteration = std::max(m_latestIteration, e.iteration);
    }
    trim();
    if (m_following) follow();
    requestReplot();
}

void TimelineView::trim()
{
    if (!m_info) return;
    const int keep = m_info->continuous ? kKeptIterations : kKeptIterationsOfSetRuns;
    const int oldest = m_latestIteration - keep + 1;
    if (oldest <= 0) return;
    for (auto& lane : m_lanes)
        if (!lane.empty() && lane.front().iteration < oldest)
            std::erase_if(lane, [&](const TimelineSpan& s) { return s.iteration < oldest; });
}

void TimelineView::follow()
{
    if (m_latestIteration < 0) return;
    double lo = 1e300, hi = -1e300;
    for (const auto& lane : m_lanes)
        for (const auto& s : lane)
            if (s.iteration == m_latestIteration) {
                lo = std::min(lo, s.beginMs);
                hi = std::max(hi, s.endMs);
            }
    if (lo >= hi) return;
    const double margin = (hi - lo) * 0.02;
    m_plot->xAxis->setRange(lo - margin, hi + margin);
}

void TimelineView::showAll()
{
    setFollowing(false);
    bool found = false;
    const QCPRange r = m_spans->getKeyRange(found, QCP::sdBoth);
    if (found) m_plot->xAxis->setRange(r.lower - r.size() * 0.01, r.upper + r.size() * 0.01);
    requestReplot();
}

void TimelineView::setFollowing(bool follow)
{
    m_following = follow;
    if (m_followButton->isChecked() != follow) m_followButton->setChecked(follow);
    if (follow) {
        this->follow();
        requestReplot();
    }
}

void TimelineView::selectLayer(int layer)
{
    if (m_selected == layer) return;
    m_selected = layer;
    m_spans->setSelectedLayer(layer);
    requestReplot();
}

const std::vector<TimelineSpan>& TimelineView::spans(Stage stage) const
{
    for (int l = 0; l < 3; ++l)
        if (kLanes[l] == stage) return m_lanes[l];
    static const std::vector<TimelineSpan> none;
    return none;
}

void TimelineView::requestReplot()
{
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString TimelineView::layerName(int layer) const
{
    if (m_info && layer >= 0 && static_cast<size_t>(layer) < m_info->layerNames.size())
        return QString::fromStdString(m_info->layerNames[static_cast<size_t>(layer)]);
    return {};
}

const TimelineSpan* TimelineView::spanAt(const QPoint& pos, Stage* stage) const
{
    const double x = m_plot->xAxis->pixelToCoord(pos.x());
    const double y = m_plot->yAxis->pixelToCoord(pos.y());
    const double slack = std::abs(m_plot->xAxis->pixelToCoord(pos.x() + 2) - x); // two pixels
    for (int l = 0; l < 3; ++l) {
        const double dy = y - laneY(l);
        if (dy > kBarHalf || dy < -kBarHalf) continue;
        const bool wantStall = dy <= kStallTop;
        const TimelineSpan* best = nullptr;
        for (const auto& s : m_lanes[l]) {
            if (x < s.beginMs - slack || x > s.endMs + slack) continue;
            if (!best || (s.stall == wantStall && best->stall != wantStall)) best = &s;
        }
        if (best && stage) *stage = kLanes[l];
        return best;
    }
    return nullptr;
}

QPoint TimelineView::barCentre(Stage stage, const TimelineSpan& span) const
{
    int lane = 0;
    for (int l = 0; l < 3; ++l)
        if (kLanes[l] == stage) lane = l;
    const double y = laneY(lane) + (span.stall ? (kStallTop + kStallBottom) / 2 : kBarHalf / 2);
    return QPoint(static_cast<int>(m_plot->xAxis->coordToPixel((span.beginMs + span.endMs) / 2)),
        static_cast<int>(m_plot->yAxis->coordToPixel(y)));
}

QString TimelineView::tooltipFor(Stage stage, const TimelineSpan& s) const
{
    QString text = tr("<b>%1</b> (layer %2)<br>%3 %4, iteration %5<br>%6 → %7 ms: %8 ms")
                       .arg(layerName(s.layer).toHtmlEscaped())
                       .arg(s.layer)
                       .arg(QString::fromLatin1(stageName(stage)))
                       .arg(s.stall ? tr("stalled") : QString())
                       .arg(s.iteration)
                       .arg(s.beginMs, 0, 'f', 3)
                       .arg(s.endMs, 0, 'f', 3)
                       .arg(s.endMs - s.beginMs, 0, 'f', 3);
    if (s.bytes) text += QStringLiteral("<br>") + formatBytes(static_cast<size_t>(s.bytes));
    return text;
}

bool TimelineView::eventFilter(QObject* watched, QEvent* event)
{
    if (watched != m_plot) return QWidget::eventFilter(watched, event);
    switch (event->type()) {
    case QEvent::Wheel:
        setFollowing(false); // the user took the view
        break;
    case QEvent::MouseButtonPress: {
        auto* me = static_cast<QMouseEvent*>(event);
        m_pressPos = me->position().toPoint();
        break;
    }
    case QEvent::MouseMove: {
        auto* me = static_cast<QMouseEvent*>(event);
        if (me->buttons() & Qt::LeftButton) {
            if ((me->position().toPoint() - m_pressPos).manhattanLength() > 3) setFollowing(false);
            break;
        }
        Stage stage = Stage::Kernel;
        if (const TimelineSpan* s = spanAt(me->position().toPoint(), &stage))
            QToolTip::showText(me->globalPosition().toPoint(), tooltipFor(stage, *s), m_plot);
        else
            QToolTip::hideText();
        break;
    }
    case QEvent::MouseButtonRelease: {
        auto* me = static_cast<QMouseEvent*>(event);
        if ((me->position().toPoint() - m_pressPos).manhattanLength() <= 3 && me->button() == Qt::LeftButton) {
            const TimelineSpan* s = spanAt(me->position().toPoint());
            const int layer = s ? s->layer : -1;
            selectLayer(layer);
            if (layer >= 0) Q_EMIT layerClicked(layer);
        }
        break;
    }
    case QEvent::KeyPress: {
        auto* ke = static_cast<QKeyEvent*>(event);
        QCPAxis* x = m_plot->xAxis;
        const double centre = x->range().center(), size = x->range().size();
        switch (ke->key()) {
        case Qt::Key_Plus:
        case Qt::Key_Equal:
            setFollowing(false);
            x->scaleRange(0.8, centre);
            break;
        case Qt::Key_Minus:
            setFollowing(false);
            x->scaleRange(1.25, centre);
            break;
        case Qt::Key_Left:
            setFollowing(false);
            x->moveRange(-size * 0.1);
            break;
        case Qt::Key_Right:
            setFollowing(false);
            x->moveRange(size * 0.1);
            break;
        case Qt::Key_Home:
            showAll();
            return true;
        case Qt::Key_F:
            setFollowing(true);
            return true;
        default:
            return false;
        }
        requestReplot();
        return true;
    }
    default:
        break;
    }
    return false;
}

} // namespace dl::ui
