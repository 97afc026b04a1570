#include "runtime/modelinfo.h"

#include "model/layering.h"
#include "runtime/executor.h"

namespace dl {

Result<ModelSummary> summarizeModel(
    const Graph& graph, const std::map<std::string, Shape>& inputShapes, int64_t dynamicDefault, size_t splitBytes)
{
    DL_ASSIGN(auto bound, resolveInputShapes(graph, inputShapes, dynamicDefault));
    ExecutorOptions options;
    options.splitBytes = splitBytes;
    DL_ASSIGN(auto exec, Executor::create(graph, bound, options));
    const Graph& g = exec->graph();
    ModelSummary s;
    s.path = graph.sourcePath;
    s.name = graph.name;
    s.format = graph.format;
    s.opset = graph.opset;
    s.nodeCount = g.nodes.size();
    for (const auto& [name, t] : g.weights) {
        s.weightBytes += t.bytes();
        s.parameterCount += t.numel();
    }
    s.sourceWeightBytes = graph.weightBytes();
    s.activationBytes = exec->activationBytes();
    for (const auto& in : g.inputs) {
        const int id = exec->valueId(in.name);
        s.inputs.push_back({ in.name, exec->values()[id].dtype, exec->values()[id].shape });
    }
    for (const auto& out : g.outputs) {
        const int id = exec->valueId(out.name);
        if (id >= 0) s.outputs.push_back({ out.name, exec->values()[id].dtype, exec->values()[id].shape });
    }
    const auto flops = exec->nodeFlops();
    const auto shapes = exec->nodeOutputShapes();
    for (const Layer& l : groupLayers(g)) {
        LayerSummary ls;
        ls.index = l.index;
        ls.name = l.name;
        ls.nodeCount = l.nodes.size();
        ls.weightBytes = l.weightBytes;
        for (size_t n : l.nodes) {
            ls.opTypes.push_back(g.nodes[n].opType);
            ls.flops += flops[n];
        }
        if (!l.nodes.empty()) ls.outputShape = shapes[l.nodes.back()];
        s.flops += ls.flops;
        s.layers.push_back(std::move(ls));
    }
    return s;
}

} // namespace dl
