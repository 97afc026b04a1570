// The run store on real SQLite files: round trips, migrations from every earlier schema, refusals of foreign,
// newer and damaged files, concurrent writers, and recorders killed with SIGKILL at random moments.

#include "runstore.h"

#include <sqlite3.h>

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <atomic>
#include <csignal>
#include <functional>
#include <thread>

using namespace dl;
using namespace dl::store;

namespace {

// A run with every part filled, values varied by `seed` so that two runs differ everywhere.
Run sampleRun(int seed, int layers = 12, int events = 200)
{
    Run r;
    r.model = { "hash-" + std::to_string(seed % 3), "model" + std::to_string(seed % 3) + ".cfg",
        "/models/m" + std::to_string(seed % 3) + ".cfg", 1000000 + seed % 3, layers };
    r.device = { "host", "cpu", "Test CPU", "", 1500.5 }; // one device, one measured rate
    r.arch = seed % 2 ? "two-stage" : "async";
    r.configJson = R"({"arch":")" + r.arch + R"(","staging_bytes":)" + std::to_string(4096 * (seed + 1)) + "}";
    r.startedMs = 1'700'000'000'000 + seed;
    r.finishedMs = r.startedMs + 1234;
    r.status = seed % 5 == 4 ? RunStatus::Failed : RunStatus::Ok;
    r.error = r.status == RunStatus::Failed ? "layer 3 (conv_3): read failed" : "";
    r.iterations = 5;
    r.latencyMedianMs = 10.5 + seed;
    r.latencyMinMs = 9.25 + seed;
    r.latencyMaxMs = 12.125 + seed;
    r.latencyMeanMs = 10.75 + seed;
    r.stallMs = 0.5 * seed;
    r.peakByTag = { 100 + seed, 200 + seed, 300 + seed, 400 + seed };
    r.peakTotal = 1000 + seed;
    r.rssPeak = 5000 + seed;
    r.readBytes = 4096 * 12 * (seed + 1);
    r.readMBps = 1234.5 + seed;
    r.reportJson = R"({"arch":")" + r.arch + R"("})";
    for (int i = 0; i < layers; ++i)
        r.layers.push_back(
            { i, "conv_" + std::to_string(i), 4096 * i, 0.1 * i, 0.01 * i, 0.2 * i + seed, 0.001 * i, i % 4 == 0 });
    for (int i = 0; i < 50; ++i)
        r.samples.push_back({ 1000 * i, { i, 2 * i, 3 * i + seed, 4 * i } });
    int64_t t = 5'000'000'000;
    for (int i = 0; i < events; ++i) {
        StoredEvent e;
        e.kind = static_cast<EventKind>(i % 3);
        e.stage = static_cast<Stage>(i % 4);
        e.layer = i % 7 == 0 ? -1 : i % layers;
        e.iteration = i / 40 - 1;
        // Out of order now and then, as events of different threads arrive.
        t += i % 11 == 0 ? -3000 : 17000 + i;
        e.beginNs = t;
        e.endNs = e.kind == EventKind::Begin ? 0 : t + 1000 * (i % 13);
        e.bytes = e.stage == Stage::Read ? 4096u * static_cast<unsigned>(i) : 0;
        r.events.push_back(e);
    }
    return r;
}

void compareRuns(const Run& a, const Run& b)
{
    QCOMPARE(a.model.hash, b.model.hash);
    QCOMPARE(a.model.name, b.model.name);
    QCOMPARE(a.model.path, b.model.path);
    QCOMPARE(a.model.bytes, b.model.bytes);
    QCOMPARE(a.model.layers, b.model.layers);
    QCOMPARE(a.device.host, b.device.host);
    QCOMPARE(a.device.cpu, b.device.cpu);
    QCOMPARE(a.device.diskMBps, b.device.diskMBps);
    QCOMPARE(a.arch, b.arch);
    QCOMPARE(QJsonDocument::fromJson(QByteArray::fromStdString(a.configJson)),
        QJsonDocument::fromJson(QByteArray::fromStdString(b.configJson)));
    QCOMPARE(a.startedMs, b.startedMs);
    QCOMPARE(a.finishedMs, b.finishedMs);
    QCOMPARE(a.status, b.status);
    QCOMPARE(a.error, b.error);
    QCOMPARE(a.iterations, b.iterations);
    QCOMPARE(a.latencyMedianMs, b.latencyMedianMs);
    QCOMPARE(a.latencyMinMs, b.latencyMinMs);
    QCOMPARE(a.latencyMaxMs, b.latencyMaxMs);
    QCOMPARE(a.latencyMeanMs, b.latencyMeanMs);
    QCOMPARE(a.stallMs, b.stallMs);
    QVERIFY(a.peakByTag == b.peakByTag);
    QCOMPARE(a.peakTotal, b.peakTotal);
    QCOMPARE(a.rssPeak, b.rssPeak);
    QCOMPARE(a.readBytes, b.readBytes);
    QCOMPARE(a.readMBps, b.readMBps);
    QCOMPARE(a.layers.size(), b.layers.size());
    for (size_t i = 0; i < a.layers.size(); ++i) {
        QCOMPARE(a.layers[i].layer, b.layers[i].layer);
        QCOMPARE(a.layers[i].name, b.layers[i].name);
        QCOMPARE(a.layers[i].bytes, b.layers[i].bytes);
        QCOMPARE(a.layers[i].readMs, b.layers[i].readMs);
        QCOMPARE(a.layers[i].copyMs, b.layers[i].copyMs);
        QCOMPARE(a.layers[i].kernelMs, b.layers[i].kernelMs);
        QCOMPARE(a.layers[i].stallMs, b.layers[i].stallMs);
        QCOMPARE(a.layers[i].resident, b.layers[i].resident);
    }
    QCOMPARE(a.samples.size(), b.samples.size());
    for (size_t i = 0; i < a.samples.size(); ++i) {
        QCOMPARE(a.samples[i].timeNs, b.samples[i].timeNs);
        QVERIFY(a.samples[i].bytes == b.samples[i].bytes);
    }
    QVERIFY(a.events == b.events);
}

std::unique_ptr<RunStore> openStore(const QString& path)
{
    auto s = RunStore::open(path.toStdString());
    if (!s.ok()) qWarning("%s", s.error().message.c_str());
    return s.ok() ? std::move(s).value() : nullptr;
}

// Raw SQL on a file, outside the store: to build old or foreign files.
bool execSql(const QString& path, const std::string& sql)
{
    sqlite3* db = nullptr;
    if (sqlite3_open(path.toUtf8().constData(), &db) != SQLITE_OK) return false;
    char* err = nullptr;
    const bool ok = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) == SQLITE_OK;
    if (!ok) qWarning("%s", err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(db);
    return ok;
}

} // namespace

