#pragma once

// The CUDA backend's convolution algorithms, picked at plan time and kept with the plan: cuDNN's measured choice
// (cudnnFindConvolutionForwardAlgorithmEx) for each convolution shape, so that a later run on the same device and
// cuDNN plans without measuring again. Pure C++ (no CUDA types): the cache is written and read, and checked, on any
// machine.
//
// The file is JSON:
//   { "version": 1, "device": "NVIDIA H100 80GB HBM3, compute 9.0", "cudnn": "9.19.0",
//     "entries": [ { "key": "n1c3h608w608 k32c3r3s3 p1,1 s1,1 d1,1 g1 fp16 tensor_op",
//                    "algo": 1, "name": "IMPLICIT_PRECOMP_GEMM", "workspace_bytes": 0, "ms": 0.031,
//                    "math": "tensor_op", "deterministic": true } ] }
// A cache made on another device or cuDNN is not used (its choices were measured there), and says so.

#include "core/result.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dl::cuda {

// What a convolution algorithm's choice depends on.
struct ConvKey
{
    std::vector<int64_t> input; // N C H W (N C D H W for 3-D)
    std::vector<int64_t> filter; // K C/groups R S
    std::vector<int64_t> pads, strides, dilations; // per spatial dimension (cuDNN pads symmetrically)
    int64_t groups = 1;
    std::string dtype = "fp32"; // "fp32", "fp16"
    std::string math = "default"; // "default", "fma" (no tensor cores), "tensor_op", "tensor_op_allow_conversion"
    // ConvTranspose: cuDNN's backward-data convolution, whose input (above) is the transposed convolution's output.
    bool transposed = false;

    // One line naming every field, the cache's key: "n1c3h608w608 k32c3r3s3 p1,1 s1,1 d1,1 g1 fp32 default", and
    // " transposed" after it for a transposed convolution.
    std::string text() const;
    // Its inverse; Invalid naming what is wrong.
    static Result<ConvKey> parse(const std::string& text);
    bool operator==(const ConvKey& o) const = default;
};

struct ConvChoice
{
    int algo = 0; // cudnnConvolutionFwdAlgo_t's value (BwdData for a transposed key), read back only by the cuDNN it
                  // was measured with
    std::string name; // "IMPLICIT_PRECOMP_GEMM": the enum's name, which does not depend on the version
    uint64_t workspaceBytes = 0;
    double ms = 0; // as measured
    std::string math = "default";
    bool deterministic = false;
    bool operator==(const ConvChoice& o) const = default;
};

class AlgoCache
{
public:
    std::string device; // what the choices were measured on
    std::string cudnn; // cuDNN's version then

    std::optional<ConvChoice> find(const ConvKey& key) const;
    void put(const ConvKey& key, ConvChoice choice);
    size_t size() const { return m_entries.size(); }
    // Why a cache made for `device` and `cudnnVersion` cannot be used here; empty when it can.
    std::string mismatch(const std::string& device, const std::string& cudnnVersion) const;

    std::string toJson() const;
    // Invalid naming the field (and the entry) that is wrong: a damaged cache is refused, never half used.
    static Result<AlgoCache> fromJson(const std::string& text);
    // Written to a temporary beside `path` and renamed over it, so that a crash leaves the old cache or the new one.
    Status save(const std::string& path) const;
    static Result<AlgoCache> load(const std::string& path);

private:
    std::map<std::string, ConvChoice> m_entries; // by ConvKey::text()
};

} // namespace dl::cuda
