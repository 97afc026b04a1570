#pragma once

// Reading and changing the run store off the GUI thread: each call starts a worker thread and its answer comes back
// by queued signal with the request's ticket, so that a view can drop answers it no longer waits for.

#include "runstore.h"
#include "workerthreads.h"

#include <QMetaType>
#include <QObject>
#include <QString>

#include <memory>
#include <vector>

namespace dl::ui {

using RunListPtr = std::shared_ptr<const std::vector<store::RunSummary>>;
using StoredRunPtr = std::shared_ptr<const store::Run>;

class RunStoreJobs : public QObject
{
    Q_OBJECT
public:
    explicit RunStoreJobs(QObject* parent = nullptr);
    // Waits for the workers (each is one short SQLite transaction).
    ~RunStoreJobs() override;

    // Every run in the store; a store that does not exist yet lists none. Returns the ticket.
    quint64 list(const QString& storePath);
    // One run, whole (layers, samples, events).
    quint64 load(const QString& storePath, qint64 runId);
    quint64 remove(const QString& storePath, qint64 runId);
    enum class Export { ChromeTrace, LayersCsv };
    // Writes a run's Chrome trace or per-layer CSV to `path`.
    quint64 exportRun(const QString& storePath, qint64 runId, Export what, const QString& path);
    bool isBusy() const;

Q_SIGNALS:
    // `error` is empty on success.
    void listed(quint64 ticket, dl::ui::RunListPtr runs, const QString& error);
    void loaded(quint64 ticket, dl::ui::StoredRunPtr run, const QString& error);
    void removed(quint64 ticket, qint64 runId, const QString& error);
    void exported(quint64 ticket, const QString& path, const QString& error);

private:
    // Runs work(ticket) on a worker; fail(ticket, what) answers for it if it throws.
    template <typename Work, typename Fail> quint64 start(Work work, Fail fail);

    WorkerThreads* m_workers = new WorkerThreads(this);
    quint64 m_ticket = 0;
};

} // namespace dl::ui

Q_DECLARE_METATYPE(dl::ui::RunListPtr)
Q_DECLARE_METATYPE(dl::ui::StoredRunPtr)
