#include "session/runreport.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <unistd.h>

namespace dl {

namespace {

using json = nlohmann::ordered_json;

const char* const kStageKeys[] = { "read", "copy", "kernel" };

json quartilesJson(const RunReport::Quartiles& q)
{
    return { { "median", q.median }, { "q1", q.q1 }, { "q3", q.q3 } };
}

json pairsJson(const std::vector<std::pair<double, double>>& pairs)
{
    json a = json::array();
    for (const auto& [x, y] : pairs)
        a.push_back({ x, y });
    return a;
}

// Reads typed fields out of one JSON object, remembering the first field of the wrong type (named by its path).
class Reader
{
public:
    Reader(const json& j, std::string path, std::optional<std::string>& error)
        : m_j(j)
        , m_path(std::move(path))
        , m_error(error)
    { }
    bool has(const char* key) const { return m_j.is_object() && m_j.contains(key) && !m_j[key].is_null(); }
    template <typename T> void get(const char* key, T& out)
    {
        if (!has(key)) return;
        const json& v = m_j[key];
        bool ok;
        if constexpr (std::is_same_v<T, bool>)
            ok = v.is_boolean();
        else if constexpr (std::is_same_v<T, std::string>)
            ok = v.is_string();
        else if constexpr (std::is_floating_point_v<T>)
            ok = v.is_number();
        else if constexpr (std::is_unsigned_v<T>)
            ok = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
        else
            ok = v.is_number_integer();
        if (!ok) return bad(key);
        out = v.get<T>();
    }
    template <typename T> void get(const char* key, std::optional<T>& out)
    {
        if (!has(key)) return;
        T v {};
        get(key, v);
        out = v;
    }
    Reader child(const char* key)
    {
        if (has(key) && !m_j[key].is_object()) bad(key);
        return Reader(has(key) && m_j[key].is_object() ? m_j[key] : s_empty, m_path + key + ".", m_error);
    }
    const json& raw(const char* key) const { return has(key) ? m_j[key] : s_empty; }
    void bad(const char* key)
    {
        if (!m_error) m_error = m_path + key;
    }
    void pairs(const char* key, std::vector<std::pair<double, double>>& out)
    {
        if (!has(key)) return;
        for (const auto& p : m_j[key]) {
            if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) return bad(key);
            out.emplace_back(p[0].get<double>(), p[1].get<double>());
        }
    }
    void quartiles(const char* key, RunReport::Quartiles& q)
    {
        Reader r = child(key);
        r.get("median", q.median);
        r.get("q1", q.q1);
        r.get("q3", q.q3);
    }

private:
    static inline const json s_empty = json::object();
    const json& m_j;
    std::string m_path;
    std::optional<std::string>& m_error;
};

std::string cpuModel()
{
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
            const auto colon = line.find(':');
            const auto start = colon == std::string::npos ? colon : line.find_first_not_of(" \t", colon + 1);
            if (start != std::string::npos) return line.substr(start);
        }
    return "unknown CPU";
}

uint64_t memTotalBytes()
{
    std::ifstream f("/proc/meminfo");
    std::string key;
    uint64_t kb = 0;
    while (f >> key >> kb) {
        if (key == "MemTotal:") return kb * 1024;
        f.ignore(256, '\n');
    }
    return 0;
}

} // namespace

DeviceIdentity thisDevice()
{
    DeviceIdentity d;
    char buf[256] = {};
    d.host = ::gethostname(buf, sizeof buf - 1) == 0 ? buf : "unknown";
    d.cpu = cpuModel();
    d.memoryBytes = memTotalBytes();
    return d;
}

double RunReport::effectiveReadMBps() const
{
    if (!read) return 0;
    if (read->device && read->device->mbPerS && *read->device->mbPerS > 0) return *read->device->mbPerS;
    return read->mbPerS;
}

void setLatencies(RunReport& r, std::vector<double> times)
{
    r.latenciesMs = times;
    r.latencyMedianMs = r.latencyMinMs = r.latencyMaxMs = 0;
    if (times.empty()) return;
    std::sort(times.begin(), times.end());
    const size_t n = times.size();
    r.latencyMedianMs = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    r.latencyMinMs = times.front();
    r.latencyMaxMs = times.back();
}

