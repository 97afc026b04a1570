#include "localsession.h"

#include "engineheaders.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMetaObject>
#include <QPointer>
#include <QThread>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <malloc.h>
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

    std::mutex pipelineMutex;
    Pipeline* pipeline = nullptr; // while it exists, for stop()

    void stop()
    {
        cancel = true;
        std::lock_guard lock(pipelineMutex);
        if (pipeline) pipeline->cancel();
    }

    template <typename F> void post(F&& f)
    {
        if (LocalSession* s = session.data()) QMetaObject::invokeMethod(s, std::forward<F>(f), Qt::QueuedConnection);
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

// Keeps the events of set-up and of the latest `keep` iterations, for the store and the per-layer statistics.
class KeepSink : public TraceSink
{
public:
    explicit KeepSink(int keep)
        : m_keep(keep)
    { }
    void onEvent(const TraceEvent& e) override
    {
        std::lock_guard lock(m_mutex);
        m_events.push_back(e);
    }
    // Drops what is older than the `keep` iterations up to `iteration`; set-up (-1) stays.
    void trim(int iteration)
    {
        std::lock_guard lock(m_mutex);
        const int oldest = iteration - m_keep + 1;
        if (oldest <= 0) return;
        std::erase_if(m_events, [&](const TraceEvent& e) { return e.iteration >= 0 && e.iteration < oldest; });
    }
    std::vector<TraceEvent> events() const
    {
        std::lock_guard lock(m_mutex);
        return m_events;
    }

private:
    const int m_keep;
    mutable std::mutex m_mutex;
    std::vector<TraceEvent> m_events;
};

QString configJson(const RunRequest& rq, const Pipeline& pl, const QString& packPath, uint64_t splitBytes)
{
    QJsonArray resident;
    for (int r : pl.options().resident)
        resident.append(r);
    QJsonObject o { { QStringLiteral("arch"), QString::fromLatin1(archName(pl.options().arch)) },
        { QStringLiteral("staging_bytes"), static_cast<qint64>(pl.stagingBytes()) },
        { QStringLiteral("resident_layers"), resident },
        { QStringLiteral("split_bytes"), static_cast<qint64>(splitBytes) }, { QStringLiteral("threads"), rq.threads },
        { QStringLiteral("chunk_bytes"), static_cast<qint64>(pl.options().chunkBytes) },
        { QStringLiteral("direct"), pl.directIo() },
        { QStringLiteral("verify"), QString::fromLatin1(verifyName(pl.options().verify)) },
        { QStringLiteral("pack"), packPath }, { QStringLiteral("continuous"), rq.continuous },
        { QStringLiteral("source"), QStringLiteral("studio") } };
    if (rq.budgetBytes > 0) o.insert(QStringLiteral("budget_bytes"), rq.budgetBytes);
    return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
}

// The whole run, on the worker thread. Returns the outcome; every failure is a value, never an exception.
RunOutcomePtr runJob(LocalSession::Job& job)
{
    auto out = std::make_shared<RunOutcome>();
    out->id = job.id;
    const RunRequest& rq = job.request;
    const int64_t startedMs = store::unixNowMs();
    auto fail = [&](const dl::Error& e) {
        out->status = e.code == ErrorCode::Cancelled ? RunOutcome::Status::Cancelled : RunOutcome::Status::Failed;
        if (out->status == RunOutcome::Status::Failed) out->error = qs(e.message);
        return out;
    };
    auto cancelled = [&] { return fail(Error { ErrorCode::Cancelled, {} }); };
    if (rq.modelPath.isEmpty()) return fail(invalid("no model is open"));

    // A store that cannot take the run is refused before the run, not after.
    std::unique_ptr<store::RunStore> runStore;
    if (!rq.storePath.isEmpty()) {
        std::error_code ec;
        const auto parent = std::filesystem::path(rq.storePath.toStdString()).parent_path();
        if (!parent.empty()) std::filesystem::create_directories(parent, ec); // a failure shows in open()
        auto s = store::RunStore::open(rq.storePath.toStdString());
        if (!s.ok()) return fail(s.error());
        runStore = std::move(s).value();
    }

    job.progress(LocalSession::tr("Importing %1").arg(rq.modelPath), -1);
    ImportOptions io;
    io.darknetWeights = rq.weightsPath.toStdString();
    io.progress = [&](double f) {
        job.progress(LocalSession::tr("Importing the model"), static_cast<int>(f * 100));
        return !job.cancel.load();
    };
    auto graph = importModel(rq.modelPath.toStdString(), io);
    if (!graph.ok()) return fail(graph.error());
    if (job.cancel) return cancelled();
    ExecutorOptions eo;
    eo.threads = rq.threads;
    // The split: as asked, else what the budget needs (a split that cuts nothing leaves the layers whole).
    eo.splitBytes = rq.splitBytes > 0                    ? static_cast<size_t>(rq.splitBytes)
        : rq.budgetBytes > 0 && rq.arch != Arch::Preload ? splitForBudget(rq.arch, static_cast<size_t>(rq.budgetBytes))
                                                         : 0;
    auto created = Executor::create(*graph, rq.inputShapes, eo);
    if (!created.ok()) return fail(created.error());
    Executor& exec = **created;
    graph = Error {}; // the executor shares the weights it needs

    auto source = describePackSource(exec, rq.modelPath.toStdString(), rq.weightsPath.toStdString(), eo.splitBytes);
    if (!source.ok()) return fail(source.error());
    CachedPackOptions co;
    co.cancel = &job.cancel;
    co.progress = [&](size_t done, size_t total) {
        job.progress(LocalSession::tr("Packing layer %1 of %2").arg(done).arg(total),
            total ? static_cast<int>(done * 100 / total) : -1);
    };
    const std::string dir = rq.packDir.isEmpty() ? defaultPackDir() : rq.packDir.toStdString();
    auto packed = openCachedPack(dir, exec, *source, co);
    if (!packed.ok()) return fail(packed.error());
    const PackInfo& pack = *packed;
    exec.releaseWeights();
    malloc_trim(0);
    if (job.cancel) return cancelled();

    PipelineOptions po;
    if (rq.budgetBytes > 0) {
        auto b = optionsForBudget(pack, rq.arch, static_cast<size_t>(rq.budgetBytes));
        if (!b.ok()) return fail(b.error());
        po = *b;
    } else {
        po.arch = rq.arch;
        po.stagingBytes = static_cast<size_t>(std::max<qint64>(0, rq.stagingBytes));
        po.resident = rq.resident;
    }
    auto reader = openFileReader(pack.path);
    if (!reader.ok()) return fail(reader.error());

    job.progress(LocalSession::tr("Setting up %1").arg(QString::fromLatin1(archName(po.arch))), -1);
    MemoryLedger ledger;
    ledger.add(MemTag::Activations, static_cast<int64_t>(exec.activationBytes()));
    ledger.add(MemTag::Workspace, static_cast<int64_t>(exec.workspaceBytes()));
    Tracer tracer;
    tracer.setLedger(&ledger);
    const int planned = rq.continuous ? 0 : rq.warmup + rq.iterations;
    KeepSink kept(rq.continuous ? LocalSession::kKeptIterations : planned + 1);
    tracer.addSink(&kept);
    auto batches = std::make_unique<BatchSink>(job, planned);
    tracer.addSink(batches.get());
    auto created2 = Pipeline::create(exec, pack, std::move(reader).value(), po, &ledger, &tracer);
    if (!created2.ok()) {
        tracer.removeSink(batches.get());
        return fail(created2.error());
    }
    std::unique_ptr<Pipeline> pipeline = std::move(created2).value();
    pipeline->setStopToken(&job.cancel);
    {
        std::lock_guard lock(job.pipelineMutex);
        job.pipeline = pipeline.get();
    }
    Pipeline& pl = *pipeline;

    auto info = std::make_shared<RunInfo>();
    info->id = job.id;
    info->modelPath = rq.modelPath;
    info->packPath = qs(pack.path);
    info->arch = po.arch;
    std::vector<bool> resident(pack.layers.size(), po.arch == Arch::Preload);
    for (int l : pl.options().resident)
        if (l >= 0 && static_cast<size_t>(l) < resident.size()) resident[static_cast<size_t>(l)] = true;
    for (const auto& l : pack.layers) {
        info->layerNames.push_back(l.name);
        info->layerBytes.push_back(static_cast<int64_t>(l.paddedBytes));
    }
    info->resident = resident;
    info->stagingBytes = static_cast<qint64>(pl.stagingBytes());
    info->residentBytes = static_cast<qint64>(pl.residentBytes());
    info->budgetBytes = rq.budgetBytes;
    info->splitBytes = static_cast<qint64>(source->splitBytes);
    info->modelWeightBytes = static_cast<qint64>(pack.weightBytes());
    info->reader = qs(pl.readerDescription());
    info->directIo = pl.directIo();
    info->originNs = traceClockNs();
    info->continuous = rq.continuous;
    out->info = info;
    job.post([s = job.session, i = RunInfoPtr(info)] {
        if (s) Q_EMIT s->runStarted(i);
    });

    std::vector<Tensor> inputs;
    for (size_t i = 0; i < exec.graph().inputs.size(); ++i) {
        const auto& v = exec.values()[exec.valueId(exec.graph().inputs[i].name)];
        inputs.push_back(seededTensor(v.dtype, v.shape, 1 + i)); // dlayer run's default inputs (--seed 1)
    }

    std::optional<Error> error;
    int done = 0;
    std::optional<BlockDeviceCounters> deviceAtWarmup; // the pack's device, for its own count of the timed reads
    for (int it = 0; rq.continuous || it < rq.warmup + rq.iterations; ++it) {
        if (job.cancel) break;
        if (it == rq.warmup) {
            pl.resetStats();
            ledger.resetPeaks();
            resetProcessPeakRss();
            deviceAtWarmup = blockDeviceCounters(pack.path);
        }
        const auto t0 = std::chrono::steady_clock::now();
        auto r = pl.run(inputs);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (!r.ok()) {
            if (r.error().code != ErrorCode::Cancelled) error = r.error();
            break;
        }
        done = it + 1;
        batches->iterationDone(it, ms);
        if (it >= rq.warmup) out->latenciesMs.push_back(ms);
        if (rq.continuous) {
            kept.trim(it);
            // A continuous run's latencies are those of its kept iterations too.
            if (out->latenciesMs.size() > static_cast<size_t>(LocalSession::kKeptIterations))
                out->latenciesMs.erase(out->latenciesMs.begin());
        }
    }
    {
        std::lock_guard lock(job.pipelineMutex);
        job.pipeline = nullptr;
    }
    tracer.flush();
    tracer.removeSink(batches.get());
    tracer.removeSink(&kept);
    batches.reset(); // the last batch goes before the outcome

    const PipelineStats& st = pl.stats();
    for (size_t k = 0; k < kMemTagCount; ++k)
        out->peaks[k] = ledger.peak(static_cast<MemTag>(k));
    out->peakTotal = ledger.peakTotal();
    out->rssPeak = processPeakRssBytes();
    out->readMBps = st.readSeconds > 0 ? static_cast<double>(st.readBytes) / st.readSeconds / 1e6 : 0.0;
    // The device's own rate where it was busy long enough to count: the inline reader's own time also holds the
    // rest of the kernel during which a read completed (as dlayer run's read.device).
    if (deviceAtWarmup && st.readBytes > 0)
        if (const auto now = blockDeviceCounters(pack.path))
            if (const double mbps = deviceReadMBps(*deviceAtWarmup, *now); mbps > 0) out->readMBps = mbps;
    out->readBytes = st.runs > 0 ? st.readBytes / static_cast<uint64_t>(st.runs) : 0;
    out->stallMs = st.stallSeconds[static_cast<int>(Stage::Kernel)] * 1e3 / std::max(1, st.runs);
    const int timed = static_cast<int>(out->latenciesMs.size());
    const std::vector<TraceEvent> events = kept.events();
    out->layers
        = store::layerStatsFromEvents(events, info->layerNames, info->layerBytes, info->resident, done - timed, done);

    if (error) {
        out->status = RunOutcome::Status::Failed;
        out->error = qs(error->message);
    } else if (timed == 0 || (!rq.continuous && done < rq.warmup + rq.iterations)) {
        out->status = RunOutcome::Status::Cancelled;
    } else {
        out->status = RunOutcome::Status::Ok;
    }
    {
        store::Run r;
        store::setLatencies(r, out->latenciesMs);
        out->medianMs = r.latencyMedianMs;
        // Every run that ran is kept: a stopped one as cancelled, with the iterations it finished.
        if (runStore && (out->status != RunOutcome::Status::Cancelled || timed > 0)) {
            r.model.hash = modelHash(source->modelSha256, source->weightsSha256);
            r.model.path = source->modelPath;
            r.model.name = rq.modelPath.section(QLatin1Char('/'), -1).toStdString();
            r.model.bytes = static_cast<int64_t>(pack.weightBytes());
            r.model.layers = static_cast<int>(pack.layers.size());
            r.device = store::thisDevice();
            if (po.arch == Arch::Sequential) r.device.diskMBps = out->readMBps; // its reads run alone
            r.arch = archName(po.arch);
            r.configJson = configJson(rq, pl, info->packPath, static_cast<uint64_t>(info->splitBytes)).toStdString();
            r.startedMs = startedMs;
            r.finishedMs = store::unixNowMs();
            r.status = out->status == RunOutcome::Status::Ok ? store::RunStatus::Ok
                : out->status == RunOutcome::Status::Failed  ? store::RunStatus::Failed
                                                             : store::RunStatus::Cancelled;
            r.error = out->error.toStdString();
            r.stallMs = out->stallMs;
            for (size_t k = 0; k < kMemTagCount; ++k)
                r.peakByTag[k] = static_cast<int64_t>(out->peaks[k]);
            r.peakTotal = static_cast<int64_t>(out->peakTotal);
            r.rssPeak = static_cast<int64_t>(out->rssPeak);
            r.readBytes = static_cast<int64_t>(out->readBytes);
            r.readMBps = out->readMBps;
            QJsonObject report { { QStringLiteral("arch"), QString::fromLatin1(archName(po.arch)) },
                { QStringLiteral("model"), rq.modelPath }, { QStringLiteral("pack"), info->packPath },
                { QStringLiteral("latency_ms"), r.latencyMedianMs }, { QStringLiteral("stall_ms"), out->stallMs },
                { QStringLiteral("read_mb_per_s"), out->readMBps }, { QStringLiteral("reader"), info->reader },
                // What the planner takes from a profile besides the layers (storage/runbuild.h).
                { QStringLiteral("memory"),
                    QJsonObject { { QStringLiteral("activations_bytes"), static_cast<qint64>(exec.activationBytes()) },
                        { QStringLiteral("workspace_bytes"), static_cast<qint64>(exec.workspaceBytes()) },
                        { QStringLiteral("peak_bytes"), static_cast<qint64>(out->peakTotal) } } } };
            r.reportJson = QJsonDocument(report).toJson(QJsonDocument::Compact).toStdString();
            r.layers = out->layers;
            r.events = store::storedEvents(events);
            r.samples = store::memorySamples(ledger.timeline());
            auto id = runStore->addRun(r);
            if (id.ok())
                out->storedRunId = *id;
            else
                out->storeError = qs(id.error().message);
        }
    }
    pipeline.reset();
    return out;
}

} // namespace

LocalSession::LocalSession(QObject* parent)
    : EngineSession(parent)
{
    qRegisterMetaType<RunInfoPtr>();
    qRegisterMetaType<EventBatchPtr>();
    qRegisterMetaType<RunOutcomePtr>();
}

LocalSession::~LocalSession()
{
    if (m_current) m_current->stop();
    for (QThread* t : m_threads) {
        t->wait();
        delete t;
    }
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
    QThread* thread = QThread::create([job] {
        RunOutcomePtr outcome = runJob(*job);
        job->post([s = job->session, outcome] {
            if (s) s->onOutcome(outcome);
        });
    });
    thread->setObjectName(QStringLiteral("dl-run-%1").arg(job->id));
    connect(thread, &QThread::finished, this, [this, thread] {
        std::erase(m_threads, thread);
        thread->deleteLater();
        Q_EMIT threadEnded();
    });
    m_threads.push_back(thread);
    thread->start();
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
