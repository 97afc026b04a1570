#include "tradeoffview.h"

#include "format.h"

#include "qcustomplotheader.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>

namespace dl::ui {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;
const dl::Arch kArchs[] = { Arch::Preload, Arch::Sequential, Arch::Sync, Arch::Async, Arch::TwoStage };

QColor archColour(int i)
{
    static const QColor c[] = { QColor(0x55, 0x55, 0x55), QColor(0xd6, 0x7d, 0x2a), QColor(0x8e, 0x6c, 0xbf),
        QColor(0x3b, 0x82, 0xc4), QColor(0x3d, 0xa5, 0x5d) };
    return c[i % 5];
}

QString mib(double bytes)
{
    return formatBytes(static_cast<size_t>(bytes));
}

} // namespace

TradeoffView::TradeoffView(QWidget* parent)
    : QWidget(parent)
{
    qRegisterMetaType<plan::Choice>();
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("tradeoffPlot"));
    m_plot->xAxis->setLabel(tr("weight memory (MiB)"));
    m_plot->yAxis->setLabel(tr("latency (ms)"));
    m_plot->xAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    // The legend goes beneath the plot, in columns, so that it never hides a point.
    m_plot->legend->setVisible(true);
    m_plot->legend->setFont(font());
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    m_plot->legend->setWrap(4);
    m_plot->axisRect()->insetLayout()->take(m_plot->legend);
    m_plot->plotLayout()->addElement(1, 0, m_plot->legend);
    m_plot->plotLayout()->setRowStretchFactor(1, 0.001);

    m_frontier = m_plot->addGraph();
    m_frontier->setName(tr("predicted (frontier)"));
    m_frontier->setPen(QPen(QColor(0x20, 0x20, 0x20), 1.5));
    m_frontier->setLineStyle(QCPGraph::lsLine);
    m_other = m_plot->addGraph();
    m_other->setPen(QPen(QColor(0x2a, 0x7a, 0xb8), 1.5, Qt::DashDotLine));
    m_other->setLineStyle(QCPGraph::lsLine);
    m_bound = m_plot->addGraph();
    m_bound->setName(tr("lower bound"));
    m_bound->setPen(QPen(QColor(0x80, 0x80, 0x80), 1, Qt::DashLine));
    int i = 0;
    for (Arch a : kArchs) {
        QCPGraph* g = m_plot->addGraph();
        g->setName(tr("runs: %1").arg(QString::fromLatin1(archName(a))));
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, archColour(i), archColour(i), 6));
        m_runGraphs.push_back(g);
        ++i;
    }
    m_measured = m_plot->addGraph();
    m_measured->setName(tr("measured choice"));
    m_measured->setLineStyle(QCPGraph::lsNone);
    m_measured->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssCrossSquare, QPen(QColor(0xd6, 0x3b, 0x3b), 2), Qt::NoBrush, 11));
    m_marker = m_plot->addGraph();
    m_marker->setName(tr("chosen budget"));
    m_marker->setLineStyle(QCPGraph::lsNone);
    m_marker->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(QColor(0xd6, 0x3b, 0x3b), 2), QColor(0xf2, 0xc1, 0x2e), 12));

    m_arch = new QComboBox(this);
    m_arch->setObjectName(QStringLiteral("tradeoffArch"));
    for (Arch a : { Arch::TwoStage, Arch::Async, Arch::Sync, Arch::Sequential })
        m_arch->addItem(QString::fromLatin1(archName(a)), static_cast<int>(a));
    connect(m_arch, &QComboBox::currentIndexChanged, this, [this] { Q_EMIT archChanged(arch()); });
    m_precision = new QComboBox(this);
    m_precision->setObjectName(QStringLiteral("tradeoffPrecision"));
    m_precision->addItem(tr("fp32 packs"), static_cast<int>(Precision::F32));
    m_precision->addItem(tr("fp16 packs"), static_cast<int>(Precision::F16));
    m_precision->setToolTip(tr("Plan for layer packs that store the weights in fp32 or in fp16 (half the bytes read, "
                               "widened for the kernels); the other precision's frontier is drawn beside, when its "
                               "profile is recorded"));
    connect(m_precision, &QComboBox::currentIndexChanged, this, [this] { Q_EMIT precisionChanged(precision()); });

    m_slider = new QSlider(Qt::Horizontal, this);
    m_slider->setObjectName(QStringLiteral("budgetSlider"));
    m_slider->setEnabled(false);
    m_slider->setToolTip(tr("Memory budget: drag to move along the frontier"));
    connect(m_slider, &QSlider::valueChanged, this, &TradeoffView::onSlider);

    m_prediction = new QLabel(this);
    m_prediction->setObjectName(QStringLiteral("predictionLabel"));
    m_breakdown = new QLabel(this);
    m_breakdown->setWordWrap(true);
    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_status->setEnabled(false);

    m_profile = new QPushButton(tr("&Profile"), this);
    m_profile->setObjectName(QStringLiteral("profileButton"));
    m_profile->setToolTip(tr("Record a sequential run of the model to plan it from"));
    m_run = new QPushButton(tr("Run This &Configuration"), this);
    m_run->setObjectName(QStringLiteral("runConfigButton"));
    m_export = new QPushButton(tr("&Export Configuration…"), this);
    m_export->setObjectName(QStringLiteral("exportConfigButton"));
    connect(m_profile, &QPushButton::clicked, this, &TradeoffView::profileRequested);
    connect(m_run, &QPushButton::clicked, this, [this] {
        if (const plan::Choice* c = selectedChoice()) Q_EMIT runRequested(*c);
    });
    connect(m_export, &QPushButton::clicked, this, [this] {
        if (const plan::Choice* c = selectedChoice()) Q_EMIT exportRequested(*c);
    });

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Plan for"), this));
    top->addWidget(m_arch);
    top->addWidget(m_precision);
    top->addWidget(new QLabel(tr("Budget"), this));
    top->addWidget(m_slider, 1);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_profile);
    buttons->addStretch(1);
    buttons->addWidget(m_run);
    buttons->addWidget(m_export);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(top);
    layout->addWidget(m_prediction);
    layout->addWidget(m_breakdown);
    layout->addWidget(m_plot, 1);
    layout->addWidget(m_status);
    layout->addLayout(buttons);
    setResult(nullptr);
}