std::string reportToJson(const RunReport& r, int indent)
{
    json j;
    j["schema"] = r.schema;
    j["status"] = r.status;
    if (!r.error.empty()) j["error"] = r.error;
    j["model"] = r.model;
    j["model_hash"] = r.modelHash;
    if (r.streaming()) j["pack"] = r.pack;
    j["arch"] = r.arch;
    j["device"] = { { "host", r.device.host }, { "cpu", r.device.cpu }, { "memory_bytes", r.device.memoryBytes },
        { "backend", r.device.backend }, { "gpu", r.device.gpu } };
    j["source"] = r.source;
    if (r.config)
        j["config"] = { { "file", r.config->file }, { "predicted_latency_ms", r.config->predictedLatencyMs },
            { "predicted_peak_bytes", r.config->predictedPeakBytes } };
    j["threads"] = r.threads;
    j["iterations"] = r.iterations;
    j["warmup"] = r.warmup;
    j["continuous"] = r.continuous;
    if (r.budgetBytes) j["budget_bytes"] = r.budgetBytes;
    j["latency_ms"] = { { "median", r.latencyMedianMs }, { "min", r.latencyMinMs }, { "max", r.latencyMaxMs } };
    j["latencies_ms"] = r.latenciesMs;
    if (r.streaming()) {
        j["layers"] = r.layers;
        j["split_bytes"] = r.splitBytes;
        j["layers_split"] = r.layersSplit;
        j["staging_bytes"] = r.stagingBytes;
        j["resident_layers"] = r.residentAll ? json("all") : json(r.residentLayers);
        j["streamed_layers"] = r.streamedLayers;
        j["largest_layer_bytes"] = r.largestLayerBytes;
    }
    const RunReport::Memory& m = r.memory;
    json byTag = json::object();
    for (size_t t = 0; t < kMemTagCount; ++t)
        byTag[memTagName(static_cast<MemTag>(t))] = m.byTag[t];
    j["memory"] = { { "weights_bytes", m.weightsBytes }, { "model_weight_bytes", m.modelWeightBytes },
        { "activations_bytes", m.activationsBytes }, { "activations_sum_bytes", m.activationsSumBytes },
        { "activations_lower_bound_bytes", m.activationsLowerBoundBytes }, { "workspace_bytes", m.workspaceBytes },
        { "peak_bytes", m.peakBytes }, { "by_tag", byTag }, { "rss_peak_bytes", m.rssPeakBytes },
        { "rss_peak_is_run_only", m.rssPeakIsRunOnly }, { "rss_setup_peak_bytes", m.rssSetupPeakBytes },
        { "huge_pages", m.hugePages }, { "huge_page_bytes", m.hugePageBytes ? json(*m.hugePageBytes) : json() } };
    if (r.read) {
        const RunReport::Read& rd = *r.read;
        j["read"] = { { "bytes", rd.bytes }, { "seconds", rd.seconds }, { "mb_per_s", rd.mbPerS },
            { "direct_io", rd.directIo }, { "reader", rd.reader }, { "verify", rd.verify },
            { "inline", rd.inlineReads } };
        if (rd.device)
            j["read"]["device"]
                = { { "name", rd.device->name }, { "bytes", rd.device->bytes }, { "busy_ms", rd.device->busyMs },
                      { "mb_per_s", rd.device->mbPerS ? json(*rd.device->mbPerS) : json() } };
    }
    if (r.pairedDisk) {
        const auto& d = *r.pairedDisk;
        j["paired_disk"] = { { "rate_by", d.rateBy }, { "buffer_bytes", d.bufferBytes },
            { "disk_mb_per_s", { { "median", d.diskMBpsMedian } } },
            { "read_pct_of_disk", quartilesJson(d.readPctOfDisk) }, { "pairs_mb_per_s", pairsJson(d.pairsMBps) } };
    }
    if (r.pairedPreload) {
        const auto& p = *r.pairedPreload;
        j["paired_preload"] = {
            { "latency_ms", { { "median", p.latencyMedianMs }, { "min", p.latencyMinMs }, { "max", p.latencyMaxMs } } },
            { "overhead_pct", quartilesJson(p.overheadPct) }, { "pairs_ms", pairsJson(p.pairsMs) }, { "twin", p.twin }
        };
    }
    {
        const RunReport::Precision& p = r.precision;
        j["precision"] = { { "weights", p.weights }, { "compute", p.compute }, { "model_half", p.modelHalf },
            { "layers_widened", p.layersWidened }, { "stored_bytes", p.storedBytes }, { "bound_bytes", p.boundBytes } };
        if (!p.computeWhy.empty()) j["precision"]["compute_why"] = p.computeWhy;
        if (!p.widenPath.empty()) j["precision"]["widen"] = p.widenPath;
    }
    {
        json fallbacks = json::array();
        for (const auto& f : r.compute.fallbacks)
            fallbacks.push_back({ { "layer", f.layer }, { "name", f.name }, { "ops", f.ops } });
        j["compute"]
            = { { "backend", r.compute.backend }, { "fallback_layers", fallbacks }, { "graphs", r.compute.graphs } };
        if (r.compute.measuredKernels)
            j["compute"]["measured"] = { { "kernels", r.compute.measuredKernels }, { "ms", r.compute.measuredMs } };
    }
    j["stall_ms"] = r.stallMs;
    j["copy_ms"] = r.copyMs;
    json stalls = json::object();
    for (size_t k = 0; k < 3; ++k)
        stalls[kStageKeys[k]] = r.stallMsByStage[k];
    j["stall_ms_by_stage"] = stalls;
    j["outputs"] = json::array();
    for (const auto& o : r.outputs)
        j["outputs"].push_back(
            { { "name", o.name }, { "dtype", o.dtype }, { "shape", o.shape }, { "sha256", o.sha256 } });
    return j.dump(indent);
}

