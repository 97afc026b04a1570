#include "remote/messages.h"

#include "pipeline/arch.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace dl::remote {

bool isSha256(const std::string& s)
{
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

namespace {

// Keys a run request may carry; anything else is refused rather than ignored.
const char* const kRequestKeys[] = { "model", "arch", "staging_bytes", "resident_layers", "budget_bytes", "split_bytes",
    "warmup", "iterations", "continuous", "threads", "seed", "input_shapes", "memory_limit_bytes", "read", "model_file",
    "weights_file", "model_name", "live", "precision", "backend" };

// A whole number in [lo, hi] at `key` into `out`, when present; `out` is left as it is otherwise.
template <typename T> Status number(const Json& j, const char* key, int64_t lo, int64_t hi, T& out)
{
    if (!j.contains(key)) return {};
    const Json& v = j[key];
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
        return invalid(std::string("the run request's '") + key + "' is not a whole number from " + std::to_string(lo)
            + " to " + std::to_string(hi));
    out = static_cast<T>(v.get<int64_t>());
    return {};
}

} // namespace

Json runRequestToJson(const RunSpec& s, const std::string& modelFile, const std::string& weightsFile)
{
    Json j;
    j["model"] = s.modelHash;
    if (!modelFile.empty()) j["model_file"] = modelFile;
    if (!weightsFile.empty()) j["weights_file"] = weightsFile;
    if (s.arch) j["arch"] = archName(*s.arch);
    if (s.stagingBytes) j["staging_bytes"] = s.stagingBytes;
    if (!s.resident.empty()) j["resident_layers"] = s.resident;
    if (s.budgetBytes) j["budget_bytes"] = s.budgetBytes;
    if (s.splitBytes) j["split_bytes"] = *s.splitBytes;
    if (s.precision) j["precision"] = precisionName(*s.precision);
    if (s.backend) j["backend"] = backendName(*s.backend);
    j["warmup"] = s.warmup;
    j["iterations"] = s.iterations;
    j["continuous"] = s.continuous;
    j["threads"] = s.threads;
    j["seed"] = s.seed;
    if (s.memoryLimitBytes) j["memory_limit_bytes"] = s.memoryLimitBytes;
    Json shapes = Json::object();
    for (const auto& [name, shape] : s.inputShapes)
        shapes[name] = shape;
    if (!shapes.empty()) j["input_shapes"] = shapes;
    j["read"] = { { "direct", s.read.direct }, { "uring", s.read.uring }, { "queue_depth", s.read.queueDepth },
        { "chunk_bytes", s.read.chunkBytes }, { "verify", verifyName(s.read.verify) },
        { "read_thread", s.read.readThread } };
    return j;
}

Result<std::string> requestedModel(const Json& request)
{
    if (!request.is_object() || !request.contains("model") || !request["model"].is_string()
        || !isSha256(request["model"].get<std::string>()))
        return invalid("a run request names its model by sha256 (64 lowercase hex digits)");
    return request["model"].get<std::string>();
}

Result<RequestedFiles> requestedFiles(const Json& request)
{
    DL_ASSIGN(const std::string hash, requestedModel(request));
    RequestedFiles f { hash, {} };
    for (auto [key, to] : { std::pair { "model_file", &f.model }, std::pair { "weights_file", &f.weights } }) {
        if (!request.contains(key)) continue;
        const Json& v = request[key];
        if (!v.is_string() || !isSha256(v.get<std::string>()))
            return invalid(std::string("a run request's '") + key + "' is not a sha256");
        *to = v.get<std::string>();
    }
    return f;
}

Result<RunSpec> runSpecFromRequest(const Json& j, const std::string& modelPath, const std::string& weightsPath)
{
    DL_ASSIGN(const std::string hash, requestedModel(j));
    DL_TRY(requestedFiles(j));
    for (const auto& item : j.items()) {
        const std::string& key = item.key();
        if (std::none_of(std::begin(kRequestKeys), std::end(kRequestKeys), [&](const char* k) { return key == k; }))
            return invalid("a run request does not take '" + key.substr(0, 64) + "'");
    }
    RunSpec s;
    s.model = modelPath;
    s.weights = weightsPath;
    s.modelHash = hash;
    s.source = "agent";
    if (j.contains("arch")) {
        const auto arch = j["arch"].is_string() ? parseArch(j["arch"].get<std::string>()) : std::nullopt;
        if (!arch) return invalid("the run request's 'arch' is not an architecture");
        s.arch = *arch;
    }
    constexpr int64_t kMaxBytes = std::numeric_limits<int64_t>::max();
    DL_TRY(number(j, "staging_bytes", 0, kMaxBytes, s.stagingBytes));
    DL_TRY(number(j, "budget_bytes", 0, kMaxBytes, s.budgetBytes));
    if (j.contains("split_bytes")) {
        uint64_t split = 0;
        DL_TRY(number(j, "split_bytes", 0, kMaxBytes, split));
        s.splitBytes = split;
    }
    if (j.contains("precision")) {
        const auto p = j["precision"].is_string() ? parsePrecision(j["precision"].get<std::string>()) : std::nullopt;
        if (!p) return invalid("the run request's 'precision' is not fp32 or fp16");
        s.precision = *p;
    }
    if (j.contains("backend")) {
        auto b = j["backend"].is_string() ? parseBackend(j["backend"].get<std::string>())
                                          : Result<BackendKind>(invalid("not a string"));
        if (!b.ok()) return invalid("the run request's 'backend' is not cpu or cuda");
        s.backend = *b;
    }
    DL_TRY(number(j, "warmup", 0, 1000, s.warmup));
    DL_TRY(number(j, "iterations", 1, 1000000, s.iterations));
    DL_TRY(number(j, "threads", 0, 1024, s.threads));
    DL_TRY(number(j, "seed", 0, kMaxBytes, s.seed));
    DL_TRY(number(j, "memory_limit_bytes", 0, kMaxBytes, s.memoryLimitBytes));
    if (j.contains("continuous")) {
        if (!j["continuous"].is_boolean()) return invalid("the run request's 'continuous' is not true or false");
        s.continuous = j["continuous"].get<bool>();
    }
    if (j.contains("resident_layers")) {
        const Json& r = j["resident_layers"];
        if (!r.is_array() || r.size() > kMaxArrayItems)
            return invalid("the run request's 'resident_layers' is not a list");
        for (const auto& l : r) {
            if (!l.is_number_integer() || l.get<int64_t>() < 0 || l.get<int64_t>() > std::numeric_limits<int>::max())
                return invalid("the run request's 'resident_layers' holds something other than a layer index");
            s.resident.push_back(l.get<int>());
        }
    }
    if (j.contains("input_shapes")) {
        const Json& shapes = j["input_shapes"];
        if (!shapes.is_object()) return invalid("the run request's 'input_shapes' is not a map of input names");
        for (const auto& [name, dims] : shapes.items()) {
            if (!dims.is_array() || dims.empty() || dims.size() > 16)
                return invalid("the run request's shape of '" + name.substr(0, 64) + "' is not a list of dimensions");
            Shape shape;
            for (const auto& d : dims) {
                if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > (int64_t(1) << 24))
                    return invalid("the run request's shape of '" + name.substr(0, 64) + "' has a bad dimension");
                shape.push_back(d.get<int64_t>());
            }
            s.inputShapes[name] = shape;
        }
    }
    if (j.contains("read")) {
        const Json& r = j["read"];
        if (!r.is_object()) return invalid("the run request's 'read' is not an object");
        for (const char* key : { "direct", "uring", "read_thread" })
            if (r.contains(key) && !r[key].is_boolean())
                return invalid(std::string("the run request's 'read.") + key + "' is not true or false");
        s.read.direct = r.value("direct", s.read.direct);
        s.read.uring = r.value("uring", s.read.uring);
        s.read.readThread = r.value("read_thread", s.read.readThread);
        DL_TRY(number(r, "queue_depth", 1, 1024, s.read.queueDepth));
        DL_TRY(number(r, "chunk_bytes", 4096, int64_t(1) << 30, s.read.chunkBytes));
        if (r.contains("verify")) {
            const auto verify = r["verify"].is_string() ? parseVerify(r["verify"].get<std::string>()) : std::nullopt;
            if (!verify) return invalid("the run request's 'read.verify' is not first, always or off");
            s.read.verify = *verify;
        }
    }
    if (s.budgetBytes && (s.stagingBytes || !s.resident.empty()))
        return invalid("a run request gives either a budget or staging and resident layers");
    return s;
}

