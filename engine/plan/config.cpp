#include "plan/config.h"

#include "backend/backend.h"
#include "core/textfile.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace dl::plan {

namespace {
using json = nlohmann::ordered_json;
}

std::string configToJson(const RunConfig& c)
{
    json j;
    j["format"] = "dlayer-config";
    j["version"] = c.precision == Precision::F32 ? RunConfig::kVersionF32 : RunConfig::kVersion;
    j["model"] = { { "hash", c.modelHash }, { "name", c.modelName }, { "layers", c.layers } };
    j["backend"] = c.backend;
    j["arch"] = archName(c.arch);
    j["split_bytes"] = c.splitBytes;
    j["staging_bytes"] = c.stagingBytes;
    j["resident_layers"] = c.resident;
    j["precision"] = precisionName(c.precision);
    j["budget_bytes"] = c.budgetBytes;
    j["predicted_latency_ms"] = c.predictedLatencyMs;
    j["predicted_weights_bytes"] = c.predictedWeightsBytes;
    j["predicted_peak_bytes"] = c.predictedPeakBytes;
    j["lower_bound_ms"] = c.lowerBoundMs;
    j["made"] = { { "by", c.madeBy }, { "at", c.madeAt }, { "profile", c.profile } };
    return j.dump(2) + "\n";
}

Result<RunConfig> configFromJson(const std::string& text)
{
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return invalid("not a JSON document");
    if (!j.is_object() || !j.contains("format") || !j["format"].is_string() || j["format"] != "dlayer-config")
        return invalid("not a dlayer configuration (its \"format\" is not \"dlayer-config\")");
    auto need = [&](const json& o, const char* where, const char* key, auto check, const char* what) -> Result<json> {
        auto it = o.find(key);
        if (it == o.end()) return invalid(std::string(where) + key + ": missing");
        if (!check(*it)) return invalid(std::string(where) + key + ": expected " + what);
        return *it;
    };
    auto isUint
        = [](const json& v) { return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0); };
    auto isNum = [](const json& v) { return v.is_number(); };
    auto isStr = [](const json& v) { return v.is_string(); };
    auto isObj = [](const json& v) { return v.is_object(); };
    RunConfig c;
    DL_ASSIGN(json version, need(j, "", "version", isUint, "a whole number"));
    if (version.get<int64_t>() != RunConfig::kVersion && version.get<int64_t>() != RunConfig::kVersionF32)
        return invalid("configuration version " + std::to_string(version.get<int64_t>()) + ", this build reads version "
            + std::to_string(RunConfig::kVersion) + ": make it again with this dlayer");
    DL_ASSIGN(json model, need(j, "", "model", isObj, "an object"));
    DL_ASSIGN(json hash, need(model, "model.", "hash", isStr, "a string"));
    c.modelHash = hash.get<std::string>();
    if (c.modelHash.empty()) return invalid("model.hash: empty");
    if (model.contains("name") && model["name"].is_string()) c.modelName = model["name"].get<std::string>();
    DL_ASSIGN(json layers, need(model, "model.", "layers", isUint, "a whole number"));
    if (!layers.is_number_integer() || layers.get<int64_t>() > std::numeric_limits<int>::max())
        return invalid("model.layers: expected a whole number of layers");
    c.layers = static_cast<int>(layers.get<int64_t>());
    DL_ASSIGN(json backend, need(j, "", "backend", isStr, "a string"));
    c.backend = backend.get<std::string>();
    if (!parseBackend(c.backend).ok()) return invalid("backend: '" + c.backend + "' is not a backend (cpu or cuda)");
    DL_ASSIGN(json arch, need(j, "", "arch", isStr, "a string"));
    auto a = parseArch(arch.get<std::string>());
    if (!a) return invalid("arch: unknown architecture '" + arch.get<std::string>() + "'");
    c.arch = *a;
    DL_ASSIGN(json split, need(j, "", "split_bytes", isUint, "a whole number of bytes"));
    c.splitBytes = split.get<uint64_t>();
    DL_ASSIGN(json staging, need(j, "", "staging_bytes", isUint, "a whole number of bytes"));
    c.stagingBytes = staging.get<uint64_t>();
    DL_ASSIGN(json resident,
        need(
            j, "", "resident_layers", [](const json& v) { return v.is_array(); }, "an array"));
    for (size_t i = 0; i < resident.size(); ++i) {
        if (!isUint(resident[i]) || resident[i].get<int64_t>() >= c.layers)
            return invalid(
                "resident_layers[" + std::to_string(i) + "]: expected a layer index below " + std::to_string(c.layers));
        c.resident.push_back(resident[i].get<int>());
    }
    if (j.contains("precision")) {
        const auto p = j["precision"].is_string() ? parsePrecision(j["precision"].get<std::string>()) : std::nullopt;
        if (!p) return invalid("precision: expected \"fp32\" or \"fp16\"");
        c.precision = *p;
    }
    DL_ASSIGN(json budget, need(j, "", "budget_bytes", isUint, "a whole number of bytes"));
    c.budgetBytes = budget.get<uint64_t>();
    DL_ASSIGN(json latency, need(j, "", "predicted_latency_ms", isNum, "a number"));
    c.predictedLatencyMs = latency.get<double>();
    DL_ASSIGN(json weights, need(j, "", "predicted_weights_bytes", isUint, "a whole number of bytes"));
    c.predictedWeightsBytes = weights.get<uint64_t>();
    DL_ASSIGN(json peak, need(j, "", "predicted_peak_bytes", isUint, "a whole number of bytes"));
    c.predictedPeakBytes = peak.get<uint64_t>();
    if (j.contains("lower_bound_ms") && j["lower_bound_ms"].is_number()) c.lowerBoundMs = j["lower_bound_ms"];
    if (j.contains("made") && j["made"].is_object()) {
        const json& m = j["made"];
        if (m.contains("by") && m["by"].is_string()) c.madeBy = m["by"];
        if (m.contains("at") && m["at"].is_string()) c.madeAt = m["at"];
        if (m.contains("profile") && m["profile"].is_string()) c.profile = m["profile"];
    }
    return c;
}

Result<RunConfig> readConfigFile(const std::string& path)
{
    auto text = readTextFile(path);
    if (!text.ok()) return makeError(ErrorCode::Io, "cannot read the configuration '" + path + "'");
    auto c = configFromJson(*text);
    if (!c.ok()) return invalid("the configuration '" + path + "' is not valid: " + c.error().message);
    return c;
}

Status writeConfigFile(const std::string& path, const RunConfig& c)
{
    return writeTextFileReplacing(path, configToJson(c));
}

} // namespace dl::plan
