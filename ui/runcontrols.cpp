#include "runcontrols.h"
#include "workerthreads.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QVBoxLayout>

namespace dl::ui {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;
const dl::Arch kArchs[] = { Arch::Preload, Arch::Sequential, Arch::Sync, Arch::Async, Arch::TwoStage };

} // namespace

RunControls::RunControls(QWidget* parent)
    : QWidget(parent)
{
    // CUDA is offered once the device probe, on a thread of its own (it may load the driver), says it can run here;
    // until then, and where it cannot, its item is disabled and the note under the box says why.
    m_backend = new QComboBox(this);
    m_backend->setObjectName(QStringLiteral("backendBox"));
    m_backend->addItem(tr("CPU (oneDNN)"), QString::fromLatin1(backendName(BackendKind::Cpu)));
    m_backend->addItem(tr("CUDA (cuDNN)"), QString::fromLatin1(backendName(BackendKind::Cuda)));
    m_backend->setToolTip(tr("Where the kernels run"));
    m_backendNote = new QLabel(this);
    m_backendNote->setObjectName(QStringLiteral("backendNote"));
    m_backendNote->setWordWrap(true);
    setBackendAvailable(BackendKind::Cuda, false, tr("looking for a CUDA device…"));
    auto* probes = new WorkerThreads(this);
    probes->run(
        QStringLiteral("backend probe"), [] { return backendAvailability(BackendKind::Cuda); },
        [this](const BackendAvailability& a) {
            setBackendAvailable(BackendKind::Cuda, a.available,
                a.available ? QString::fromStdString(a.device) : QString::fromStdString(a.why));
        });
    m_arch = new QComboBox(this);
    m_arch->setObjectName(QStringLiteral("archBox"));
    for (Arch a : kArchs)
        m_arch->addItem(QString::fromLatin1(archName(a)), static_cast<int>(a));
    m_arch->setCurrentIndex(4);
    m_arch->setToolTip(tr("How the weights reach the kernels: preloaded, or streamed from the pack by a pipeline"));

    m_budget = mibBox(QStringLiteral("budgetBox"), tr("none"),
        tr("Weight memory budget: the engine picks the staging and the resident layers within it"));
    m_staging = mibBox(QStringLiteral("stagingBox"), tr("smallest"),
        tr("Staging ring size for async and two-stage (without a budget)"));
    m_split = mibBox(QStringLiteral("splitBox"), tr("auto"),
        tr("Cut layers whose weights exceed this size into pieces along their output channels, so that staging "
           "needs only a piece. Auto: whole layers, or with a budget the pieces it needs"));

    m_precision = new QComboBox(this);
    m_precision->setObjectName(QStringLiteral("precisionBox"));
    m_precision->addItem(tr("as the model"), QString());
    m_precision->addItem(tr("fp32"), QStringLiteral("fp32"));
    m_precision->addItem(tr("fp16 (half the bytes read)"), QStringLiteral("fp16"));
    m_precision->setToolTip(tr("How the layer pack stores the weights. fp16 halves the bytes each streamed inference "
                               "reads; the copy stage widens them to fp32 for the kernels. As the model: fp16 for a "
                               "model that stores its weights in fp16, else fp32"));

    m_warmup = new QSpinBox(this);
    m_warmup->setObjectName(QStringLiteral("warmupBox"));
    m_warmup->setRange(0, 100);
    m_warmup->setValue(1);
    m_iterations = new QSpinBox(this);
    m_iterations->setObjectName(QStringLiteral("iterationsBox"));
    m_iterations->setRange(1, 100000);
    m_iterations->setValue(5);
    m_continuous = new QCheckBox(tr("Continuous (until Stop)"), this);
    m_continuous->setObjectName(QStringLiteral("continuousBox"));

    m_run = new QPushButton(tr("&Run"), this);
    m_run->setObjectName(QStringLiteral("runButton"));
    m_run->setToolTip(tr("Run the model with this configuration (F5)"));
    m_stop = new QPushButton(tr("&Stop"), this);
    m_stop->setObjectName(QStringLiteral("stopButton"));
    m_stop->setToolTip(tr("Stop the run within one layer (Shift+F5)"));
    m_progress = new QProgressBar(this);
    m_progress->setObjectName(QStringLiteral("runProgress"));
    m_progress->setRange(0, 100);
    m_progress->setValue(0);
    m_status = new QLabel(this);
    m_status->setWordWrap(true);

    auto* form = new QFormLayout;
    form->addRow(tr("Backend"), m_backend);
    form->addRow(QString(), m_backendNote);
    form->addRow(tr("Architecture"), m_arch);
    form->addRow(tr("Budget"), m_budget);
    form->addRow(tr("Staging"), m_staging);
    form->addRow(tr("Split above"), m_split);
    form->addRow(tr("Weights in pack"), m_precision);
    form->addRow(tr("Warm-up"), m_warmup);
    form->addRow(tr("Iterations"), m_iterations);
    form->addRow(QString(), m_continuous);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_run);
    buttons->addWidget(m_stop);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(buttons);
    layout->addWidget(m_progress);
    layout->addWidget(m_status);
    layout->addStretch(1);

    connect(m_run, &QPushButton::clicked, this, &RunControls::runRequested);
    connect(m_stop, &QPushButton::clicked, this, &RunControls::stopRequested);
    connect(m_continuous, &QCheckBox::toggled, this, &RunControls::updateEnabled);
    connect(m_budget, &QDoubleSpinBox::valueChanged, this, &RunControls::updateEnabled);
    connect(m_arch, &QComboBox::currentIndexChanged, this, &RunControls::updateEnabled);
    connect(m_backend, &QComboBox::currentIndexChanged, this, [this](int i) {
        // A backend that cannot run here is never the choice, however it was set.
        const auto kind = parseBackend(m_backend->itemData(i).toString().toStdString());
        if (kind.ok() && !backendAvailable(kind.value())) m_backend->setCurrentIndex(0);
    });
    updateEnabled();
}

