#include "runbuild.h"

#include "plan/profiles.h"
#include "trace/chrometrace.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <unistd.h>

namespace dl::store {

DeviceInfo deviceInfoOf(const DeviceIdentity& device)
{
    DeviceInfo d;
    d.host = device.host;
    d.backend = device.backend;
    d.cpu = device.cpu;
    d.gpu = device.gpu;
    return d;
}

Run runFromOutcome(const SessionOutcome& out)
{
    const RunReport& rep = out.report;
    const SessionSetup& setup = out.setup;
    Run r;
    r.model.hash = rep.modelHash;
    r.model.path = setup.modelPath.empty() ? rep.model : setup.modelPath;
    r.model.name = std::filesystem::path(r.model.path).filename().string();
    r.model.bytes = static_cast<int64_t>(setup.modelWeightBytes);
    r.model.layers = static_cast<int>(setup.layerNames.size());
    r.device = deviceInfoOf(rep.device);
    // Sequential reads run alone, nothing overlapping them: their rate is the device's own.
    if (rep.arch == "sequential") r.device.diskMBps = rep.effectiveReadMBps();
    r.arch = rep.arch;
    r.configJson = out.configJson;
    r.startedMs = out.startedMs;
    r.finishedMs = out.finishedMs;
    auto status = parseRunStatus(rep.status);
    r.status = status.ok() ? *status : RunStatus::Failed;
    r.error = rep.error;
    setLatencies(r, rep.latenciesMs);
    r.stallMs = rep.stallMs;
    for (size_t k = 0; k < kMemTagCount; ++k)
        r.peakByTag[k] = static_cast<int64_t>(rep.memory.byTag[k]);
    r.peakTotal = static_cast<int64_t>(rep.memory.peakBytes);
    r.rssPeak = static_cast<int64_t>(rep.memory.rssPeakBytes);
    if (rep.read) {
        r.readBytes = static_cast<int64_t>(rep.read->bytes);
        r.readMBps = rep.effectiveReadMBps();
    }
    r.reportJson = reportToJson(rep, -1);
    if (!out.events.empty())
        r.layers = layerStatsFromEvents(out.events, setup.layerNames, setup.layerBytes, setup.resident,
            out.firstIteration, out.endIteration, setup.layerBoundBytes);
    r.events = storedEvents(out.events);
    r.samples = memorySamples(out.timeline);
    return r;
}

std::vector<LayerStats> layerStatsFromEvents(const std::vector<TraceEvent>& events,
    const std::vector<std::string>& names, const std::vector<int64_t>& bytes, const std::vector<bool>& resident,
    int firstIteration, int lastIteration, const std::vector<int64_t>& boundBytes)
{
    const size_t n = names.size();
    std::vector<LayerStats> layers(n);
    for (size_t i = 0; i < n; ++i) {
        layers[i].layer = static_cast<int>(i);
        layers[i].name = names[i];
        layers[i].bytes = i < bytes.size() ? bytes[i] : 0;
        layers[i].resident = i < resident.size() && resident[i];
        if (i < boundBytes.size() && boundBytes[i] > layers[i].bytes) layers[i].boundBytes = boundBytes[i];
    }
    for (const auto& e : events) {
        if (e.kind == EventKind::Begin || e.layer < 0 || static_cast<size_t>(e.layer) >= n) continue;
        if (e.iteration < firstIteration || e.iteration >= lastIteration) continue;
        const double ms = static_cast<double>(e.endNs - e.beginNs) / 1e6;
        LayerStats& l = layers[static_cast<size_t>(e.layer)];
        if (e.kind == EventKind::Stall) {
            if (e.stage == Stage::Kernel) l.stallMs += ms;
        } else if (e.stage == Stage::Read) {
            l.readMs += ms;
        } else if (e.stage == Stage::Copy) {
            l.copyMs += ms;
        } else if (e.stage == Stage::Kernel) {
            l.kernelMs += ms;
        }
    }
    const double runs = std::max(1.0, static_cast<double>(lastIteration - firstIteration));
    for (auto& l : layers) {
        l.readMs /= runs;
        l.copyMs /= runs;
        l.kernelMs /= runs;
        l.stallMs /= runs;
    }
    return layers;
}

std::vector<StoredEvent> storedEvents(const std::vector<TraceEvent>& events)
{
    std::vector<StoredEvent> out;
    out.reserve(events.size());
    for (const auto& e : events)
        out.push_back({ e.kind, e.stage, static_cast<int32_t>(e.layer), e.iteration, e.beginNs, e.endNs, e.bytes });
    return out;
}

std::vector<MemorySample> memorySamples(const std::vector<MemoryLedger::Sample>& timeline)
{
    std::vector<MemorySample> out;
    out.reserve(timeline.size());
    for (const auto& s : timeline) {
        MemorySample m;
        m.timeNs = s.timeNs;
        for (size_t k = 0; k < kMemTagCount; ++k)
            m.bytes[k] = static_cast<int64_t>(s.bytes[k]);
        out.push_back(m);
    }
    return out;
}

TraceEvent traceEventOf(const StoredEvent& e)
{
    return traceEvent(e.kind, e.stage, e.layer, e.iteration, e.beginNs, e.endNs, e.bytes);
}

CounterSample counterSampleOf(const MemorySample& m)
{
    CounterSample c;
    c.timeNs = m.timeNs;
    c.hasMemory = true;
    for (size_t k = 0; k < kMemTagCount; ++k)
        c.memoryBytes[k] = static_cast<size_t>(std::max<int64_t>(0, m.bytes[k]));
    return c;
}

void setLatencies(Run& run, const std::vector<double>& timesMs)
{
    run.iterations = static_cast<int>(timesMs.size());
    if (timesMs.empty()) return;
    std::vector<double> sorted = timesMs;
    std::sort(sorted.begin(), sorted.end());
    const size_t n = sorted.size();
    run.latencyMedianMs = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    run.latencyMinMs = sorted.front();
    run.latencyMaxMs = sorted.back();
    double sum = 0;
    for (double t : sorted)
        sum += t;
    run.latencyMeanMs = sum / static_cast<double>(n);
}

Result<plan::CostModel> costModelFromRun(const Run& run)
{
    if (run.layers.empty()) return invalid("run " + std::to_string(run.id) + " has no per-layer times to profile from");
    std::vector<plan::ProfiledLayer> layers;
    uint64_t residentLayers = 0;
    for (const auto& l : run.layers) {
        layers.push_back({ l.name, static_cast<uint64_t>(l.bytes), l.readMs, l.copyMs, l.kernelMs,
            static_cast<uint64_t>(l.boundBytes) });
        if (l.resident) residentLayers += static_cast<uint64_t>(l.bound());
    }
    const auto report = nlohmann::json::parse(run.reportJson, nullptr, false);
    auto memory = [&](const char* key) -> uint64_t {
        if (!report.is_object() || !report.contains("memory") || !report["memory"].is_object()) return 0;
        const auto& m = report["memory"];
        return m.contains(key) && m[key].is_number_unsigned() ? m[key].get<uint64_t>() : 0;
    };
    const auto residentPeak = static_cast<uint64_t>(run.peakByTag[static_cast<size_t>(MemTag::ResidentWeights)]);
    const uint64_t pinned = residentPeak > residentLayers ? residentPeak - residentLayers : 0;
    return plan::costModelFromProfile(layers, pinned, memory("activations_bytes"), memory("workspace_bytes"));
}

Result<plan::CalibrationRun> calibrationRunOf(const Run& run)
{
    auto arch = parseArch(run.arch);
    if (!arch || (*arch != Arch::Sync && *arch != Arch::Async && *arch != Arch::TwoStage))
        return invalid("run " + std::to_string(run.id) + " (" + run.arch
            + ") cannot calibrate contention: only sync, async and two-stage runs read beside their kernels");
    if (run.status != RunStatus::Ok || run.layers.empty())
        return invalid("run " + std::to_string(run.id) + " did not finish with per-layer times");
    const auto c = nlohmann::json::parse(run.configJson, nullptr, false);
    if (!c.is_object()) return invalid("run " + std::to_string(run.id) + " has no configuration");
    plan::CalibrationRun r;
    r.config.arch = *arch;
    if (*arch != Arch::Sync && c.contains("staging_bytes") && c["staging_bytes"].is_number_unsigned())
        r.config.stagingBytes = c["staging_bytes"].get<uint64_t>() / (*arch == Arch::Async ? 2 : 1);
    if (c.contains("resident_layers") && c["resident_layers"].is_array())
        for (const auto& v : c["resident_layers"])
            if (v.is_number_integer()) r.config.resident.push_back(v.get<int>());
    r.latencyMs = run.latencyMedianMs;
    for (const auto& l : run.layers)
        r.kernelMs.push_back(l.kernelMs);
    return r;
}

Result<plan::PairedRun> pairedRunOf(const Run& run)
{
    DL_ASSIGN(plan::CalibrationRun c, calibrationRunOf(run));
    const auto report = nlohmann::json::parse(run.reportJson, nullptr, false);
    const auto noPairs = [&] {
        return invalid("run " + std::to_string(run.id)
            + " was not paired with a preloaded twin of its own layers (dlayer run --paired-preload --paired-split)");
    };
    if (!report.is_object() || !report.contains("paired_preload") || !report["paired_preload"].is_object())
        return noPairs();
    const auto& pp = report["paired_preload"];
    const auto number = [](const nlohmann::json& j, const char* a, const char* b) -> std::optional<double> {
        if (!j.contains(a) || !j[a].is_object() || !j[a].contains(b) || !j[a][b].is_number()) return std::nullopt;
        return j[a][b].get<double>();
    };
    const auto overhead = number(pp, "overhead_pct", "median");
    const auto twin = number(pp, "latency_ms", "median");
    if (!pp.contains("twin") || pp["twin"] != "the run's layers" || !overhead || !twin || !(*twin > 0))
        return noPairs();
    plan::PairedRun r;
    r.config = c.config;
    r.overheadFraction = *overhead / 100.0;
    r.twinMs = *twin;
    r.stallMs = report.contains("stall_ms") && report["stall_ms"].is_number() ? report["stall_ms"].get<double>() : 0.0;
    return r;
}

namespace {

plan::RecordedRun recordedRunOf(const RunSummary& r)
{
    return { r.id, r.modelHash, r.arch, r.device.host, r.device.cpu, r.status == RunStatus::Ok, r.splitBytes,
        r.precision, r.device.backend };
}

std::vector<plan::RecordedRun> recordedRuns(const std::vector<RunSummary>& list)
{
    std::vector<plan::RecordedRun> runs;
    runs.reserve(list.size());
    for (const auto& r : list)
        runs.push_back(recordedRunOf(r));
    return runs;
}

plan::CalibrationFacts calibrationFactsOf(const Run& run)
{
    plan::CalibrationFacts f;
    f.layers = run.layers.size();
    f.splitBytes = runSplitBytes(run);
    f.streamed = std::any_of(
        run.layers.begin(), run.layers.end(), [](const LayerStats& l) { return !l.resident && l.bytes > 0; });
    const auto report = nlohmann::json::parse(run.reportJson, nullptr, false);
    f.paired = report.is_object() && report.contains("paired_preload");
    f.pairedWithOwnLayers = f.paired && pairedRunOf(run).ok();
    return f;
}

} // namespace

Result<std::vector<int64_t>> profileRunIds(const RunStore& store, const std::string& modelHash,
    std::optional<uint64_t> onlySplit, const std::string& host, const std::string& precision,
    const std::string& backend)
{
    DL_ASSIGN(auto list, store.listRuns());
    return plan::chooseProfiles(recordedRuns(list), modelHash, onlySplit, host, precision, backend);
}

Result<std::optional<Run>> findCalibrationRun(const RunStore& store, const Run& profile, bool paired)
{
    DL_ASSIGN(auto list, store.listRuns());
    plan::RecordedRun self { profile.id, profile.model.hash, profile.arch, profile.device.host, profile.device.cpu,
        profile.status == RunStatus::Ok, runSplitBytes(profile), runPrecision(profile), profile.device.backend };
    for (const int64_t id : plan::calibrationCandidates(recordedRuns(list), self)) {
        // One that cannot be read (damaged, or deleted meanwhile) is passed over.
        auto loaded = store.run(id);
        if (!loaded.ok()) continue;
        if (plan::calibrates(calibrationFactsOf(*loaded), profile.layers.size(), self.splitBytes, paired))
            return std::optional<Run>(std::move(loaded).value());
    }
    return std::optional<Run>();
}

Result<std::vector<LoadedProfile>> loadProfiles(const RunStore& store, const ProfileQuery& q)
{
    DL_ASSIGN(auto ids, profileRunIds(store, q.modelHash, q.onlySplit, q.host, q.precision, q.backend));
    std::vector<LoadedProfile> out;
    std::string unusable;
    for (const int64_t id : ids) {
        auto run = store.run(id);
        if (!run.ok()) {
            unusable = run.error().message;
            continue;
        }
        LoadedProfile p;
        p.splitBytes = runSplitBytes(*run);
        // A whole-layer profile of another plan of the model (another engine build, another input shape) is not this
        // one's.
        if (q.layers && p.splitBytes == 0 && run->layers.size() != q.layers) {
            unusable = "run " + std::to_string(id) + " profiled " + std::to_string(run->layers.size())
                + " layers; this model plans " + std::to_string(q.layers) + " (another engine build or input shape)";
            continue;
        }
        auto model = costModelFromRun(*run);
        if (!model.ok()) {
            unusable = model.error().message;
            continue;
        }
        p.run = std::move(run).value();
        p.model = std::move(model).value();
        if (q.calibrate) {
            // A run that cannot calibrate the profile is left out, and the profile says so.
            DL_ASSIGN(auto cal, findCalibrationRun(store, p.run));
            if (cal) {
                auto input = calibrationRunOf(*cal);
                auto c = input.ok() ? plan::calibrate(p.model, *input) : Result<plan::Calibration>(input.error());
                if (c.ok()) {
                    p.model.contention = c->contention;
                    p.readCalibration = *c;
                    p.calibration = std::move(cal);
                } else {
                    p.notes.push_back("run " + std::to_string(cal->id)
                        + " does not calibrate the read contention: " + c.error().message);
                }
            }
            DL_ASSIGN(auto paired, findCalibrationRun(store, p.run, true));
            if (paired) {
                auto input = pairedRunOf(*paired);
                auto k = input.ok() ? plan::calibrateKernels(p.model, *input)
                                    : Result<plan::KernelCalibration>(input.error());
                if (k.ok()) {
                    p.model.contention.kernelMsPerMB = k->kernelMsPerMB;
                    p.kernelCalibration = *k;
                    p.pairedCalibration = std::move(paired);
                } else {
                    p.notes.push_back(
                        "run " + std::to_string(paired->id) + " does not calibrate the kernels: " + k.error().message);
                }
            }
        }
        out.push_back(std::move(p));
    }
    if (out.empty())
        return invalid(unusable.empty() ? plan::noProfileMessage(store.path(), q.onlySplit, q.precision) : unusable);
    return out;
}

Status writeRunChromeTrace(const Run& run, const std::string& path)
{
    std::vector<std::string> names;
    for (const auto& l : run.layers)
        names.push_back(l.name);
    int64_t origin = INT64_MAX;
    for (const auto& e : run.events)
        origin = std::min(origin, e.beginNs);
    for (const auto& m : run.samples)
        origin = std::min(origin, m.timeNs);
    ChromeTraceWriter::Options o;
    o.processName = run.model.name + " run " + std::to_string(run.id) + " (" + run.arch + ")";
    o.originNs = origin == INT64_MAX ? 0 : origin;
    DL_ASSIGN(auto writer, ChromeTraceWriter::open(path, names, o));
    // Events and samples in time order, as a live run delivers them.
    size_t s = 0;
    auto samplesUntil = [&](int64_t t) {
        for (; s < run.samples.size() && run.samples[s].timeNs <= t; ++s)
            writer->onCounters(counterSampleOf(run.samples[s]));
    };
    for (const auto& e : run.events) {
        const TraceEvent t = traceEventOf(e);
        samplesUntil(eventTimeNs(t));
        writer->onEvent(t);
    }
    samplesUntil(INT64_MAX);
    return writer->close();
}

Status writeRunLayersCsv(const Run& run, const std::string& path)
{
    const std::string tmp = path + ".part";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f) return Error { ErrorCode::Io, "cannot write '" + path + "': " + std::strerror(errno) };
    bool ok = std::fprintf(f, "layer,name,bytes,resident,read_ms,copy_ms,kernel_ms,stall_ms\n") > 0;
    for (const auto& l : run.layers) {
        std::string name = l.name; // quoted, with quotes doubled, as RFC 4180 has it
        for (size_t i = name.find('"'); i != std::string::npos; i = name.find('"', i + 2))
            name.insert(i, 1, '"');
        ok = ok
            && std::fprintf(f, "%d,\"%s\",%lld,%d,%.6f,%.6f,%.6f,%.6f\n", l.layer, name.c_str(),
                   static_cast<long long>(l.bytes), l.resident ? 1 : 0, l.readMs, l.copyMs, l.kernelMs, l.stallMs)
                > 0;
    }
    ok = std::fclose(f) == 0 && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        std::remove(tmp.c_str());
        return Error { ErrorCode::Io, "cannot write '" + path + "': " + why };
    }
    return {};
}

std::string runPrecision(const Run& run)
{
    const auto c = nlohmann::json::parse(run.configJson, nullptr, false);
    if (!c.is_object() || !c.contains("precision") || !c["precision"].is_string()) return "fp32";
    return c["precision"].get<std::string>();
}

uint64_t runSplitBytes(const Run& run)
{
    const auto c = nlohmann::json::parse(run.configJson, nullptr, false);
    if (!c.is_object() || !c.contains("split_bytes") || !c["split_bytes"].is_number_unsigned()) return 0;
    return c["split_bytes"].get<uint64_t>();
}

} // namespace dl::store
