#pragma once

// The CUDA backend (dl::Backend on device 0): memory in the device, pinned host memory and mapped host memory (what
// two-stage reads into: on an integrated GPU the board's DRAM the GPU reads in place, on a discrete one pinned host
// memory it reads over the bus), every allocation counted in the ledger; a compute stream and copy streams, with
// events timed against the trace clock; convolutions on cuDNN's legacy API (one code path for cuDNN 8.6 to 9.x), their
// algorithms measured at plan time (cudnnFindConvolution…AlgorithmEx) and kept in an AlgoCache; bias and fused
// activation by a kernel of our own; transposed convolutions as cuDNN's backward-data ones. The other ops are
// cudaops.h's; what neither takes falls back to the CPU backend (Executor, NodePlan::fallback).
//
// The header has no CUDA types, so that code built without CUDA may name what it declares; it links only where the
// engine was built with CUDA (DL_HAVE_CUDA).

#include "backend/backend.h"
#include "backend/cuda/algocache.h"

#include <memory>

namespace dl::cuda {

// The CUDA backend on device 0, or Unsupported saying why it cannot run (no driver, no device, cuDNN not loading),
// naming the CUDA or cuDNN error. `algoCachePath`: where measured convolution algorithms are read from and written to
// (empty: kept in memory only).
Result<std::shared_ptr<Backend>> makeCudaBackend(int hostThreads, const std::string& algoCachePath = {});

// A convolution node as cuDNN describes it, for inputs of `x` and weights of `w` (both N C H W): the key of its
// algorithm choice and the output shape cuDNN computes. Needs no device (descriptors only). Unsupported for what the
// backend's convolution does not take (asymmetric pads, 1-D or 3-D, types other than float32 and float16).
struct ConvDescription
{
    ConvKey key;
    Shape input; // the node's
    Shape output;
};
// `halfCompute`: float32 data computed in float16 on tensor cores (cuDNN's CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION),
// for weights that are float16 values (an fp16 pack).
Result<ConvDescription> describeConv(
    const Node& node, const Shape& x, const Shape& w, DType dtype, bool halfCompute = false);
// A ConvTranspose node as cuDNN's backward-data convolution: its key (transposed, the forward input being this node's
// output `y`, the shape the CPU backend plans) and a check that the forward convolution of `y` gives back `x`.
// Unsupported for auto_pad SAME, output_shape and asymmetric pads.
Result<ConvDescription> describeConvTranspose(
    const Node& node, const Shape& x, const Shape& w, const Shape& y, DType dtype, bool halfCompute = false);

// The activation fuseGraph recorded on a Conv, as the backend's kernel takes it; Unsupported for others.
Status checkConvActivation(const Node& node);

struct CudaContext;
// Whether the backend has a kernel for the node (what its supports() says), without a device: `ctx` needs only its
// CPU backend (for the output shapes).
Status supportsNode(const KernelRequest& request, const CudaContext& ctx);

} // namespace dl::cuda
