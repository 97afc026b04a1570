#pragma once

// The model summary panel: file, format, opset, counts, weight size, GFLOPs and the graph's inputs and outputs
// with the shapes the summary was planned at.

#include "runtime/modelinfo.h"

#include <QWidget>

#include <memory>

class QFormLayout;
class QLabel;

namespace dl::ui {

class ModelSummaryView : public QWidget
{
    Q_OBJECT
public:
    // Each value label carries the field's name as its objectName ("summary.layers", ...) for tests.
    enum Field {
        File,
        Format,
        Opset,
        Nodes,
        Layers,
        Parameters,
        Weights,
        Gflops,
        Activations,
        Inputs,
        Outputs,
        FieldCount
    };
    Q_ENUM(Field)

    explicit ModelSummaryView(QWidget* parent = nullptr);

    // nullptr clears the panel.
    void setSummary(std::shared_ptr<const ModelSummary> summary);
    QString text(Field field) const;

private:
    void retranslate();

    QFormLayout* m_form = nullptr;
    QLabel* m_captions[FieldCount] = {};
    QLabel* m_values[FieldCount] = {};
    std::shared_ptr<const ModelSummary> m_summary;
};

} // namespace dl::ui
