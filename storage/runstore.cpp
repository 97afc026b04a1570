#include "runstore.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

namespace dl::store {

namespace {

// 'DLRS': marks a file as a run store, so that another application's SQLite file is not taken for an empty one.
constexpr int kApplicationId = 0x444c5253;

// Step k brings the schema from version k to k + 1. Never edit a step that has shipped: add one.
const std::vector<const char*> kMigrations = {
    // 0 → 1
    R"sql(
CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    layers INTEGER NOT NULL
);
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    backend TEXT NOT NULL,
    cpu TEXT NOT NULL,
    gpu TEXT NOT NULL,
    disk_mb_per_s REAL NOT NULL,
    UNIQUE (host, backend, cpu, gpu)
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    model_id INTEGER NOT NULL REFERENCES models(id),
    device_id INTEGER NOT NULL REFERENCES devices(id),
    arch TEXT NOT NULL,
    config TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'cancelled')),
    error TEXT NOT NULL,
    iterations INTEGER NOT NULL,
    latency_median_ms REAL NOT NULL,
    latency_min_ms REAL NOT NULL,
    latency_max_ms REAL NOT NULL,
    latency_mean_ms REAL NOT NULL,
    stall_ms REAL NOT NULL,
    peak_resident_weights INTEGER NOT NULL,
    peak_staging INTEGER NOT NULL,
    peak_activations INTEGER NOT NULL,
    peak_workspace INTEGER NOT NULL,
    peak_total INTEGER NOT NULL,
    rss_peak INTEGER NOT NULL,
    report TEXT NOT NULL
);
CREATE INDEX runs_by_model ON runs (model_id, id);
CREATE TABLE run_layers (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    layer INTEGER NOT NULL,
    name TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    read_ms REAL NOT NULL,
    copy_ms REAL NOT NULL,
    kernel_ms REAL NOT NULL,
    stall_ms REAL NOT NULL,
    resident INTEGER NOT NULL,
    PRIMARY KEY (run_id, layer)
) WITHOUT ROWID;
CREATE TABLE memory_samples (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    time_ns INTEGER NOT NULL,
    resident_weights INTEGER NOT NULL,
    staging INTEGER NOT NULL,
    activations INTEGER NOT NULL,
    workspace INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE run_events (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    count INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE configs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    model_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    saved_ms INTEGER NOT NULL
);
)sql",
    // 1 → 2: each run's reads as columns, to list and compare by; runs of version 1 get them from their report
    // (dlayer's "read" object, the studio's "read_mb_per_s").
    R"sql(
ALTER TABLE runs ADD COLUMN read_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN read_mb_per_s REAL NOT NULL DEFAULT 0;
UPDATE runs SET
    read_bytes = COALESCE(CAST(json_extract(report, '$.read.bytes') AS INTEGER), 0),
    read_mb_per_s = COALESCE(json_extract(report, '$.read.mb_per_s'), json_extract(report, '$.read_mb_per_s'), 0)
WHERE json_valid(report) AND json_type(report) = 'object';
)sql",
    // 2 → 3: each run's UUID, its identity across stores (a board's runs synced into the studio's, an exported run
    // imported again); runs of earlier versions get a random one.
    R"sql(
ALTER TABLE runs ADD COLUMN uuid TEXT;
UPDATE runs SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
    || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-'
    || hex(randomblob(6)));
CREATE UNIQUE INDEX runs_by_uuid ON runs (uuid);
)sql",
    // 3 → 4: each layer's bytes as the kernels read it where that is more than a read covers (an fp16 pack's widened
    // layers); 0: the same. Runs of earlier versions read fp32 packs: 0.
    R"sql(
ALTER TABLE run_layers ADD COLUMN bound_bytes INTEGER NOT NULL DEFAULT 0;
)sql",
};

static_assert(kMemTagCount == 4, "the runs and memory_samples columns name the four tags");

int64_t nowMs();

