// The board agent's models, run queue and run channels (agent.h).

#include "agent.h"

#include "core/procstat.h"
#include "remote/credentials.h"
#include "remote/messages.h"
#include "runbuild.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

using namespace dl;
namespace fs = std::filesystem;

namespace dlcli {

// ---------------------------------------------------------------------------------------------------------------
// ModelStore

namespace {

const char* const kKinds[] = { "onnx", "cfg", "weights" };

std::string humanSize(uint64_t b)
{
    return humanBytes(static_cast<double>(b));
}

} // namespace

ModelStore::ModelStore(std::string dir, uint64_t quotaBytes)
    : m_dir(std::move(dir))
    , m_quota(quotaBytes)
{ }

bool ModelStore::isKind(const std::string& kind)
{
    return std::any_of(std::begin(kKinds), std::end(kKinds), [&](const char* k) { return kind == k; });
}

std::string ModelStore::file(const std::string& sha256, const std::string& kind) const
{
    return m_dir + "/" + sha256 + "." + kind;
}

ModelStore::State ModelStore::state(const std::string& sha256) const
{
    std::lock_guard lock(m_mutex);
    State s;
    std::error_code ec;
    for (const char* kind : kKinds) {
        const std::string path = file(sha256, kind);
        if (fs::is_regular_file(path, ec)) return { true, kind, static_cast<uint64_t>(fs::file_size(path, ec)) };
        if (fs::is_regular_file(path + ".part", ec))
            s = { false, kind, static_cast<uint64_t>(fs::file_size(path + ".part", ec)) };
    }
    return s;
}

std::string ModelStore::pathOf(const std::string& sha256) const
{
    const State s = state(sha256);
    return s.present ? file(sha256, s.kind) : std::string();
}

uint64_t ModelStore::usedBytes() const
{
    uint64_t total = 0;
    std::error_code ec;
    for (fs::directory_iterator it(m_dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file(ec)) total += static_cast<uint64_t>(it->file_size(ec));
    return total;
}

Result<ModelStore::State> ModelStore::write(const std::string& sha256, const std::string& kind, uint64_t size,
    uint64_t offset, const std::vector<uint8_t>& data)
{
    if (!remote::isSha256(sha256)) return invalid("an upload names its file by sha256 (64 lowercase hex digits)");
    if (!isKind(kind)) return invalid("an upload's kind is onnx, cfg or weights");
    if (offset + data.size() > size)
        return invalid("an upload chunk runs past the file's size (" + std::to_string(size) + " bytes)");
    if (State s = state(sha256); s.present) return s; // another client finished it meanwhile
    std::lock_guard lock(m_mutex);
    const std::string path = file(sha256, kind), part = path + ".part";
    std::error_code ec;
    for (const char* other : kKinds)
        if (other != kind && fs::exists(file(sha256, other) + ".part", ec))
            return invalid("an upload of " + sha256.substr(0, 16) + "… as " + other + " is under way");
    const uint64_t held = fs::exists(part, ec) ? static_cast<uint64_t>(fs::file_size(part, ec)) : 0;
    if (offset != held)
        return invalid("the board holds " + std::to_string(held) + " bytes of " + sha256.substr(0, 16)
            + "…; an upload goes on from there, not from " + std::to_string(offset));
    if (offset == 0 || held < size) {
        // What the rest of this file needs, against what the store has left.
        uint64_t used = 0;
        for (fs::directory_iterator it(m_dir, ec), end; !ec && it != end; it.increment(ec))
            if (it->is_regular_file(ec)) used += static_cast<uint64_t>(it->file_size(ec));
        if (used + (size - held) > m_quota)
            return invalid("the board's model store holds " + humanSize(used) + " of its " + humanSize(m_quota)
                + " quota and this file needs " + humanSize(size - held)
                + " more: remove models on the board or start dlayer serve with a larger --max-model-bytes");
    }
    const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return makeError(ErrorCode::Io, "cannot write " + part + ": " + std::strerror(errno));
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const std::string why = std::strerror(errno);
            ::close(fd);
            // Back to what was held, so that the client can go on from there.
            if (::truncate(part.c_str(), static_cast<off_t>(held)) != 0) fs::remove(part, ec);
            return makeError(ErrorCode::Io, "cannot write " + part + ": " + why);
        }
        done += static_cast<size_t>(n);
    }
    const uint64_t now = held + data.size();
    if (now < size) {
        ::close(fd);
        return State { false, kind, now };
    }
    ::fsync(fd);
    ::close(fd);
    DL_ASSIGN(const std::string actual, remote::sha256OfFile(part));
    if (actual != sha256) {
        fs::remove(part, ec);
        return invalid("the uploaded file's sha256 is " + actual.substr(0, 16) + "…, not " + sha256.substr(0, 16)
            + "… as announced: the upload was dropped; send it again");
    }
    fs::rename(part, path, ec);
    if (ec) return makeError(ErrorCode::Io, "cannot keep " + path + ": " + ec.message());
    return State { true, kind, now };
}