namespace {

bool wholeNumbers(const Json& row, size_t n)
{
    return row.is_array() && row.size() == n
        && std::all_of(row.begin(), row.end(), [](const Json& v) { return v.is_number_integer(); });
}

// A list at `key` of at most kMaxArrayItems, else Invalid; an empty list when absent.
Result<const Json*> listAt(const Json& body, const char* key)
{
    static const Json empty = Json::array();
    if (!body.contains(key)) return &empty;
    const Json& v = body[key];
    if (!v.is_array()) return invalid(std::string("a live batch's '") + key + "' is not a list");
    if (v.size() > kMaxArrayItems)
        return invalid(std::string("a live batch's '") + key + "' holds more than " + std::to_string(kMaxArrayItems));
    return &v;
}

Status count(const Json& body, const char* key, int& out)
{
    if (!body.contains(key)) return {};
    const Json& v = body[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > std::numeric_limits<int>::max())
        return invalid(std::string("'") + key + "' is not a count");
    out = v.get<int>();
    return {};
}

template <typename T> Status bytesAt(const Json& body, const char* key, T& out)
{
    if (!body.contains(key)) return {};
    const Json& v = body[key];
    if (!v.is_number_unsigned()) return invalid(std::string("the set-up's '") + key + "' is not a byte count");
    out = static_cast<T>(v.get<uint64_t>());
    return {};
}

} // namespace