// A prepared statement; binds by position from 1; step() is SQLITE_ROW, SQLITE_DONE or an error code.
class Stmt
{
public:
    Stmt(sqlite3* db, const char* sql) { m_rc = sqlite3_prepare_v2(db, sql, -1, &m_s, nullptr); }
    ~Stmt() { sqlite3_finalize(m_s); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    bool ok() const { return m_rc == SQLITE_OK; }
    Stmt& bind(int i, int64_t v)
    {
        keep(sqlite3_bind_int64(m_s, i, v));
        return *this;
    }
    Stmt& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
    Stmt& bind(int i, double v)
    {
        keep(sqlite3_bind_double(m_s, i, v));
        return *this;
    }
    Stmt& bind(int i, const std::string& v)
    {
        keep(sqlite3_bind_text(m_s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
        return *this;
    }
    Stmt& blob(int i, const std::string& v)
    {
        keep(sqlite3_bind_blob(m_s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
        return *this;
    }
    int step()
    {
        if (m_rc != SQLITE_OK) return m_rc;
        const int rc = sqlite3_step(m_s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) m_rc = rc;
        return rc;
    }
    void reset()
    {
        sqlite3_reset(m_s);
        sqlite3_clear_bindings(m_s);
    }
    int64_t i64(int col) const { return sqlite3_column_int64(m_s, col); }
    double f64(int col) const { return sqlite3_column_double(m_s, col); }
    std::string text(int col) const
    {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_s, col));
        return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(m_s, col))) : std::string();
    }
    std::string bytes(int col) const
    {
        const void* p = sqlite3_column_blob(m_s, col);
        return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(m_s, col)))
                 : std::string();
    }

private:
    void keep(int rc)
    {
        if (m_rc == SQLITE_OK && rc != SQLITE_OK) m_rc = rc;
    }
    sqlite3_stmt* m_s = nullptr;
    int m_rc;
};

// A read transaction (BEGIN, deferred): every statement inside sees one snapshot; ends when it goes out of scope.
class ReadTransaction
{
public:
    explicit ReadTransaction(sqlite3* db)
        : m_db(db)
        , m_open(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK)
    { }
    ~ReadTransaction()
    {
        if (m_open) sqlite3_exec(m_db, "COMMIT", nullptr, nullptr, nullptr);
    }
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;
    bool ok() const { return m_open; }

private:
    sqlite3* m_db;
    bool m_open;
};

// Rolls back unless committed.
class Transaction
{
public:
    explicit Transaction(sqlite3* db)
        : m_db(db)
    { }
    // BEGIN IMMEDIATE takes the write lock at once (waiting up to the busy timeout), so that two writers never
    // both read and then fail to upgrade.
    int begin()
    {
        const int rc = sqlite3_exec(m_db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        m_open = rc == SQLITE_OK;
        return rc;
    }
    int commit()
    {
        const int rc = sqlite3_exec(m_db, "COMMIT", nullptr, nullptr, nullptr);
        if (rc == SQLITE_OK) m_open = false;
        return rc;
    }
    ~Transaction()
    {
        if (m_open) sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    }

private:
    sqlite3* m_db;
    bool m_open = false;
};

void putVarint(std::string& out, uint64_t v)
{
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

uint64_t zigzag(int64_t v)
{
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t unzigzag(uint64_t v)
{
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

bool getVarint(const std::string& in, size_t& at, uint64_t& v)
{
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (at >= in.size()) return false;
        const auto b = static_cast<uint8_t>(in[at++]);
        v |= static_cast<uint64_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

constexpr uint8_t kEventFormat = 1;

} // namespace

std::string newRunUuid()
{
    static std::mutex mutex;
    static std::mt19937_64 bits { std::random_device {}()
        ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) };
    std::lock_guard lock(mutex);
    uint64_t hi = bits(), lo = bits();
    hi = (hi & ~uint64_t(0xF000)) | 0x4000; // version 4
    lo = (lo & ~(uint64_t(0xC) << 60)) | (uint64_t(0x8) << 60); // the RFC 4122 variant
    char text[37];
    std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
        static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF), static_cast<unsigned>(lo >> 48),
        static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
    return text;
}

bool isRunUuid(const std::string& s)
{
    if (s.size() != 36) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-'
                 : !std::isxdigit(static_cast<unsigned char>(s[i])) || std::isupper(static_cast<unsigned char>(s[i])))
            return false;
    }
    return true;
}

