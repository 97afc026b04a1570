#pragma once

// What the CLI and the studio both do before a streamed run: describe where a planned model's weights come from, and
// find its pack in the content-addressed cache, packing it when it is missing or stale.

#include "core/result.h"
#include "pack/layerpack.h"

#include <atomic>
#include <functional>
#include <string>

namespace dl {

class Executor;
struct Graph;

// The precision a pack of `g` gets when none is asked for: fp16 for a model that stores weights in float16 (nothing
// is lost, half the bytes are read), fp32 for the rest.
Precision defaultPrecision(const Graph& g);

// A model's identity in the run store and in configurations: the model file's sha256, or with a separate weights
// file the sha256 of both digests.
std::string modelHash(const std::string& modelSha256, const std::string& weightsSha256);

// The PackSource of `exec` planned from `modelPath` (and `weightsPath`, empty for ONNX or seeded Darknet weights)
// with layers split at `splitBytes`, stored at `precision`: absolute paths, file hashes, input shapes as planned, the
// backend's layout. A split that cut nothing is recorded as none, so that it packs as the unsplit plan. Io naming a
// file that cannot be read.
Result<PackSource> describePackSource(const Executor& exec, const std::string& modelPath,
    const std::string& weightsPath, size_t splitBytes, Precision precision = Precision::F32);

struct CachedPackOptions
{
    std::function<void(size_t, size_t)> progress; // layers packed of the total, while packing
    const std::atomic<bool>* cancel = nullptr; // stops packing with Cancelled
    // Told why a cached pack was not used (stale or damaged) before it is packed again.
    std::function<void(const std::string&)> replacing;
};

// The pack of `source` in the cache directory `dir` (see packCachePath): opened and checked against `exec`, else
// (missing, stale or damaged) written from `exec`, whose weights must not be released yet, and opened. Fails with the
// pack's own error when even a fresh pack does not read back.
Result<PackInfo> openCachedPack(
    const std::string& dir, const Executor& exec, const PackSource& source, const CachedPackOptions& options = {});

} // namespace dl
