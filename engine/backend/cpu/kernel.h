#pragma once

// The CPU backend's operator interface. A kernel is created once per node for concrete input shapes
// (describe + prepare), then run any number of times on buffers the executor owns.
//
// Life of a kernel:
//   factory(args)  — validates attributes, computes output dtypes and shapes into `outputs`, lays weights out
//                    once in the form run() wants (into `packed`), builds oneDNN primitives. Fails with
//                    ErrorCode::Unsupported for valid ONNX it cannot handle (say which attribute or type), and
//                    ErrorCode::Invalid for malformed input (shape mismatch), naming the node.
//   run(in, out)   — computes; must not allocate in the common case. Inputs that were constant at creation
//                    are passed again in `in` (the same tensors) but kernels that packed them read `packed`.

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

// What the planner knows about one input of a node when the kernel is created.
struct ValueDesc
{
    DType dtype = DType::Undefined; // Undefined: the optional input was omitted
    Shape shape;
    const Tensor* constant = nullptr; // set when the value is known at plan time (a weight or a folded constant)

    bool present() const { return dtype != DType::Undefined; }
};

struct OutputDesc
{
    DType dtype = DType::Undefined;
    Shape shape;
};

struct KernelArgs
{
    const Node& node;
    std::vector<ValueDesc> inputs; // one per node input, in order; omitted optional inputs are not present()
    int64_t opset = 0;
    CpuContext& ctx;
};

class Kernel
{
public:
    virtual ~Kernel() = default;
    // `in` has one entry per node input (nullptr for an omitted optional input); `out` one per node output,
    // already allocated with the shapes in `outputs`.
    virtual Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) = 0;
    // Floating-point operations of one run (a multiply-add counts 2), for reports.
    virtual double flops() const { return 0.0; }
    // Called once, at planning, when the node run right before this one reads the same input 0 and nothing runs
    // between them. A kernel that lays that input out anew (a blocked copy in the context's shared scratch) may
    // agree to read the copy `previous` leaves there instead of making its own, and returns whether it will. The
    // pieces of a split layer (model/split.h) run one after another on one input, and would otherwise each re-lay
    // out the same tensor.
    virtual bool shareSourceLayout(const Kernel& previous)
    {
        (void)previous;
        return false;
    }
    // Whether the kernel lays its input 0 out anew before it computes (oneDNN chose a blocked layout for it: what
    // x86 picks; aarch64's oneDNN reads the plain layout, and there is nothing to share).
    virtual bool relaysSource() const { return false; }
    // Set by the executor before each run of a kernel that agreed: whether the kernel it shares with ran right
    // before this run, in the same inference, so that its copy is there to read. False: lay the input out itself.
    bool sourceLaidOut = false;

    std::vector<OutputDesc> outputs;
    // An input whose buffer output 0 may overwrite in place: run() reads each element of it only at the index where
    // it writes the same element of the output (pointwise ops). -1: none. The planner decides whether to use it.
    int inPlaceInput = -1;
    // Weights in the layout run() reads, prepared once at creation. A streaming pipeline re-points these at
    // buffers it fills from disk, so run() must read its weights only through `packed`.
    std::vector<Tensor> packed;
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
