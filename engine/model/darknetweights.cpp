#include "model/darknetweights.h"

#include "core/random.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

namespace dl::darknet {

namespace {

// splitmix64 (core/random.h) is specified down to the bit, so every platform draws the same numbers.
float uniformIn(SplitMix64& rng, float lo, float hi)
{
    return lo + (hi - lo) * rng.uniform();
}

void fillSlot(ParamSlot& slot, uint64_t seed, size_t index)
{
    SplitMix64 keyed(seed ^ (0xd1b54a32d192ed03ull * (static_cast<uint64_t>(index) + 1)));
    SplitMix64 rng(keyed.next());
    float* p = slot.tensor.ptr<float>();
    const int64_t n = slot.tensor.numel();
    float lo = 0.0f;
    float hi = 0.0f;
    switch (slot.kind) {
    case ParamKind::Weight: {
        // Uniform on [-a, a] has variance a^2 / 3; a = sqrt(6 / fanIn) gives He's 2 / fanIn.
        const double a = std::sqrt(6.0 / static_cast<double>(std::max<int64_t>(slot.fanIn, 1)));
        hi = static_cast<float>(a) * slot.gain;
        lo = -hi;
        break;
    }
    case ParamKind::Bias:
    case ParamKind::Mean:
        lo = -0.05f;
        hi = 0.05f;
        break;
    case ParamKind::Scale:
    case ParamKind::Variance:
        lo = 0.9f;
        hi = 1.1f;
        break;
    }
    for (int64_t i = 0; i < n; ++i)
        p[i] = uniformIn(rng, lo, hi);
}

std::string plural(uint64_t n, const char* what)
{
    return std::to_string(n) + " " + what;
}

} // namespace

void fillRandom(std::vector<ParamSlot>& slots, uint64_t seed, bool onlyMissing)
{
    // Each slot has its own stream, keyed by its index, so the slots fill in parallel with the same values as one by
    // one (YOLOv4's 245 MB took most of the time it takes to open its cfg).
    const auto n = static_cast<int64_t>(slots.size());
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i = 0; i < n; ++i)
        if (!onlyMissing || !slots[static_cast<size_t>(i)].inFile)
            fillSlot(slots[static_cast<size_t>(i)], seed, static_cast<size_t>(i));
}

Status readWeightsFile(const std::string& path, const std::string& cfgName, std::vector<ParamSlot>& slots,
    const std::function<bool(double)>& progress)
{
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return makeError(ErrorCode::Io, "cannot open weights file '" + path + "': " + std::strerror(errno));
    const auto endPos = in.tellg();
    if (endPos < 0) return makeError(ErrorCode::Io, "cannot read weights file '" + path + "'");
    const uint64_t actual = static_cast<uint64_t>(endPos);
    in.seekg(0);

    int32_t version[3] = { 0, 0, 0 };
    if (actual < sizeof(version) || !in.read(reinterpret_cast<char*>(version), sizeof(version)))
        return makeError(ErrorCode::Corrupt,
            "weights file '" + path + "' is " + plural(actual, "bytes") + " long, too short for a Darknet header");
    const int32_t major = version[0];
    const int32_t minor = version[1];
    // Darknet's rule: from version 0.2 on, `seen` is a size_t (8 bytes where weights are made); major or minor
    // above 1000 marks files whose connected weights are stored transposed, and keep the 4-byte `seen`.
    const bool wideSeen = (int64_t(major) * 10 + minor) >= 2 && major < 1000 && minor < 1000;
    const bool transposed = major > 1000 || minor > 1000;
    const uint64_t header = 12 + (wideSeen ? 8 : 4);

    uint64_t floats = 0;
    for (const auto& s : slots)
        if (s.inFile) floats += static_cast<uint64_t>(s.tensor.numel());
    const uint64_t expected = header + 4 * floats;
    if (actual != expected)
        return makeError(ErrorCode::Corrupt,
            "weights file '" + path + "' is " + plural(actual, "bytes") + ", but " + cfgName + " needs "
                + plural(expected, "bytes") + " (a " + std::to_string(header) + "-byte header for version "
                + std::to_string(major) + "." + std::to_string(minor) + " and " + plural(floats, "float32 values")
                + "); is it the weights of another network?");
    in.seekg(static_cast<std::streamoff>(header));

    uint64_t done = 0;
    std::vector<float> scratch;
    for (auto& s : slots) {
        if (!s.inFile) continue;
        const int64_t n = s.tensor.numel();
        float* dst = s.tensor.ptr<float>();
        const bool flip = transposed && s.connectedWeight;
        if (flip) {
            scratch.resize(static_cast<size_t>(n));
            dst = scratch.data();
        }
        if (!in.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n) * 4))
            return makeError(ErrorCode::Io, "read error in weights file '" + path + "'");
        if (flip) {
            // The file holds inputs x outputs; the graph wants outputs x inputs.
            float* out = s.tensor.ptr<float>();
            for (int64_t r = 0; r < s.rows; ++r)
                for (int64_t c = 0; c < s.cols; ++c)
                    out[r * s.cols + c] = scratch[static_cast<size_t>(c * s.rows + r)];
        }
        done += static_cast<uint64_t>(n);
        if (progress && !progress(floats ? static_cast<double>(done) / static_cast<double>(floats) : 1.0))
            return makeError(ErrorCode::Cancelled, "reading '" + path + "' was cancelled");
    }
    return {};
}

} // namespace dl::darknet