const char* sqliteVersion()
{
    return sqlite3_libversion();
}

const char* runStatusName(RunStatus s)
{
    switch (s) {
    case RunStatus::Ok:
        return "ok";
    case RunStatus::Failed:
        return "failed";
    case RunStatus::Cancelled:
        return "cancelled";
    }
    return "ok";
}

Result<RunStatus> parseRunStatus(const std::string& name)
{
    for (RunStatus s : { RunStatus::Ok, RunStatus::Failed, RunStatus::Cancelled })
        if (name == runStatusName(s)) return s;
    return invalid("unknown run status '" + name + "' (ok, failed, cancelled)");
}

std::string packEvents(const std::vector<StoredEvent>& events)
{
    std::string out;
    out.reserve(events.size() * 10 + 8);
    out.push_back(static_cast<char>(kEventFormat));
    putVarint(out, events.size());
    int64_t prevBegin = 0;
    for (const auto& e : events) {
        out.push_back(static_cast<char>((static_cast<uint8_t>(e.kind) << 4) | static_cast<uint8_t>(e.stage)));
        putVarint(out, zigzag(e.layer));
        putVarint(out, zigzag(e.iteration));
        putVarint(out, zigzag(e.beginNs - prevBegin));
        putVarint(out, zigzag(e.endNs - e.beginNs));
        putVarint(out, e.bytes);
        prevBegin = e.beginNs;
    }
    return out;
}

Result<std::vector<StoredEvent>> unpackEvents(const std::string& blob)
{
    auto corrupt = [](const std::string& why) {
        return makeError(ErrorCode::Corrupt, "the run's trace events are damaged: " + why);
    };
    if (blob.empty()) return corrupt("empty");
    if (static_cast<uint8_t>(blob[0]) != kEventFormat)
        return corrupt("unknown format " + std::to_string(static_cast<uint8_t>(blob[0])));
    size_t at = 1;
    uint64_t count = 0;
    if (!getVarint(blob, at, count)) return corrupt("no event count");
    // Each event takes at least 6 bytes: a count beyond that is a lie, not a reason to allocate.
    if (count > (blob.size() - at) / 6) return corrupt("the count exceeds what the blob can hold");
    std::vector<StoredEvent> events;
    events.reserve(count);
    int64_t prevBegin = 0;
    for (uint64_t i = 0; i < count; ++i) {
        if (at >= blob.size()) return corrupt("truncated at event " + std::to_string(i));
        const auto ks = static_cast<uint8_t>(blob[at++]);
        const uint8_t kind = ks >> 4, stage = ks & 0x0f;
        if (kind > static_cast<uint8_t>(EventKind::Stall) || stage >= kStageCount)
            return corrupt("bad kind or stage at event " + std::to_string(i));
        uint64_t layer, iteration, begin, duration, bytes;
        if (!getVarint(blob, at, layer) || !getVarint(blob, at, iteration) || !getVarint(blob, at, begin)
            || !getVarint(blob, at, duration) || !getVarint(blob, at, bytes))
            return corrupt("truncated at event " + std::to_string(i));
        StoredEvent e;
        e.kind = static_cast<EventKind>(kind);
        e.stage = static_cast<Stage>(stage);
        const int64_t l = unzigzag(layer), it = unzigzag(iteration);
        if (l < INT32_MIN || l > INT32_MAX || it < INT32_MIN || it > INT32_MAX)
            return corrupt("layer or iteration out of range at event " + std::to_string(i));
        e.layer = static_cast<int32_t>(l);
        e.iteration = static_cast<int32_t>(it);
        e.beginNs = prevBegin + unzigzag(begin);
        e.endNs = e.beginNs + unzigzag(duration);
        e.bytes = bytes;
        prevBegin = e.beginNs;
        events.push_back(e);
    }
    if (at != blob.size()) return corrupt("trailing bytes after the last event");
    return events;
}

