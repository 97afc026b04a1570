#pragma once

// The operator interface every backend implements. A kernel is created once per node for concrete input shapes
// (Backend::createKernel), then run any number of times on buffers the executor owns, in the backend's memory.
//
// Life of a kernel:
//   creation       — validates attributes, computes output dtypes and shapes into `outputs`, lays weights out
//                    once in the form run() wants (into `packed`), builds the library's primitives. Fails with
//                    ErrorCode::Unsupported for valid ONNX it cannot handle (say which attribute or type), and
//                    ErrorCode::Invalid for malformed input (shape mismatch), naming the node.
//   run(in, out)   — computes, or on a backend with streams enqueues the computation on its compute stream (an
//                    event recorded after it completes when the work has); must not allocate in the common case.
//                    Inputs that were constant at creation are passed again in `in` (the same tensors) but kernels
//                    that packed them read `packed`.

#include "core/result.h"
#include "core/tensor.h"
#include "model/graph.h"

#include <vector>

namespace dl {

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

class Kernel
{
public:
    virtual ~Kernel() = default;
    // `in` has one entry per node input (nullptr for an omitted optional input); `out` one per node output,
    // already allocated with the shapes in `outputs`.
    virtual Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) = 0;
    // Floating-point operations of one run (a multiply-add counts 2), for reports.
    virtual double flops() const { return 0.0; }
    // Whether it computes with float16 precision (KernelRequest::halfCompute granted), for reports.
    virtual bool computesHalf() const { return false; }
    // The library's own time for one run, measured when the kernel was made (cuDNN's algorithm search: the chosen
    // algorithm's), in ms; 0 where nothing was measured.
    virtual double measuredMs() const { return 0.0; }
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

} // namespace dl
