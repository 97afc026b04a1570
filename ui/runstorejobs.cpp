#include "runstorejobs.h"

#include "workerthreads.h"

#include "runbuild.h"

#include <QThread>

#include <filesystem>

namespace dl::ui {

namespace {

QString qs(const std::string& s)
{
    return QString::fromStdString(s);
}

Result<std::unique_ptr<store::RunStore>> openExisting(const QString& path)
{
    if (path.isEmpty() || !std::filesystem::exists(path.toStdString()))
        return invalid("there is no run store '" + path.toStdString() + "' yet");
    return store::RunStore::open(path.toStdString());
}

} // namespace

RunStoreJobs::RunStoreJobs(QObject* parent)
    : QObject(parent)
{
    qRegisterMetaType<RunListPtr>();
    qRegisterMetaType<StoredRunPtr>();
}

RunStoreJobs::~RunStoreJobs() = default; // m_workers waits for the jobs (each is one short SQLite transaction)

bool RunStoreJobs::isBusy() const
{
    return m_workers->running() > 0;
}

template <typename Work, typename Fail> quint64 RunStoreJobs::start(Work work, Fail fail)
{
    const quint64 ticket = ++m_ticket;
    m_workers->start(
        QStringLiteral("dl-store"), [work, ticket] { work(ticket); },
        [fail, ticket](const QString& what) { fail(ticket, what); });
    return ticket;
}

quint64 RunStoreJobs::list(const QString& storePath)
{
    return start(
        [this, storePath](quint64 ticket) {
            auto runs = std::make_shared<std::vector<store::RunSummary>>();
            QString error;
            if (!storePath.isEmpty() && std::filesystem::exists(storePath.toStdString())) {
                auto s = store::RunStore::open(storePath.toStdString());
                auto l = s.ok() ? (*s)->listRuns() : Result<std::vector<store::RunSummary>>(s.error());
                if (l.ok())
                    *runs = std::move(l).value();
                else
                    error = qs(l.error().message);
            }
            postTo(this, [this, ticket, r = RunListPtr(runs), error] { Q_EMIT listed(ticket, r, error); });
        },
        [this](quint64 ticket, const QString& what) {
            Q_EMIT listed(ticket, std::make_shared<const std::vector<store::RunSummary>>(), what);
        });
}

quint64 RunStoreJobs::load(const QString& storePath, qint64 runId)
{
    return start(
        [this, storePath, runId](quint64 ticket) {
            StoredRunPtr run;
            QString error;
            auto s = openExisting(storePath);
            auto r = s.ok() ? (*s)->run(runId) : Result<store::Run>(s.error());
            if (r.ok())
                run = std::make_shared<const store::Run>(std::move(r).value());
            else
                error = qs(r.error().message);
            postTo(this, [this, ticket, run, error] { Q_EMIT loaded(ticket, run, error); });
        },
        [this](quint64 ticket, const QString& what) { Q_EMIT loaded(ticket, nullptr, what); });
}

quint64 RunStoreJobs::remove(const QString& storePath, qint64 runId)
{
    return start(
        [this, storePath, runId](quint64 ticket) {
            QString error;
            auto s = openExisting(storePath);
            const Status st = s.ok() ? (*s)->deleteRun(runId) : Status(s.error());
            if (!st.ok()) error = qs(st.error().message);
            postTo(this, [this, ticket, runId, error] { Q_EMIT removed(ticket, runId, error); });
        },
        [this, runId](quint64 ticket, const QString& what) { Q_EMIT removed(ticket, runId, what); });
}

quint64 RunStoreJobs::exportRun(const QString& storePath, qint64 runId, Export what, const QString& path)
{
    return start(
        [this, storePath, runId, what, path](quint64 ticket) {
            auto s = openExisting(storePath);
            auto r = s.ok() ? (*s)->run(runId) : Result<store::Run>(s.error());
            Status st = r.ok() ? Status() : Status(r.error());
            if (st.ok())
                st = what == Export::ChromeTrace ? store::writeRunChromeTrace(*r, path.toStdString())
                                                 : store::writeRunLayersCsv(*r, path.toStdString());
            const QString error = st.ok() ? QString() : qs(st.error().message);
            postTo(this, [this, ticket, path, error] { Q_EMIT exported(ticket, path, error); });
        },
        [this, path](quint64 ticket, const QString& what) { Q_EMIT exported(ticket, path, what); });
}

} // namespace dl::ui
