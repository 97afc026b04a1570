#pragma once

// The board agent's state (dlayer serve; no Qt): the uploaded models, stored by content; the run queue, whose one
// worker thread runs the engine session; and each run's channel, from which every client watching it takes events at
// its own pace. The clients' connections are serve.cpp's.
//
// The engine never waits on the network: its trace sink only appends to the channel's bounded rings under a short
// lock, and a client that falls behind finds the oldest events gone and is told how many.

#include "cli.h"
#include "remote/protocol.h"
#include "runstore.h"
#include "session/session.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace dlcli {

using dl::remote::Json;

// Uploaded model files in one directory, each named by its sha256 and kind ("onnx", "cfg", "weights"), so that no
// name from a client reaches the file system. An upload grows "<sha>.<kind>.part" chunk by chunk (resumable: the
// client asks how much is there) and is renamed into place once its sha256 is checked. The quota counts every file,
// parts included.
class ModelStore
{
public:
    ModelStore(std::string dir, uint64_t quotaBytes);
    static bool isKind(const std::string& kind);

    struct State
    {
        bool present = false; // complete and checked
        std::string kind;
        uint64_t bytes = 0; // the file's size, or what an unfinished upload holds
    };
    State state(const std::string& sha256) const;
    // One chunk at `offset` of a file of `size` bytes. Invalid, saying why, for an offset other than what is held,
    // a size over the quota, or (at the last chunk) content whose sha256 is not `sha256`: the part is then removed.
    dl::Result<State> write(const std::string& sha256, const std::string& kind, uint64_t size, uint64_t offset,
        const std::vector<uint8_t>& data);
    // The complete file's path; empty when there is none.
    std::string pathOf(const std::string& sha256) const;
    uint64_t usedBytes() const;
    uint64_t quotaBytes() const { return m_quota; }

private:
    std::string file(const std::string& sha256, const std::string& kind) const;
    std::string m_dir;
    uint64_t m_quota;
    mutable std::mutex m_mutex;
};

// One run as clients see it: its state and queue position, set-up progress, the set-up, the events, counters and
// latencies so far (events and counters in bounded rings, numbered so that each client keeps a cursor) and the
// outcome. Written by the run worker, read by any number of client threads.
class RunChannel
{
public:
    static constexpr size_t kEventRing = 65536;
    static constexpr size_t kCounterRing = 16384;
    static constexpr size_t kLatencyRing = 100000;

    enum class State { Queued, Preparing, Running, Done };

    RunChannel(uint64_t id, std::string modelHash, bool continuous);
    uint64_t id() const { return m_id; }
    const std::string& modelHash() const { return m_modelHash; }

    // The worker's side.
    void setPosition(int position);
    void setProgress(const dl::Progress& p);
    void setStarted(Json setup, int iterationsPlanned);
    void addEvent(const dl::TraceEvent& e);
    void addCounters(const dl::CounterSample& c);
    void iterationDone(int iteration, double ms);
    void finish(Json outcome);

    // What a client has taken so far.
    struct Cursor
    {
        uint64_t events = 0, counters = 0, latencies = 0;
        int position = -2;
        uint64_t progressVersion = 0;
        bool startedSent = false;
        uint64_t dropped = 0; // events skipped since the last batch sent
    };
    struct Snapshot
    {
        State state = State::Queued;
        int position = 0;
        std::optional<Json> progress; // when it changed since the cursor's
        std::optional<Json> setup; // once, when running
        std::optional<Json> outcome; // once done and every event was taken
    };
    // Advances `c` past the state the client is about to be told.
    Snapshot poll(Cursor& c);
    // The next live batch for `c`: at most maxEvents events (the newest, when more are waiting; the rest counted as
    // dropped) and maxCounters counter samples, every latency since the cursor. Empty when nothing is new.
    std::optional<Json> takeBatch(Cursor& c, size_t maxEvents, size_t maxCounters);
    int position() const;

    // Watchers: a continuous run that no client watches any more is stopped (it would run for ever).
    void watch();
    void unwatch();
    void onAbandoned(std::function<void()> f);

private:
    const uint64_t m_id;
    const std::string m_modelHash;
    const bool m_continuous;
    mutable std::mutex m_mutex;
    State m_state = State::Queued;
    int m_position = 0;
    Json m_progress;
    uint64_t m_progressVersion = 0;
    Json m_setup;
    int m_planned = 0, m_done = 0;
    std::deque<dl::TraceEvent> m_events;
    uint64_t m_eventsBase = 0; // the number of the oldest event held
    std::deque<dl::CounterSample> m_counters;
    uint64_t m_countersBase = 0;
    std::deque<std::pair<int, double>> m_latencies;
    uint64_t m_latenciesBase = 0;
    Json m_outcome;
    int m_watchers = 0;
    std::function<void()> m_abandoned;
};

struct AgentConfig
{
    std::string stateDir;
    std::string storePath;
    std::string packDir;
    uint64_t maxModelBytes = 0;
};

// The engine's one queue: runs are taken in order by one worker thread; the board's store records each one as it
// ends, before its outcome is told, so that a client gone mid-run finds it by uuid on reconnecting.
class RunQueue
{
public:
    RunQueue(AgentConfig config, ModelStore& models);
    ~RunQueue(); // stops the run in progress and the worker

    // Queues the request; Invalid (the client's mistake, said back to it) for a malformed request or a model the
    // board does not have.
    dl::Result<std::shared_ptr<RunChannel>> submit(const Json& request);
    // The channel of a queued or running run (0: the one running, else the first queued); null when there is none.
    std::shared_ptr<RunChannel> find(uint64_t id) const;
    // Stops a run: a queued one leaves the queue (its outcome says cancelled), a running one stops within a layer.
    bool stop(uint64_t id);
    // The runs queued and running, for a run list.
    Json active() const;
    const AgentConfig& config() const { return m_config; }

private:
    struct Job;
    void work();
    void runJob(Job& job);
    void renumber(); // queue positions after a change (m_mutex held)

    AgentConfig m_config;
    ModelStore& m_models;
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<std::shared_ptr<Job>> m_queue;
    std::shared_ptr<Job> m_current;
    uint64_t m_lastId = 0;
    bool m_stop = false;
    std::thread m_worker;
};

// A stored run's outcome as the agent tells it: {run, status, error, uuid, stored_id, report}.
Json outcomeJson(uint64_t run, const dl::RunReport* report, const std::string& status, const std::string& error,
    const std::string& uuid, int64_t storedId, const std::string& storeError);

} // namespace dlcli