QDoubleSpinBox* RunControls::mibBox(const QString& name, const QString& zeroText, const QString& toolTip)
{
    auto* box = new QDoubleSpinBox(this);
    box->setObjectName(name);
    box->setRange(0, 1 << 20);
    box->setDecimals(2);
    box->setSuffix(tr(" MiB"));
    box->setSpecialValueText(zeroText); // shown for 0
    box->setToolTip(toolTip);
    return box;
}

RunRequest RunControls::request() const
{
    RunRequest r;
    r.arch = static_cast<Arch>(m_arch->currentData().toInt());
    r.budgetBytes = static_cast<qint64>(m_budget->value() * kMiB);
    r.stagingBytes = static_cast<qint64>(m_staging->value() * kMiB);
    r.splitBytes = static_cast<qint64>(m_split->value() * kMiB);
    r.precision = parsePrecision(m_precision->currentData().toString().toStdString());
    r.backend = parseBackend(m_backend->currentData().toString().toStdString()).value();
    r.warmup = m_warmup->value();
    r.iterations = m_iterations->value();
    r.continuous = m_continuous->isChecked();
    return r;
}

void RunControls::setArch(dl::Arch arch)
{
    m_arch->setCurrentIndex(m_arch->findData(static_cast<int>(arch)));
}

void RunControls::setBudgetMiB(double mib)
{
    m_budget->setValue(mib);
}

void RunControls::setStagingMiB(double mib)
{
    m_staging->setValue(mib);
}

void RunControls::setSplitMiB(double mib)
{
    m_split->setValue(mib);
}

void RunControls::setPrecision(std::optional<dl::Precision> precision)
{
    m_precision->setCurrentIndex(
        m_precision->findData(precision ? QString::fromLatin1(precisionName(*precision)) : QString()));
}

void RunControls::setBackendAvailable(BackendKind kind, bool available, const QString& note)
{
    const int i = m_backend->findData(QString::fromLatin1(backendName(kind)));
    if (i < 0) return;
    if (auto* model = qobject_cast<QStandardItemModel*>(m_backend->model()))
        if (QStandardItem* item = model->item(i)) item->setEnabled(available);
    m_backend->setItemData(i, note, Qt::ToolTipRole);
    if (!available && m_backend->currentIndex() == i) m_backend->setCurrentIndex(0);
    m_backendAvailable[static_cast<size_t>(kind)] = available;
    if (kind == BackendKind::Cuda)
        m_backendNote->setText(available ? tr("CUDA: %1").arg(note) : tr("CUDA unavailable: %1").arg(note));
}

bool RunControls::backendAvailable(BackendKind kind) const
{
    return m_backendAvailable[static_cast<size_t>(kind)];
}

void RunControls::setIterations(int warmup, int iterations)
{
    m_warmup->setValue(warmup);
    m_iterations->setValue(iterations);
}

void RunControls::setContinuous(bool continuous)
{
    m_continuous->setChecked(continuous);
}

void RunControls::setRunning(bool running)
{
    m_running = running;
    if (!running) m_progress->setRange(0, 100);
    updateEnabled();
}

void RunControls::setProgress(const QString& text, int percent)
{
    m_status->setText(text);
    if (percent < 0) {
        m_progress->setRange(0, 0); // busy
    } else {
        m_progress->setRange(0, 100);
        m_progress->setValue(percent);
    }
}

void RunControls::setModelReady(bool ready)
{
    m_ready = ready;
    updateEnabled();
}

void RunControls::updateEnabled()
{
    const Arch arch = static_cast<Arch>(m_arch->currentData().toInt());
    m_run->setEnabled(m_ready && !m_running);
    m_stop->setEnabled(m_running);
    m_iterations->setEnabled(!m_continuous->isChecked());
    m_staging->setEnabled(m_budget->value() == 0 && (arch == Arch::Async || arch == Arch::TwoStage));
    m_budget->setEnabled(arch != Arch::Preload);
}

} // namespace dl::ui
