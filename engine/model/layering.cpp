#include "model/layering.h"

#include <unordered_set>

namespace dl {

std::vector<Layer> groupLayers(const Graph& g)
{
    std::vector<Layer> layers;
    std::unordered_set<std::string> claimed;
    std::vector<size_t> pending; // weightless nodes seen before any weight-bearing node
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        const Node& n = g.nodes[i];
        std::vector<std::string> fresh;
        for (const auto& in : n.inputs)
            if (!in.empty() && g.isWeight(in) && !claimed.count(in)) {
                // Small shape-like tensors (Reshape targets, Slice bounds) do not make a layer of their own.
                const Tensor& t = g.weights.at(in);
                if (t.dtype() == DType::F32 && t.numel() > 1) fresh.push_back(in);
            }
        if (!fresh.empty()) {
            Layer l;
            l.index = static_cast<int>(layers.size());
            l.name = n.name.empty() ? (n.outputs.empty() ? n.opType : n.outputs[0]) : n.name;
            l.nodes = std::move(pending);
            pending.clear();
            layers.push_back(std::move(l));
        }
        if (layers.empty()) {
            pending.push_back(i);
            continue;
        }
        Layer& cur = layers.back();
        cur.nodes.push_back(i);
        // Every not yet claimed weight that this node reads belongs to the current layer.
        for (const auto& in : n.inputs)
            if (!in.empty() && g.isWeight(in) && claimed.insert(in).second) {
                cur.weights.push_back(in);
                cur.weightBytes += g.weights.at(in).bytes();
            }
    }
    if (layers.empty() && !pending.empty()) {
        Layer l;
        l.name = g.nodes[pending.front()].name;
        l.nodes = std::move(pending);
        layers.push_back(std::move(l));
    }
    return layers;
}

} // namespace dl
