#include "remotesession.h"

#include "localsession.h"

#include "pack/packcache.h"
#include "remote/client.h"
#include "remote/messages.h"
#include "runbuild.h"
#include "runstore.h"
#include "workerthreads.h"

#include <QFileInfo>
#include <QMetaObject>
#include <QPointer>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

namespace dl::ui {

namespace {

QString qs(const std::string& s)
{
    return QString::fromStdString(s);
}

std::string jsonText(const remote::Json& j, const char* key)
{
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

} // namespace

struct RemoteSession::Link
{
    BoardAddress address;
    QPointer<RemoteSession> session; // posts go to it; it outlives the thread (its destructor joins)
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::function<Status(remote::AgentClient&)>> commands;
    std::string storePath;
    std::atomic<bool> quit { false };
    std::atomic<bool> stopRun { false };
    std::thread thread;

    template <typename F> void post(F&& f)
    {
        if (RemoteSession* s = session.data()) postTo(s, std::forward<F>(f));
    }
    void push(std::function<Status(remote::AgentClient&)> command)
    {
        {
            std::lock_guard lock(mutex);
            commands.push_back(std::move(command));
        }
        wake.notify_all();
    }
    std::string store()
    {
        std::lock_guard lock(mutex);
        return storePath;
    }

    void main();
    Status sync(remote::AgentClient& c);
    Status run(remote::AgentClient& c, quint64 id, const RunRequest& rq);
};

void RemoteSession::Link::main()
{
    auto connected = remote::AgentClient::connect(address.hostPort.toStdString(), address.fingerprint.toStdString(),
        address.token.toStdString(), std::string("Demand Layering Studio ") + DL_VERSION);
    if (!connected.ok()) {
        post([s = session, m = qs(connected.error().message)] {
            if (s) Q_EMIT s->connectionFailed(m);
        });
        return;
    }
    std::unique_ptr<remote::AgentClient> client = std::move(connected).value();
    BoardInfo info;
    const remote::Json& d = client->welcome().device;
    info.hostPort = address.hostPort;
    info.fingerprint = qs(client->fingerprint());
    info.host = qs(jsonText(d, "host"));
    info.cpu = qs(jsonText(d, "cpu"));
    info.backend = qs(jsonText(d, "backend"));
    info.gpu = qs(jsonText(d, "gpu"));
    info.engine = qs(client->welcome().engine);
    info.memoryBytes = d.is_object() ? remote::field(d, "memory_bytes", qint64(0)) : 0;
    post([s = session, info] {
        if (s) s->onConnected(info);
    });
    Status lost;
    while (!quit && lost.ok()) {
        std::function<Status(remote::AgentClient&)> command;
        {
            std::lock_guard lock(mutex);
            if (!commands.empty()) {
                command = std::move(commands.front());
                commands.pop_front();
            }
        }
        if (command) {
            try {
                lost = command(*client);
            } catch (const std::exception& e) {
                // A board that sent a field of another type than the protocol's: the link is not to be trusted.
                lost = makeError(ErrorCode::Io, std::string("the board sent a malformed message (") + e.what() + ")");
            }
            if (!lost.ok() && lost.error().code != ErrorCode::Io) lost = {}; // a refusal, said by the command
            continue;
        }
        lost = client->idle(100, &quit);
    }
    if (!lost.ok())
        post([s = session, m = qs(lost.error().message)] {
            if (s) Q_EMIT s->linkLost(m);
        });
}

Status RemoteSession::Link::sync(remote::AgentClient& c)
{
    const std::string path = store();
    auto report = [this](int fetched, const std::string& error) {
        post([s = session, fetched, e = qs(error)] {
            if (s) Q_EMIT s->runsSynced(fetched, e);
        });
    };
    if (path.empty()) {
        report(0, {});
        return {};
    }
    auto list = c.listRuns(&quit);
    if (!list.ok()) {
        report(0, list.error().message);
        return list.error();
    }
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    auto store = store::RunStore::open(path);
    if (!store.ok()) {
        report(0, store.error().message);
        return {};
    }
    int fetched = 0;
    for (const auto& r : list->runs) {
        const std::string uuid = jsonText(r, "uuid");
        if (!store::isRunUuid(uuid)) continue;
        auto have = (*store)->runIdByUuid(uuid);
        if (!have.ok() || *have) continue;
        auto text = c.fetchRun(uuid, &quit);
        if (!text.ok()) {
            report(fetched, text.error().message);
            return text.error();
        }
        auto run = store::runFromJson(*text);
        if (!run.ok() || !(*store)->addRun(*run).ok()) continue; // a run that does not read is left on the board
        ++fetched;
    }
    report(fetched, {});
    return {};
}

Status RemoteSession::Link::run(remote::AgentClient& c, quint64 id, const RunRequest& rq)
{
    auto out = std::make_shared<RunOutcome>();
    out->id = id;
    auto finish = [&](Status st) {
        post([s = session, o = RunOutcomePtr(out)] {
            if (s) s->onRunFinished(o);
        });
        return st;
    };
    auto fail = [&](const Error& e) {
        out->status = e.code == ErrorCode::Cancelled ? RunOutcome::Status::Cancelled : RunOutcome::Status::Failed;
        if (out->status == RunOutcome::Status::Failed)
            out->error = e.code == ErrorCode::Io
                ? RemoteSession::tr("The link to the board was lost: %1").arg(qs(e.message))
                : qs(e.message);
        return finish(e.code == ErrorCode::Io ? Status(e) : Status {});
    };
    auto upload = [&](const QString& path, const char* kind) {
        const QString name = QFileInfo(path).fileName();
        return c.ensureFile(
            path.toStdString(), kind,
            [&, name, last = -1](uint64_t done, uint64_t total) mutable {
                const int pct = total ? static_cast<int>(100 * done / total) : 100;
                if (pct == last) return;
                last = pct;
                post([s = session, id, name, pct] {
                    if (s) Q_EMIT s->progressChanged(id, RemoteSession::tr("Uploading %1 to the board").arg(name), pct);
                });
            },
            &stopRun);
    };
    if (rq.modelPath.isEmpty()) {
        out->error = RemoteSession::tr("No model is open.");
        return finish({});
    }
    const std::string kind = rq.modelPath.endsWith(QStringLiteral(".cfg"), Qt::CaseInsensitive) ? "cfg" : "onnx";
    auto modelSha = upload(rq.modelPath, kind.c_str());
    if (!modelSha.ok()) return fail(modelSha.error());
    std::string weightsSha;
    if (!rq.weightsPath.isEmpty()) {
        auto w = upload(rq.weightsPath, "weights");
        if (!w.ok()) return fail(w.error());
        weightsSha = *w;
    }
    RunSpec spec = runSpecOf(rq);
    spec.modelHash = modelHash(*modelSha, weightsSha);
    remote::Json request = remote::runRequestToJson(spec, *modelSha, weightsSha);
    request["model_name"] = QFileInfo(rq.modelPath).fileName().toStdString();

    std::shared_ptr<RunInfo> info;
    remote::RunCallbacks cb;
    cb.queued = [&](uint64_t, int position) {
        if (position <= 0) return;
        post([s = session, id, position] {
            if (s)
                Q_EMIT s->progressChanged(
                    id, RemoteSession::tr("Waiting on the board: %n run(s) ahead", nullptr, position), -1);
        });
    };
    cb.progress = [&](const Progress& p) {
        post([s = session, id, m = LocalSession::progressMessage(p), pct = p.percent] {
            if (s) Q_EMIT s->progressChanged(id, m, pct);
        });
    };
    cb.started = [&](const remote::RemoteSetup& setup) {
        info = runInfoOf(id, rq, setup.setup);
        info->originNs = setup.originNs; // the board's clock: its events are timed by it
        post([s = session, i = RunInfoPtr(info)] {
            if (s) Q_EMIT s->runStarted(i);
        });
    };
    cb.events = [&](remote::LiveBatch&& b) {
        auto batch = std::make_shared<EventBatch>();
        batch->id = id;
        batch->events = std::move(b.events);
        batch->counters = std::move(b.counters);
        for (const auto& [ns, bytes] : b.rss)
            batch->rss.emplace_back(ns, static_cast<qint64>(bytes));
        batch->latencies = std::move(b.latencies);
        batch->iterationsDone = b.iterationsDone;
        batch->iterationsPlanned = b.iterationsPlanned;
        post([s = session, bp = EventBatchPtr(std::move(batch))] {
            if (s) Q_EMIT s->eventsArrived(bp);
        });
    };
    auto outcome = c.run(request, cb, &stopRun);
    if (!outcome.ok()) return fail(outcome.error());
    const remote::Json& b = *outcome;
    const std::string status = jsonText(b, "status");
    out->info = info;
    out->status = status == "ok" ? RunOutcome::Status::Ok
        : status == "cancelled"  ? RunOutcome::Status::Cancelled
                                 : RunOutcome::Status::Failed;
    if (out->status == RunOutcome::Status::Failed) out->error = qs(jsonText(b, "error"));
    // The board recorded the run: its stored form (per-layer times, memory timeline, events) comes by uuid.
    const std::string uuid = jsonText(b, "uuid");
    if (store::isRunUuid(uuid)) {
        auto text = c.fetchRun(uuid, &quit);
        if (!text.ok()) return fail(text.error());
        auto run = store::runFromJson(*text);
        if (run.ok()) {
            const store::Run& r = *run;
            out->latenciesMs = {};
            auto report = reportFromJson(r.reportJson);
            if (report.ok()) out->latenciesMs = report->latenciesMs;
            out->medianMs = r.latencyMedianMs;
            for (size_t k = 0; k < kMemTagCount; ++k)
                out->peaks[k] = static_cast<size_t>(r.peakByTag[k]);
            out->peakTotal = static_cast<size_t>(r.peakTotal);
            out->rssPeak = static_cast<size_t>(r.rssPeak);
            out->readMBps = r.readMBps;
            out->readBytes = static_cast<uint64_t>(r.readBytes);
            out->stallMs = r.stallMs;
            out->layers = r.layers;
            out->boardRun = std::make_shared<const store::Run>(std::move(run).value());
        } else {
            out->storeError
                = RemoteSession::tr("The board's run %1 does not read: %2").arg(qs(uuid), qs(run.error().message));
        }
    } else if (!jsonText(b, "store_error").empty()) {
        out->storeError = RemoteSession::tr("The board did not record the run: %1").arg(qs(jsonText(b, "store_error")));
    }
    return finish({});
}

RemoteSession::RemoteSession(BoardAddress board, QString storePath, QObject* parent)
    : EngineSession(parent)
    , m_link(std::make_shared<Link>())
{
    qRegisterMetaType<RunInfoPtr>();
    qRegisterMetaType<EventBatchPtr>();
    qRegisterMetaType<RunOutcomePtr>();
    qRegisterMetaType<BoardInfo>();
    m_board.hostPort = board.hostPort;
    m_link->address = std::move(board);
    m_link->session = this;
    m_link->storePath = storePath.toStdString();
    connect(this, &RemoteSession::linkLost, this, [this] { m_connected = false; });
    m_link->thread = std::thread([link = m_link] { link->main(); });
}

RemoteSession::~RemoteSession()
{
    m_link->stopRun = true;
    m_link->quit = true;
    m_link->wake.notify_all();
    m_link->thread.join();
}

QString RemoteSession::description() const
{
    return m_board.host.isEmpty() ? tr("board at %1").arg(m_board.hostPort)
                                  : tr("board %1 (%2)").arg(m_board.host, m_board.hostPort);
}

void RemoteSession::setStorePath(const QString& path)
{
    std::lock_guard lock(m_link->mutex);
    m_link->storePath = path.toStdString();
}

void RemoteSession::onConnected(const BoardInfo& info)
{
    m_board = info;
    m_connected = true;
    Q_EMIT connected(info);
}

quint64 RemoteSession::start(const RunRequest& request)
{
    if (m_running || !m_connected) return 0;
    const quint64 id = ++m_lastId;
    m_running = id;
    m_link->stopRun = false;
    m_link->push([link = m_link.get(), id, request](remote::AgentClient& c) { return link->run(c, id, request); });
    Q_EMIT busyChanged(true);
    return id;
}

void RemoteSession::stop()
{
    if (m_running) m_link->stopRun = true;
}

void RemoteSession::onRunFinished(const RunOutcomePtr& outcome)
{
    if (outcome->id == m_running) m_running = 0;
    Q_EMIT runFinished(outcome);
    Q_EMIT busyChanged(false);
}

void RemoteSession::syncRuns()
{
    m_link->push([link = m_link.get()](remote::AgentClient& c) { return link->sync(c); });
}

void RemoteSession::deployConfig(const QString& name, const QString& configJson)
{
    m_link->push([link = m_link.get(), name, text = configJson.toStdString()](remote::AgentClient& c) -> Status {
        remote::Json config = remote::Json::parse(text, nullptr, false);
        Status st = config.is_object() ? c.saveConfig(name.toStdString(), config, &link->quit)
                                       : Status(invalid("the configuration is not a JSON object"));
        link->post([s = link->session, name, e = st.ok() ? QString() : qs(st.error().message)] {
            if (s) Q_EMIT s->configDeployed(name, e);
        });
        return st;
    });
}

} // namespace dl::ui
