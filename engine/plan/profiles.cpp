#include "plan/profiles.h"

#include <algorithm>

namespace dl::plan {

namespace {

bool pipelined(const std::string& arch)
{
    return arch == "sync" || arch == "async" || arch == "two-stage";
}

} // namespace

std::vector<int64_t> chooseProfiles(const std::vector<RecordedRun>& runs, const std::string& modelHash,
    std::optional<uint64_t> onlySplit, const std::string& host, const std::string& precision,
    const std::string& backend)
{
    std::vector<uint64_t> splits;
    std::vector<int64_t> ids;
    // Sequential runs first, then the other streaming ones; newest first within each.
    for (const bool sequential : { true, false })
        for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
            const RecordedRun& r = *it;
            if (r.modelHash != modelHash || !r.ok || r.arch == "in-memory" || r.arch == "preload"
                || (r.arch == "sequential") != sequential || (!host.empty() && r.host != host)
                || r.precision != precision || r.backend != backend)
                continue;
            if (onlySplit && r.splitBytes != *onlySplit) continue;
            if (std::find(splits.begin(), splits.end(), r.splitBytes) != splits.end()) continue;
            splits.push_back(r.splitBytes);
            ids.push_back(r.id);
        }
    return ids;
}

std::vector<int64_t> calibrationCandidates(const std::vector<RecordedRun>& runs, const RecordedRun& profile)
{
    std::vector<int64_t> ids;
    for (auto it = runs.rbegin(); it != runs.rend(); ++it)
        if (it->id != profile.id && it->modelHash == profile.modelHash && it->ok && it->host == profile.host
            && it->cpu == profile.cpu && pipelined(it->arch) && it->precision == profile.precision
            && it->backend == profile.backend)
            ids.push_back(it->id);
    return ids;
}

bool calibrates(const CalibrationFacts& c, size_t layers, uint64_t splitBytes, bool paired)
{
    if (c.layers != layers || c.splitBytes != splitBytes || !c.streamed) return false;
    return paired ? c.pairedWithOwnLayers : !c.paired;
}

std::string noProfileMessage(
    const std::string& storePath, std::optional<uint64_t> onlySplit, const std::string& precision)
{
    const std::string split = onlySplit && *onlySplit ? " --split " + std::to_string(*onlySplit) : std::string();
    const bool fp32 = precision == "fp32";
    return "the run store '" + storePath + "' has no streaming run of this model"
        + (fp32 ? std::string() : " with an " + precision + " pack")
        + (onlySplit ? " with its layers split at " + std::to_string(*onlySplit) + " bytes" : std::string())
        + " to profile from: record one (dlayer run MODEL --arch sequential" + split
        + (fp32 ? std::string() : " --precision " + precision) + " --record " + storePath
        + ", dlayer plan --profile-run, or Profile in the studio)";
}

} // namespace dl::plan
