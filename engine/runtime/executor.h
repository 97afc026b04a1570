#pragma once

// Plans and runs a Graph on a backend (backend/backend.h; the CPU backend unless told otherwise) for concrete input
// shapes.
//
// Planning rewrites the graph as the backend's hints allow (fusion, splits), then walks the nodes in order: it gives
// every value a dtype and shape, folds nodes whose inputs are all known (Shape → Gather → Concat → Reshape chains
// become constants; folding computes on the CPU backend, whatever runs the rest), creates one kernel per remaining
// node on the backend and allocates every activation once, in the backend's device memory, so that run() does no
// allocation. Where the backend's device is not host memory, run() uploads the inputs and downloads the outputs.

#include "backend/backend.h"
#include "core/result.h"
#include "core/tensor.h"
#include "model/graph.h"
#include "model/precision.h"
#include "model/split.h"

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dl {

struct ExecutorOptions
{
    int threads = 0; // 0: the OpenMP default (of the CPU backend made when `backend` is null)
    // What computes; null: a CPU backend with `threads` threads. Shared: a pipeline's buffers and streams come from
    // it too.
    std::shared_ptr<Backend> backend;
    // Graph inputs whose values are fixed at plan time: folded like weights, so that shape-determining inputs
    // (axes, target shapes given as inputs) can be planned. run() still takes them but ignores their values.
    std::map<std::string, Tensor> frozenInputs;
    // Activations share one arena, at offsets planned from their liveness (memory/arena.h), with pointwise ops
    // writing over their input where legal; off: one buffer per activation.
    bool arena = true;
    // Layers whose weights exceed this many bytes are cut into sub-layers along their output channels
    // (model/split.h), so that streaming needs staging for a piece of them only; 0: none are cut.
    size_t splitBytes = 0;
    // Where the backend can capture (CUDA graphs) and no node falls back to the CPU: an inference whose weights stay
    // where they are (in memory, preload) is recorded once, after a first run, and replayed as one launch.
    bool captureGraphs = true;
    // The weights come from an fp16 pack: kernels are asked for float16 compute where their backend has it
    // (KernelRequest::halfCompute).
    bool halfCompute = false;
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
    std::unique_ptr<Kernel> kernel;
    // The kernel reads the re-laid-out input 0 the node before it leaves (Kernel::shareSourceLayout).
    bool sharesSource = false;
    // The backend does not support the node: it runs on the CPU backend instead, with its activations downloaded
    // before it and uploaded after it where the backend's device is not host memory (its weights then stay in host
    // memory, pinned, never streamed). Empty: it runs on the backend.
    std::string fallback; // why (the backend's supports() or createKernel message)
    bool onHost() const { return !fallback.empty(); }
};

// A weight that kernels read at run time, at a place a streaming pipeline can re-point: a kernel's packed tensor,
// or a constant input that a kernel reads directly (elementwise constants, PRelu slopes).
struct WeightSlot
{
    size_t node = 0; // index into Executor::nodes()
    int packed = -1; // index into that kernel's packed tensors, or -1
    int value = -1; // value id of a constant read directly, when packed < 0
    DType dtype = DType::Undefined;
    Shape shape;
    size_t bytes = 0;
    size_t offset = 0; // within the layer's blob, at the backend's slot alignment
};

// A layer (model/layering.h) as planned: the contiguous range of kernel-bearing nodes it runs and the weights it
// streams, laid out one after the other in a blob.
struct LayerPlan
{
    int index = 0;
    std::string name;
    size_t nodeBegin = 0; // range of Executor::nodes()
    size_t nodeEnd = 0;
    std::vector<WeightSlot> slots;
    size_t blobBytes = 0;
    std::vector<std::string> fallbackOps; // ops of the layer's nodes that run on the CPU backend (NodePlan::fallback)
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

    // The same run in parts, for pipelines that interleave weight loading with the layers:
    // beginRun(inputs), runNodes() over consecutive ranges that cover nodes(), then finishRun(). beginRun validates the
    // inputs like run(); runNodes fails with Cancelled after cancel(), else with the first kernel's error.
    Status beginRun(const std::vector<Tensor>& inputs);
    Status runNodes(size_t begin, size_t end);
    // runNodes(0, nodes().size()) replayed from a capture (ExecutorOptions::captureGraphs) where it can be: recorded on
    // the second call, replayed from the third, recorded again after any layer was bound anew; plain runNodes
    // otherwise. graphs() says which.
    Status runAllNodes();
    // How runAllNodes() runs: "replayed as one CUDA graph", or why not ("the cpu backend does not capture", ...).
    const std::string& graphs() const { return m_graphNote; }
    // Whether runAllNodes() records and replays (else it is runNodes over every node).
    bool capturable() const;
    Result<std::vector<Tensor>> finishRun();

    // Asks a run in progress (from another thread) to stop at the next node: it returns ErrorCode::Cancelled.
    void cancel() { m_cancel = true; }

    // The graph as executed: after fusion, so node indices refer to it, not to the imported graph.
    const Graph& graph() const { return m_graph; }
    // What options.splitBytes did to the graph.
    const SplitSummary& split() const { return m_split; }
    // What computing a float16 model in float32 changed (model/precision.h).
    const PrecisionSummary& precision() const { return m_precision; }
    const std::vector<ValuePlan>& values() const { return m_values; }
    const std::vector<NodePlan>& nodes() const { return m_nodes; }
    // Value id by name, or -1.
    int valueId(const std::string& name) const;
    // The buffer of value `id` as the last runNodes() left it (activations may share memory in the arena).
    const Tensor& buffer(int id) const { return m_buffers.at(static_cast<size_t>(id)); }
    // Bytes of activation memory the plan allocated: the arena's size, or the sum of the buffers without an arena.
    size_t activationBytes() const { return m_activationBytes; }
    // The plain sum of every activation's bytes (one buffer each), and the liveness lower bound (the most bytes
    // alive at one node).
    size_t activationSumBytes() const { return m_activationSum; }
    size_t activationLowerBound() const { return m_activationLowerBound; }
    // Bytes of weights as the kernels hold them (packed layouts), plus unpacked weights read directly.
    size_t weightBytes() const { return m_weightBytes; }
    // Names what decides the CPU backend's packed weights' layout (oneDNN version, the CPU ISA it dispatches to, our
    // packing version), for telling whether a layer pack fits this engine. backend().layoutTag() is this executor's.
    static std::string layoutTag();
    // Bytes of the scratch the kernels share (the backend's workspace).
    size_t workspaceBytes() const;
    // What computes.
    Backend& backend() const { return *m_backend; }
    // Nodes that fall back to the CPU backend (NodePlan::fallback).
    size_t fallbackNodes() const;
    // How many nodes' kernels compute with float16 precision (Kernel::computesHalf).
    size_t halfConvolutions() const;
    // The sum of the kernels' own measured times (Kernel::measuredMs), and how many had one: what the libraries'
    // best choices would take for one inference, launch gaps and the other kernels left out.
    std::pair<double, size_t> measuredKernelMs() const;
    const std::shared_ptr<Backend>& sharedBackend() const { return m_backend; }

    // Demand layering. layers() follow groupLayers() over graph(), so indices match summarizeModel()'s.
    const std::vector<LayerPlan>& layers() const { return m_layers; }
    // Bytes of constants read at run time by more than one layer, or returned as outputs: never streamed.
    size_t pinnedWeightBytes() const { return m_pinnedBytes; }
    // Copies the layer's weights into `dst` (blobBytes, blob layout). Only before releaseWeights().
    void copyLayerWeights(size_t layer, std::byte* dst) const;
    // Re-points the layer's slots into `base` (blob layout, 64-byte aligned, owned by the caller), which must hold the
    // layer's weights whenever its nodes run. unbindLayer() re-points them at nothing.
    void bindLayer(size_t layer, const std::byte* base);
    void unbindLayer(size_t layer);
    // Drops the executor's own copies of every streamed weight (packed tensors, the graph's weights, folded constants
    // no kernel reads at run time) and unbinds every layer: from then on a layer runs only when bound. Memory is freed
    // once the caller's Graph, which shares the weights, is gone too.
    void releaseWeights();

    // Graph::nodes index → floating point operations (0 for folded nodes).
    std::vector<double> nodeFlops() const;
    // Graph::nodes index → shape of the node's first output.
    std::vector<Shape> nodeOutputShapes() const;

private:
    explicit Executor(Graph graph);
    Status plan(const std::map<std::string, Shape>& inputShapes, const ExecutorOptions& options);

    Graph m_graph;
    SplitSummary m_split;
    PrecisionSummary m_precision;
    std::shared_ptr<Backend> m_backend;
    std::shared_ptr<Backend> m_folder; // computes the nodes folded at plan time: the CPU backend
    std::vector<ValuePlan> m_values;
    std::vector<Tensor> m_buffers; // by value id: constant value, or the activation buffer
    std::map<std::string, int> m_ids;
    std::vector<NodePlan> m_nodes;
    std::vector<int> m_inputIds;
    std::vector<int> m_outputIds;
    std::vector<int> m_nodeFirstOutput; // Graph::nodes index → value id of first output
    void planLayers();
    Status planArena();

    std::vector<LayerPlan> m_layers;
    size_t m_pinnedBytes = 0;
    size_t m_activationBytes = 0;
    size_t m_activationSum = 0;
    size_t m_activationLowerBound = 0;
    BackendBuffer m_arena;
    std::vector<BackendBuffer>
        m_deviceBuffers; // activations without the arena, inputs, on a device the host cannot see
    std::vector<Tensor> m_hostOutputs; // where outputs are downloaded to, when the device is not host memory
    std::map<int, Tensor> m_hostMirrors; // value id → host copy, for the activations fallback nodes read and write
    Status runOnHost(NodePlan& np, std::vector<const Tensor*>& in, std::vector<Tensor*>& out);
    size_t m_weightBytes = 0;
    std::atomic<bool> m_cancel { false };
    bool m_captureGraphs = true;
    std::unique_ptr<CapturedWork> m_captured;
    uint64_t m_bindings = 0; // bindLayer/unbindLayer calls so far: a capture holds the bindings of its time
    uint64_t m_capturedAt = 0; // m_bindings when m_captured was recorded
    int m_uncapturedRuns = 0; // runAllNodes calls since the bindings last changed
    std::string m_graphNote;
    // The node of this inference that ran last (runNodes), npos before the first: a kernel that shares its
    // predecessor's re-laid-out input reads it only when that predecessor ran right before it.
    size_t m_lastRan = static_cast<size_t>(-1);
};

} // namespace dl
