#pragma once

// Plans and runs a Graph on the CPU backend for concrete input shapes.
//
// Planning walks the nodes in order: it gives every value a dtype and shape, folds nodes whose inputs are
// all known (Shape → Gather → Concat → Reshape chains become constants), creates one kernel per remaining
// node and allocates every activation once, so that run() does no allocation.

#include "core/result.h"
#include "core/tensor.h"
#include "model/graph.h"

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dl {

namespace cpu {
class CpuContext;
class Kernel;
} // namespace cpu

struct ExecutorOptions
{
    int threads = 0; // 0: the OpenMP default
    // Graph inputs whose values are fixed at plan time: folded like weights, so that shape-determining inputs
    // (axes, target shapes given as inputs) can be planned. run() still takes them but ignores their values.
    std::map<std::string, Tensor> frozenInputs;
};

// Per-value facts after planning.
struct ValuePlan
{
    std::string name;
    DType dtype = DType::Undefined;
    Shape shape;
    bool constant = false; // a weight or a folded value
};

// One kernel-bearing node of the plan.
struct NodePlan
{
    size_t node = 0; // index into Graph::nodes
    std::vector<int> inputs; // value ids, -1 for omitted optional inputs
    std::vector<int> outputs;
    double flops = 0.0;
    std::unique_ptr<cpu::Kernel> kernel;
};

// Binds symbolic and missing input dimensions: from `given` where present, else dimension 0 becomes 1 and other
// dynamic dimensions become `dynamicDefault` when it is positive; fails naming the input and the dimension when a
// shape cannot be determined.
Result<std::map<std::string, Shape>> resolveInputShapes(
    const Graph& g, const std::map<std::string, Shape>& given, int64_t dynamicDefault = 0);

class Executor
{
public:
    ~Executor();
    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;

    // Plans a copy of `graph` (weights are shared, not copied), fused by fuseGraph(), for the given input shapes
    // (see resolveInputShapes).
    static Result<std::unique_ptr<Executor>> create(
        const Graph& graph, const std::map<std::string, Shape>& inputShapes, const ExecutorOptions& options = {});

    // Runs once. `inputs` follow Graph::inputs in order with matching dtype and shape (else Invalid, naming the
    // input). Returns the graph outputs in Graph::outputs order; the tensors view executor memory that the next
    // run() overwrites (clone() to keep them).
    Result<std::vector<Tensor>> run(const std::vector<Tensor>& inputs);

    // Asks a run in progress (from another thread) to stop at the next node: it returns ErrorCode::Cancelled.
    void cancel() { m_cancel = true; }

    // The graph as executed: after fusion, so node indices refer to it, not to the imported graph.
    const Graph& graph() const { return m_graph; }
    const std::vector<ValuePlan>& values() const { return m_values; }
    const std::vector<NodePlan>& nodes() const { return m_nodes; }
    // Value id by name, or -1.
    int valueId(const std::string& name) const;
    // Bytes of all activation buffers (non-constant values) the plan allocated.
    size_t activationBytes() const { return m_activationBytes; }
    // Bytes of weights as the kernels hold them (packed layouts), plus unpacked weights read directly.
    size_t weightBytes() const { return m_weightBytes; }
    // Graph::nodes index → floating point operations (0 for folded nodes).
    std::vector<double> nodeFlops() const;
    // Graph::nodes index → shape of the node's first output.
    std::vector<Shape> nodeOutputShapes() const;

private:
    explicit Executor(Graph graph);
    Status plan(const std::map<std::string, Shape>& inputShapes, const ExecutorOptions& options);

    Graph m_graph;
    std::unique_ptr<cpu::CpuContext> m_ctx;
    std::vector<ValuePlan> m_values;
    std::vector<Tensor> m_buffers; // by value id: constant value, or the activation buffer
    std::map<std::string, int> m_ids;
    std::vector<NodePlan> m_nodes;
    std::vector<int> m_inputIds;
    std::vector<int> m_outputIds;
    std::vector<int> m_nodeFirstOutput; // Graph::nodes index → value id of first output
    size_t m_activationBytes = 0;
    size_t m_weightBytes = 0;
    std::atomic<bool> m_cancel { false };
};

} // namespace dl
