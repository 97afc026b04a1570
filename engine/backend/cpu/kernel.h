#pragma once

// The CPU backend's operators: a registry of factories, one per ONNX op, each making a dl::Kernel
// (backend/kernel.h) that computes on the calling thread with oneDNN or loops of our own. The backend itself
// (backend/cpu/cpubackend.h) is what the executor sees.

#include "backend/kernel.h"
#include "core/result.h"
#include "core/tensor.h"
#include "model/graph.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dl::cpu {

class CpuContext;

// The backend-independent kernel interface (backend/kernel.h), by the names the CPU operators use.
using dl::Kernel;
using dl::OutputDesc;
using dl::ValueDesc;

struct KernelArgs
{
    const Node& node;
    std::vector<ValueDesc> inputs; // one per node input, in order; omitted optional inputs are not present()
    int64_t opset = 0;
    CpuContext& ctx;
};

using KernelFactory = std::function<Result<std::unique_ptr<Kernel>>(const KernelArgs&)>;

class OpRegistry
{
public:
    // The registry holding every operator the CPU backend implements.
    static const OpRegistry& instance();

    void add(const std::string& opType, KernelFactory factory);
    // nullptr when the op is not implemented.
    const KernelFactory* find(const std::string& opType) const;
    std::vector<std::string> ops() const;

private:
    std::map<std::string, KernelFactory> m_factories;
};

// Registration functions, one per source file of operators (called by OpRegistry::instance()).
void registerElementwiseOps(OpRegistry& r);
void registerTensorOps(OpRegistry& r);
void registerReduceOps(OpRegistry& r);
void registerDnnlOps(OpRegistry& r);

// Creates the kernel for a node, or fails: Unsupported naming the op when no kernel exists.
Result<std::unique_ptr<Kernel>> createKernel(const KernelArgs& args);

// Error helpers that name the node, e.g. "node 'conv5_3' (Conv): weight shape 64x3x3 has rank 3, expected 4".
Error nodeError(const Node& node, const std::string& what);
Error nodeUnsupported(const Node& node, const std::string& what);

// ONNX multidirectional (numpy) broadcasting of two shapes; fails when they are incompatible.
Result<Shape> broadcastShapes(const Shape& a, const Shape& b);
// Normalises a possibly negative axis for a given rank; fails when out of range.
Result<int> normalizeAxis(const Node& node, int64_t axis, int rank);

} // namespace dl::cpu
