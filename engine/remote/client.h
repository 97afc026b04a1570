#pragma once

// The client's end of the board protocol (no Qt): connect, pin and authenticate (tls.h), then upload a model by
// content, ask for its layer table, run it and follow it live, list and fetch the board's stored runs. `dlayer run
// --agent`, `dlayer runs --agent` and the studio's remote session are adapters over it.
//
// One thread drives a client at a time. Every wait answers the agent's heartbeats and sends its own, and a link on
// which nothing has arrived for kDeadAfterMs is given up with a message saying so; a stop flag (may be null) ends
// any wait with Cancelled (a run is asked to stop first and its outcome awaited).

#include "core/result.h"
#include "remote/messages.h"
#include "remote/protocol.h"
#include "remote/tls.h"

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>

namespace dl::remote {

inline constexpr int kClientHeartbeatMs = 500;
inline constexpr int kDeadAfterMs = 2000;

struct RunCallbacks
{
    std::function<void(uint64_t run, int position)> queued; // 0: next; sent again when it changes
    std::function<void(const Progress&)> progress;
    std::function<void(const RemoteSetup&)> started;
    std::function<void(LiveBatch&&)> events;
};

class AgentClient
{
public:
    // Connects to "host:port", pins `fingerprint` (empty: first use, take whatever the agent shows; its fingerprint is
    // then fingerprint()), and authenticates with `token`.
    static Result<std::unique_ptr<AgentClient>> connect(const std::string& hostPort, const std::string& fingerprint,
        const std::string& token, const std::string& clientName, int timeoutMs = 5000);

    const Welcome& welcome() const { return m_welcome; }
    const std::string& fingerprint() const { return m_c->peerFingerprint(); }
    const std::string& address() const { return m_address; }

    // Makes sure the board has the file at `path` (kind "onnx", "cfg" or "weights"): asks by its sha256 and uploads
    // what the board lacks, going on from what an earlier upload left. `progress(sent, total)` after each chunk.
    // Returns the file's sha256.
    Result<std::string> ensureFile(const std::string& path, const std::string& kind,
        const std::function<void(uint64_t, uint64_t)>& progress = {}, const std::atomic<bool>* stop = nullptr);
    // What the board has of the file with this sha256: {present, kind, bytes (held so far), used_bytes, quota_bytes}.
    Result<Json> modelState(const std::string& sha256, const std::atomic<bool>* stop = nullptr);
    // The model's summary planned on the board (`dlayer info --json`'s document).
    Result<Json> info(const Json& request, const std::atomic<bool>* stop = nullptr);
    // Runs the request (runRequestToJson) and follows it to its end; returns the Outcome body {run, status, error,
    // uuid, stored_id, report}. A stop asks the agent to stop the run and still returns its outcome.
    Result<Json> run(const Json& request, const RunCallbacks& callbacks, const std::atomic<bool>* stop = nullptr);
    // Follows a run another client started (0: the current one), as run() does.
    Result<Json> watch(uint64_t run, const RunCallbacks& callbacks, const std::atomic<bool>* stop = nullptr);
    // Asks the agent to stop a run another client follows (a queued one leaves the queue); nothing is awaited.
    Status stopRun(uint64_t run) { return send(MessageType::Stop, { { "run", run } }); }
    // Every run in the board's store (RunList's rows), and the runs queued or running (`active`).
    struct RunList
    {
        std::vector<Json> runs;
        Json active = Json::array();
    };
    Result<RunList> listRuns(const std::atomic<bool>* stop = nullptr);
    // A stored run's export (store::runToJson's text), by uuid.
    Result<std::string> fetchRun(const std::string& uuid, const std::atomic<bool>* stop = nullptr);
    // A planner configuration into the board's store under `name`.
    Status saveConfig(const std::string& name, const Json& config, const std::atomic<bool>* stop = nullptr);

    // Keeps the link alive for `ms` while nothing is asked: answers heartbeats, sends its own, and fails (Io) when
    // the agent has been silent for kDeadAfterMs. Frames nobody asked for are dropped.
    Status idle(int ms, const std::atomic<bool>* stop = nullptr);

    // The largest run export fetchRun() takes.
    static constexpr uint64_t kMaxRunExportBytes = uint64_t(512) << 20;

private:
    AgentClient(std::unique_ptr<TlsConnection> c, Welcome w, std::string address);
    Status send(MessageType type, const Json& body);
    // The next frame other than a heartbeat, answering heartbeats meanwhile. An Error frame is returned as Invalid
    // with its message; Io when the link is dead, Cancelled on a stop.
    Result<Frame> next(const std::atomic<bool>* stop);
    Result<Json> follow(uint64_t run, const RunCallbacks& callbacks, const std::atomic<bool>* stop);
    // Io when the agent has been silent for kDeadAfterMs; a heartbeat when one is due.
    Status keepAlive(int64_t nowMs);
    void waitReadable(int ms);

    std::unique_ptr<TlsConnection> m_c;
    Welcome m_welcome;
    std::string m_address;
    std::deque<Frame> m_inbox; // read, not yet handed out
    int64_t m_lastHeardMs = 0, m_lastSentMs = 0;
};

} // namespace dl::remote
