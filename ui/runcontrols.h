#pragma once

// The run controls: architecture, weight budget or staging size, the split, iterations or continuous mode, Run and Stop
// and a progress bar. They build the RunRequest; the window adds the model and the store.

#include "enginesession.h"

#include <QWidget>

#include <array>

class QCheckBox;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QDoubleSpinBox;

namespace dl::ui {

class RunControls : public QWidget
{
    Q_OBJECT
public:
    explicit RunControls(QWidget* parent = nullptr);

    // The architecture, budget or staging, and iterations as set (model and store left empty).
    RunRequest request() const;
    void setArch(dl::Arch arch);
    // MiB; 0 leaves the choice to the staging size.
    void setBudgetMiB(double mib);
    void setStagingMiB(double mib);
    // MiB; 0: whole layers, or what a budget needs.
    void setSplitMiB(double mib);
    // How the pack stores the weights; none: the model's own.
    void setPrecision(std::optional<dl::Precision> precision);
    // Whether `kind` can run here, with what it runs on or why not (the note under the box): an unavailable backend's
    // item is disabled, and the choice falls back to the CPU. The CUDA probe calls it once it has looked.
    void setBackendAvailable(dl::BackendKind kind, bool available, const QString& note);
    bool backendAvailable(dl::BackendKind kind) const;
    void setIterations(int warmup, int iterations);
    void setContinuous(bool continuous);

    // Running: Run disabled, Stop enabled; the bar shows `percent` (-1: busy without a measure).
    void setRunning(bool running);
    void setProgress(const QString& text, int percent);
    // Enables Run when a model is open.
    void setModelReady(bool ready);

    QPushButton* runButton() const { return m_run; }
    QPushButton* stopButton() const { return m_stop; }
    QProgressBar* progressBar() const { return m_progress; }
    QComboBox* archBox() const { return m_arch; }
    QComboBox* backendBox() const { return m_backend; }

Q_SIGNALS:
    void runRequested();
    void stopRequested();

private:
    void updateEnabled();
    // A size in MiB whose 0 reads `zeroText`.
    QDoubleSpinBox* mibBox(const QString& name, const QString& zeroText, const QString& toolTip);

    QComboBox* m_backend = nullptr;
    QLabel* m_backendNote = nullptr;
    std::array<bool, 2> m_backendAvailable { true, false }; // by dl::BackendKind
    QComboBox* m_arch = nullptr;
    QDoubleSpinBox* m_budget = nullptr;
    QDoubleSpinBox* m_staging = nullptr;
    QDoubleSpinBox* m_split = nullptr;
    QComboBox* m_precision = nullptr;
    QSpinBox* m_warmup = nullptr;
    QSpinBox* m_iterations = nullptr;
    QCheckBox* m_continuous = nullptr;
    QPushButton* m_run = nullptr;
    QPushButton* m_stop = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    bool m_running = false;
    bool m_ready = false;
};

} // namespace dl::ui
