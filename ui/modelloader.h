#pragma once

// Opens model files off the GUI thread. Each load() runs dl::importModel and dl::summarizeModel on its own
// worker thread and hands back an immutable LoadResult by queued signal. A newer load() or cancel() makes the
// older job stale: it is asked to stop (the importer's progress callback returns false) and whatever it still
// produces is dropped by its generation number, so a slow old file can never overwrite a newer one.

#include "runtime/modelinfo.h"

#include <QObject>
#include <QString>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace dl::ui {

class WorkerThreads;

struct LoadResult
{
    enum class Status { Loaded, Failed, Cancelled };
    quint64 generation = 0;
    QString path;
    Status status = Status::Failed;
    QString error; // the engine's message when Failed
    std::shared_ptr<const ModelSummary> summary; // when Loaded
    QString weightsPath; // Darknet: the .weights file used; empty for seeded random weights
    qint64 importMs = 0;
    qint64 summarizeMs = 0;
};
using LoadResultPtr = std::shared_ptr<const LoadResult>;

// Runs a load on the calling thread: import, then summary. `cancel` is polled through the importer's progress
// callback and between the steps; `progress` (optional) gets a fraction in [0, 1]. Never throws; every failure is
// a Failed result carrying the engine's message. A Darknet .cfg gets the sibling .weights file when one exists,
// else seeded random weights.
LoadResultPtr loadModelBlocking(
    const QString& path, const std::atomic<bool>& cancel, const std::function<void(double)>& progress = {});

class ModelLoader : public QObject
{
    Q_OBJECT
public:
    explicit ModelLoader(QObject* parent = nullptr);
    // Cancels every job and joins its thread (each stops at the importer's next progress call).
    ~ModelLoader() override;

    // Starts loading `path`; a load in progress is cancelled first (cancelled() is emitted for it). Returns the
    // new job's generation.
    quint64 load(const QString& path);
    // Cancels the current load, if any: emits cancelled() now; the job's result, should it still come, is dropped.
    void cancel();

    bool isBusy() const { return m_current != nullptr; }
    QString currentPath() const;
    quint64 generation() const { return m_generation; }
    // Worker threads still running, stale ones included.
    int runningJobs() const;

Q_SIGNALS:
    void started(const QString& path);
    void progressChanged(int percent);
    // The current job's result, Loaded or Failed.
    void finished(dl::ui::LoadResultPtr result);
    void cancelled(const QString& path);
    void busyChanged(bool busy);
    // A stale job's result, dropped (for diagnostics and tests: tells whether the engine honoured the cancel).
    void discarded(dl::ui::LoadResultPtr result);
    // A worker thread ended (runningJobs() is already updated).
    void jobEnded();

private:
    struct Job;
    void onProgress(quint64 generation, int percent);
    void onResult(const LoadResultPtr& result);
    void cancelCurrent();

    WorkerThreads* m_workers;
    std::vector<std::shared_ptr<Job>> m_jobs; // whose results are still to come
    std::shared_ptr<Job> m_current;
    quint64 m_generation = 0;
};

} // namespace dl::ui

Q_DECLARE_METATYPE(dl::ui::LoadResultPtr)
