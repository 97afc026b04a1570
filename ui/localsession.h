#pragma once

// The local engine session: each run imports, plans and packs the model (the pack cache makes later runs skip
// packing), streams it through the chosen architecture on a worker thread, and records it in the run store, all
// off the GUI thread. A flusher thread hands the trace to the views in batches at most every kBatchIntervalMs.

#include "enginesession.h"

#include <memory>
#include <vector>

namespace dl::ui {

class WorkerThreads;

class LocalSession : public EngineSession
{
    Q_OBJECT
public:
    // The views redraw at most this often, so batches come no faster.
    static constexpr int kBatchIntervalMs = 30;
    // A continuous run keeps the trace of its latest iterations only; its per-layer statistics are theirs.
    static constexpr int kKeptIterations = 50;

    explicit LocalSession(QObject* parent = nullptr);
    // Stops the run in progress and waits for its thread (the only place the GUI thread waits on the engine).
    ~LocalSession() override;

    quint64 start(const RunRequest& request) override;
    void stop() override;
    bool isRunning() const override { return m_current != nullptr; }
    QString description() const override;

    // Set-up progress as the studio says it ("Packing layer 12 of 161"), for the local and the board's session.
    static QString progressMessage(const dl::Progress& p);

    // Worker threads still alive (the current one and any that are ending).
    int runningThreads() const;

Q_SIGNALS:
    // A worker thread ended (runningThreads() is already updated).
    void threadEnded();

public:
    struct Job; // shared by the worker, the flusher and this object

private:
    void onOutcome(const RunOutcomePtr& outcome);

    std::shared_ptr<Job> m_current;
    WorkerThreads* m_workers;
    quint64 m_lastId = 0;
};

} // namespace dl::ui
