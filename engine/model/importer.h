#pragma once

// Model importers. Each returns a Graph in the engine's IR with nodes topologically sorted, weights in
// Graph::weights (fp32 for floating point), and graph inputs/outputs declared.

#include "core/result.h"
#include "model/graph.h"

#include <cstdint>
#include <functional>
#include <string>

namespace dl {

struct ImportOptions
{
    // Darknet: the trained weights file; empty for seeded random weights of the right shapes.
    std::string darknetWeights;
    uint64_t seed = 0x5eed;
    // Darknet: the most weight bytes (float32) a network may declare before its import is refused, naming the layer
    // that passes it; 0: 16 GiB. (The fuzz target keeps to 64 MiB: a network of gigabytes imports, only slowly.)
    uint64_t maxWeightBytes = 0;
    // Called with a fraction in [0, 1] now and then; returning false cancels (ErrorCode::Cancelled).
    std::function<bool(double)> progress;
};

// Chooses the importer by extension (.onnx, .cfg); fails with a clear message for anything else.
Result<Graph> importModel(const std::string& path, const ImportOptions& options = {});

// ONNX through the protobuf definitions of Debian's libonnx. Initializers and Constant-node tensors become
// weights; fp16 weights are widened to fp32; nodes are sorted topologically.
Result<Graph> importOnnx(const std::string& path, const ImportOptions& options = {});
Result<Graph> importOnnxBytes(const void* data, size_t size, const std::string& sourceName);

// Darknet .cfg (with an optional .weights file, see ImportOptions). Lowered to ONNX operators.
Result<Graph> importDarknet(const std::string& cfgPath, const ImportOptions& options = {});

// ONNX TensorProto files (the conformance cases' input_N.pb / output_N.pb).
Result<Tensor> readTensorProtoFile(const std::string& path, std::string* name = nullptr);
Status writeTensorProtoFile(const std::string& path, const Tensor& t, const std::string& name);

} // namespace dl
