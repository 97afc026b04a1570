// A run as a JSON document: `dlayer runs DB export ID` writes it, `dlayer runs DB import FILE` reads it back into
// another store. Format: docs/run-store.md.

#include "runstore.h"

#include <nlohmann/json.hpp>

namespace dl::store {

namespace {

using json = nlohmann::ordered_json;

constexpr int kExportFormat = 1;

const char* const kTagKeys[kMemTagCount] = { "resident_weights", "staging", "activations", "workspace" };

const char* eventKindName(EventKind k)
{
    switch (k) {
    case EventKind::Begin:
        return "begin";
    case EventKind::End:
        return "end";
    case EventKind::Stall:
        return "stall";
    }
    return "begin";
}

// Reads fields of one object with their path in every message: "runs export: layers[3].read_ms: expected a number".
class Reader
{
public:
    Reader(const json& j, std::string where)
        : m_j(j)
        , m_where(std::move(where))
    { }

    const json* field(const char* key, json::value_t type, bool required = true)
    {
        if (!m_error.empty()) return nullptr;
        if (!m_j.is_object()) {
            fail(m_where, "expected an object");
            return nullptr;
        }
        auto it = m_j.find(key);
        if (it == m_j.end()) {
            if (required) fail(at(key), "missing");
            return nullptr;
        }
        const bool number = type == json::value_t::number_float;
        const bool integer = type == json::value_t::number_integer;
        const bool okType = number ? it->is_number() : integer ? it->is_number_integer() : it->type() == type;
        if (!okType) {
            fail(at(key),
                std::string("expected ")
                    + (number                               ? "a number"
                            : integer                       ? "a whole number"
                            : type == json::value_t::string ? "a string"
                            : type == json::value_t::array  ? "an array"
                                                            : "an object"));
            return nullptr;
        }
        return &*it;
    }
    std::string str(const char* key, bool required = true)
    {
        const json* v = field(key, json::value_t::string, required);
        return v ? v->get<std::string>() : std::string();
    }
    double num(const char* key, bool required = true)
    {
        const json* v = field(key, json::value_t::number_float, required);
        return v ? v->get<double>() : 0.0;
    }
    int64_t i64(const char* key, bool required = true)
    {
        const json* v = field(key, json::value_t::number_integer, required);
        return v ? v->get<int64_t>() : 0;
    }
    std::string at(const std::string& key) const { return m_where.empty() ? key : m_where + "." + key; }
    void fail(const std::string& where, const std::string& why)
    {
        if (m_error.empty()) m_error = where + ": " + why;
    }
    const std::string& error() const { return m_error; }

private:
    const json& m_j;
    std::string m_where;
    std::string m_error;
};

} // namespace

std::string runToJson(const Run& r)
{
    json j;
    j["format"] = "dlayer-run";
    j["version"] = kExportFormat;
    j["model"] = { { "hash", r.model.hash }, { "name", r.model.name }, { "path", r.model.path },
        { "bytes", r.model.bytes }, { "layers", r.model.layers } };
    j["device"] = { { "host", r.device.host }, { "backend", r.device.backend }, { "cpu", r.device.cpu },
        { "gpu", r.device.gpu }, { "disk_mb_per_s", r.device.diskMBps } };
    if (!r.uuid.empty()) j["uuid"] = r.uuid;
    j["arch"] = r.arch;
    j["config"] = json::parse(r.configJson, nullptr, false);
    if (j["config"].is_discarded()) j["config"] = r.configJson;
    j["started_ms"] = r.startedMs;
    j["finished_ms"] = r.finishedMs;
    j["status"] = runStatusName(r.status);
    j["error"] = r.error;
    j["iterations"] = r.iterations;
    j["latency_ms"] = { { "median", r.latencyMedianMs }, { "min", r.latencyMinMs }, { "max", r.latencyMaxMs },
        { "mean", r.latencyMeanMs } };
    j["stall_ms"] = r.stallMs;
    json peaks = json::object();
    for (size_t k = 0; k < kMemTagCount; ++k)
        peaks[kTagKeys[k]] = r.peakByTag[k];
    j["memory"] = { { "by_tag", peaks }, { "peak_total", r.peakTotal }, { "rss_peak", r.rssPeak } };
    j["read"] = { { "bytes", r.readBytes }, { "mb_per_s", r.readMBps } };
    j["report"] = json::parse(r.reportJson, nullptr, false);
    if (j["report"].is_discarded()) j["report"] = r.reportJson;
    json layers = json::array();
    for (const auto& l : r.layers) {
        json layer = { { "layer", l.layer }, { "name", l.name }, { "bytes", l.bytes }, { "read_ms", l.readMs },
            { "copy_ms", l.copyMs }, { "kernel_ms", l.kernelMs }, { "stall_ms", l.stallMs },
            { "resident", l.resident } };
        if (l.boundBytes) layer["bound_bytes"] = l.boundBytes;
        layers.push_back(std::move(layer));
    }
    j["layers"] = std::move(layers);
    // Samples and events as rows of numbers: a run of 10 000 events stays a few hundred KB.
    json samples = json::array();
    for (const auto& m : r.samples)
        samples.push_back({ m.timeNs, m.bytes[0], m.bytes[1], m.bytes[2], m.bytes[3] });
    j["memory_samples"] = { { "columns", { "time_ns", kTagKeys[0], kTagKeys[1], kTagKeys[2], kTagKeys[3] } },
        { "rows", std::move(samples) } };
    json events = json::array();
    for (const auto& e : r.events)
        events.push_back(
            { eventKindName(e.kind), stageName(e.stage), e.layer, e.iteration, e.beginNs, e.endNs, e.bytes });
    j["events"] = { { "columns", { "kind", "stage", "layer", "iteration", "begin_ns", "end_ns", "bytes" } },
        { "rows", std::move(events) } };
    return j.dump(2);
}

Result<Run> runFromJson(const std::string& text)
{
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return invalid("not a JSON document");
    if (!j.is_object() || !j.contains("format") || !j["format"].is_string() || j["format"] != "dlayer-run")
        return invalid("not a run export (its \"format\" is not \"dlayer-run\")");
    Reader top(j, "");
    const int64_t version = top.i64("version");
    if (!top.error().empty()) return invalid(top.error());
    if (version != kExportFormat)
        return invalid("run export version " + std::to_string(version) + ", this build reads version "
            + std::to_string(kExportFormat));
    Run r;
    auto sub = [&](const char* key) -> const json& {
        static const json none;
        const json* v = top.field(key, json::value_t::object);
        return v ? *v : none;
    };
    const json& model = sub("model");
    const json& device = sub("device");
    const json& latency = sub("latency_ms");
    const json& memory = sub("memory");
    if (!top.error().empty()) return invalid(top.error());
    Reader m(model, "model"), d(device, "device"), l(latency, "latency_ms"), mem(memory, "memory");
    r.model = { m.str("hash"), m.str("name"), m.str("path"), m.i64("bytes"), static_cast<int>(m.i64("layers")) };
    r.device = { d.str("host"), d.str("backend"), d.str("cpu"), d.str("gpu"), d.num("disk_mb_per_s") };
    r.latencyMedianMs = l.num("median");
    r.latencyMinMs = l.num("min");
    r.latencyMaxMs = l.num("max");
    r.latencyMeanMs = l.num("mean");
    r.peakTotal = mem.i64("peak_total");
    r.rssPeak = mem.i64("rss_peak");
    const json* byTag = mem.field("by_tag", json::value_t::object);
    for (const Reader* rd : { &m, &d, &l, &mem })
        if (!rd->error().empty()) return invalid(rd->error());
    Reader tags(*byTag, "memory.by_tag");
    for (size_t k = 0; k < kMemTagCount; ++k)
        r.peakByTag[k] = tags.i64(kTagKeys[k]);
    if (!tags.error().empty()) return invalid(tags.error());
    r.arch = top.str("arch");
    // "uuid" came with schema 3: an export from before gets a new one when it is imported.
    if (j.contains("uuid")) {
        r.uuid = top.str("uuid");
        if (!isRunUuid(r.uuid)) return invalid("the run's 'uuid' is not a UUID");
    }
    r.startedMs = top.i64("started_ms");
    r.finishedMs = top.i64("finished_ms");
    const std::string status = top.str("status");
    r.error = top.str("error");
    r.iterations = static_cast<int>(top.i64("iterations"));
    r.stallMs = top.num("stall_ms");
    // "read" came with schema 2; an export from before has none, and its report says what was read (dlayer's
    // "read" object, the studio's "read_mb_per_s"), as the migration to schema 2 takes it.
    if (const json* read = top.field("read", json::value_t::object, false)) {
        Reader rd(*read, "read");
        r.readBytes = rd.i64("bytes");
        r.readMBps = rd.num("mb_per_s");
        if (!rd.error().empty()) return invalid(rd.error());
    } else if (j.contains("report") && j["report"].is_object()) {
        const json& rep = j["report"];
        if (rep.contains("read") && rep["read"].is_object()) {
            const json& rd = rep["read"];
            if (rd.contains("bytes") && rd["bytes"].is_number_integer()) r.readBytes = rd["bytes"].get<int64_t>();
            if (rd.contains("mb_per_s") && rd["mb_per_s"].is_number()) r.readMBps = rd["mb_per_s"].get<double>();
        } else if (rep.contains("read_mb_per_s") && rep["read_mb_per_s"].is_number()) {
            r.readMBps = rep["read_mb_per_s"].get<double>();
        }
    }
    if (!top.error().empty()) return invalid(top.error());
    DL_ASSIGN(r.status, parseRunStatus(status));
    const json& config = j.contains("config") ? j["config"] : json::object();
    r.configJson = config.is_string() ? config.get<std::string>() : config.dump();
    const json& report = j.contains("report") ? j["report"] : json::object();
    r.reportJson = report.is_string() ? report.get<std::string>() : report.dump();

    const json* layers = top.field("layers", json::value_t::array);
    if (!top.error().empty()) return invalid(top.error());
    for (size_t i = 0; i < layers->size(); ++i) {
        Reader lr((*layers)[i], "layers[" + std::to_string(i) + "]");
        LayerStats s { static_cast<int>(lr.i64("layer")), lr.str("name"), lr.i64("bytes"), lr.num("read_ms"),
            lr.num("copy_ms"), lr.num("kernel_ms"), lr.num("stall_ms"), false };
        const json* resident = lr.field("resident", json::value_t::boolean);
        if (!lr.error().empty()) return invalid(lr.error());
        s.resident = resident->get<bool>();
        s.boundBytes = lr.i64("bound_bytes", false);
        if (!lr.error().empty()) return invalid(lr.error());
        if (s.boundBytes < 0) return invalid("layers[" + std::to_string(i) + "].bound_bytes: negative");
        r.layers.push_back(std::move(s));
    }
    auto rows = [&](const char* key) -> Result<const json*> {
        const json* o = top.field(key, json::value_t::object);
        if (!top.error().empty()) return invalid(top.error());
        Reader rr(*o, key);
        const json* v = rr.field("rows", json::value_t::array);
        if (!rr.error().empty()) return invalid(rr.error());
        return v;
    };
    DL_ASSIGN(const json* samples, rows("memory_samples"));
    for (size_t i = 0; i < samples->size(); ++i) {
        const json& row = (*samples)[i];
        if (!row.is_array() || row.size() != 1 + kMemTagCount)
            return invalid("memory_samples.rows[" + std::to_string(i) + "]: expected 5 whole numbers");
        MemorySample s;
        for (size_t k = 0; k <= kMemTagCount; ++k) {
            if (!row[k].is_number_integer())
                return invalid("memory_samples.rows[" + std::to_string(i) + "]: expected 5 whole numbers");
            (k == 0 ? s.timeNs : s.bytes[k - 1]) = row[k].get<int64_t>();
        }
        r.samples.push_back(s);
    }
    DL_ASSIGN(const json* events, rows("events"));
    for (size_t i = 0; i < events->size(); ++i) {
        const json& row = (*events)[i];
        const std::string where = "events.rows[" + std::to_string(i) + "]";
        if (!row.is_array() || row.size() != 7 || !row[0].is_string() || !row[1].is_string())
            return invalid(where + ": expected [kind, stage, layer, iteration, begin_ns, end_ns, bytes]");
        for (size_t k = 2; k < 7; ++k)
            if (!row[k].is_number_integer()) return invalid(where + ": expected whole numbers after kind and stage");
        StoredEvent e;
        const std::string kind = row[0].get<std::string>(), stage = row[1].get<std::string>();
        bool knownKind = false, knownStage = false;
        for (EventKind k : { EventKind::Begin, EventKind::End, EventKind::Stall })
            if (kind == eventKindName(k)) e.kind = k, knownKind = true;
        for (size_t s = 0; s < kStageCount; ++s)
            if (stage == stageName(static_cast<Stage>(s))) e.stage = static_cast<Stage>(s), knownStage = true;
        if (!knownKind || !knownStage) return invalid(where + ": unknown kind '" + kind + "' or stage '" + stage + "'");
        const int64_t layer = row[2].get<int64_t>(), iteration = row[3].get<int64_t>();
        if (layer < INT32_MIN || layer > INT32_MAX || iteration < INT32_MIN || iteration > INT32_MAX)
            return invalid(where + ": layer or iteration out of range");
        e.layer = static_cast<int32_t>(layer);
        e.iteration = static_cast<int32_t>(iteration);
        e.beginNs = row[4].get<int64_t>();
        e.endNs = row[5].get<int64_t>();
        if (row[6].get<int64_t>() < 0) return invalid(where + ": negative bytes");
        e.bytes = static_cast<uint64_t>(row[6].get<int64_t>());
        r.events.push_back(e);
    }
    return r;
}

} // namespace dl::store
