#include "pack/packcache.h"

#include "core/sha256.h"
#include "model/importer.h"
#include "runtime/executor.h"

#include <filesystem>

namespace dl {

std::string modelHash(const std::string& modelSha256, const std::string& weightsSha256)
{
    if (weightsSha256.empty()) return modelSha256;
    const std::string both = modelSha256 + weightsSha256;
    return Sha256::hexOf(both.data(), both.size());
}

namespace {

std::string absolutePath(const std::string& p)
{
    std::error_code ec;
    auto a = std::filesystem::absolute(p, ec);
    return ec ? p : a.lexically_normal().string();
}

} // namespace

Precision defaultPrecision(const Graph& g)
{
    return g.halfWeights > 0 ? Precision::F16 : Precision::F32;
}

Result<PackSource> describePackSource(const Executor& exec, const std::string& modelPath,
    const std::string& weightsPath, size_t splitBytes, Precision precision)
{
    PackSource s;
    s.modelPath = absolutePath(modelPath);
    DL_ASSIGN(s.modelSha256, fileSha256(modelPath));
    if (!weightsPath.empty()) {
        s.weightsPath = absolutePath(weightsPath);
        DL_ASSIGN(s.weightsSha256, fileSha256(weightsPath));
    }
    s.seed = ImportOptions {}.seed;
    for (const auto& in : exec.graph().inputs)
        s.inputShapes[in.name] = exec.values()[exec.valueId(in.name)].shape;
    s.layoutTag = packLayoutTag(precision);
    s.precision = precision;
    s.splitBytes = exec.split().layersSplit > 0 ? splitBytes : 0;
    return s;
}

Result<PackInfo> openCachedPack(
    const std::string& dir, const Executor& exec, const PackSource& source, const CachedPackOptions& options)
{
    const std::string key = planKey(source);
    const std::string path = packCachePath(dir, key);
    auto openChecked = [&]() -> Result<PackInfo> {
        DL_ASSIGN(PackInfo info, readLayerPack(path));
        DL_TRY(checkPackMatches(info, exec, key));
        return info;
    };
    if (std::filesystem::exists(path)) {
        auto cached = openChecked();
        if (cached.ok()) return cached;
        if (options.replacing) options.replacing(cached.error().message);
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Error { ErrorCode::Io, "cannot create the pack cache '" + dir + "': " + ec.message() };
    DL_TRY(writeLayerPack(path, exec, source, options.progress, options.cancel));
    return openChecked();
}

} // namespace dl
