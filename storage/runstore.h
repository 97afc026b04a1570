#pragma once

// The run store: every run the CLI or the studio makes, kept in one SQLite file (sqlite3 C API, no Qt) to list,
// compare, export and feed the planner. A run goes in as one transaction, so a process killed at any moment leaves
// the file as it was before the run or with the whole run in it; WAL lets several processes write the same file
// (each write waits up to busyTimeoutMs for the others).
//
// The schema is versioned with PRAGMA user_version and migrated forward on open (docs/run-store.md); a file made by
// a newer build, a foreign SQLite file or one that is not SQLite at all is refused with a message saying which.

#include "core/result.h"
#include "memory/ledger.h"
#include "trace/trace.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;

namespace dl::store {

struct ModelInfo
{
    std::string hash; // sha256 of the model file (and of its weights file, when separate)
    std::string name; // file name, for lists
    std::string path;
    int64_t bytes = 0; // weight bytes
    int layers = 0;
};

struct DeviceInfo
{
    std::string host;
    std::string backend = "cpu";
    std::string cpu;
    std::string gpu; // empty on the CPU backend
    double diskMBps = 0; // measured sequential read rate, 0 when unknown
};

// One layer's times per inference (the mean over the run's timed iterations).
struct LayerStats
{
    int layer = 0;
    std::string name;
    int64_t bytes = 0; // the layer's weight bytes as a read covers them (padded to 4 KiB)
    double readMs = 0, copyMs = 0, kernelMs = 0, stallMs = 0;
    bool resident = false; // held from set-up on: read once, not per inference
    // The layer's bytes where the kernels read them, when more than `bytes` (an fp16 pack's layer, widened by the copy
    // stage; padded like `bytes`); 0: the same as `bytes`.
    int64_t boundBytes = 0;

    int64_t bound() const { return boundBytes > bytes ? boundBytes : bytes; }
};

struct MemorySample
{
    int64_t timeNs = 0;
    std::array<int64_t, kMemTagCount> bytes {}; // by MemTag
};

// A trace event without its label, as stored (TraceEvent::name points at static strings of one process).
struct StoredEvent
{
    EventKind kind = EventKind::Begin;
    Stage stage = Stage::Kernel;
    int32_t layer = -1;
    int32_t iteration = 0;
    int64_t beginNs = 0;
    int64_t endNs = 0;
    uint64_t bytes = 0;
    bool operator==(const StoredEvent&) const = default;
};

// The SQLite library's version, for benchmark headers.
const char* sqliteVersion();

enum class RunStatus : uint8_t { Ok, Failed, Cancelled };
const char* runStatusName(RunStatus s); // "ok", "failed", "cancelled"
Result<RunStatus> parseRunStatus(const std::string& name);

// A run's identity across stores: a random (version 4) UUID, "1b4e28ba-2fa1-4d2e-8b1c-...", lowercase.
std::string newRunUuid();
bool isRunUuid(const std::string& s);

struct Run
{
    int64_t id = 0; // set by the store
    std::string uuid; // empty: the store gives it one; kept when a run moves between stores
    ModelInfo model;
    DeviceInfo device;
    std::string arch; // preload, two-stage, ..., or in-memory
    std::string configJson = "{}"; // the configuration as run: staging, resident layers, split, reader options
    int64_t startedMs = 0; // Unix time, ms
    int64_t finishedMs = 0;
    RunStatus status = RunStatus::Ok;
    std::string error; // why it failed, for Failed
    int iterations = 0;
    double latencyMedianMs = 0, latencyMinMs = 0, latencyMaxMs = 0, latencyMeanMs = 0;
    double stallMs = 0; // kernel stall per inference
    std::array<int64_t, kMemTagCount> peakByTag {}; // ledger peaks by MemTag
    int64_t peakTotal = 0; // the ledger's largest total at once
    int64_t rssPeak = 0;
    int64_t readBytes = 0; // weight bytes read per inference (0: nothing streamed)
    double readMBps = 0; // their rate while reads were in flight, MB/s
    std::string reportJson = "{}"; // dlayer run --json as printed
    std::vector<LayerStats> layers;
    std::vector<MemorySample> samples;
    std::vector<StoredEvent> events;
};

// What `dlayer runs DB list` shows of a run.
struct RunSummary
{
    int64_t id = 0;
    std::string modelName, modelHash, arch;
    int64_t startedMs = 0;
    RunStatus status = RunStatus::Ok;
    int iterations = 0;
    double latencyMedianMs = 0;
    int64_t weightsPeak = 0; // resident + staging peaks
    int64_t peakTotal = 0;
    DeviceInfo device; // without its disk bandwidth
    uint64_t splitBytes = 0; // the configuration's split_bytes: layers cut above it (0: whole layers)
    std::string precision = "fp32"; // the configuration's precision: how the pack stored the weights
    std::string uuid;
};

// The trace events of a run packed into a blob (a format byte, the count, then per event a kind/stage byte and
// zigzag varints of the layer, iteration, begin delta, duration and bytes): ~10 bytes an event. Unpacking checks
// every bound and fails Corrupt on a damaged blob.
std::string packEvents(const std::vector<StoredEvent>& events);
Result<std::vector<StoredEvent>> unpackEvents(const std::string& blob);

// A run as JSON (everything needed to import it into another store) and back; a malformed document is Invalid,
// naming the field.
std::string runToJson(const Run& run);
Result<Run> runFromJson(const std::string& text);

class RunStore
{
public:
    static constexpr int kSchemaVersion = 4;
    static constexpr int kBusyTimeoutMs = 10000;

    // Opens (creating when missing) and migrates the store at `path`.
    static Result<std::unique_ptr<RunStore>> open(const std::string& path);
    ~RunStore();
    RunStore(const RunStore&) = delete;
    RunStore& operator=(const RunStore&) = delete;

    const std::string& path() const { return m_path; }
    int schemaVersion() const;

    // Stores the whole run in one transaction; returns its id. The model and device rows are shared by hash and by
    // (host, backend, cpu, gpu). A run whose uuid is already here is refused (Invalid, naming it).
    Result<int64_t> addRun(const Run& run);
    // The id of the run with this uuid; 0 when there is none.
    Result<int64_t> runIdByUuid(const std::string& uuid) const;
    // Every run, oldest first.
    Result<std::vector<RunSummary>> listRuns() const;
    Result<int64_t> runCount() const;
    // Invalid naming the id when there is no such run.
    Result<Run> run(int64_t id) const;
    Status deleteRun(int64_t id);
    // PRAGMA integrity_check: "ok", or what it found.
    Result<std::string> integrityCheck() const;

    // Named configurations (the planner's output): replaced when the name exists.
    Status saveConfig(const std::string& name, const std::string& modelHash, const std::string& body);
    Result<std::string> config(const std::string& name) const;
    Result<std::vector<std::string>> configNames() const;

    // The schema steps, in order: step k brings a store from version k to k + 1. For tests that build stores of
    // every earlier version.
    static const std::vector<const char*>& migrations();

private:
    RunStore(sqlite3* db, std::string path);
    Status migrate();
    Error sqlError(const std::string& what) const;

    sqlite3* m_db;
    std::string m_path;
};

} // namespace dl::store
