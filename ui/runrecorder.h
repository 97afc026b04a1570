#pragma once

// Recording as a listener of a run's outcome: attached to an engine session (local, or later an agent's), it stores
// every run that ran in the run store, on a worker thread, with the identity of the device that ran it (the report's
// own), then hands the outcome on with storedRunId or storeError set. A run that failed before it was set up, or
// stopped before a timed iteration, is handed on unrecorded.

#include "enginesession.h"

#include <QObject>
#include <QString>

namespace dl::ui {

class WorkerThreads;

class RunRecorder : public QObject
{
    Q_OBJECT
public:
    explicit RunRecorder(QObject* parent = nullptr);
    ~RunRecorder() override; // waits for a store write in progress

    // The store runs go to (created when missing); empty: nothing is recorded and outcomes pass straight on.
    void setStorePath(const QString& path) { m_storePath = path; }
    QString storePath() const { return m_storePath; }
    // Records every outcome `session` finishes from now on (several sessions may be attached).
    void attach(EngineSession* session);
    // Records one outcome; recorded() follows, on this object's thread.
    void record(const RunOutcomePtr& outcome);

Q_SIGNALS:
    void recorded(dl::ui::RunOutcomePtr outcome);

private:
    QString m_storePath;
    WorkerThreads* m_workers;
};

} // namespace dl::ui