// ---------------------------------------------------------------------------------------------------------------
// RunChannel

RunChannel::RunChannel(uint64_t id, std::string modelHash, bool continuous)
    : m_id(id)
    , m_modelHash(std::move(modelHash))
    , m_continuous(continuous)
{ }

void RunChannel::setPosition(int position)
{
    std::lock_guard lock(m_mutex);
    m_position = position;
}

void RunChannel::setProgress(const Progress& p)
{
    std::lock_guard lock(m_mutex);
    if (m_state == State::Queued) m_state = State::Preparing;
    m_progress = remote::progressToJson(p);
    ++m_progressVersion;
}

void RunChannel::setStarted(Json setup, int iterationsPlanned)
{
    std::lock_guard lock(m_mutex);
    m_setup = std::move(setup);
    m_planned = iterationsPlanned;
    m_state = State::Running;
}

void RunChannel::addEvent(const TraceEvent& e)
{
    std::lock_guard lock(m_mutex);
    m_events.push_back(e);
    if (m_events.size() > kEventRing) {
        m_events.pop_front();
        ++m_eventsBase;
    }
}

void RunChannel::addCounters(const CounterSample& c)
{
    std::lock_guard lock(m_mutex);
    m_counters.push_back(c);
    if (m_counters.size() > kCounterRing) {
        m_counters.pop_front();
        ++m_countersBase;
    }
}

void RunChannel::iterationDone(int iteration, double ms)
{
    std::lock_guard lock(m_mutex);
    m_latencies.emplace_back(iteration, ms);
    m_done = iteration + 1;
    if (m_latencies.size() > kLatencyRing) {
        m_latencies.pop_front();
        ++m_latenciesBase;
    }
}

void RunChannel::finish(Json outcome)
{
    std::lock_guard lock(m_mutex);
    m_outcome = std::move(outcome);
    m_state = State::Done;
}

int RunChannel::position() const
{
    std::lock_guard lock(m_mutex);
    return m_position;
}

RunChannel::Snapshot RunChannel::poll(Cursor& c)
{
    std::lock_guard lock(m_mutex);
    Snapshot s;
    s.state = m_state;
    s.position = m_position;
    if (m_progressVersion != c.progressVersion) {
        s.progress = m_progress;
        c.progressVersion = m_progressVersion;
    }
    if ((m_state == State::Running || (m_state == State::Done && !m_setup.is_null())) && !c.startedSent) {
        s.setup = m_setup;
        c.startedSent = true;
    }
    const bool drained = c.events >= m_eventsBase + m_events.size() && c.counters >= m_countersBase + m_counters.size()
        && c.latencies >= m_latenciesBase + m_latencies.size();
    if (m_state == State::Done && drained) s.outcome = m_outcome;
    return s;
}

