#pragma once

// Layers: the unit of demand loading. A layer is one weight-bearing node plus the weightless nodes that
// follow it in execution order (Conv → BatchNorm-folded → activation, say). Weightless nodes before the
// first weight-bearing node join the first layer.

#include "model/graph.h"

#include <string>
#include <vector>

namespace dl {

struct Layer
{
    int index = 0;
    std::string name; // the weight-bearing node's name (or its first output's)
    std::vector<size_t> nodes; // indices into Graph::nodes, in execution order
    std::vector<std::string> weights; // weight value names the layer's nodes read, first use only
    size_t weightBytes = 0;
};

// Groups a topologically sorted graph into layers. A weight read by several layers belongs to the first.
std::vector<Layer> groupLayers(const Graph& g);

} // namespace dl
