#include "remote/client.h"

#include "remote/credentials.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dl::remote {

namespace {

int64_t nowMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

bool stopped(const std::atomic<bool>* stop)
{
    return stop && stop->load();
}

// A file read once from start to end (sha256) or in chunks (upload), with a message naming it on failure.
class InputFile
{
public:
    static Result<InputFile> open(const std::string& path)
    {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return makeError(ErrorCode::Io, "cannot read '" + path + "': " + std::strerror(errno));
        struct stat st
        {
        };
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            return invalid("'" + path + "' is not a file");
        }
        return InputFile(fd, path, static_cast<uint64_t>(st.st_size));
    }
    InputFile(InputFile&& o) noexcept
        : m_fd(std::exchange(o.m_fd, -1))
        , m_path(std::move(o.m_path))
        , m_size(o.m_size)
    { }
    ~InputFile()
    {
        if (m_fd >= 0) ::close(m_fd);
    }
    uint64_t size() const { return m_size; }
    Status read(uint64_t offset, std::vector<uint8_t>& out, size_t n)
    {
        out.resize(n);
        size_t done = 0;
        while (done < n) {
            const ssize_t r = ::pread(m_fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return makeError(ErrorCode::Io, "cannot read '" + m_path + "': " + std::strerror(errno));
            done += static_cast<size_t>(r);
        }
        return {};
    }

private:
    InputFile(int fd, std::string path, uint64_t size)
        : m_fd(fd)
        , m_path(std::move(path))
        , m_size(size)
    { }
    int m_fd;
    std::string m_path;
    uint64_t m_size;
};

std::string textOf(const Json& body, const char* key)
{
    return body.is_object() && body.contains(key) && body[key].is_string() ? body[key].get<std::string>()
                                                                           : std::string();
}

uint64_t runOf(const Json& body)
{
    return body.is_object() && body.contains("run") && body["run"].is_number_unsigned() ? body["run"].get<uint64_t>()
                                                                                        : 0;
}

} // namespace

AgentClient::AgentClient(std::unique_ptr<TlsConnection> c, Welcome w, std::string address)
    : m_c(std::move(c))
    , m_welcome(std::move(w))
    , m_address(std::move(address))
{
    m_lastHeardMs = m_lastSentMs = nowMs();
}

Result<std::unique_ptr<AgentClient>> AgentClient::connect(const std::string& hostPort, const std::string& fingerprint,
    const std::string& token, const std::string& clientName, int timeoutMs)
{
    DL_ASSIGN(auto c, connectTls(hostPort, fingerprint, timeoutMs));
    DL_ASSIGN(Welcome w, clientHandshake(*c, token, clientName, timeoutMs));
    return std::unique_ptr<AgentClient>(new AgentClient(std::move(c), std::move(w), hostPort));
}

Status AgentClient::send(MessageType type, const Json& body)
{
    DL_TRY(m_c->queue(type, body));
    // Written out in full, answering nothing meanwhile: the agent reads while it writes, so this never waits long;
    // a peer that takes nothing for kDeadAfterMs is gone.
    const int64_t start = nowMs();
    for (;;) {
        DL_TRY(m_c->flush());
        if (m_c->queuedBytes() == 0) break;
        if (nowMs() - start > kDeadAfterMs * 5)
            return makeError(ErrorCode::Io, "the agent at " + m_address + " takes nothing: the link is down");
        pollfd p { m_c->fd(), POLLOUT, 0 };
        ::poll(&p, 1, 100);
    }
    m_lastSentMs = nowMs();
    return {};
}

Result<Frame> AgentClient::next(const std::atomic<bool>* stop)
{
    std::vector<Frame> frames;
    for (;;) {
        while (!m_inbox.empty()) {
            Frame f = std::move(m_inbox.front());
            m_inbox.pop_front();
            if (f.type == MessageType::Heartbeat) continue;
            if (f.type == MessageType::Error) {
                const std::string m = textOf(f.body, "message");
                return invalid(m.empty() ? "the agent refused the request" : m);
            }
            return f;
        }
        if (stopped(stop)) return makeError(ErrorCode::Cancelled, "stopped");
        frames.clear();
        DL_TRY(m_c->readAvailable(frames));
        const int64_t now = nowMs();
        if (!frames.empty()) {
            m_lastHeardMs = now;
            for (auto& f : frames)
                m_inbox.push_back(std::move(f));
            continue;
        }
        DL_TRY(keepAlive(now));
        waitReadable(50);
    }
}

