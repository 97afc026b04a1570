#pragma once

// The CUDA backend's own kernels for the ops cuDNN and cuBLAS do not cover: elementwise arithmetic with ONNX
// broadcasting, activations and unary math on their own, a per-channel affine map (BatchNormalization at inference),
// nearest upsampling by whole factors, linear resizing, reductions over adjacent axes, and 2-D pooling where cuDNN's
// (symmetric pads, floor rounding) does not fit. Transpose is a gather with permuted strides. float32, N-d in row-major
// order. Compiled by nvcc as C++17. Each launches on `stream` and returns the launch's error.

#include "backend/cuda/activationkernels.h"

#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

namespace dl::cuda {

inline constexpr int kMaxRank = 6;

enum class BinaryOp : int { Add, Sub, Mul, Div, Pow };

// The shape of an elementwise output and each input's element strides for it (0 along a broadcast axis), rank <= 6,
// padded at the front with extent 1.
struct Broadcast
{
    int rank = 0;
    int64_t extent[kMaxRank] = {};
    int64_t strideA[kMaxRank] = {};
    int64_t strideB[kMaxRank] = {};
};

// y = a OP b over `total` values, broadcasting as `b` says.
cudaError_t launchBinary(
    BinaryOp op, const float* a, const float* b, float* y, const Broadcast& bc, int64_t total, cudaStream_t stream);
// y = act(x) over n values (x and y may be the same).
cudaError_t launchActivation(
    const float* x, float* y, int64_t n, Activation act, float alpha, float beta, cudaStream_t stream);
// y[n, c, i] = x[n, c, i] * scale[c] + shift[c].
cudaError_t launchAffineChannel(const float* x, float* y, const float* scale, const float* shift, int64_t channels,
    int64_t inner, int64_t total, cudaStream_t stream);
// A window of x, strided, with what falls outside x filled: y[idx] = x[start + idx * step] per axis, or `fill` where
// that lies outside x (Slice: inside always; Pad: start = -pad before, step 1).
struct Gather
{
    int rank = 0;
    int64_t outExtent[kMaxRank] = {};
    int64_t inExtent[kMaxRank] = {};
    int64_t inStride[kMaxRank] = {};
    int64_t start[kMaxRank] = {};
    int64_t step[kMaxRank] = {};
};
cudaError_t launchGather(const float* x, float* y, const Gather& g, int64_t total, float fill, cudaStream_t stream);

// y[p, i, j] = x[p, i / sh, j / sw] for `planes` planes of h x w, upsampled to (h * sh) x (w * sw).
cudaError_t launchUpsampleNearest(
    const float* x, float* y, int64_t planes, int64_t h, int64_t w, int64_t sh, int64_t sw, cudaStream_t stream);

// Linear resizing of the last two axes of `planes` planes from h x w to oh x ow: each output's source coordinate per
// axis by the ONNX coordinate_transformation_mode (computed in double, as the CPU backend does), clamped into the
// input, and the two nearest inputs per axis weighted by the distance.
enum class ResizeCoord : int { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric };
struct ResizeLinear
{
    int64_t planes = 0, h = 0, w = 0, oh = 0, ow = 0;
    double scaleH = 1, scaleW = 1; // out / in, or the scales the node gives
    ResizeCoord coord = ResizeCoord::HalfPixel;
};
cudaError_t launchResizeLinear(const float* x, float* y, const ResizeLinear& r, cudaStream_t stream);

// y[o, i] = reduce over m of x[o, m, i] (the reduced axes adjacent, `mid` values long; Mean divides the sum by mid).
enum class ReduceOp : int { Sum, Mean, Max, Min };
cudaError_t launchReduce(
    ReduceOp op, const float* x, float* y, int64_t outer, int64_t mid, int64_t inner, cudaStream_t stream);

// 2-D pooling with any pads and output size (ceil_mode): window (oy * sy - padTop + ky * dy, ...) over the input
// only; average divides by the window's positions inside the input (exclude padding) or inside the padded input
// (include padding).
struct Pool2d
{
    int64_t planes = 0, h = 0, w = 0, oh = 0, ow = 0;
    int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
    int64_t padTop = 0, padLeft = 0, padBottom = 0, padRight = 0;
    bool max = true;
    bool includePad = false;
};
cudaError_t launchPool2d(const float* x, float* y, const Pool2d& p, cudaStream_t stream);

} // namespace dl::cuda
