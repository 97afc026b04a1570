#pragma once

// Computing a float16 graph in float32. The CPU backend's kernels compute in float32 (oneDNN 2.6 has no float16
// path for them on x86: docs/precision.md), so a model whose values are float16 is run as its float32 twin, widened
// at its edges:
//
//   - a graph input declared float16 keeps its type; a Cast to float32 right after it feeds every node that read it;
//   - a graph output declared float16 keeps its type; its producer writes a float32 value that a final Cast narrows;
//   - inside, whatever made float16 makes float32: Cast's `to`, ConstantOfShape's value, the generators' `dtype`.
// Float16 weights were widened when imported (each half value is a float, exactly). The arena then holds float32
// activations, and the ledger counts those bytes: what the run really holds.

#include "core/result.h"
#include "model/graph.h"

#include <cstddef>

namespace dl {

struct PrecisionSummary
{
    size_t halfInputs = 0; // graph inputs widened where they enter
    size_t halfOutputs = 0; // graph outputs narrowed where they leave
    size_t retargeted = 0; // nodes that made float16 values and now make float32 ones
    size_t halfWeights = 0; // weight tensors the model file stored in float16 (Graph::halfWeights)

    // Whether the model computes in float16 anywhere: it ran widened.
    bool widened() const { return halfInputs + halfOutputs + retargeted + halfWeights > 0; }
};

// Rewrites `g` in place as described above and says what it changed; a graph without float16 is left as it is.
// Node order stays topological.
PrecisionSummary widenHalfCompute(Graph& g);

} // namespace dl
