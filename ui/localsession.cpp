#include "localsession.h"

#include "workerthreads.h"

#include "core/procstat.h"
#include "runbuild.h"
#include "session/session.h"

#include <QMetaObject>
#include <QPointer>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace dl::ui {

namespace {

QString qs(const std::string& s)
{
    return QString::fromStdString(s);
}

} // namespace

// What the worker, the flusher and the session share about one run.
struct LocalSession::Job
{
    quint64 id = 0;
    RunRequest request;
    QPointer<LocalSession> session; // posts go to it; it outlives the thread (its destructor joins)
    std::atomic<bool> cancel { false };

    std::mutex sessionMutex;
    dl::Session* engine = nullptr; // while it runs, for stop()

    void stop()
    {
        cancel = true;
        std::lock_guard lock(sessionMutex);
        if (engine) engine->cancel();
    }

    template <typename F> void post(F&& f)
    {
        if (LocalSession* s = session.data()) postTo(s, std::forward<F>(f));
    }
    void progress(const QString& phase, int percent)
    {
        post([s = session, id = id, phase, percent] {
            if (s) Q_EMIT s->progressChanged(id, phase, percent);
        });
    }
};

namespace {

// Gathers events, counters and latencies, and hands them to the session from a thread of its own every
// kBatchIntervalMs while there is something to hand, with the process's RSS at that moment.
class BatchSink : public TraceSink
{
public:
    BatchSink(LocalSession::Job& job, int planned)
        : m_job(job)
        , m_planned(planned)
    {
        m_flusher = std::thread([this] { loop(); });
    }
    ~BatchSink() override
    {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_wake.notify_all();
        m_flusher.join();
        post(); // what came after the last batch
    }

    void onEvent(const TraceEvent& e) override
    {
        std::lock_guard lock(m_mutex);
        pending().events.push_back(e);
    }
    void onCounters(const CounterSample& c) override
    {
        std::lock_guard lock(m_mutex);
        pending().counters.push_back(c);
    }
    void iterationDone(int iteration, double ms)
    {
        std::lock_guard lock(m_mutex);
        pending().latencies.emplace_back(iteration, ms);
        m_done = iteration + 1;
    }

private:
    EventBatch& pending()
    {
        if (!m_pending) m_pending = std::make_shared<EventBatch>();
        return *m_pending;
    }
    void loop()
    {
        std::unique_lock lock(m_mutex);
        while (!m_stop) {
            m_wake.wait_for(lock, std::chrono::milliseconds(LocalSession::kBatchIntervalMs));
            if (m_stop) break;
            lock.unlock();
            post();
            lock.lock();
        }
    }
    void post()
    {
        std::shared_ptr<EventBatch> b;
        {
            std::lock_guard lock(m_mutex);
            b = std::move(m_pending);
            if (!b) return;
            b->iterationsDone = m_done;
        }
        b->id = m_job.id;
        b->iterationsPlanned = m_planned;
        b->rss.emplace_back(traceClockNs(), static_cast<qint64>(processRssBytes()));
        m_job.post([s = m_job.session, batch = EventBatchPtr(std::move(b))] {
            if (s) Q_EMIT s->eventsArrived(batch);
        });
    }

    LocalSession::Job& m_job;
    const int m_planned;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    std::shared_ptr<EventBatch> m_pending;
    int m_done = 0;
    std::thread m_flusher;
};

} // namespace

RunSpec runSpecOf(const RunRequest& rq)
{
    RunSpec s;
    s.model = rq.modelPath.toStdString();
    s.weights = rq.weightsPath.toStdString();
    s.inputShapes = rq.inputShapes;
    s.arch = rq.arch;
    s.stagingBytes = static_cast<uint64_t>(std::max<qint64>(0, rq.stagingBytes));
    s.resident = rq.resident;
    s.budgetBytes = static_cast<uint64_t>(std::max<qint64>(0, rq.budgetBytes));
    if (rq.splitBytes > 0) s.splitBytes = static_cast<uint64_t>(rq.splitBytes);
    s.precision = rq.precision;
    s.backend = rq.backend;
    s.warmup = rq.warmup;
    s.iterations = rq.iterations;
    s.continuous = rq.continuous;
    s.keepIterations = LocalSession::kKeptIterations;
    s.threads = rq.threads;
    s.packDir = rq.packDir.toStdString();
    s.memoryLimitBytes = static_cast<uint64_t>(std::max<qint64>(0, rq.memoryLimitBytes));
    s.source = "studio";
    return s;
}

QString LocalSession::progressMessage(const Progress& p)
{
    switch (p.phase) {
    case Progress::Phase::Importing:
        return LocalSession::tr("Importing %1").arg(qs(p.detail));
    case Progress::Phase::Planning:
        return LocalSession::tr("Planning %1").arg(qs(p.detail));
    case Progress::Phase::Packing:
        return LocalSession::tr("Packing layer %1 of %2").arg(p.done).arg(p.total);
    case Progress::Phase::Repacking:
        return LocalSession::tr("Packing again: %1").arg(qs(p.detail));
    case Progress::Phase::SettingUp:
        return LocalSession::tr("Setting up %1").arg(qs(p.detail));
    }
    return {};
}

