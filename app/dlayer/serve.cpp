// dlayer serve: the board agent. It listens with TLS 1.3 (engine/remote/tls.h), proves itself with its pinned
// certificate and checks each client's token; then each client is served from a poll loop of its own thread, so that
// a client that stalls, floods or lies holds up nobody else: the engine's one run at a time (agent.h's RunQueue),
// live events at most ~30 batches a second and only as fast as the client reads them, uploads by content, the board's
// run store, heartbeats both ways.

#include "agent.h"
#include "cli.h"

#include "core/procstat.h"
#include "model/importer.h"
#include "pack/packcache.h"
#include "pipeline/arch.h"
#include "plan/config.h"
#include "remote/credentials.h"
#include "remote/messages.h"
#include "remote/tls.h"
#include "runtime/modelinfo.h"
#include "runtime/versions.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <future>
#include <list>
#include <map>
#include <poll.h>
#include <sys/statvfs.h>
#include <unistd.h>

using namespace dl;
using namespace dl::remote;
namespace fs = std::filesystem;

namespace dlcli {

namespace {

constexpr int kHandshakeMs = 5000;
constexpr int kHeartbeatMs = 500; // sent this often by both sides
constexpr int kDeadAfterMs = 2000; // a peer silent this long is gone
constexpr int kBatchIntervalMs = 33; // at most ~30 live batches a second
constexpr size_t kMaxBatchEvents = 6000; // ~40 bytes each in CBOR: a batch stays far below the 1 MiB frame
constexpr size_t kMaxBatchCounters = 2000;
constexpr int kBatchWindow = 4; // events batches a client may have unacknowledged
constexpr size_t kMaxQueuedBytes = size_t(16) << 20; // a client that lets more pile up does not read: closed
constexpr size_t kFetchChunkBytes = kUploadChunkBytes;
constexpr int kListLimit = 1000;
constexpr int kMaxClients = 64;
constexpr int kMaxClientsPerAddress = 16;
constexpr int kMaxPendingFetches = 8;

std::atomic<bool> g_stop { false };

extern "C" void onStopSignal(int)
{
    g_stop = true;
}

using Clock = std::chrono::steady_clock;

int64_t msSince(Clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

void log(const std::string& line)
{
    std::fprintf(stderr, "dlayer serve: %s\n", line.c_str());
}

// Failed handshakes per address: each one doubles the wait before that address's next handshake (from 250 ms up to
// 8 s), and a success clears it. Connections per address and in all are capped.
class AddressGuard
{
public:
    int delayMs(const std::string& host)
    {
        std::lock_guard lock(m_mutex);
        const int f = m_hosts[host].failures;
        return f == 0 ? 0 : std::min(8000, 250 << std::min(f - 1, 5));
    }
    void failed(const std::string& host)
    {
        std::lock_guard lock(m_mutex);
        ++m_hosts[host].failures;
    }
    void succeeded(const std::string& host)
    {
        std::lock_guard lock(m_mutex);
        m_hosts[host].failures = 0;
    }
    bool enter(const std::string& host)
    {
        std::lock_guard lock(m_mutex);
        if (m_total >= kMaxClients || m_hosts[host].open >= kMaxClientsPerAddress) return false;
        ++m_total;
        ++m_hosts[host].open;
        return true;
    }
    void leave(const std::string& host)
    {
        std::lock_guard lock(m_mutex);
        --m_total;
        --m_hosts[host].open;
    }

private:
    struct Host
    {
        int failures = 0, open = 0;
    };
    std::mutex m_mutex;
    std::map<std::string, Host> m_hosts;
    int m_total = 0;
};

std::string hostOf(const std::string& address)
{
    return address.substr(0, address.rfind(':'));
}

struct Agent
{
    AgentConfig config;
    Credentials credentials;
    Welcome welcome;
    ModelStore models;
    RunQueue queue;
    AddressGuard guard;

    Agent(AgentConfig c, Credentials cr, Welcome w)
        : config(c)
        , credentials(std::move(cr))
        , welcome(std::move(w))
        , models(c.stateDir + "/models", c.maxModelBytes)
        , queue(c, models)
    { }
};

Json errorBody(const std::string& code, const std::string& message, MessageType inReplyTo)
{
    return { { "code", code }, { "message", message }, { "in_reply_to", messageTypeName(inReplyTo) } };
}

// The model summary a client asks for with Info, planned on the board (as dlayer info --json prints it).
Result<Json> boardInfo(const Json& request, const ModelStore& models)
{
    DL_ASSIGN(const RequestedFiles files, requestedFiles(request));
    const std::string modelPath = models.pathOf(files.model);
    if (modelPath.empty()) return invalid("the board has no model " + files.model.substr(0, 16) + "…: upload it first");
    ImportOptions io;
    if (!files.weights.empty()) {
        io.darknetWeights = models.pathOf(files.weights);
        if (io.darknetWeights.empty())
            return invalid("the board has no weights file " + files.weights.substr(0, 16) + "…: upload it first");
    }
    std::map<std::string, Shape> shapes;
    if (request.contains("input_shapes")) {
        // The run request's reader checks shapes the same way.
        Json probe = { { "model", files.model }, { "input_shapes", request["input_shapes"] } };
        DL_ASSIGN(RunSpec s, runSpecFromRequest(probe, modelPath));
        shapes = s.inputShapes;
    }
    uint64_t split = 0;
    if (request.contains("split_bytes")) {
        if (!request["split_bytes"].is_number_unsigned())
            return invalid("an info request's 'split_bytes' is not a size");
        split = request["split_bytes"].get<uint64_t>();
    }
    DL_ASSIGN(Graph g, importModel(modelPath, io));
    DL_ASSIGN(ModelSummary s, summarizeModel(g, shapes, 0, split));
    Json j = summaryToJson(s);
    j["model"] = files.model;
    j["split_bytes"] = split;
    return j;
}

// One client, from the TLS handshake to its close, on a thread of its own.
class Client
{
public:
    Client(Agent& agent, std::unique_ptr<TlsConnection> c)
        : m_agent(agent)
        , m_c(std::move(c))
        , m_host(hostOf(m_c->peerAddress()))
    { }

    void serve()
    {
        if (!m_agent.guard.enter(m_host)) {
            log("refused " + m_c->peerAddress() + ": too many connections");
            return;
        }
        handshakeAndServe();
        for (auto& w : m_watched)
            w.channel->unwatch();
        m_agent.guard.leave(m_host);
    }

private:
    struct Watched
    {
        std::shared_ptr<RunChannel> channel;
        RunChannel::Cursor cursor;
        Clock::time_point lastBatch {};
        int unacked = 0; // batches sent and not yet acknowledged
    };
    struct Fetch
    {
        std::string uuid, text;
        size_t offset = 0;
    };

    void handshakeAndServe()
    {
        if (auto st = m_c->acceptHandshake(kHandshakeMs); !st.ok()) {
            log(st.error().message);
            return;
        }
        if (const int delay = m_agent.guard.delayMs(m_host); delay > 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(delay));
        auto who = serverHandshake(
            *m_c, m_agent.credentials.token, m_agent.credentials.fingerprint, m_agent.welcome, kHandshakeMs);
        if (!who.ok()) {
            m_agent.guard.failed(m_host);
            log(who.error().message);
            return;
        }
        m_agent.guard.succeeded(m_host);
        log("client " + m_c->peerAddress() + " (" + who->substr(0, 64) + ") connected");
        const std::string why = loop();
        log("client " + m_c->peerAddress() + " " + why);
    }

    // Until the client goes; returns why it did.
    std::string loop()
    {
        Clock::time_point lastHeard = Clock::now(), lastBeat = Clock::now();
        std::vector<Frame> frames;
        while (!g_stop) {
            pollfd p { m_c->fd(), static_cast<short>(POLLIN | (m_c->queuedBytes() ? POLLOUT : 0)), 0 };
            ::poll(&p, 1, 15);
            frames.clear();
            if (auto st = m_c->readAvailable(frames); !st.ok()) {
                if (st.error().code != ErrorCode::Invalid) return "closed";
                (void)m_c->queue(MessageType::Error, errorBody("frame", st.error().message, MessageType::Error));
                (void)m_c->flush();
                return "sent a bad frame (" + st.error().message + "): closed";
            }
            if (!frames.empty()) lastHeard = Clock::now();
            for (const Frame& f : frames) {
                Status st;
                try {
                    st = handle(f);
                } catch (const std::exception& e) {
                    // A field of another type than the request's reader expected (nlohmann throws): said, not fatal.
                    st = invalid(std::string("a malformed ") + messageTypeName(f.type) + " request: " + e.what());
                }
                if (!st.ok()) (void)m_c->queue(MessageType::Error, errorBody("request", st.error().message, f.type));
            }
            if (msSince(lastHeard) > kDeadAfterMs)
                return "silent for " + std::to_string(kDeadAfterMs) + " ms: the link is taken for dead";
            if (msSince(lastBeat) >= kHeartbeatMs) {
                (void)m_c->queue(MessageType::Heartbeat, Json::object());
                lastBeat = Clock::now();
            }
            pumpRuns();
            pumpFetches();
            pumpInfo();
            if (m_c->queuedBytes() > kMaxQueuedBytes)
                return "does not read what it asked for (" + std::to_string(m_c->queuedBytes() >> 20)
                    + " MiB waiting): closed";
            if (auto st = m_c->flush(); !st.ok()) return "gone";
        }
        return "closed: the agent stops";
    }

    Status handle(const Frame& f)
    {
        const Json& b = f.body;
        switch (f.type) {
        case MessageType::Heartbeat:
            return {};
        case MessageType::EventsAck: {
            const uint64_t run
                = b.is_object() && b.contains("run") && b["run"].is_number_unsigned() ? b["run"].get<uint64_t>() : 0;
            for (auto& w : m_watched)
                if (w.channel->id() == run && w.unacked > 0) --w.unacked;
            return {};
        }
        case MessageType::HasModel: {
            const std::string sha = field(b, "sha256", std::string());
            if (!isSha256(sha)) return invalid("has-model names a sha256");
            return m_c->queue(MessageType::ModelState, modelState(sha, m_agent.models.state(sha)));
        }
        case MessageType::UploadChunk: {
            const bool shaped = b.is_object() && b.contains("sha256") && b["sha256"].is_string() && b.contains("kind")
                && b["kind"].is_string() && b.contains("size") && b["size"].is_number_unsigned() && b.contains("offset")
                && b["offset"].is_number_unsigned() && b.contains("data") && b["data"].is_binary();
            if (!shaped) return invalid("an upload chunk is {sha256, kind, size, offset, data}");
            const std::string sha = b["sha256"].get<std::string>();
            DL_ASSIGN(const ModelStore::State s,
                m_agent.models.write(sha, b["kind"].get<std::string>(), b["size"].get<uint64_t>(),
                    b["offset"].get<uint64_t>(), b["data"].get_binary()));
            return m_c->queue(MessageType::ModelState, modelState(sha, s));
        }
        case MessageType::Info: {
            if (m_info.valid()) return invalid("an info request is already being answered");
            DL_TRY(requestedFiles(b));
            const ModelStore& models = m_agent.models;
            m_info = std::async(std::launch::async, [b, &models] { return boardInfo(b, models); });
            return {};
        }
        case MessageType::Run: {
            DL_ASSIGN(auto channel, m_agent.queue.submit(b));
            watch(channel);
            return {};
        }
        case MessageType::Watch: {
            uint64_t id = 0;
            if (b.is_object() && b.contains("run")) {
                if (!b["run"].is_number_unsigned()) return invalid("watch names a run number");
                id = b["run"].get<uint64_t>();
            }
            auto channel = m_agent.queue.find(id);
            if (!channel)
                return invalid(id ? "there is no run " + std::to_string(id) + " queued or running"
                                  : std::string("no run is queued or running"));
            watch(channel);
            return {};
        }
        case MessageType::Stop: {
            if (!b.is_object() || !b.contains("run") || !b["run"].is_number_unsigned())
                return invalid("stop names a run number");
            if (!m_agent.queue.stop(b["run"].get<uint64_t>()))
                return invalid("there is no run " + std::to_string(b["run"].get<uint64_t>()) + " queued or running");
            return {};
        }
        case MessageType::ListRuns:
            return listRuns(b);
        case MessageType::FetchRun:
            return fetchRun(b);
        case MessageType::SaveConfig:
            return saveConfig(b);
        default:
            return invalid(std::string("the agent does not take a ") + messageTypeName(f.type) + " frame here");
        }
    }

    Json modelState(const std::string& sha, const ModelStore::State& s) const
    {
        return { { "sha256", sha }, { "present", s.present }, { "kind", s.kind }, { "bytes", s.bytes },
            { "used_bytes", m_agent.models.usedBytes() }, { "quota_bytes", m_agent.models.quotaBytes() } };
    }

    // Follows the run from now on, and says its number and place in the queue at once.
    void watch(const std::shared_ptr<RunChannel>& channel)
    {
        Watched* w = nullptr;
        for (auto& x : m_watched)
            if (x.channel == channel) w = &x;
        if (!w) {
            channel->watch();
            w = &m_watched.emplace_back(Watched { channel, {}, {} });
        }
        w->cursor.position = channel->position();
        (void)m_c->queue(MessageType::RunQueued, { { "run", channel->id() }, { "position", w->cursor.position } });
    }

    void pumpRuns()
    {
        for (auto it = m_watched.begin(); it != m_watched.end();) {
            Watched& w = *it;
            const uint64_t run = w.channel->id();
            RunChannel::Snapshot s = w.channel->poll(w.cursor);
            if (s.state == RunChannel::State::Queued && s.position != w.cursor.position) {
                (void)m_c->queue(MessageType::RunQueued, { { "run", run }, { "position", s.position } });
                w.cursor.position = s.position;
            }
            if (s.progress) (void)m_c->queue(MessageType::Progress, { { "run", run }, { "progress", *s.progress } });
            if (s.setup) (void)m_c->queue(MessageType::RunStarted, { { "run", run }, { "setup", *s.setup } });
            // A batch when the client has taken the previous one, ~30 a second at most; at the end, until drained.
            const bool done = s.state == RunChannel::State::Done;
            // A client that has not taken the last few batches (its socket's buffers hold them) waits: what piles up
            // meanwhile comes in one batch of the newest events, with the count of the rest.
            if (m_c->queuedBytes() == 0 && w.unacked < kBatchWindow
                && (done || msSince(w.lastBatch) >= kBatchIntervalMs)) {
                if (auto batch = w.channel->takeBatch(w.cursor, kMaxBatchEvents, kMaxBatchCounters)) {
                    (void)m_c->queue(MessageType::Events, *batch);
                    w.lastBatch = Clock::now();
                    ++w.unacked;
                }
            }
            if (s.outcome) {
                (void)m_c->queue(MessageType::Outcome, *s.outcome);
                w.channel->unwatch();
                it = m_watched.erase(it);
                continue;
            }
            ++it;
        }
    }

    Status listRuns(const Json& b)
    {
        int64_t after = 0;
        int limit = kListLimit;
        if (b.is_object() && b.contains("after_id")) {
            if (!b["after_id"].is_number_unsigned()) return invalid("list-runs' 'after_id' is not a run id");
            after = b["after_id"].get<int64_t>();
        }
        if (b.is_object() && b.contains("limit")) {
            if (!b["limit"].is_number_unsigned()) return invalid("list-runs' 'limit' is not a count");
            limit = static_cast<int>(std::clamp<uint64_t>(b["limit"].get<uint64_t>(), 1, kListLimit));
        }
        DL_ASSIGN(auto store, store::RunStore::open(m_agent.config.storePath));
        DL_ASSIGN(auto runs, store->listRuns());
        Json list = Json::array();
        bool more = false;
        for (const auto& r : runs) {
            if (r.id <= after) continue;
            if (static_cast<int>(list.size()) == limit) {
                more = true;
                break;
            }
            list.push_back(
                { { "id", r.id }, { "uuid", r.uuid }, { "model", r.modelName }, { "model_hash", r.modelHash },
                    { "arch", r.arch }, { "started_ms", r.startedMs }, { "status", store::runStatusName(r.status) },
                    { "iterations", r.iterations }, { "latency_median_ms", r.latencyMedianMs },
                    { "weights_peak_bytes", r.weightsPeak }, { "peak_bytes", r.peakTotal } });
        }
        return m_c->queue(
            MessageType::RunList, { { "runs", list }, { "more", more }, { "active", m_agent.queue.active() } });
    }

    Status fetchRun(const Json& b)
    {
        const std::string uuid = field(b, "uuid", std::string());
        if (!store::isRunUuid(uuid)) return invalid("fetch-run names a run by uuid");
        if (static_cast<int>(m_fetches.size()) >= kMaxPendingFetches)
            return invalid("at most " + std::to_string(kMaxPendingFetches) + " fetches wait at once");
        DL_ASSIGN(auto store, store::RunStore::open(m_agent.config.storePath));
        DL_ASSIGN(const int64_t id, store->runIdByUuid(uuid));
        if (id == 0) return invalid("the board has no run " + uuid);
        DL_ASSIGN(const store::Run run, store->run(id));
        m_fetches.push_back({ uuid, store::runToJson(run), 0 });
        return {};
    }

    void pumpFetches()
    {
        while (!m_fetches.empty() && m_c->queuedBytes() < kFetchChunkBytes) {
            Fetch& f = m_fetches.front();
            const size_t n = std::min(kFetchChunkBytes, f.text.size() - f.offset);
            Json body = { { "uuid", f.uuid }, { "offset", f.offset }, { "total", f.text.size() },
                { "data",
                    Json::binary(std::vector<uint8_t>(f.text.begin() + static_cast<std::ptrdiff_t>(f.offset),
                        f.text.begin() + static_cast<std::ptrdiff_t>(f.offset + n))) } };
            (void)m_c->queue(MessageType::StoredRun, body);
            f.offset += n;
            if (f.offset >= f.text.size()) m_fetches.pop_front();
        }
    }

    void pumpInfo()
    {
        if (!m_info.valid() || m_info.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
        Result<Json> r = m_info.get();
        if (r.ok())
            (void)m_c->queue(MessageType::InfoResult, *r);
        else
            (void)m_c->queue(MessageType::Error, errorBody("request", r.error().message, MessageType::Info));
    }

    Status saveConfig(const Json& b)
    {
        const bool shaped = b.is_object() && b.contains("name") && b["name"].is_string() && b.contains("config")
            && b["config"].is_object();
        if (!shaped) return invalid("save-config is {name, config}");
        const std::string name = b["name"].get<std::string>();
        if (name.empty() || name.size() > 128) return invalid("a configuration's name is 1 to 128 characters");
        DL_ASSIGN(const plan::RunConfig c, plan::configFromJson(b["config"].dump()));
        DL_ASSIGN(auto store, store::RunStore::open(m_agent.config.storePath));
        DL_TRY(store->saveConfig(name, c.modelHash, plan::configToJson(c)));
        return m_c->queue(MessageType::ConfigSaved, { { "name", name } });
    }

    Agent& m_agent;
    std::unique_ptr<TlsConnection> m_c;
    const std::string m_host;
    std::list<Watched> m_watched;
    std::deque<Fetch> m_fetches;
    std::future<Result<Json>> m_info;
};

} // namespace

std::string defaultAgentStateDir()
{
    if (const char* s = std::getenv("STATE_DIRECTORY"); s && *s) return s; // systemd's StateDirectory=
    if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/dlayer-agent";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/state/dlayer-agent";
    return "dlayer-agent";
}

namespace {

Json diskOf(const std::string& dir)
{
    struct statvfs v
    {
    };
    if (::statvfs(dir.c_str(), &v) != 0) return Json::object();
    return { { "path", dir }, { "total_bytes", uint64_t(v.f_blocks) * v.f_frsize },
        { "free_bytes", uint64_t(v.f_bavail) * v.f_frsize } };
}

std::string hostName()
{
    char name[256] = {};
    return ::gethostname(name, sizeof name - 1) == 0 && name[0] ? name : "localhost";
}

} // namespace

int cmdServe(const Options& o)
{
    AgentConfig config;
    config.stateDir = o.stateDir.empty() ? defaultAgentStateDir() : o.stateDir;
    if (o.rotateToken) {
        auto c = rotateToken(config.stateDir);
        if (!c.ok()) fail(c.error().message);
        std::printf("token rotated; clients pair again with:\n%s\n",
            pairingLine(o.listen.empty() ? hostName() + ":7433" : o.listen, *c).c_str());
        return 0;
    }
    bool created = false;
    auto credentials = loadOrCreateCredentials(config.stateDir, &created);
    if (!credentials.ok()) fail(credentials.error().message);
    config.storePath = o.store.empty() ? config.stateDir + "/runs.db" : o.store;
    config.packDir = o.packDir.empty() ? config.stateDir + "/packs" : o.packDir;
    config.maxModelBytes = o.maxModelBytes ? o.maxModelBytes : uint64_t(16) << 30;
    std::error_code ec;
    fs::create_directories(config.stateDir + "/models", ec);
    if (ec) fail("cannot create " + config.stateDir + "/models: " + ec.message());
    fs::permissions(config.stateDir + "/models", fs::perms::owner_all, fs::perm_options::replace, ec);
    // A store that cannot take runs is refused now, not at the first run's end.
    if (auto store = store::RunStore::open(config.storePath); !store.ok()) fail(store.error().message);

    const std::string listen = o.listen.empty() ? "0.0.0.0:7433" : o.listen;
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) fail("--listen expects HOST:PORT, got '" + listen + "'", 2);
    std::string host = listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const long port = std::strtol(listen.substr(colon + 1).c_str(), nullptr, 10);
    if (port < 0 || port > 65535 || listen.substr(colon + 1).find_first_not_of("0123456789") != std::string::npos)
        fail("--listen: '" + listen.substr(colon + 1) + "' is not a port", 2);
    auto server = TlsServer::listen(host, static_cast<uint16_t>(port), *credentials);
    if (!server.ok()) fail(server.error().message);

    Welcome welcome;
    welcome.protocol = kProtocolVersion;
    welcome.engine = DL_VERSION;
    const DeviceIdentity device = thisDevice();
    welcome.device = { { "host", device.host }, { "cpu", device.cpu }, { "memory_bytes", device.memoryBytes },
        { "backend", device.backend }, { "gpu", device.gpu }, { "pack_disk", diskOf(config.packDir) },
        { "onednn", oneDnnVersion() } };
    Json archs = Json::array();
    for (Arch a : { Arch::Preload, Arch::Sequential, Arch::Sync, Arch::Async, Arch::TwoStage })
        archs.push_back(archName(a));
    welcome.capabilities = { { "backends", Json::array({ "cpu" }) }, { "architectures", archs },
        { "max_model_bytes", config.maxModelBytes }, { "upload_chunk_bytes", kUploadChunkBytes },
        { "max_control_frame_bytes", kMaxControlFrameBytes }, { "heartbeat_ms", kHeartbeatMs },
        { "dead_after_ms", kDeadAfterMs } };

    const std::string shown = (host.empty() || host == "0.0.0.0" || host == "::" ? hostName() : listen.substr(0, colon))
        + ":" + std::to_string((*server)->port());
    std::printf("%s the agent's credentials in %s\n", created ? "made" : "using", config.stateDir.c_str());
    std::printf("fingerprint sha256 %s\n", credentials->fingerprint.c_str());
    std::printf("pair with: %s\n", pairingLine(shown, *credentials).c_str());
    std::printf("listening on %s:%u (TLS 1.3), runs recorded in %s\n", host.c_str(), (*server)->port(),
        config.storePath.c_str());
    std::fflush(stdout);

    struct sigaction sa
    {
    };
    sa.sa_handler = onStopSignal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);

    Agent agent(config, std::move(credentials).value(), std::move(welcome));
    std::list<std::thread> clients;
    std::mutex doneMutex;
    std::vector<std::thread::id> done;
    while (!g_stop) {
        auto c = (*server)->acceptTcp(200);
        {
            // Threads of clients that have gone are joined here, so that a long-lived agent does not keep them.
            std::lock_guard lock(doneMutex);
            for (auto id : done)
                for (auto it = clients.begin(); it != clients.end(); ++it)
                    if (it->get_id() == id) {
                        it->join();
                        clients.erase(it);
                        break;
                    }
            done.clear();
        }
        if (!c.ok()) continue;
        TlsConnection* raw = std::move(c).value().release(); // owned by the client's thread from here on
        clients.emplace_back([&agent, &doneMutex, &done, raw] {
            Client client(agent, std::unique_ptr<TlsConnection>(raw));
            client.serve();
            std::lock_guard lock(doneMutex);
            done.push_back(std::this_thread::get_id());
        });
    }
    for (auto& t : clients)
        t.join();
    log("stopped");
    return 0;
}

} // namespace dlcli