dl::Arch TradeoffView::arch() const
{
    return static_cast<Arch>(m_arch->currentData().toInt());
}

dl::Precision TradeoffView::precision() const
{
    return static_cast<Precision>(m_precision->currentData().toInt());
}

void TradeoffView::setPrecision(dl::Precision precision)
{
    m_precision->setCurrentIndex(m_precision->findData(static_cast<int>(precision)));
}

int TradeoffView::otherFrontierPointCount() const
{
    return m_other->data()->size();
}

void TradeoffView::setResult(const PlanResultPtr& result)
{
    // Measurements of chosen points stay while the model does, and so does the budget the slider stands at.
    const bool sameModel = result && m_result && result->modelHash == m_result->modelHash;
    if (!sameModel) {
        m_measured->data()->clear();
        m_measured->removeFromLegend();
    }
    const plan::Choice* was = selectedChoice();
    const uint64_t previousBudget = sameModel && was ? was->budgetBytes : 0;
    m_result = result;
    for (QCPGraph* g : m_runGraphs)
        g->data()->clear();
    m_frontier->data()->clear();
    m_bound->data()->clear();
    m_marker->data()->clear();
    double lo = 1e300, hi = 0, top = 0, bottom = 1e300;
    auto extend = [&](double bytes, double ms) {
        if (bytes <= 0) return;
        lo = std::min(lo, bytes / kMiB);
        hi = std::max(hi, bytes / kMiB);
        top = std::max(top, ms);
        bottom = std::min(bottom, ms);
    };
    if (result) {
        for (const RunPoint& p : result->points) {
            for (size_t i = 0; i < std::size(kArchs); ++i)
                if (p.arch == QLatin1String(archName(kArchs[i])))
                    m_runGraphs[i]->addData(p.weightsBytes / kMiB, p.latencyMs);
            extend(p.weightsBytes, p.latencyMs);
        }
        for (const plan::Choice& c : result->frontier) {
            m_frontier->addData(static_cast<double>(c.prediction.weightsPeak) / kMiB, c.prediction.latencyMs);
            m_bound->addData(static_cast<double>(c.prediction.weightsPeak) / kMiB, c.lowerBoundMs);
            extend(static_cast<double>(c.prediction.weightsPeak), c.prediction.latencyMs);
            extend(static_cast<double>(c.prediction.weightsPeak), c.lowerBoundMs);
        }
        for (const plan::Choice& c : result->otherFrontier) {
            m_other->addData(static_cast<double>(c.prediction.weightsPeak) / kMiB, c.prediction.latencyMs);
            extend(static_cast<double>(c.prediction.weightsPeak), c.prediction.latencyMs);
        }
        m_frontier->setName(
            tr("predicted, %1 packs (frontier)").arg(QLatin1String(precisionName(result->request.precision))));
        m_other->setName(tr("predicted, %1 packs").arg(QLatin1String(precisionName(result->otherPrecision))));
    }
    if (m_other->data()->isEmpty())
        m_other->removeFromLegend();
    else if (!m_plot->legend->hasItemWithPlottable(m_other))
        m_other->addToLegend();
    // The legend names only what is drawn.
    for (QCPGraph* g : m_runGraphs) {
        if (g->data()->isEmpty())
            g->removeFromLegend();
        else if (!m_plot->legend->hasItemWithPlottable(g))
            g->addToLegend();
    }
    const int n = result ? static_cast<int>(result->frontier.size()) : 0;
    if (hi > 0) {
        m_plot->xAxis->setRange(lo / 1.3, hi * 1.3);
        // Latencies differ by a few per cent between budgets: the axis spans what is drawn, not from zero.
        const double span = std::max(top - bottom, top * 0.02);
        m_plot->yAxis->setRange(std::max(0.0, bottom - span * 0.15), top + span * 0.15);
    }
    {
        const QSignalBlocker block(m_slider);
        m_slider->setRange(0, std::max(0, n - 1));
        m_slider->setEnabled(n > 0);
        int at = 0;
        for (int i = 0; i < n && previousBudget; ++i)
            if (result->frontier[static_cast<size_t>(i)].budgetBytes <= previousBudget) at = i;
        m_slider->setValue(at);
    }
    if (!result)
        m_status->setText(tr("Open a model to plan it."));
    else if (!result->hasFrontier())
        m_status->setText(result->error + otherText(*result));
    else {
        const PlanProfile& fp = *result->frontierProfile();
        m_status->setText(tr("%1 budgets planned in %2 ms from run %3 (%4): kernels %5 ms, disk %6 MB/s; %7 runs "
                             "of this model recorded.")
                              .arg(n)
                              .arg(QLocale().toString(result->computeMs, 'f', 1))
                              .arg(fp.runId)
                              .arg(fp.arch)
                              .arg(QLocale().toString(fp.model.kernelMs(), 'f', 1))
                              .arg(QLocale().toString(fp.model.diskBytesPerMs / 1e3, 'f', 0))
                              .arg(result->points.size())
            + (fp.calibrationRunId ? QLatin1Char(' ')
                        + tr("Reads beside kernels at %1 of the disk's rate (calibrated on run %2).")
                              .arg(QLocale().toString(fp.model.contention.readFactor, 'f', 2))
                              .arg(fp.calibrationRunId)
                                   : QString())
            + splitsText(*result) + otherText(*result));
    }
    if (n > 0)
        onSlider(m_slider->value());
    else {
        m_prediction->setText(QString());
        m_breakdown->setText(QString());
        Q_EMIT residentChanged({}, {});
    }
    updateButtons();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString TradeoffView::otherText(const PlanResult& result)
{
    const QString other = QLatin1String(precisionName(result.otherPrecision));
    if (!result.otherFrontier.empty())
        return QLatin1Char(' ') + tr("Dashed: the frontier with %1 packs, from their own profile.").arg(other);
    return QLatin1Char(' ')
        + tr("No profile of %1 packs to draw their frontier beside (Profile with %1 chosen).").arg(other);
}

void TradeoffView::updateButtons()
{
    const bool any = selectedChoice() != nullptr;
    m_run->setEnabled(any);
    m_export->setEnabled(any);
    m_profile->setEnabled(m_result != nullptr);
}

int TradeoffView::selectedIndex() const
{
    return m_result && m_result->hasFrontier() ? m_slider->value() : -1;
}

void TradeoffView::setSelectedIndex(int index)
{
    m_slider->setValue(index);
}

const plan::Choice* TradeoffView::selectedChoice() const
{
    const int i = selectedIndex();
    if (i < 0 || static_cast<size_t>(i) >= m_result->frontier.size()) return nullptr;
    return &m_result->frontier[static_cast<size_t>(i)];
}

QString TradeoffView::splitsText(const PlanResult& result)
{
    const PlanProfile* fp = result.frontierProfile();
    if (!fp || (result.profiles.size() < 2 && fp->splitBytes == 0)) return QString();
    QStringList splits;
    for (const PlanProfile& p : result.profiles)
        splits << (p.splitBytes ? tr("cut at %1 (run %2)").arg(mib(static_cast<double>(p.splitBytes))).arg(p.runId)
                                : tr("whole (run %1)").arg(p.runId));
    return QLatin1Char(' ') + tr("Layers weighed: %1.").arg(splits.join(QStringLiteral(", ")));
}

void TradeoffView::onSlider(int)
{
    const plan::Choice* c = selectedChoice();
    if (!c) return;
    const plan::Prediction& p = c->prediction;
    m_marker->data()->clear();
    m_marker->addData(static_cast<double>(p.weightsPeak) / kMiB, p.latencyMs);
    // The point's own profile: the layers (whole, or cut at its split) its configuration names.
    const PlanProfile& profile = m_result->profileOf(static_cast<size_t>(m_slider->value()));
    const plan::CostModel& model = profile.model;
    const uint64_t split = profile.splitBytes;
    const double preload = m_result->preloadMs > 0 ? m_result->preloadMs : model.kernelMs();
    // A point can predict less than preload: its split's kernels may run faster than whole layers.
    const double overPct = (p.latencyMs / preload - 1) * 100;
    const QString vsPreload = overPct >= 0
        ? tr("+%1 % over preload's %2 ms").arg(QLocale().toString(overPct, 'f', 1), QLocale().toString(preload, 'f', 1))
        : tr("%1 % under preload's %2 ms")
              .arg(QLocale().toString(-overPct, 'f', 1), QLocale().toString(preload, 'f', 1));
    m_prediction->setText(tr("<b>Budget %1</b>: predicted <b>%2 ms</b> (%3; lower bound %4 ms)")
                              .arg(mib(static_cast<double>(c->budgetBytes)))
                              .arg(QLocale().toString(p.latencyMs, 'f', 1))
                              .arg(vsPreload)
                              .arg(QLocale().toString(c->lowerBoundMs, 'f', 1)));
    const double whole = static_cast<double>(model.weightBytes() + model.pinnedBytes);
    m_breakdown->setText(
        tr("Weights %1 (resident %2 in %3 of %4 layers, staging %5): %6 % less than the whole "
           "model; activations %7, workspace %8, total %9")
            .arg(mib(static_cast<double>(p.weightsPeak)), mib(static_cast<double>(p.residentBytes)))
            .arg(c->config.resident.size())
            .arg(model.layers.size())
            .arg(mib(static_cast<double>(p.stagingBytes)))
            .arg(QLocale().toString(whole > 0 ? (1 - static_cast<double>(p.weightsPeak) / whole) * 100 : 0, 'f', 1))
            .arg(mib(static_cast<double>(model.activationBytes)), mib(static_cast<double>(model.workspaceBytes)),
                mib(static_cast<double>(p.peakTotal)))
        + (split ? tr("; layers above %1 cut into pieces").arg(mib(static_cast<double>(split))) : QString()));
    std::vector<bool> resident(model.layers.size(), false);
    for (int l : c->config.resident)
        if (l >= 0 && static_cast<size_t>(l) < resident.size()) resident[static_cast<size_t>(l)] = true;
    std::vector<std::string> names;
    for (const plan::LayerCost& l : model.layers)
        names.push_back(l.name);
    Q_EMIT residentChanged(resident, names);
    updateButtons();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void TradeoffView::addMeasured(double weightsBytes, double latencyMs)
{
    m_measured->addData(weightsBytes / kMiB, latencyMs);
    if (!m_plot->legend->hasItemWithPlottable(m_measured)) m_measured->addToLegend();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

int TradeoffView::measuredCount() const
{
    return m_measured->data()->size();
}

int TradeoffView::runPointCount() const
{
    int n = 0;
    for (QCPGraph* g : m_runGraphs)
        n += g->data()->size();
    return n;
}

} // namespace dl::ui
