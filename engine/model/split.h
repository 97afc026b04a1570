#pragma once

// Splitting large layers into sub-layers, so that a streamed model needs staging for a piece of its largest layer
// rather than the whole of it. A layer's output channels are independent of each other, so a Conv (group 1) or a
// Gemm / MatMul with constant weights is cut along its output channels into pieces with the same attributes,
// each reading its slice of the weights and bias, and a Concat joins their outputs under the original output's
// name. Every output element is computed by the same arithmetic on the same operands as before, so results are
// unchanged.

#include "model/graph.h"

#include <cstddef>

namespace dl {

struct SplitSummary
{
    size_t layersSplit = 0; // nodes that were cut
    size_t pieces = 0; // nodes they became (without the Concats)
};

// Cuts every splittable node whose constant weights (weights and bias) exceed `maxBytes` into as few even pieces
// as keep each piece's weights within `maxBytes`. Pieces hold whole blocks of 64 output channels, as the CPU kernels
// pack weights (the last piece may hold fewer); a Gemm or MatMul whose block of 64 exceeds `maxBytes` is cut in blocks
// of 32 or 16 (whose weights its kernels keep plain, unpadded), so a piece exceeds `maxBytes` where the finest block
// does, and a node of 64 output channels or fewer is never cut. `maxBytes` 0 splits nothing. Weights no node reads any
// more are dropped; node order stays topological. Nodes that cannot be cut this way (grouped convolutions, weights
// computed at run time, a bias that is not per output channel) are left whole.
SplitSummary splitLargeLayers(Graph& g, size_t maxBytes);

} // namespace dl