namespace {

// Events and counter samples travel as fixed-width little-endian records in one CBOR byte string each: a batch of
// thousands is a copy on either end, not thousands of CBOR items (what the agent's overhead on inference is made of).
constexpr size_t kEventRecord = 2 + 4 + 4 + 8 + 8 + 8; // kind, stage, layer, iteration, begin, end, bytes
constexpr size_t kCounterRecord = 8 + 1 + 8 * kMemTagCount + 8; // time, has memory, bytes by tag, read MB/s

template <typename T> void put(std::vector<uint8_t>& out, T v)
{
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(b, b + sizeof(T));
    out.insert(out.end(), b, b + sizeof(T));
}

template <typename T> T take(const uint8_t*& p)
{
    uint8_t b[sizeof(T)];
    std::memcpy(b, p, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(b, b + sizeof(T));
    p += sizeof(T);
    T v;
    std::memcpy(&v, b, sizeof(T));
    return v;
}

// The byte string at `key` as `record`-sized records, at most kMaxArrayItems of them.
Result<const std::vector<uint8_t>*> recordsAt(const Json& body, const char* key, size_t record)
{
    static const std::vector<uint8_t> none;
    if (!body.contains(key)) return &none;
    const Json& v = body[key];
    if (!v.is_binary()) return invalid(std::string("a live batch's '") + key + "' is not a byte string");
    const auto& bytes = v.get_binary();
    if (bytes.size() % record != 0)
        return invalid(std::string("a live batch's '") + key + "' is not a whole number of records");
    if (bytes.size() / record > kMaxArrayItems)
        return invalid(std::string("a live batch's '") + key + "' holds more than " + std::to_string(kMaxArrayItems));
    return &bytes;
}

} // namespace

Json batchToJson(const LiveBatch& b)
{
    std::vector<uint8_t> events;
    events.reserve(b.events.size() * kEventRecord);
    for (const auto& e : b.events) {
        put(events, static_cast<uint8_t>(e.kind));
        put(events, static_cast<uint8_t>(e.stage));
        put(events, static_cast<int32_t>(e.layer));
        put(events, static_cast<int32_t>(e.iteration));
        put(events, e.beginNs);
        put(events, e.endNs);
        put(events, e.bytes);
    }
    std::vector<uint8_t> counters;
    counters.reserve(b.counters.size() * kCounterRecord);
    for (const auto& c : b.counters) {
        put(counters, c.timeNs);
        put(counters, static_cast<uint8_t>(c.hasMemory ? 1 : 0));
        for (size_t k = 0; k < kMemTagCount; ++k)
            put(counters, static_cast<uint64_t>(c.memoryBytes[k]));
        put(counters, c.readMBps);
    }
    Json latencies = Json::array();
    for (const auto& [it, ms] : b.latencies)
        latencies.push_back({ it, ms });
    Json rss = Json::array();
    for (const auto& [ns, bytes] : b.rss)
        rss.push_back({ ns, bytes });
    return { { "events", Json::binary(std::move(events)) }, { "counters", Json::binary(std::move(counters)) },
        { "latencies", latencies }, { "rss", rss }, { "done", b.iterationsDone }, { "planned", b.iterationsPlanned },
        { "dropped", b.dropped } };
}

Result<LiveBatch> batchFromJson(const Json& body)
{
    if (!body.is_object() || !body.contains("events")) return invalid("a live batch is an object with its 'events'");
    LiveBatch out;
    DL_ASSIGN(const std::vector<uint8_t>* events, recordsAt(body, "events", kEventRecord));
    const uint8_t* p = events->data();
    out.events.reserve(events->size() / kEventRecord);
    for (size_t i = 0; i < events->size() / kEventRecord; ++i) {
        const uint8_t kind = take<uint8_t>(p), stage = take<uint8_t>(p);
        const int32_t layer = take<int32_t>(p), iteration = take<int32_t>(p);
        const int64_t begin = take<int64_t>(p), end = take<int64_t>(p);
        const uint64_t bytes = take<uint64_t>(p);
        if (kind > static_cast<int>(EventKind::Stall) || stage >= kStageCount || layer < -1 || iteration < -1)
            return invalid("event " + std::to_string(i) + " of the batch is out of range");
        out.events.push_back(
            traceEvent(static_cast<EventKind>(kind), static_cast<Stage>(stage), layer, iteration, begin, end, bytes));
    }
    DL_ASSIGN(const std::vector<uint8_t>* counters, recordsAt(body, "counters", kCounterRecord));
    p = counters->data();
    for (size_t i = 0; i < counters->size() / kCounterRecord; ++i) {
        CounterSample c;
        c.timeNs = take<int64_t>(p);
        const uint8_t has = take<uint8_t>(p);
        for (size_t k = 0; k < kMemTagCount; ++k)
            c.memoryBytes[k] = static_cast<size_t>(take<uint64_t>(p));
        c.readMBps = take<double>(p);
        if (has > 1 || !std::isfinite(c.readMBps))
            return invalid("counter sample " + std::to_string(i) + " of the batch is malformed");
        c.hasMemory = has == 1;
        out.counters.push_back(c);
    }
    DL_ASSIGN(const Json* latencies, listAt(body, "latencies"));
    for (size_t i = 0; i < latencies->size(); ++i) {
        const Json& r = (*latencies)[i];
        if (!r.is_array() || r.size() != 2 || !r[0].is_number_integer() || !r[1].is_number() || r[0].get<int64_t>() < 0
            || r[0].get<int64_t>() > std::numeric_limits<int>::max())
            return invalid("latency " + std::to_string(i) + " of the batch is not [iteration, ms]");
        out.latencies.emplace_back(r[0].get<int>(), r[1].get<double>());
    }
    DL_ASSIGN(const Json* rss, listAt(body, "rss"));
    for (size_t i = 0; i < rss->size(); ++i) {
        if (!wholeNumbers((*rss)[i], 2)) return invalid("RSS sample " + std::to_string(i) + " is not [ns, bytes]");
        out.rss.emplace_back((*rss)[i][0].get<int64_t>(), (*rss)[i][1].get<int64_t>());
    }
    DL_TRY(count(body, "done", out.iterationsDone));
    DL_TRY(count(body, "planned", out.iterationsPlanned));
    if (body.contains("dropped")) {
        if (!body["dropped"].is_number_unsigned()) return invalid("a live batch's 'dropped' is not a count");
        out.dropped = body["dropped"].get<uint64_t>();
    }
    return out;
}

Json setupToJson(const SessionSetup& s, int64_t originNs)
{
    Json j;
    j["model_hash"] = s.modelHash;
    if (s.arch) j["arch"] = archName(*s.arch);
    j["layer_names"] = s.layerNames;
    j["layer_bytes"] = s.layerBytes;
    j["layer_stored"] = s.layerStored;
    j["layer_bound_bytes"] = s.layerBoundBytes;
    j["precision"] = precisionName(s.precision);
    j["resident"] = s.resident;
    j["staging_bytes"] = s.stagingBytes;
    j["resident_bytes"] = s.residentBytes;
    j["budget_bytes"] = s.budgetBytes;
    j["split_bytes"] = s.splitBytes;
    j["model_weight_bytes"] = s.modelWeightBytes;
    j["preload_weight_bytes"] = s.preloadWeightBytes;
    j["reader"] = s.reader;
    j["direct_io"] = s.directIo;
    j["output_names"] = s.outputNames;
    j["origin_ns"] = originNs;
    return j;
}

Result<RemoteSetup> setupFromJson(const Json& j)
{
    if (!j.is_object()) return invalid("a run's set-up is not an object");
    RemoteSetup out;
    SessionSetup& s = out.setup;
    auto strings = [&](const char* key, std::vector<std::string>& to) -> Status {
        if (!j.contains(key)) return {};
        const Json& v = j[key];
        if (!v.is_array() || v.size() > kMaxArrayItems
            || !std::all_of(v.begin(), v.end(), [](const Json& x) { return x.is_string(); }))
            return invalid(std::string("the set-up's '") + key + "' is not a list of names");
        to = v.get<std::vector<std::string>>();
        return {};
    };
    if (j.contains("model_hash")) {
        if (!j["model_hash"].is_string()) return invalid("the set-up's 'model_hash' is not text");
        s.modelHash = j["model_hash"].get<std::string>();
    }
    if (j.contains("arch")) {
        const auto arch = j["arch"].is_string() ? parseArch(j["arch"].get<std::string>()) : std::nullopt;
        if (!arch) return invalid("the set-up's 'arch' is not an architecture");
        s.arch = *arch;
    }
    DL_TRY(strings("layer_names", s.layerNames));
    DL_TRY(strings("output_names", s.outputNames));
    DL_TRY(strings("layer_stored", s.layerStored));
    if (!s.layerStored.empty() && s.layerStored.size() != s.layerNames.size())
        return invalid("the set-up's 'layer_stored' does not name a type for each layer");
    if (j.contains("precision")) {
        const auto p = j["precision"].is_string() ? parsePrecision(j["precision"].get<std::string>()) : std::nullopt;
        if (!p) return invalid("the set-up's 'precision' is not fp32 or fp16");
        s.precision = *p;
    }
    if (j.contains("layer_bytes")) {
        const Json& v = j["layer_bytes"];
        if (!v.is_array() || v.size() != s.layerNames.size() || !std::all_of(v.begin(), v.end(), [](const Json& x) {
                return x.is_number_integer() && x.get<int64_t>() >= 0;
            }))
            return invalid("the set-up's 'layer_bytes' is not a byte count for each layer");
        s.layerBytes = v.get<std::vector<int64_t>>();
    }
    if (j.contains("layer_bound_bytes")) {
        const Json& v = j["layer_bound_bytes"];
        if (!v.is_array() || (!v.empty() && v.size() != s.layerNames.size())
            || !std::all_of(
                v.begin(), v.end(), [](const Json& x) { return x.is_number_integer() && x.get<int64_t>() >= 0; }))
            return invalid("the set-up's 'layer_bound_bytes' is not a byte count for each layer");
        s.layerBoundBytes = v.get<std::vector<int64_t>>();
    }
    if (j.contains("resident")) {
        const Json& v = j["resident"];
        if (!v.is_array() || v.size() != s.layerNames.size()
            || !std::all_of(v.begin(), v.end(), [](const Json& x) { return x.is_boolean(); }))
            return invalid("the set-up's 'resident' is not true or false for each layer");
        s.resident = v.get<std::vector<bool>>();
    }
    DL_TRY(bytesAt(j, "staging_bytes", s.stagingBytes));
    DL_TRY(bytesAt(j, "resident_bytes", s.residentBytes));
    DL_TRY(bytesAt(j, "budget_bytes", s.budgetBytes));
    DL_TRY(bytesAt(j, "split_bytes", s.splitBytes));
    DL_TRY(bytesAt(j, "model_weight_bytes", s.modelWeightBytes));
    DL_TRY(bytesAt(j, "preload_weight_bytes", s.preloadWeightBytes));
    if (j.contains("reader")) {
        if (!j["reader"].is_string()) return invalid("the set-up's 'reader' is not text");
        s.reader = j["reader"].get<std::string>();
    }
    if (j.contains("direct_io")) {
        if (!j["direct_io"].is_boolean()) return invalid("the set-up's 'direct_io' is not true or false");
        s.directIo = j["direct_io"].get<bool>();
    }
    if (j.contains("origin_ns")) {
        if (!j["origin_ns"].is_number_integer()) return invalid("the set-up's 'origin_ns' is not a time");
        out.originNs = j["origin_ns"].get<int64_t>();
    }
    return out;
}

Json summaryToJson(const ModelSummary& s)
{
    Json j;
    j["format"] = s.format;
    j["opset"] = s.opset;
    j["nodes"] = s.nodeCount;
    j["weight_bytes"] = s.weightBytes;
    j["model_weight_bytes"] = s.sourceWeightBytes;
    j["parameters"] = s.parameterCount;
    j["flops"] = s.flops;
    j["activation_bytes"] = s.activationBytes;
    for (const auto* list : { &s.inputs, &s.outputs })
        for (const auto& t : *list)
            j[list == &s.inputs ? "inputs" : "outputs"].push_back(
                { { "name", t.name }, { "dtype", dtypeName(t.dtype) }, { "shape", t.shape } });
    j["layers"] = Json::array();
    for (const auto& l : s.layers)
        j["layers"].push_back({ { "index", l.index }, { "name", l.name }, { "ops", l.opTypes },
            { "weight_bytes", l.weightBytes }, { "output_shape", l.outputShape }, { "flops", l.flops } });
    return j;
}

Json progressToJson(const Progress& p)
{
    return { { "phase", static_cast<int>(p.phase) }, { "percent", p.percent }, { "done", p.done }, { "total", p.total },
        { "detail", p.detail } };
}

Result<Progress> progressFromJson(const Json& j)
{
    const bool shaped = j.is_object() && j.contains("phase") && j["phase"].is_number_integer()
        && j["phase"].get<int64_t>() >= 0 && j["phase"].get<int64_t>() <= static_cast<int>(Progress::Phase::SettingUp)
        && j.value("percent", Json(-1)).is_number_integer() && j.value("done", Json(0)).is_number_unsigned()
        && j.value("total", Json(0)).is_number_unsigned() && j.value("detail", Json("")).is_string();
    if (!shaped) return invalid("a progress message is malformed");
    Progress p;
    p.phase = static_cast<Progress::Phase>(j["phase"].get<int>());
    p.percent = static_cast<int>(std::clamp<int64_t>(j.value("percent", int64_t(-1)), -1, 100));
    p.done = j.value("done", size_t(0));
    p.total = j.value("total", size_t(0));
    p.detail = j.value("detail", std::string());
    return p;
}

} // namespace dl::remote