const std::vector<const char*>& RunStore::migrations()
{
    return kMigrations;
}

RunStore::RunStore(sqlite3* db, std::string path)
    : m_db(db)
    , m_path(std::move(path))
{ }

RunStore::~RunStore()
{
    sqlite3_close_v2(m_db);
}

Error RunStore::sqlError(const std::string& what) const
{
    const int rc = sqlite3_errcode(m_db);
    const ErrorCode code = rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? ErrorCode::Corrupt : ErrorCode::Io;
    return makeError(code, "run store " + m_path + ": " + what + ": " + sqlite3_errmsg(m_db));
}

Result<std::unique_ptr<RunStore>> RunStore::open(const std::string& path)
{
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(
        path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close_v2(db);
        return makeError(ErrorCode::Io, "cannot open the run store " + path + ": " + msg);
    }
    std::unique_ptr<RunStore> store(new RunStore(db, path));
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    sqlite3_extended_result_codes(db, 0);
    DL_TRY(store->migrate());
    return store;
}

int RunStore::schemaVersion() const
{
    Stmt s(m_db, "PRAGMA user_version");
    return s.step() == SQLITE_ROW ? static_cast<int>(s.i64(0)) : -1;
}

Status RunStore::migrate()
{
    // Reading the header is the first thing that fails on a file that is not SQLite. Everything here only reads,
    // so that a file refused below is left exactly as it was.
    int64_t appId = 0;
    bool empty = false;
    int found = -1;
    {
        // One read transaction, so that the three answers agree while another process creates the store; scoped,
        // so that no statement stays open into the switch to WAL below.
        ReadTransaction read(m_db);
        if (!read.ok()) return sqlError("reading it");
        Stmt app(m_db, "PRAGMA application_id");
        if (!app.ok() || app.step() != SQLITE_ROW) {
            if (sqlite3_errcode(m_db) == SQLITE_NOTADB)
                return makeError(ErrorCode::Corrupt,
                    "'" + m_path
                        + "' is not a run store (not an SQLite database); give a new file or a store dlayer made");
            return sqlError("reading its header");
        }
        appId = app.i64(0);
        Stmt tables(m_db, "SELECT count(*) FROM sqlite_master");
        if (tables.step() != SQLITE_ROW) return sqlError("listing its tables");
        empty = tables.i64(0) == 0;
        found = schemaVersion();
        if (found < 0) return sqlError("reading its schema version");
    }
    if (appId != kApplicationId && !(found == 0 && empty))
        return invalid("'" + m_path + "' is an SQLite database of another application, not a run store");
    if (found > kSchemaVersion)
        return invalid("the run store " + m_path + " has schema version " + std::to_string(found)
            + ", newer than this build knows (" + std::to_string(kSchemaVersion) + "): use a newer dlayer");

    if (sqlite3_exec(m_db, "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr) != SQLITE_OK)
        return sqlError("turning on foreign keys");
    // WAL: readers never block the writer, and a killed writer leaves a log that the next open rolls back or in.
    // The switch can meet another process's lock without the busy handler being called (SQLite does not wait
    // where waiting could deadlock): retried here for as long as the busy timeout.
    for (int waited = 0;; waited += 10) {
        Stmt wal(m_db, "PRAGMA journal_mode = WAL");
        if (wal.step() == SQLITE_ROW) break;
        if (sqlite3_errcode(m_db) != SQLITE_BUSY || waited >= kBusyTimeoutMs) return sqlError("switching to WAL");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (sqlite3_exec(m_db, "PRAGMA synchronous = FULL", nullptr, nullptr, nullptr) != SQLITE_OK)
        return sqlError("setting synchronous");
    if (found == kSchemaVersion) return Status {};

    // Another process may be migrating the same file: take the write lock, then look again.
    Transaction t(m_db);
    if (t.begin() != SQLITE_OK) return sqlError("locking it to migrate its schema");
    const int version = schemaVersion();
    if (version < 0) return sqlError("reading its schema version");
    if (version == kSchemaVersion) return t.commit() == SQLITE_OK ? Status {} : sqlError("releasing its lock");
    for (int v = version; v < kSchemaVersion; ++v)
        if (sqlite3_exec(m_db, kMigrations[static_cast<size_t>(v)], nullptr, nullptr, nullptr) != SQLITE_OK)
            return sqlError("migrating from schema " + std::to_string(v) + " to " + std::to_string(v + 1));
    const std::string pragmas = "PRAGMA user_version = " + std::to_string(kSchemaVersion)
        + "; PRAGMA application_id = " + std::to_string(kApplicationId);
    if (sqlite3_exec(m_db, pragmas.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
        return sqlError("recording the schema version");
    if (t.commit() != SQLITE_OK) return sqlError("committing the schema");
    return Status {};
}

Result<int64_t> RunStore::addRun(const Run& r)
{
    Transaction t(m_db);
    if (t.begin() != SQLITE_OK) return sqlError("starting to store a run");

    Stmt model(m_db,
        "INSERT INTO models (hash, name, path, bytes, layers) VALUES (?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT (hash) DO UPDATE SET name = excluded.name, path = excluded.path, bytes = excluded.bytes, "
        "layers = excluded.layers RETURNING id");
    model.bind(1, r.model.hash).bind(2, r.model.name).bind(3, r.model.path).bind(4, r.model.bytes);
    model.bind(5, r.model.layers);
    if (model.step() != SQLITE_ROW) return sqlError("storing the model");
    const int64_t modelId = model.i64(0);
    model.reset(); // a RETURNING statement left on its row would keep the transaction from committing

    Stmt device(m_db,
        "INSERT INTO devices (host, backend, cpu, gpu, disk_mb_per_s) VALUES (?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT (host, backend, cpu, gpu) DO UPDATE SET disk_mb_per_s = "
        "CASE WHEN excluded.disk_mb_per_s > 0 THEN excluded.disk_mb_per_s ELSE disk_mb_per_s END RETURNING id");
    device.bind(1, r.device.host).bind(2, r.device.backend).bind(3, r.device.cpu).bind(4, r.device.gpu);
    device.bind(5, r.device.diskMBps);
    if (device.step() != SQLITE_ROW) return sqlError("storing the device");
    const int64_t deviceId = device.i64(0);
    device.reset();

    Stmt run(m_db,
        "INSERT INTO runs (model_id, device_id, arch, config, started_ms, finished_ms, status, error, iterations, "
        "latency_median_ms, latency_min_ms, latency_max_ms, latency_mean_ms, stall_ms, peak_resident_weights, "
        "peak_staging, peak_activations, peak_workspace, peak_total, rss_peak, report, read_bytes, read_mb_per_s, "
        "uuid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, "
        "?22, ?23, ?24)");
    run.bind(1, modelId).bind(2, deviceId).bind(3, r.arch).bind(4, r.configJson).bind(5, r.startedMs);
    run.bind(6, r.finishedMs).bind(7, std::string(runStatusName(r.status))).bind(8, r.error).bind(9, r.iterations);
    run.bind(10, r.latencyMedianMs).bind(11, r.latencyMinMs).bind(12, r.latencyMaxMs).bind(13, r.latencyMeanMs);
    run.bind(14, r.stallMs);
    for (size_t k = 0; k < kMemTagCount; ++k)
        run.bind(15 + static_cast<int>(k), r.peakByTag[k]);
    run.bind(19, r.peakTotal).bind(20, r.rssPeak).bind(21, r.reportJson).bind(22, r.readBytes).bind(23, r.readMBps);
    run.bind(24, r.uuid.empty() ? newRunUuid() : r.uuid);
    if (run.step() != SQLITE_DONE) {
        if (sqlite3_errcode(m_db) == SQLITE_CONSTRAINT && !r.uuid.empty())
            return invalid("run " + r.uuid + " is already in " + m_path);
        return sqlError("storing the run");
    }
    const int64_t id = sqlite3_last_insert_rowid(m_db);

    Stmt layer(m_db,
        "INSERT INTO run_layers (run_id, layer, name, bytes, read_ms, copy_ms, kernel_ms, stall_ms, resident, "
        "bound_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    for (const auto& l : r.layers) {
        layer.bind(1, id).bind(2, l.layer).bind(3, l.name).bind(4, l.bytes).bind(5, l.readMs).bind(6, l.copyMs);
        layer.bind(7, l.kernelMs).bind(8, l.stallMs).bind(9, l.resident ? 1 : 0).bind(10, l.boundBytes);
        if (layer.step() != SQLITE_DONE) return sqlError("storing layer " + std::to_string(l.layer));
        layer.reset();
    }
    Stmt sample(m_db,
        "INSERT INTO memory_samples (run_id, seq, time_ns, resident_weights, staging, activations, workspace) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    for (size_t i = 0; i < r.samples.size(); ++i) {
        const auto& m = r.samples[i];
        sample.bind(1, id).bind(2, static_cast<int64_t>(i)).bind(3, m.timeNs);
        for (size_t k = 0; k < kMemTagCount; ++k)
            sample.bind(4 + static_cast<int>(k), m.bytes[k]);
        if (sample.step() != SQLITE_DONE) return sqlError("storing a memory sample");
        sample.reset();
    }
    Stmt events(m_db, "INSERT INTO run_events (run_id, count, data) VALUES (?1, ?2, ?3)");
    events.bind(1, id).bind(2, static_cast<int64_t>(r.events.size())).blob(3, packEvents(r.events));
    if (events.step() != SQLITE_DONE) return sqlError("storing the trace events");
    if (t.commit() != SQLITE_OK) return sqlError("committing the run");
    return id;
}

Result<std::vector<RunSummary>> RunStore::listRuns() const
{
    Stmt s(m_db,
        "SELECT runs.id, models.name, models.hash, arch, started_ms, status, iterations, latency_median_ms, "
        "peak_resident_weights + peak_staging, peak_total, devices.host, devices.backend, devices.cpu, devices.gpu, "
        "CASE WHEN json_valid(config) THEN COALESCE(json_extract(config, '$.split_bytes'), 0) ELSE 0 END, uuid, "
        "CASE WHEN json_valid(config) THEN COALESCE(json_extract(config, '$.precision'), 'fp32') ELSE 'fp32' END "
        "FROM runs JOIN models ON models.id = runs.model_id JOIN devices ON devices.id = runs.device_id "
        "ORDER BY runs.id");
    std::vector<RunSummary> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        RunSummary r;
        r.id = s.i64(0);
        r.modelName = s.text(1);
        r.modelHash = s.text(2);
        r.arch = s.text(3);
        r.startedMs = s.i64(4);
        auto st = parseRunStatus(s.text(5));
        r.status = st.ok() ? *st : RunStatus::Failed;
        r.iterations = static_cast<int>(s.i64(6));
        r.latencyMedianMs = s.f64(7);
        r.weightsPeak = s.i64(8);
        r.peakTotal = s.i64(9);
        r.device.host = s.text(10);
        r.device.backend = s.text(11);
        r.device.cpu = s.text(12);
        r.device.gpu = s.text(13);
        r.splitBytes = static_cast<uint64_t>(std::max<int64_t>(0, s.i64(14)));
        r.uuid = s.text(15);
        r.precision = s.text(16);
        out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return sqlError("listing the runs");
    return out;
}

Result<int64_t> RunStore::runIdByUuid(const std::string& uuid) const
{
    Stmt s(m_db, "SELECT id FROM runs WHERE uuid = ?1");
    s.bind(1, uuid);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return int64_t(0);
    if (rc != SQLITE_ROW) return sqlError("looking up run " + uuid);
    return s.i64(0);
}

Result<int64_t> RunStore::runCount() const
{
    Stmt s(m_db, "SELECT count(*) FROM runs");
    if (s.step() != SQLITE_ROW) return sqlError("counting the runs");
    return s.i64(0);
}

Result<Run> RunStore::run(int64_t id) const
{
    // One read transaction, so that a run deleted meanwhile is seen whole or not at all.
    ReadTransaction read(m_db);
    if (!read.ok()) return sqlError("reading a run");

    Stmt s(m_db,
        "SELECT models.hash, models.name, models.path, models.bytes, models.layers, devices.host, devices.backend, "
        "devices.cpu, devices.gpu, devices.disk_mb_per_s, arch, config, started_ms, finished_ms, status, error, "
        "iterations, latency_median_ms, latency_min_ms, latency_max_ms, latency_mean_ms, stall_ms, "
        "peak_resident_weights, peak_staging, peak_activations, peak_workspace, peak_total, rss_peak, report, "
        "read_bytes, read_mb_per_s, uuid FROM runs JOIN models ON models.id = runs.model_id JOIN devices ON devices.id "
        "= "
        "runs.device_id "
        "WHERE runs.id = ?1");
    s.bind(1, id);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return invalid("there is no run " + std::to_string(id) + " in " + m_path);
    if (rc != SQLITE_ROW) return sqlError("reading run " + std::to_string(id));
    Run r;
    r.id = id;
    r.model = { s.text(0), s.text(1), s.text(2), s.i64(3), static_cast<int>(s.i64(4)) };
    r.device = { s.text(5), s.text(6), s.text(7), s.text(8), s.f64(9) };
    r.arch = s.text(10);
    r.configJson = s.text(11);
    r.startedMs = s.i64(12);
    r.finishedMs = s.i64(13);
    DL_ASSIGN(r.status, parseRunStatus(s.text(14)));
    r.error = s.text(15);
    r.iterations = static_cast<int>(s.i64(16));
    r.latencyMedianMs = s.f64(17);
    r.latencyMinMs = s.f64(18);
    r.latencyMaxMs = s.f64(19);
    r.latencyMeanMs = s.f64(20);
    r.stallMs = s.f64(21);
    for (size_t k = 0; k < kMemTagCount; ++k)
        r.peakByTag[k] = s.i64(22 + static_cast<int>(k));
    r.peakTotal = s.i64(26);
    r.rssPeak = s.i64(27);
    r.reportJson = s.text(28);
    r.readBytes = s.i64(29);
    r.readMBps = s.f64(30);
    r.uuid = s.text(31);

    Stmt layers(m_db,
        "SELECT layer, name, bytes, read_ms, copy_ms, kernel_ms, stall_ms, resident, bound_bytes FROM run_layers "
        "WHERE run_id = ?1 ORDER BY layer");
    layers.bind(1, id);
    int lrc;
    while ((lrc = layers.step()) == SQLITE_ROW)
        r.layers.push_back({ static_cast<int>(layers.i64(0)), layers.text(1), layers.i64(2), layers.f64(3),
            layers.f64(4), layers.f64(5), layers.f64(6), layers.i64(7) != 0, layers.i64(8) });
    if (lrc != SQLITE_DONE) return sqlError("reading the layers of run " + std::to_string(id));

    Stmt samples(m_db,
        "SELECT time_ns, resident_weights, staging, activations, workspace FROM memory_samples WHERE run_id = ?1 "
        "ORDER BY seq");
    samples.bind(1, id);
    int src;
    while ((src = samples.step()) == SQLITE_ROW) {
        MemorySample m;
        m.timeNs = samples.i64(0);
        for (size_t k = 0; k < kMemTagCount; ++k)
            m.bytes[k] = samples.i64(1 + static_cast<int>(k));
        r.samples.push_back(m);
    }
    if (src != SQLITE_DONE) return sqlError("reading the memory samples of run " + std::to_string(id));

    Stmt events(m_db, "SELECT count, data FROM run_events WHERE run_id = ?1");
    events.bind(1, id);
    const int erc = events.step();
    if (erc == SQLITE_ROW) {
        auto ev = unpackEvents(events.bytes(1));
        if (!ev.ok()) return makeError(ev.error().code, "run " + std::to_string(id) + ": " + ev.error().message);
        if (static_cast<int64_t>(ev->size()) != events.i64(0))
            return makeError(ErrorCode::Corrupt,
                "run " + std::to_string(id) + ": its trace holds " + std::to_string(ev->size())
                    + " events, its row says " + std::to_string(events.i64(0)));
        r.events = std::move(ev).value();
    } else if (erc != SQLITE_DONE) {
        return sqlError("reading the trace of run " + std::to_string(id));
    }
    return r;
}

Status RunStore::deleteRun(int64_t id)
{
    Transaction t(m_db);
    if (t.begin() != SQLITE_OK) return sqlError("starting to delete run " + std::to_string(id));
    Stmt s(m_db, "DELETE FROM runs WHERE id = ?1");
    s.bind(1, id);
    if (s.step() != SQLITE_DONE) return sqlError("deleting run " + std::to_string(id));
    if (sqlite3_changes(m_db) == 0) return invalid("there is no run " + std::to_string(id) + " in " + m_path);
    // Models no run refers to any more go too.
    if (sqlite3_exec(m_db, "DELETE FROM models WHERE id NOT IN (SELECT model_id FROM runs)", nullptr, nullptr, nullptr)
        != SQLITE_OK)
        return sqlError("tidying models");
    if (t.commit() != SQLITE_OK) return sqlError("committing the deletion");
    return Status {};
}

Result<std::string> RunStore::integrityCheck() const
{
    Stmt s(m_db, "PRAGMA integrity_check");
    std::string out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        if (!out.empty()) out += '\n'; // not `"\n" + text`: GCC 12 at -O3 misreads that as overlapping (-Wrestrict)
        out += s.text(0);
    }
    if (rc != SQLITE_DONE) return sqlError("checking its integrity");
    return out;
}

Status RunStore::saveConfig(const std::string& name, const std::string& modelHash, const std::string& body)
{
    Stmt s(m_db,
        "INSERT INTO configs (name, model_hash, body, saved_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO "
        "UPDATE SET model_hash = excluded.model_hash, body = excluded.body, saved_ms = excluded.saved_ms");
    s.bind(1, name).bind(2, modelHash).bind(3, body).bind(4, nowMs());
    if (s.step() != SQLITE_DONE) return sqlError("saving configuration '" + name + "'");
    return Status {};
}

Result<std::string> RunStore::config(const std::string& name) const
{
    Stmt s(m_db, "SELECT body FROM configs WHERE name = ?1");
    s.bind(1, name);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return invalid("there is no configuration '" + name + "' in " + m_path);
    if (rc != SQLITE_ROW) return sqlError("reading configuration '" + name + "'");
    return s.text(0);
}

Result<std::vector<std::string>> RunStore::configNames() const
{
    Stmt s(m_db, "SELECT name FROM configs ORDER BY name");
    std::vector<std::string> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        out.push_back(s.text(0));
    if (rc != SQLITE_DONE) return sqlError("listing configurations");
    return out;
}

namespace {
int64_t nowMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}
} // namespace

} // namespace dl::store