std::optional<Json> RunChannel::takeBatch(Cursor& c, size_t maxEvents, size_t maxCounters)
{
    remote::LiveBatch b;
    {
        std::lock_guard lock(m_mutex);
        const uint64_t eventsEnd = m_eventsBase + m_events.size();
        const uint64_t countersEnd = m_countersBase + m_counters.size();
        const uint64_t latenciesEnd = m_latenciesBase + m_latencies.size();
        if (c.events >= eventsEnd && c.counters >= countersEnd && c.latencies >= latenciesEnd) return std::nullopt;
        // Events the ring no longer holds, and beyond the batch's size the oldest of those waiting: dropped.
        uint64_t from = std::max(c.events, m_eventsBase);
        c.dropped += from - c.events;
        if (eventsEnd - from > maxEvents) {
            c.dropped += eventsEnd - from - maxEvents;
            from = eventsEnd - maxEvents;
        }
        for (uint64_t i = from; i < eventsEnd; ++i)
            b.events.push_back(m_events[static_cast<size_t>(i - m_eventsBase)]);
        c.events = eventsEnd;
        // Counters: the newest, evenly thinned when more are waiting, so that the memory graph keeps its shape.
        const uint64_t cFrom = std::max(c.counters, m_countersBase);
        const uint64_t waiting = countersEnd - cFrom;
        const uint64_t step = waiting > maxCounters ? (waiting + maxCounters - 1) / maxCounters : 1;
        for (uint64_t i = countersEnd; i > cFrom;) {
            i = i >= cFrom + step ? i - step : cFrom;
            b.counters.push_back(m_counters[static_cast<size_t>(i - m_countersBase)]);
        }
        if (!b.counters.empty() && step > 1) b.counters.push_back(m_counters.back());
        std::reverse(b.counters.begin(), b.counters.end());
        if (step > 1) {
            std::sort(b.counters.begin(), b.counters.end(),
                [](const CounterSample& x, const CounterSample& y) { return x.timeNs < y.timeNs; });
            b.counters.erase(std::unique(b.counters.begin(), b.counters.end(),
                                 [](const CounterSample& x, const CounterSample& y) { return x.timeNs == y.timeNs; }),
                b.counters.end());
        }
        c.counters = countersEnd;
        for (uint64_t i = std::max(c.latencies, m_latenciesBase); i < latenciesEnd; ++i)
            b.latencies.push_back(m_latencies[static_cast<size_t>(i - m_latenciesBase)]);
        c.latencies = latenciesEnd;
        b.iterationsDone = m_done;
        b.iterationsPlanned = m_planned;
    }
    b.dropped = c.dropped;
    c.dropped = 0;
    b.rss.emplace_back(traceClockNs(), static_cast<int64_t>(processRssBytes()));
    Json j = remote::batchToJson(b);
    j["run"] = m_id;
    return j;
}

void RunChannel::watch()
{
    std::lock_guard lock(m_mutex);
    ++m_watchers;
}

void RunChannel::unwatch()
{
    std::function<void()> abandoned;
    {
        std::lock_guard lock(m_mutex);
        if (--m_watchers == 0 && m_continuous && m_state != State::Done) abandoned = m_abandoned;
    }
    if (abandoned) abandoned();
}

void RunChannel::onAbandoned(std::function<void()> f)
{
    std::lock_guard lock(m_mutex);
    m_abandoned = std::move(f);
}

// ---------------------------------------------------------------------------------------------------------------
// RunQueue

namespace {

// The engine's trace into the channel: a short lock per event, never the network.
class ChannelSink : public TraceSink
{
public:
    explicit ChannelSink(RunChannel& c)
        : m_channel(c)
    { }
    void onEvent(const TraceEvent& e) override { m_channel.addEvent(e); }
    void onCounters(const CounterSample& c) override { m_channel.addCounters(c); }

private:
    RunChannel& m_channel;
};

// A model's name for lists, from what the client called it: its last path component, printable, at most 128 bytes.
std::string displayName(const Json& request, const std::string& fallback)
{
    std::string name = request.contains("model_name") && request["model_name"].is_string()
        ? request["model_name"].get<std::string>()
        : fallback;
    if (const auto slash = name.find_last_of("/\\"); slash != std::string::npos) name = name.substr(slash + 1);
    name.erase(std::remove_if(name.begin(), name.end(), [](char ch) { return static_cast<unsigned char>(ch) < 32; }),
        name.end());
    return name.empty() ? fallback : name.substr(0, 128);
}

} // namespace

