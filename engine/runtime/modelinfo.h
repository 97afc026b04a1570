#pragma once

// A model's summary for `dlayer info` and the studio: its layers (see model/layering.h) with output shapes,
// weight bytes and FLOPs from a plan at concrete input shapes.

#include "core/result.h"
#include "core/tensor.h"
#include "model/graph.h"

#include <map>
#include <string>
#include <vector>

namespace dl {

struct LayerSummary
{
    int index = 0;
    std::string name;
    std::vector<std::string> opTypes; // op type of each node in the layer, in order
    size_t nodeCount = 0;
    size_t weightBytes = 0;
    Shape outputShape; // of the layer's last node's first output
    double flops = 0.0;
};

struct InputSummary
{
    std::string name;
    DType dtype = DType::Undefined;
    Shape shape; // as bound for the plan
};

struct ModelSummary
{
    std::string path;
    std::string name;
    std::string format; // "onnx" or "darknet"
    int64_t opset = 0;
    size_t nodeCount = 0;
    size_t weightBytes = 0; // as executed: after fusion folded BatchNorm and friends into the layers' weights
    size_t sourceWeightBytes = 0; // as imported from the model file
    int64_t parameterCount = 0; // elements of all weight tensors, as executed
    double flops = 0.0;
    size_t activationBytes = 0;
    std::vector<InputSummary> inputs;
    std::vector<InputSummary> outputs;
    std::vector<LayerSummary> layers;
};

// Plans the graph (fused as the executor runs it) at the given input shapes (see resolveInputShapes, which binds
// other dynamic dimensions to `dynamicDefault` when positive) and summarises it. Fails with the planner's error
// (unknown op, bad shape) for models the engine cannot run. `splitBytes` > 0: with layers above it cut into
// sub-layers, as ExecutorOptions::splitBytes plans them.
Result<ModelSummary> summarizeModel(const Graph& graph, const std::map<std::string, Shape>& inputShapes = {},
    int64_t dynamicDefault = 0, size_t splitBytes = 0);

} // namespace dl
