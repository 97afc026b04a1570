#pragma once

// A configuration that travels: what `dlayer plan` chose for a model and a budget, to run as is with
// `dlayer run MODEL --config FILE` here or on the board. Format: docs/config-format.md.

#include "core/result.h"
#include "pack/layerpack.h"
#include "pipeline/arch.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dl::plan {

struct RunConfig
{
    // fp16 configurations are version 2, so that a build that cannot store weights in fp16 refuses them; fp32 ones
    // stay version 1, which every build reads.
    static constexpr int kVersion = 2;
    static constexpr int kVersionF32 = 1;

    std::string modelHash; // the model the configuration is for (sha256, as the run store keys models)
    std::string modelName;
    int layers = 0; // layers of the plan it was made for (with its split)
    std::string backend = "cpu";
    Arch arch = Arch::TwoStage;
    uint64_t splitBytes = 0;
    uint64_t stagingBytes = 0;
    std::vector<int> resident;
    Precision precision = Precision::F32; // how the pack stores the weights
    uint64_t budgetBytes = 0; // the weight budget it was chosen for
    double predictedLatencyMs = 0;
    uint64_t predictedWeightsBytes = 0; // resident + staging, as the ledger counts weights
    uint64_t predictedPeakBytes = 0; // the ledger's whole peak: weights, activations, workspace
    double lowerBoundMs = 0;
    std::string madeBy; // "dlayer plan 0.1.0"
    std::string madeAt; // ISO 8601, UTC
    std::string profile; // where the cost model came from
};

std::string configToJson(const RunConfig& c);
// Invalid naming the field for a malformed document, an unknown architecture or a newer version.
Result<RunConfig> configFromJson(const std::string& text);
Result<RunConfig> readConfigFile(const std::string& path);
// Written beside the target and renamed into place.
Status writeConfigFile(const std::string& path, const RunConfig& c);

} // namespace dl::plan