class TestRunStore : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString path(const char* name) const { return m_dir.filePath(QString::fromUtf8(name)); }

private slots:
    void everyPartOfARunComesBack()
    {
        auto store = openStore(path("roundtrip.db"));
        QVERIFY(store);
        QCOMPARE(store->schemaVersion(), RunStore::kSchemaVersion);
        std::vector<int64_t> ids;
        for (int k = 0; k < 5; ++k) {
            auto id = store->addRun(sampleRun(k));
            QVERIFY2(id.ok(), id.ok() ? "" : id.error().message.c_str());
            ids.push_back(*id);
        }
        for (int k = 0; k < 5; ++k) {
            auto r = store->run(ids[static_cast<size_t>(k)]);
            QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
            QCOMPARE(r->id, ids[static_cast<size_t>(k)]);
            compareRuns(*r, sampleRun(k));
        }
        auto list = store->listRuns();
        QVERIFY(list.ok());
        QCOMPARE(list->size(), size_t(5));
        QCOMPARE((*list)[2].id, ids[2]);
        QCOMPARE((*list)[2].arch, sampleRun(2).arch);
        QCOMPARE((*list)[2].weightsPeak, sampleRun(2).peakByTag[0] + sampleRun(2).peakByTag[1]);
        QCOMPARE((*list)[4].status, RunStatus::Failed);
        QCOMPARE((*list)[2].splitBytes, uint64_t(0)); // no split_bytes in its configuration: whole layers
        // The listing carries each run's split (what the planner picks profiles by), and a configuration that is
        // not JSON counts as whole layers rather than failing the listing.
        Run split = sampleRun(5);
        split.configJson = R"({"arch":"async","split_bytes":4194304})";
        Run garbled = sampleRun(6);
        garbled.configJson = "{not json";
        QVERIFY(store->addRun(split).ok());
        QVERIFY(store->addRun(garbled).ok());
        list = store->listRuns();
        QVERIFY(list.ok());
        QCOMPARE(list->size(), size_t(7));
        QCOMPARE((*list)[5].splitBytes, uint64_t(4194304));
        QCOMPARE((*list)[6].splitBytes, uint64_t(0));
        auto missing = store->run(9999);
        QVERIFY(!missing.ok());
        QVERIFY(missing.error().message.find("no run 9999") != std::string::npos);
    }

    void exportImportsIntoAnotherStore()
    {
        auto a = openStore(path("export-a.db"));
        auto b = openStore(path("export-b.db"));
        QVERIFY(a && b);
        const Run original = sampleRun(7, 40, 3000);
        auto id = a->addRun(original);
        QVERIFY(id.ok());
        auto stored = a->run(*id);
        QVERIFY(stored.ok());
        const std::string text = runToJson(*stored);
        auto back = runFromJson(text);
        QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
        auto id2 = b->addRun(*back);
        QVERIFY(id2.ok());
        auto again = b->run(*id2);
        QVERIFY(again.ok());
        compareRuns(*again, original);
        QCOMPARE(runToJson(*again), text); // ids are not part of the export
        // The run's uuid is: it travels with the export, finds the run in the other store, and a second import of
        // the same run is refused rather than stored twice.
        QVERIFY(isRunUuid(stored->uuid));
        QCOMPARE(again->uuid, stored->uuid);
        QCOMPARE(b->runIdByUuid(stored->uuid).value(), *id2);
        QCOMPARE(b->runIdByUuid(newRunUuid()).value(), int64_t(0));
        auto twice = b->addRun(*back);
        QVERIFY(!twice.ok());
        QVERIFY2(twice.error().message.find("already in") != std::string::npos, twice.error().message.c_str());
        QCOMPARE(b->runCount().value(), int64_t(1));
        // Runs stored without one get distinct uuids.
        auto other = a->addRun(original);
        QVERIFY(other.ok());
        QVERIFY(a->run(*other)->uuid != stored->uuid);
        auto listed = a->listRuns();
        QVERIFY(listed.ok());
        QCOMPARE(listed->front().uuid, stored->uuid);
        auto edited = runFromJson(text.substr(0, text.find("\"uuid\"")) + "\"uuid\": \"../../etc\","
            + text.substr(text.find(',', text.find("\"uuid\"")) + 1));
        QVERIFY(!edited.ok());
        QVERIFY2(edited.error().message.find("not a UUID") != std::string::npos, edited.error().message.c_str());
    }

    void malformedExportsNameTheField()
    {
        const std::string good = runToJson(sampleRun(1));
        auto expectError = [](const std::string& text, const char* needle) {
            auto r = runFromJson(text);
            QVERIFY(!r.ok());
            QVERIFY2(r.error().message.find(needle) != std::string::npos, r.error().message.c_str());
        };
        expectError("{not json", "not a JSON document");
        expectError("[1,2]", "not a run export");
        expectError(R"({"format":"dlayer-run","version":99})", "version 99");
        auto edit = [&](const std::function<void(QJsonObject&)>& f) {
            QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(good)).object();
            f(o);
            return QJsonDocument(o).toJson().toStdString();
        };
        expectError(edit([](QJsonObject& o) { o.remove(QStringLiteral("model")); }), "model: missing");
        expectError(edit([](QJsonObject& o) {
            QJsonObject m = o.value(QStringLiteral("latency_ms")).toObject();
            m.insert(QStringLiteral("median"), QStringLiteral("fast"));
            o.insert(QStringLiteral("latency_ms"), m);
        }),
            "latency_ms.median: expected a number");
        expectError(edit([](QJsonObject& o) { o.insert(QStringLiteral("status"), QStringLiteral("maybe")); }),
            "unknown run status 'maybe'");
        expectError(edit([](QJsonObject& o) {
            QJsonObject ev = o.value(QStringLiteral("events")).toObject();
            ev.insert(QStringLiteral("rows"), QJsonArray { QJsonArray { 1, 2 } });
            o.insert(QStringLiteral("events"), ev);
        }),
            "events.rows[0]");
    }

    void eventBlobsRoundTripAndRefuseDamage()
    {
        const auto events = sampleRun(3, 20, 500).events;
        const std::string blob = packEvents(events);
        QVERIFY(blob.size() < events.size() * 12); // compact: a few bytes a field
        auto back = unpackEvents(blob);
        QVERIFY(back.ok());
        QVERIFY(*back == events);
        QVERIFY(unpackEvents(packEvents({})).ok());
        auto corrupt = [](const std::string& b, const char* needle) {
            auto r = unpackEvents(b);
            QVERIFY(!r.ok());
            QCOMPARE(r.error().code, ErrorCode::Corrupt);
            QVERIFY2(r.error().message.find(needle) != std::string::npos, r.error().message.c_str());
        };
        corrupt("", "empty");
        corrupt(std::string(1, '\x07') + blob.substr(1), "unknown format");
        corrupt(blob.substr(0, blob.size() - 3), "truncated");
        corrupt(blob + "x", "trailing bytes");
        std::string lie = blob.substr(0, 1) + std::string("\xff\xff\xff\xff\x0f", 5) + blob.substr(3);
        corrupt(lie, "count exceeds");
    }

    // A store of every earlier schema version, with data where the version has tables, opens and migrates.
    void opensEveryEarlierVersion()
    {
        const auto& steps = RunStore::migrations();
        QCOMPARE(static_cast<int>(steps.size()), RunStore::kSchemaVersion);
        for (int v = 0; v < RunStore::kSchemaVersion; ++v) {
            const QString p = m_dir.filePath(QStringLiteral("v%1.db").arg(v));
            std::string sql = "PRAGMA application_id = " + std::to_string(0x444c5253) + ";";
            for (int k = 0; k < v; ++k)
                sql += steps[static_cast<size_t>(k)];
            sql += "PRAGMA user_version = " + std::to_string(v) + ";";
            QVERIFY(execSql(p, sql));
            auto store = openStore(p);
            QVERIFY(store);
            QCOMPARE(store->schemaVersion(), RunStore::kSchemaVersion);
            auto id = store->addRun(sampleRun(v));
            QVERIFY(id.ok());
            auto r = store->run(*id);
            QVERIFY(r.ok());
            compareRuns(*r, sampleRun(v));
        }
        // And a current one reopens as it is.
        auto again = openStore(path("v0.db"));
        QVERIFY(again);
        QCOMPARE(again->runCount().value(), int64_t(1));
    }

    // Runs stored by schema 1 (as its INSERT wrote them) keep everything across the migration to 2, and gain their
    // read columns from their reports: dlayer's "read" object, the studio's "read_mb_per_s", none for a report that
    // is not an object.
    void schemaOneRunsMigrateWithTheirReads()
    {
        const QString p = path("v1-data.db");
        const auto& steps = RunStore::migrations();
        std::string sql = "PRAGMA application_id = " + std::to_string(0x444c5253) + ";" + steps[0];
        sql += "INSERT INTO models (id, hash, name, path, bytes, layers) VALUES (1, 'h', 'm.cfg', '/m.cfg', 9, 2);"
               "INSERT INTO devices (id, host, backend, cpu, gpu, disk_mb_per_s) VALUES (1, 'host', 'cpu', 'CPU', '', "
               "1500);";
        const char* reports[] = { R"({"arch":"two-stage","read":{"bytes":81920,"mb_per_s":987.5,"direct_io":true}})",
            R"({"arch":"async","read_mb_per_s":654.25})", R"("not an object")" };
        for (int i = 0; i < 3; ++i) {
            sql += "INSERT INTO runs (id, model_id, device_id, arch, config, started_ms, finished_ms, status, error, "
                   "iterations, latency_median_ms, latency_min_ms, latency_max_ms, latency_mean_ms, stall_ms, "
                   "peak_resident_weights, peak_staging, peak_activations, peak_workspace, peak_total, rss_peak, "
                   "report) VALUES ("
                + std::to_string(i + 1) + ", 1, 1, 'two-stage', '{}', 100, 200, 'ok', '', 3, 10.5, 9, 12, 10.25, "
                + "0.5, 1, 2, 3, 4, 10, 4096, '" + reports[i] + "');";
            sql += "INSERT INTO run_layers VALUES (" + std::to_string(i + 1)
                + ", 0, 'conv_0', 4096, 1.5, 0.25, 2.5, 0.125, 0);";
        }
        sql += "PRAGMA user_version = 1;";
        QVERIFY(execSql(p, sql));
        auto store = openStore(p);
        QVERIFY(store);
        QCOMPARE(store->schemaVersion(), RunStore::kSchemaVersion);
        QCOMPARE(store->runCount().value(), int64_t(3));
        const int64_t bytes[] = { 81920, 0, 0 };
        const double rates[] = { 987.5, 654.25, 0 };
        for (int i = 0; i < 3; ++i) {
            auto r = store->run(i + 1);
            QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
            QCOMPARE(r->readBytes, bytes[i]);
            QCOMPARE(r->readMBps, rates[i]);
            QCOMPARE(r->latencyMedianMs, 10.5);
            QCOMPARE(r->rssPeak, int64_t(4096));
            QCOMPARE(r->reportJson, std::string(reports[i]));
            QCOMPARE(static_cast<int>(r->layers.size()), 1);
            QCOMPARE(r->layers[0].kernelMs, 2.5);
            QVERIFY2(isRunUuid(r->uuid), r->uuid.c_str()); // the migration to 3 gave each run a uuid
        }
        QVERIFY(store->run(1)->uuid != store->run(2)->uuid);
        // An export of schema 1 (no "read") still imports, its reads taken from its report as the migration does.
        auto one = store->run(1);
        QVERIFY(one.ok());
        std::string text = runToJson(*one);
        const auto at = text.find("\"read\": {");
        QVERIFY(at != std::string::npos);
        const auto end = text.find('}', at);
        text.erase(at, end + 2 - at);
        auto back = runFromJson(text);
        QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
        QCOMPARE(back->readBytes, int64_t(81920));
        QCOMPARE(back->readMBps, 987.5);
    }

    void refusesFilesItDidNotMake()
    {
        const QString garbage = path("garbage.db");
        {
            QFile f(garbage);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray(8192, 'x'));
        }
        auto r = RunStore::open(garbage.toStdString());
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("not an SQLite database") != std::string::npos, r.error().message.c_str());
        QFile f(garbage);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), QByteArray(8192, 'x')); // nothing written

        const QString foreign = path("foreign.db");
        QVERIFY(execSql(foreign, "CREATE TABLE photos (id INTEGER PRIMARY KEY, data BLOB);"));
        r = RunStore::open(foreign.toStdString());
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("another application") != std::string::npos, r.error().message.c_str());

        const QString newer = path("newer.db");
        QVERIFY(openStore(newer));
        QVERIFY(execSql(newer, "PRAGMA user_version = 99;"));
        r = RunStore::open(newer.toStdString());
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("newer than this build") != std::string::npos, r.error().message.c_str());

        r = RunStore::open(m_dir.filePath(QStringLiteral("no/such/dir/x.db")).toStdString());
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("cannot open") != std::string::npos, r.error().message.c_str());
    }

    void deleteRemovesTheRunAndItsRows()
    {
        auto store = openStore(path("delete.db"));
        QVERIFY(store);
        auto a = store->addRun(sampleRun(0));
        auto b = store->addRun(sampleRun(1));
        QVERIFY(a.ok() && b.ok());
        QVERIFY(store->deleteRun(*a).ok());
        QVERIFY(!store->run(*a).ok());
        QVERIFY(store->run(*b).ok());
        auto again = store->deleteRun(*a);
        QVERIFY(!again.ok());
        QVERIFY(again.error().message.find("no run") != std::string::npos);
        store.reset();
        // The cascade took the run's layers, samples and events with it.
        sqlite3* db = nullptr;
        QCOMPARE(sqlite3_open(path("delete.db").toUtf8().constData(), &db), SQLITE_OK);
        for (const char* table : { "run_layers", "memory_samples", "run_events" }) {
            sqlite3_stmt* s = nullptr;
            const std::string sql
                = std::string("SELECT count(*) FROM ") + table + " WHERE run_id = " + std::to_string(*a);
            QCOMPARE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK);
            QCOMPARE(sqlite3_step(s), SQLITE_ROW);
            QCOMPARE(sqlite3_column_int64(s, 0), 0);
            sqlite3_finalize(s);
        }
        sqlite3_close(db);
    }

    // Several connections, as the studio and the CLI would hold, writing at once: every run lands.
    void concurrentWritersAllLand()
    {
        const QString p = path("concurrent.db");
        QVERIFY(openStore(p));
        std::atomic<int> failures { 0 };
        std::vector<std::thread> writers;
        for (int w = 0; w < 4; ++w)
            writers.emplace_back([&, w] {
                auto s = RunStore::open(p.toStdString());
                if (!s.ok()) {
                    ++failures;
                    return;
                }
                for (int k = 0; k < 10; ++k)
                    if (!(*s)->addRun(sampleRun(w * 10 + k, 30, 500)).ok()) ++failures;
            });
        for (auto& t : writers)
            t.join();
        QCOMPARE(failures.load(), 0);
        auto store = openStore(p);
        QCOMPARE(store->runCount().value(), int64_t(40));
        QCOMPARE(store->integrityCheck().value(), std::string("ok"));
    }

    // Two dlayer processes recording into one file at the same moment: both runs land.
    void twoRecordingProcessesAtOnce()
    {
        // scripts/test-arm64.sh runs this under qemu-user, which cannot start another program here (no binfmt_misc).
        if (qEnvironmentVariableIsSet("DL_EMULATED")) QSKIP("under qemu-user: this test starts another program");
        const QString db = path("two.db");
        const QString cache = m_dir.filePath(QStringLiteral("packs"));
        const QStringList args = { QStringLiteral("run"),
            QStringLiteral(DL_SOURCE_DIR "/resources/models/darknet/yolov3-tiny.cfg"), QStringLiteral("--arch"),
            QStringLiteral("async"), QStringLiteral("--iterations"), QStringLiteral("1"), QStringLiteral("--warmup"),
            QStringLiteral("0"), QStringLiteral("--pack-dir"), cache, QStringLiteral("--record"), db };
        QProcess a, b;
        a.start(QStringLiteral(DL_DLAYER), args);
        b.start(QStringLiteral(DL_DLAYER), args);
        QVERIFY(a.waitForFinished(120000) && b.waitForFinished(120000));
        QVERIFY2(a.exitCode() == 0, a.readAllStandardError().constData());
        QVERIFY2(b.exitCode() == 0, b.readAllStandardError().constData());
        auto store = openStore(db);
        QVERIFY(store);
        QCOMPARE(store->runCount().value(), int64_t(2));
    }

    // Recorders killed with SIGKILL at random moments, a hundred times: the file stays sound and every run stored
    // before stays whole.
    void killedRecordersLoseNothing()
    {
        // scripts/test-arm64.sh runs this under qemu-user, which cannot start another program here (no binfmt_misc).
        if (qEnvironmentVariableIsSet("DL_EMULATED")) QSKIP("under qemu-user: this test starts another program");
        const QString db = path("killed.db");
        const QString cache = m_dir.filePath(QStringLiteral("packs"));
        const QStringList args
            = { QStringLiteral("run"), QStringLiteral(DL_SOURCE_DIR "/resources/models/darknet/yolov3-tiny.cfg"),
                  QStringLiteral("--arch"), QStringLiteral("two-stage"), QStringLiteral("--iterations"),
                  QStringLiteral("2"), QStringLiteral("--warmup"), QStringLiteral("0"), QStringLiteral("--pack-dir"),
                  cache, QStringLiteral("--record"), db };
        // Two whole runs first (the first also makes the pack): the runs that must survive, and how long one takes.
        QElapsedTimer timer;
        qint64 runMs = 0;
        for (int k = 0; k < 2; ++k) {
            QProcess p;
            timer.start();
            p.start(QStringLiteral(DL_DLAYER), args);
            QVERIFY(p.waitForFinished(120000));
            QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
            runMs = timer.elapsed();
        }
        auto store = openStore(db);
        QVERIFY(store);
        QCOMPARE(store->runCount().value(), int64_t(2));
        std::vector<std::string> before;
        for (int64_t id : { 1, 2 })
            before.push_back(runToJson(store->run(id).value()));
        store.reset();

        auto* rng = QRandomGenerator::global();
        int completed = 0;
        for (int k = 0; k < 100; ++k) {
            QProcess p;
            p.start(QStringLiteral(DL_DLAYER), args);
            QVERIFY(p.waitForStarted());
            // Anywhere from start-up to just past a whole run, so that some kills land inside the commit.
            QThread::usleep(static_cast<unsigned long>(rng->bounded(static_cast<int>(runMs * 1100 + 1))));
            ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
            QVERIFY(p.waitForFinished(60000));
            if (p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0) ++completed;
            auto s = openStore(db);
            QVERIFY2(s, "the store no longer opens");
            QCOMPARE(s->integrityCheck().value(), std::string("ok"));
        }
        store = openStore(db);
        QVERIFY(store);
        for (int64_t id : { 1, 2 })
            QCOMPARE(runToJson(store->run(id).value()), before[static_cast<size_t>(id - 1)]);
        // Every run that made it in is whole: its layers and events read back.
        auto list = store->listRuns();
        QVERIFY(list.ok());
        for (const auto& s : *list) {
            auto r = store->run(s.id);
            QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
            QCOMPARE(static_cast<int>(r->layers.size()), r->model.layers);
            QVERIFY(!r->events.empty());
        }
        qInfo("%d of 100 killed recorders had finished; %zu runs in the store", completed, list->size());
    }
};

QTEST_GUILESS_MAIN(TestRunStore)
#include "test_runstore.moc"
