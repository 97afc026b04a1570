#include "modelsummaryview.h"

#include "format.h"

#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QLocale>

namespace dl::ui {

static const char* const fieldNames[ModelSummaryView::FieldCount] = {
    "file",
    "format",
    "opset",
    "nodes",
    "layers",
    "parameters",
    "weights",
    "gflops",
    "activations",
    "inputs",
    "outputs",
};

ModelSummaryView::ModelSummaryView(QWidget* parent)
    : QWidget(parent)
    , m_form(new QFormLayout(this))
{
    m_form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    m_form->setLabelAlignment(Qt::AlignLeft | Qt::AlignTop);
    for (int field = 0; field < FieldCount; ++field) {
        m_captions[field] = new QLabel(this);
        m_values[field] = new QLabel(this);
        m_values[field]->setObjectName(QStringLiteral("summary.") + QLatin1String(fieldNames[field]));
        m_values[field]->setTextInteractionFlags(Qt::TextSelectableByMouse);
        m_values[field]->setTextFormat(Qt::PlainText);
        m_values[field]->setWordWrap(field == File || field == Inputs || field == Outputs);
        m_form->addRow(m_captions[field], m_values[field]);
    }
    retranslate();
    setSummary(nullptr);
}

void ModelSummaryView::retranslate()
{
    m_captions[File]->setText(tr("File:"));
    m_captions[Format]->setText(tr("Format:"));
    m_captions[Opset]->setText(tr("Opset:"));
    m_captions[Nodes]->setText(tr("Nodes:"));
    m_captions[Layers]->setText(tr("Layers:"));
    m_captions[Parameters]->setText(tr("Parameters:"));
    m_captions[Weights]->setText(tr("Weights:"));
    m_captions[Gflops]->setText(tr("GFLOPs:"));
    m_captions[Activations]->setText(tr("Activations:"));
    m_captions[Inputs]->setText(tr("Inputs:"));
    m_captions[Outputs]->setText(tr("Outputs:"));
}

static QString formatName(const std::string& format)
{
    if (format == "onnx") return ModelSummaryView::tr("ONNX");
    if (format == "darknet") return ModelSummaryView::tr("Darknet");
    return toQString(format);
}

static QString describeValues(const std::vector<InputSummary>& values)
{
    QStringList lines;
    for (const auto& value : values)
        lines.append(QStringLiteral("%1  %2  %3")
                         .arg(toQString(value.name), QLatin1String(dtypeName(value.dtype)), formatShape(value.shape)));
    return lines.isEmpty() ? ModelSummaryView::tr("none") : lines.join(QLatin1Char('\n'));
}

void ModelSummaryView::setSummary(std::shared_ptr<const ModelSummary> summary)
{
    m_summary = std::move(summary);
    if (!m_summary) {
        for (QLabel* value : m_values) {
            value->clear();
            value->setToolTip({});
        }
        return;
    }
    const ModelSummary& s = *m_summary;
    const QString path = toQString(s.path);
    m_values[File]->setText(QFileInfo(path).fileName());
    m_values[File]->setToolTip(path);
    m_values[Format]->setText(formatName(s.format));
    m_values[Opset]->setText(s.opset > 0 ? QString::number(s.opset) : tr("n/a"));
    m_values[Nodes]->setText(formatCount(static_cast<int64_t>(s.nodeCount)));
    m_values[Layers]->setText(formatCount(static_cast<int64_t>(s.layers.size())));
    m_values[Parameters]->setText(formatCount(s.parameterCount));
    // Decimal MB as storage vendors count, with the IEC figure beside it as memory is counted.
    m_values[Weights]->setText(
        tr("%1 MB (%2)").arg(formatScaled(static_cast<double>(s.weightBytes), 1e6, 1), formatBytes(s.weightBytes)));
    m_values[Weights]->setToolTip(tr("%1 bytes").arg(formatCount(static_cast<int64_t>(s.weightBytes))));
    m_values[Gflops]->setText(formatScaled(s.flops, 1e9, 2));
    m_values[Activations]->setText(formatBytes(s.activationBytes));
    m_values[Inputs]->setText(describeValues(s.inputs));
    m_values[Outputs]->setText(describeValues(s.outputs));
}

QString ModelSummaryView::text(Field field) const
{
    return field >= 0 && field < FieldCount ? m_values[field]->text() : QString();
}

} // namespace dl::ui