Status AgentClient::keepAlive(int64_t now)
{
    if (now - m_lastHeardMs > kDeadAfterMs)
        return makeError(ErrorCode::Io,
            "nothing from the agent at " + m_address + " for " + std::to_string(kDeadAfterMs)
                + " ms: the link or the agent is down");
    if (now - m_lastSentMs >= kClientHeartbeatMs) DL_TRY(send(MessageType::Heartbeat, Json::object()));
    return {};
}

void AgentClient::waitReadable(int ms)
{
    pollfd p { m_c->fd(), POLLIN, 0 };
    ::poll(&p, 1, ms);
}

Status AgentClient::idle(int ms, const std::atomic<bool>* stop)
{
    const int64_t end = nowMs() + ms;
    std::vector<Frame> frames;
    m_inbox.clear();
    for (int64_t now = nowMs(); now < end && !stopped(stop); now = nowMs()) {
        frames.clear();
        DL_TRY(m_c->readAvailable(frames));
        if (!frames.empty()) m_lastHeardMs = now;
        DL_TRY(keepAlive(now));
        waitReadable(static_cast<int>(std::min<int64_t>(50, end - now)));
    }
    return {};
}

Result<std::string> AgentClient::ensureFile(const std::string& path, const std::string& kind,
    const std::function<void(uint64_t, uint64_t)>& progress, const std::atomic<bool>* stop)
{
    DL_ASSIGN(InputFile file, InputFile::open(path));
    DL_ASSIGN(const std::string sha, sha256OfFile(path));
    DL_ASSIGN(const Json state, modelState(sha, stop));
    if (field(state, "present", false)) {
        if (progress) progress(file.size(), file.size());
        return sha;
    }
    // Go on from what the board holds of an earlier upload of the same kind.
    uint64_t offset = textOf(state, "kind") == kind ? field(state, "bytes", uint64_t(0)) : 0;
    if (offset > file.size()) offset = 0;
    const uint64_t total = file.size();
    if (total == 0) return invalid("'" + path + "' is empty");
    // A few chunks in flight, each acknowledged by a model-state frame.
    constexpr int kWindow = 4;
    int inFlight = 0;
    std::vector<uint8_t> chunk;
    uint64_t sent = offset;
    while (sent < total || inFlight > 0) {
        while (sent < total && inFlight < kWindow) {
            const size_t n = static_cast<size_t>(std::min<uint64_t>(kUploadChunkBytes, total - sent));
            DL_TRY(file.read(sent, chunk, n));
            DL_TRY(send(MessageType::UploadChunk,
                { { "sha256", sha }, { "kind", kind }, { "size", total }, { "offset", sent },
                    { "data", Json::binary(chunk) } }));
            sent += n;
            ++inFlight;
        }
        DL_ASSIGN(Frame ack, next(stop));
        if (ack.type != MessageType::ModelState) continue;
        --inFlight;
        if (progress) progress(field(ack.body, "bytes", uint64_t(0)), total);
        if (field(ack.body, "present", false)) break;
    }
    return sha;
}

Result<Json> AgentClient::modelState(const std::string& sha256, const std::atomic<bool>* stop)
{
    DL_TRY(send(MessageType::HasModel, { { "sha256", sha256 } }));
    for (;;) {
        DL_ASSIGN(Frame f, next(stop));
        if (f.type == MessageType::ModelState && textOf(f.body, "sha256") == sha256) return f.body;
    }
}

Result<Json> AgentClient::info(const Json& request, const std::atomic<bool>* stop)
{
    DL_TRY(send(MessageType::Info, request));
    for (;;) {
        DL_ASSIGN(Frame f, next(stop));
        if (f.type == MessageType::InfoResult) return f.body;
    }
}

Result<Json> AgentClient::run(const Json& request, const RunCallbacks& callbacks, const std::atomic<bool>* stop)
{
    DL_TRY(send(MessageType::Run, request));
    return follow(0, callbacks, stop);
}

Result<Json> AgentClient::watch(uint64_t run, const RunCallbacks& callbacks, const std::atomic<bool>* stop)
{
    Json body = Json::object();
    if (run) body["run"] = run;
    DL_TRY(send(MessageType::Watch, body));
    return follow(0, callbacks, stop);
}