Json outcomeJson(uint64_t run, const RunReport* report, const std::string& status, const std::string& error,
    const std::string& uuid, int64_t storedId, const std::string& storeError)
{
    Json j = { { "run", run }, { "status", status }, { "error", error }, { "uuid", uuid }, { "stored_id", storedId },
        { "store_error", storeError } };
    j["report"] = report ? Json::parse(reportToJson(*report, -1)) : Json();
    return j;
}

struct RunQueue::Job
{
    std::shared_ptr<RunChannel> channel;
    RunSpec spec;
    std::string modelName;
    bool live = true; // the engine's trace into the channel, for watchers to follow
    std::atomic<bool> cancel { false };
    std::mutex sessionMutex;
    Session* session = nullptr;
};

RunQueue::RunQueue(AgentConfig config, ModelStore& models)
    : m_config(std::move(config))
    , m_models(models)
{
    m_worker = std::thread([this] { work(); });
}

RunQueue::~RunQueue()
{
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
        for (auto& j : m_queue)
            j->cancel = true;
        if (m_current) {
            m_current->cancel = true;
            std::lock_guard s(m_current->sessionMutex);
            if (m_current->session) m_current->session->cancel();
        }
    }
    m_wake.notify_all();
    m_worker.join();
}

Result<std::shared_ptr<RunChannel>> RunQueue::submit(const Json& request)
{
    DL_ASSIGN(const remote::RequestedFiles files, remote::requestedFiles(request));
    const std::string modelPath = m_models.pathOf(files.model);
    if (modelPath.empty()) return invalid("the board has no model " + files.model.substr(0, 16) + "…: upload it first");
    std::string weightsPath;
    if (!files.weights.empty()) {
        weightsPath = m_models.pathOf(files.weights);
        if (weightsPath.empty())
            return invalid("the board has no weights file " + files.weights.substr(0, 16) + "…: upload it first");
    }
    DL_ASSIGN(RunSpec spec, remote::runSpecFromRequest(request, modelPath, weightsPath));
    spec.packDir = m_config.packDir;
    auto job = std::make_shared<Job>();
    job->spec = std::move(spec);
    job->modelName = displayName(request, fs::path(modelPath).filename().string());
    if (request.contains("live")) {
        if (!request["live"].is_boolean()) return invalid("the run request's 'live' is not true or false");
        job->live = request["live"].get<bool>();
    }
    std::lock_guard lock(m_mutex);
    job->channel = std::make_shared<RunChannel>(++m_lastId, job->spec.modelHash, job->spec.continuous);
    job->channel->onAbandoned([this, id = m_lastId] { stop(id); });
    m_queue.push_back(job);
    renumber();
    m_wake.notify_all();
    return job->channel;
}

void RunQueue::renumber()
{
    int position = m_current ? 1 : 0;
    for (auto& j : m_queue)
        j->channel->setPosition(position++);
}

std::shared_ptr<RunChannel> RunQueue::find(uint64_t id) const
{
    std::lock_guard lock(m_mutex);
    if (m_current && (id == 0 || m_current->channel->id() == id)) return m_current->channel;
    for (const auto& j : m_queue)
        if (id == 0 || j->channel->id() == id) return j->channel;
    return nullptr;
}

bool RunQueue::stop(uint64_t id)
{
    std::shared_ptr<Job> dropped;
    {
        std::lock_guard lock(m_mutex);
        if (m_current && m_current->channel->id() == id) {
            m_current->cancel = true;
            std::lock_guard s(m_current->sessionMutex);
            if (m_current->session) m_current->session->cancel();
            return true;
        }
        auto it = std::find_if(m_queue.begin(), m_queue.end(), [&](const auto& j) { return j->channel->id() == id; });
        if (it == m_queue.end()) return false;
        dropped = *it;
        m_queue.erase(it);
        renumber();
    }
    dropped->channel->finish(outcomeJson(id, nullptr, "cancelled", "stopped before it started", "", 0, ""));
    return true;
}

