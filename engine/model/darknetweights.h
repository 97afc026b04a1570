#pragma once

// The parameters of a Darknet network, in the order its .weights file stores them, and the two ways to fill
// them: from a .weights file, or from a seeded generator that gives the same values on every machine.

#include "core/result.h"
#include "core/tensor.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dl::darknet {

enum class ParamKind { Bias, Scale, Mean, Variance, Weight };

struct ParamSlot
{
    std::string name; // the weight's value name in the graph
    Shape shape;
    Tensor tensor; // F32 of `shape`, allocated once the network is lowered; shared with Graph::weights
    ParamKind kind = ParamKind::Weight;
    int64_t fanIn = 1; // inputs per output, sets the random range of a Weight
    float gain = 1.0f; // scales the random range of a Weight (residual branches start small)
    bool inFile = true; // false for layers marked dontload / dontloadscales: they keep generated values
    // Connected-layer weights: outputs x inputs. Files written with a major or minor version above 1000 hold
    // them transposed.
    int64_t rows = 0;
    int64_t cols = 0;
    bool connectedWeight = false;
};

// Fills the given slots (all when `onlyMissing` is false, else those with inFile == false) from `seed`.
// Weights are uniform with He-initialisation variance (2 / fanIn); BN scales and variances lie near 1, means
// and biases near 0. Each slot draws from its own stream keyed by its index, so values do not depend on the
// order in which slots are filled.
void fillRandom(std::vector<ParamSlot>& slots, uint64_t seed, bool onlyMissing);

// Reads a Darknet .weights file (header: int32 major, minor, revision, then `seen` as uint64 when
// major*10+minor >= 2, else int32; then raw float32 values) into the slots with inFile set. The file must hold
// exactly the values the cfg needs: otherwise Corrupt, giving the expected and actual byte counts.
// `progress` (may be empty) gets fractions in [0, 1]; returning false cancels.
Status readWeightsFile(const std::string& path, const std::string& cfgName, std::vector<ParamSlot>& slots,
    const std::function<bool(double)>& progress);

} // namespace dl::darknet
