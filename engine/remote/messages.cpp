#include "remote/messages.h"

#include "pipeline/arch.h"

#include <algorithm>
#include <limits>

namespace dl::remote {

namespace {

// Keys a run request may carry; anything else is refused rather than ignored.
const char* const kRequestKeys[] = { "model", "arch", "staging_bytes", "resident_layers", "budget_bytes", "split_bytes",
    "warmup", "iterations", "continuous", "threads", "seed", "input_shapes", "memory_limit_bytes", "read" };

bool isSha256(const std::string& s)
{
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

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

Json runRequestToJson(const RunSpec& s)
{
    Json j;
    j["model"] = s.modelHash;
    if (s.arch) j["arch"] = archName(*s.arch);
    if (s.stagingBytes) j["staging_bytes"] = s.stagingBytes;
    if (!s.resident.empty()) j["resident_layers"] = s.resident;
    if (s.budgetBytes) j["budget_bytes"] = s.budgetBytes;
    if (s.splitBytes) j["split_bytes"] = *s.splitBytes;
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

Result<RunSpec> runSpecFromRequest(const Json& j, const std::string& modelPath)
{
    DL_ASSIGN(const std::string hash, requestedModel(j));
    for (const auto& [key, value] : j.items())
        if (std::none_of(std::begin(kRequestKeys), std::end(kRequestKeys), [&](const char* k) { return key == k; }))
            return invalid("a run request does not take '" + key.substr(0, 64) + "'");
    RunSpec s;
    s.model = modelPath;
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

Json eventsToJson(const std::vector<TraceEvent>& events, uint64_t dropped)
{
    Json rows = Json::array();
    for (const auto& e : events)
        rows.push_back(
            { static_cast<int>(e.kind), static_cast<int>(e.stage), e.layer, e.iteration, e.beginNs, e.endNs, e.bytes });
    return { { "events", rows }, { "dropped", dropped } };
}

Result<EventBatchBody> eventsFromJson(const Json& body)
{
    if (!body.is_object() || !body.contains("events") || !body["events"].is_array())
        return invalid("an events batch is an object with an 'events' list");
    const Json& rows = body["events"];
    if (rows.size() > kMaxArrayItems)
        return invalid("an events batch holds more than " + std::to_string(kMaxArrayItems));
    EventBatchBody out;
    out.events.reserve(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
        const Json& r = rows[i];
        const bool shaped = r.is_array() && r.size() == 7
            && std::all_of(r.begin(), r.end(), [](const Json& v) { return v.is_number_integer(); });
        if (!shaped) return invalid("event " + std::to_string(i) + " of the batch is not 7 whole numbers");
        const int64_t kind = r[0].get<int64_t>(), stage = r[1].get<int64_t>(), layer = r[2].get<int64_t>(),
                      iteration = r[3].get<int64_t>();
        if (kind < 0 || kind > static_cast<int>(EventKind::Stall) || stage < 0
            || stage >= static_cast<int64_t>(kStageCount) || layer < -1 || layer > std::numeric_limits<int>::max()
            || iteration < -1 || iteration > std::numeric_limits<int>::max() || r[6].get<int64_t>() < 0)
            return invalid("event " + std::to_string(i) + " of the batch is out of range");
        out.events.push_back(
            traceEvent(static_cast<EventKind>(kind), static_cast<Stage>(stage), static_cast<int>(layer),
                static_cast<int>(iteration), r[4].get<int64_t>(), r[5].get<int64_t>(), r[6].get<uint64_t>()));
    }
    if (body.contains("dropped")) {
        if (!body["dropped"].is_number_unsigned()) return invalid("an events batch's 'dropped' is not a count");
        out.dropped = body["dropped"].get<uint64_t>();
    }
    return out;
}

} // namespace dl::remote