Json RunQueue::active() const
{
    std::lock_guard lock(m_mutex);
    Json a = Json::array();
    auto add = [&](const Job& j, const char* state) {
        a.push_back({ { "run", j.channel->id() }, { "state", state }, { "model", j.modelName },
            { "model_hash", j.spec.modelHash } });
    };
    if (m_current) add(*m_current, "running");
    for (const auto& j : m_queue)
        add(*j, "queued");
    return a;
}

void RunQueue::work()
{
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_stop || !m_queue.empty(); });
            if (m_stop) break;
            job = m_queue.front();
            m_queue.pop_front();
            m_current = job;
            renumber();
            job->channel->setPosition(0);
        }
        runJob(*job);
        std::lock_guard lock(m_mutex);
        m_current.reset();
        renumber();
    }
    // Runs still queued when the agent stops: told so.
    std::lock_guard lock(m_mutex);
    for (auto& j : m_queue)
        j->channel->finish(outcomeJson(j->channel->id(), nullptr, "cancelled", "the agent stopped", "", 0, ""));
    m_queue.clear();
}

void RunQueue::runJob(Job& job)
{
    RunChannel& channel = *job.channel;
    ChannelSink sink(channel); // outlives the session's tracer
    channel.setProgress({ Progress::Phase::Importing, -1, 0, 0, job.modelName });
    auto prepared = Session::prepare(
        job.spec, &job.cancel,
        [&](const Progress& p) {
            // The board's file is named by its sha256: the client knows the model by the name it gave.
            Progress told = p;
            const std::string file = fs::path(job.spec.model).filename().string();
            for (const std::string& board : { job.spec.model, file })
                if (const auto at = told.detail.find(board); at != std::string::npos && !board.empty())
                    told.detail.replace(at, board.size(), job.modelName);
            channel.setProgress(told);
        },
        job.live ? std::vector<TraceSink*> { &sink } : std::vector<TraceSink*> {});
    if (!prepared.ok()) {
        const Error& e = prepared.error();
        const bool cancelled = e.code == ErrorCode::Cancelled;
        channel.finish(outcomeJson(channel.id(), nullptr, cancelled ? "cancelled" : "failed",
            cancelled ? std::string() : e.message, "", 0, ""));
        return;
    }
    std::unique_ptr<Session> session = std::move(prepared).value();
    {
        std::lock_guard lock(job.sessionMutex);
        job.session = session.get();
    }
    if (job.cancel) session->cancel();
    channel.setStarted(remote::setupToJson(session->setup(), traceClockNs()),
        job.spec.continuous ? 0 : job.spec.warmup + job.spec.iterations);
    IterationHooks hooks;
    hooks.after = [&](int it, double ms) -> Status {
        channel.iterationDone(it, ms);
        return {};
    };
    SessionOutcome out = session->run(hooks);
    {
        std::lock_guard lock(job.sessionMutex);
        job.session = nullptr;
    }
    session.reset(); // the trace's last events into the channel
    // Recorded before the outcome is told: a client gone mid-run finds it here by uuid.
    store::Run run = store::runFromOutcome(out);
    run.model.name = job.modelName;
    run.uuid = store::newRunUuid();
    int64_t storedId = 0;
    std::string storeError;
    auto store = store::RunStore::open(m_config.storePath);
    if (store.ok()) {
        auto id = (*store)->addRun(run);
        if (id.ok())
            storedId = *id;
        else
            storeError = id.error().message;
    } else {
        storeError = store.error().message;
    }
    if (!storeError.empty())
        std::fprintf(stderr, "dlayer serve: run %s not recorded: %s\n", run.uuid.c_str(), storeError.c_str());
    channel.finish(outcomeJson(channel.id(), &out.report, out.report.status, out.report.error, storedId ? run.uuid : "",
        storedId, storeError));
}

} // namespace dlcli
