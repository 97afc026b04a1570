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

// The granularity of a cut, from the backend that will run the pieces (Backend::hints()): pieces hold whole blocks of
// `block` output channels, as its kernels pack weights (the CPU backend's AVX-512 convolutions and matrix products
// pack blocks of 64, so a piece of 112 channels would be packed, and read, as 128). A fully connected layer whose
// block is itself above the split (VGG-16's fc6: 6.1 MiB at 64) is cut in halved blocks down to `finest`, whose
// weights the matrix-product kernels then keep plain rather than pad (padsWeights in backend/cpu/dnnlcommon.h). Only
// matrix products: each of their pieces reads the whole input, which there is a vector, where a convolution's pieces
// would each read a feature map.
struct SplitBlocks
{
    int64_t block = 0;
    int64_t finest = 0;
};

// Cuts every splittable node whose constant weights (weights and bias) exceed `maxBytes` into as few even pieces
// as keep each piece's weights within `maxBytes`. Pieces hold whole blocks (the last piece may hold fewer); a Gemm or
// MatMul whose block exceeds `maxBytes` is cut in finer blocks, so a piece exceeds `maxBytes` where the finest block
// does, and a node of `blocks.block` output channels or fewer is never cut. `maxBytes` 0 splits nothing. Weights no
// node reads any more are dropped; node order stays topological. Nodes that cannot be cut this way (grouped
// convolutions, weights computed at run time, a bias that is not per output channel) are left whole.
SplitSummary splitLargeLayers(Graph& g, size_t maxBytes, const SplitBlocks& blocks);

} // namespace dl