// The measurements of a report: memory, reads and the paired passes.
static void readMeasurements(Reader& in, RunReport& r)
{
    {
        Reader m = in.child("memory");
        RunReport::Memory& mem = r.memory;
        m.get("weights_bytes", mem.weightsBytes);
        m.get("model_weight_bytes", mem.modelWeightBytes);
        m.get("activations_bytes", mem.activationsBytes);
        m.get("activations_sum_bytes", mem.activationsSumBytes);
        m.get("activations_lower_bound_bytes", mem.activationsLowerBoundBytes);
        m.get("workspace_bytes", mem.workspaceBytes);
        m.get("peak_bytes", mem.peakBytes);
        Reader t = m.child("by_tag");
        for (size_t k = 0; k < kMemTagCount; ++k)
            t.get(memTagName(static_cast<MemTag>(k)), mem.byTag[k]);
        m.get("rss_peak_bytes", mem.rssPeakBytes);
        m.get("rss_peak_is_run_only", mem.rssPeakIsRunOnly);
        m.get("rss_setup_peak_bytes", mem.rssSetupPeakBytes);
        m.get("huge_pages", mem.hugePages);
        m.get("huge_page_bytes", mem.hugePageBytes);
    }
    if (in.has("read")) {
        Reader rd = in.child("read");
        RunReport::Read read;
        rd.get("bytes", read.bytes);
        rd.get("seconds", read.seconds);
        rd.get("mb_per_s", read.mbPerS);
        rd.get("direct_io", read.directIo);
        rd.get("reader", read.reader);
        rd.get("verify", read.verify);
        rd.get("inline", read.inlineReads);
        if (rd.has("device")) {
            Reader d = rd.child("device");
            RunReport::DeviceRead dev;
            d.get("name", dev.name);
            d.get("bytes", dev.bytes);
            d.get("busy_ms", dev.busyMs);
            d.get("mb_per_s", dev.mbPerS);
            read.device = dev;
        }
        r.read = read;
    } else if (in.has("read_mb_per_s")) { // the studio's flat form before the schema
        RunReport::Read read;
        in.get("read_mb_per_s", read.mbPerS);
        in.get("reader", read.reader);
        r.read = read;
    }
    if (in.has("paired_disk")) {
        Reader d = in.child("paired_disk");
        RunReport::PairedDisk pd;
        d.get("rate_by", pd.rateBy);
        d.get("buffer_bytes", pd.bufferBytes);
        d.child("disk_mb_per_s").get("median", pd.diskMBpsMedian);
        d.quartiles("read_pct_of_disk", pd.readPctOfDisk);
        d.pairs("pairs_mb_per_s", pd.pairsMBps);
        r.pairedDisk = pd;
    }
    if (in.has("paired_preload")) {
        Reader p = in.child("paired_preload");
        RunReport::PairedPreload pp;
        Reader l = p.child("latency_ms");
        l.get("median", pp.latencyMedianMs);
        l.get("min", pp.latencyMinMs);
        l.get("max", pp.latencyMaxMs);
        p.quartiles("overhead_pct", pp.overheadPct);
        p.pairs("pairs_ms", pp.pairsMs);
        p.get("twin", pp.twin);
        r.pairedPreload = pp;
    }
}