Result<Json> AgentClient::follow(uint64_t run, const RunCallbacks& cb, const std::atomic<bool>* stop)
{
    bool stopSent = false;
    for (;;) {
        auto f = next(stopSent ? nullptr : stop);
        if (!f.ok() && f.error().code == ErrorCode::Cancelled) {
            stopSent = true;
            if (run) DL_TRY(send(MessageType::Stop, { { "run", run } }));
            continue;
        }
        if (!f.ok() && stopSent && f.error().code == ErrorCode::Invalid) continue; // the stop came too late
        if (!f.ok()) return f.error();
        const Json& b = f->body;
        if (f->type == MessageType::RunQueued) {
            if (run == 0) {
                run = runOf(b);
                if (stopSent) DL_TRY(send(MessageType::Stop, { { "run", run } }));
            }
            if (runOf(b) == run && cb.queued) cb.queued(run, field(b, "position", 0));
            continue;
        }
        if (runOf(b) != run) continue; // another run this connection watches
        switch (f->type) {
        case MessageType::Progress:
            if (cb.progress && b.contains("progress"))
                if (auto p = progressFromJson(b["progress"]); p.ok()) cb.progress(*p);
            break;
        case MessageType::RunStarted: {
            DL_ASSIGN(RemoteSetup s, setupFromJson(field(b, "setup", Json::object())));
            if (cb.started) cb.started(s);
            break;
        }
        case MessageType::Events: {
            DL_ASSIGN(LiveBatch batch, batchFromJson(b));
            if (cb.events) cb.events(std::move(batch));
            // Taken: the agent sends the next one (a client that falls behind gets fewer, fuller batches).
            DL_TRY(send(MessageType::EventsAck, { { "run", run } }));
            break;
        }
        case MessageType::Outcome:
            return b;
        default:
            break;
        }
    }
}

Result<AgentClient::RunList> AgentClient::listRuns(const std::atomic<bool>* stop)
{
    RunList out;
    int64_t after = 0;
    for (;;) {
        DL_TRY(send(MessageType::ListRuns, { { "after_id", after } }));
        Frame f;
        do {
            DL_ASSIGN(f, next(stop));
        } while (f.type != MessageType::RunList);
        if (!f.body.is_object() || !f.body.contains("runs") || !f.body["runs"].is_array())
            return invalid("the agent's run list is malformed");
        for (const auto& r : f.body["runs"]) {
            if (!r.is_object() || !r.contains("id") || !r["id"].is_number_integer())
                return invalid("the agent's run list is malformed");
            after = std::max(after, r["id"].get<int64_t>());
            out.runs.push_back(r);
        }
        if (f.body.contains("active")) out.active = f.body["active"];
        if (!field(f.body, "more", false) || f.body["runs"].empty()) return out;
    }
}

Result<std::string> AgentClient::fetchRun(const std::string& uuid, const std::atomic<bool>* stop)
{
    DL_TRY(send(MessageType::FetchRun, { { "uuid", uuid } }));
    std::string text;
    for (;;) {
        DL_ASSIGN(Frame f, next(stop));
        if (f.type != MessageType::StoredRun || textOf(f.body, "uuid") != uuid) continue;
        const Json& b = f.body;
        const bool shaped = b.contains("offset") && b["offset"].is_number_unsigned() && b.contains("total")
            && b["total"].is_number_unsigned() && b.contains("data") && b["data"].is_binary();
        if (!shaped) return invalid("the agent's stored-run chunk is malformed");
        const uint64_t total = b["total"].get<uint64_t>();
        if (total > kMaxRunExportBytes)
            return invalid("the agent's run " + uuid + " is " + std::to_string(total) + " bytes, above the "
                + std::to_string(kMaxRunExportBytes) + " a fetch takes");
        if (b["offset"].get<uint64_t>() != text.size())
            return invalid("the agent's stored-run chunks are out of order");
        const auto& data = b["data"].get_binary();
        if (text.size() + data.size() > total) return invalid("the agent's stored-run chunks run past their total");
        text.append(data.begin(), data.end());
        if (text.size() == total) return text;
    }
}

Status AgentClient::saveConfig(const std::string& name, const Json& config, const std::atomic<bool>* stop)
{
    DL_TRY(send(MessageType::SaveConfig, { { "name", name }, { "config", config } }));
    for (;;) {
        DL_ASSIGN(Frame f, next(stop));
        if (f.type == MessageType::ConfigSaved) return {};
    }
}

} // namespace dl::remote