std::shared_ptr<RunInfo> runInfoOf(quint64 id, const RunRequest& rq, const SessionSetup& setup)
{
    auto info = std::make_shared<RunInfo>();
    info->id = id;
    info->modelPath = rq.modelPath;
    info->packPath = qs(setup.packPath);
    info->arch = setup.arch.value_or(rq.arch);
    info->layerNames = setup.layerNames;
    info->layerBytes = setup.layerBytes;
    info->layerStored = setup.layerStored;
    info->precision = setup.precision;
    info->resident = setup.resident;
    info->stagingBytes = static_cast<qint64>(setup.stagingBytes);
    info->residentBytes = static_cast<qint64>(setup.residentBytes);
    info->budgetBytes = rq.budgetBytes;
    info->splitBytes = static_cast<qint64>(setup.splitBytes);
    info->modelWeightBytes = static_cast<qint64>(setup.modelWeightBytes);
    info->reader = qs(setup.reader);
    info->directIo = setup.directIo;
    info->originNs = traceClockNs();
    info->continuous = rq.continuous;
    return info;
}

namespace {

// The studio's view of the engine's outcome.
void fillOutcome(RunOutcome& out, SessionOutcome&& engine)
{
    const RunReport& r = engine.report;
    out.status = r.status == "ok" ? RunOutcome::Status::Ok
        : r.status == "cancelled" ? RunOutcome::Status::Cancelled
                                  : RunOutcome::Status::Failed;
    if (out.status == RunOutcome::Status::Failed) out.error = qs(r.error);
    out.latenciesMs = r.latenciesMs;
    out.medianMs = r.latencyMedianMs;
    for (size_t k = 0; k < kMemTagCount; ++k)
        out.peaks[k] = r.memory.byTag[k];
    out.peakTotal = r.memory.peakBytes;
    out.rssPeak = r.memory.rssPeakBytes;
    out.readMBps = r.effectiveReadMBps();
    out.readBytes = r.read ? r.read->bytes : 0;
    out.stallMs = r.stallMs;
    out.layers = store::layerStatsFromEvents(engine.events, engine.setup.layerNames, engine.setup.layerBytes,
        engine.setup.resident, engine.firstIteration, engine.endIteration, engine.setup.layerBoundBytes);
    engine.outputs.clear(); // the views do not show them
    out.engine = std::make_shared<const SessionOutcome>(std::move(engine));
}

// The whole run, on the worker thread. Returns the outcome; every failure is a value, never an exception.
RunOutcomePtr runJob(LocalSession::Job& job)
{
    auto out = std::make_shared<RunOutcome>();
    out->id = job.id;
    const RunRequest& rq = job.request;
    if (rq.modelPath.isEmpty()) {
        out->error = LocalSession::tr("No model is open.");
        return out;
    }
    const int planned = rq.continuous ? 0 : rq.warmup + rq.iterations;
    BatchSink batches(job, planned); // declared before the session: it outlives the session's tracer
    auto progress = [&](const Progress& p) { job.progress(LocalSession::progressMessage(p), p.percent); };
    auto prepared = Session::prepare(runSpecOf(rq), &job.cancel, progress, { &batches });
    if (!prepared.ok()) {
        const Error& e = prepared.error();
        out->status = e.code == ErrorCode::Cancelled ? RunOutcome::Status::Cancelled : RunOutcome::Status::Failed;
        if (out->status == RunOutcome::Status::Failed) out->error = qs(e.message);
        return out;
    }
    std::unique_ptr<Session> session = std::move(prepared).value();
    {
        std::lock_guard lock(job.sessionMutex);
        job.engine = session.get();
    }
    auto info = runInfoOf(job.id, rq, session->setup());
    out->info = info;
    job.post([s = job.session, i = RunInfoPtr(info)] {
        if (s) Q_EMIT s->runStarted(i);
    });
    IterationHooks hooks;
    hooks.after = [&](int it, double ms) -> Status {
        batches.iterationDone(it, ms);
        return {};
    };
    SessionOutcome result = session->run(hooks);
    {
        std::lock_guard lock(job.sessionMutex);
        job.engine = nullptr;
    }
    session.reset(); // flushes the trace to the batches
    fillOutcome(*out, std::move(result));
    return out;
}

} // namespace

LocalSession::LocalSession(QObject* parent)
    : EngineSession(parent)
    , m_workers(new WorkerThreads(this))
{
    qRegisterMetaType<RunInfoPtr>();
    qRegisterMetaType<EventBatchPtr>();
    qRegisterMetaType<RunOutcomePtr>();
    m_workers->onThreadEnded([this] { Q_EMIT threadEnded(); });
}

LocalSession::~LocalSession()
{
    if (m_current) m_current->stop();
    delete m_workers; // waits for the run's thread while this session is whole
}

int LocalSession::runningThreads() const
{
    return m_workers->running();
}

QString LocalSession::description() const
{
    return tr("local engine");
}

quint64 LocalSession::start(const RunRequest& request)
{
    if (m_current) return 0;
    auto job = std::make_shared<Job>();
    job->id = ++m_lastId;
    job->request = request;
    job->session = this;
    m_current = job;
    const quint64 id = job->id;
    m_workers->run(
        QStringLiteral("dl-run-%1").arg(id), [job] { return runJob(*job); },
        [this](const RunOutcomePtr& outcome) { onOutcome(outcome); },
        [this, id](const QString& what) {
            auto failed = std::make_shared<RunOutcome>();
            failed->id = id;
            failed->error = tr("The run ended unexpectedly: %1").arg(what);
            onOutcome(failed);
        });
    Q_EMIT busyChanged(true);
    return job->id;
}

void LocalSession::stop()
{
    if (m_current) m_current->stop();
}

void LocalSession::onOutcome(const RunOutcomePtr& outcome)
{
    if (m_current && m_current->id == outcome->id) m_current.reset();
    Q_EMIT runFinished(outcome);
    if (!m_current) Q_EMIT busyChanged(false);
}

} // namespace dl::ui