Result<RunReport> reportFromJson(const std::string& text)
{
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return invalid("a run report is a JSON object");
    std::optional<std::string> error;
    Reader in(j, "", error);
    RunReport r;
    r.schema = 0; // a document without one predates the schema
    in.get("schema", r.schema);
    if (r.schema > RunReport::kSchema)
        return invalid("the run report has schema " + std::to_string(r.schema) + "; this build reads up to "
            + std::to_string(RunReport::kSchema) + ": update the program");
    in.get("status", r.status);
    in.get("error", r.error);
    in.get("model", r.model);
    in.get("model_hash", r.modelHash);
    in.get("pack", r.pack);
    r.arch = "in-memory";
    in.get("arch", r.arch);
    {
        Reader d = in.child("device");
        d.get("host", r.device.host);
        d.get("cpu", r.device.cpu);
        d.get("memory_bytes", r.device.memoryBytes);
        d.get("backend", r.device.backend);
        d.get("gpu", r.device.gpu);
    }
    in.get("source", r.source);
    if (in.has("config")) {
        Reader c = in.child("config");
        RunReport::ConfigRef ref;
        c.get("file", ref.file);
        c.get("predicted_latency_ms", ref.predictedLatencyMs);
        c.get("predicted_peak_bytes", ref.predictedPeakBytes);
        r.config = ref;
    }
    in.get("threads", r.threads);
    in.get("iterations", r.iterations);
    in.get("warmup", r.warmup);
    in.get("continuous", r.continuous);
    in.get("budget_bytes", r.budgetBytes);
    // The studio's reports before the schema kept the median as a plain number.
    if (in.has("latency_ms") && in.raw("latency_ms").is_number()) {
        in.get("latency_ms", r.latencyMedianMs);
    } else {
        Reader l = in.child("latency_ms");
        l.get("median", r.latencyMedianMs);
        l.get("min", r.latencyMinMs);
        l.get("max", r.latencyMaxMs);
    }
    if (in.has("latencies_ms")) {
        for (const auto& v : in.raw("latencies_ms"))
            if (v.is_number())
                r.latenciesMs.push_back(v.get<double>());
            else
                in.bad("latencies_ms");
    }
    in.get("layers", r.layers);
    in.get("split_bytes", r.splitBytes);
    in.get("layers_split", r.layersSplit);
    in.get("staging_bytes", r.stagingBytes);
    if (in.has("resident_layers")) {
        const json& res = in.raw("resident_layers");
        if (res == "all")
            r.residentAll = true;
        else if (res.is_array())
            for (const auto& v : res)
                if (v.is_number_integer())
                    r.residentLayers.push_back(v.get<int>());
                else
                    in.bad("resident_layers");
        else
            in.bad("resident_layers");
    }
    in.get("streamed_layers", r.streamedLayers);
    in.get("largest_layer_bytes", r.largestLayerBytes);
    readMeasurements(in, r);
    {
        Reader p = in.child("precision");
        p.get("weights", r.precision.weights);
        p.get("compute", r.precision.compute);
        p.get("compute_why", r.precision.computeWhy);
        p.get("model_half", r.precision.modelHalf);
        p.get("layers_widened", r.precision.layersWidened);
        p.get("stored_bytes", r.precision.storedBytes);
        p.get("bound_bytes", r.precision.boundBytes);
        p.get("widen", r.precision.widenPath);
    }
    {
        Reader c = in.child("compute");
        c.get("backend", r.compute.backend);
        c.get("graphs", r.compute.graphs);
        {
            Reader m = c.child("measured");
            m.get("kernels", r.compute.measuredKernels);
            m.get("ms", r.compute.measuredMs);
        }
        if (c.has("fallback_layers")) {
            const json& list = c.raw("fallback_layers");
            if (!list.is_array()) c.bad("fallback_layers");
            for (size_t i = 0; list.is_array() && i < list.size(); ++i) {
                const json& f = list[i];
                if (!f.is_object()) {
                    c.bad("fallback_layers");
                    continue;
                }
                RunReport::Fallback fb;
                Reader rf(f, "compute.fallback_layers[].", error);
                rf.get("layer", fb.layer);
                rf.get("name", fb.name);
                if (rf.has("ops")) {
                    if (!rf.raw("ops").is_array()) rf.bad("ops");
                    for (const auto& op : rf.raw("ops"))
                        if (op.is_string())
                            fb.ops.push_back(op.get<std::string>());
                        else
                            rf.bad("ops");
                }
                r.compute.fallbacks.push_back(std::move(fb));
            }
        }
    }
    in.get("stall_ms", r.stallMs);
    in.get("copy_ms", r.copyMs);
    {
        Reader s = in.child("stall_ms_by_stage");
        for (size_t k = 0; k < 3; ++k)
            s.get(kStageKeys[k], r.stallMsByStage[k]);
    }
    if (in.has("outputs")) {
        if (!in.raw("outputs").is_array())
            in.bad("outputs");
        else
            for (const auto& o : in.raw("outputs")) {
                RunReport::Output out;
                Reader ro(o, "outputs[].", error);
                ro.get("name", out.name);
                ro.get("dtype", out.dtype);
                ro.get("sha256", out.sha256);
                if (ro.has("shape")) {
                    for (const auto& d : ro.raw("shape"))
                        if (d.is_number_integer())
                            out.shape.push_back(d.get<int64_t>());
                        else
                            ro.bad("shape");
                }
                r.outputs.push_back(std::move(out));
            }
    }
    if (error) return invalid("the run report's field '" + *error + "' has the wrong type");
    return r;
}

} // namespace dl
