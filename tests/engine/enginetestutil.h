#pragma once

// Shared by the engine test suites: where the fetched sample models live, and nodes built directly in the IR.

#include "model/graph.h"

#include <cstdlib>
#include <string>
#include <vector>

namespace dltest {

// The model cache that scripts/fetch-models.sh fills: $DL_CACHE, else ~/.cache/demand-layering.
inline std::string modelCache()
{
    const char* c = std::getenv("DL_CACHE");
    const char* home = std::getenv("HOME");
    return c && *c ? c : std::string(home ? home : "/root") + "/.cache/demand-layering";
}

// A node named after its op and first output.
inline dl::Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out)
{
    dl::Node n;
    n.opType = op;
    n.name = op + "_" + out[0];
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    return n;
}

} // namespace dltest
