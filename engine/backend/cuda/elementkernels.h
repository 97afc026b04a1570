#pragma once

// The CUDA backend's own kernels for the ops cuDNN and cuBLAS do not cover: elementwise arithmetic with ONNX
// broadcasting, activations on their own, a per-channel affine map (BatchNormalization at inference), nearest
// upsampling by whole factors. float32, N-d in row-major order. Compiled by nvcc as C++17. Each launches on `stream`
// and returns the launch's error.

#include "backend/cuda/activationkernels.h"

#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

namespace dl::cuda {

inline constexpr int kMaxRank = 6;

enum class BinaryOp : int { Add, Sub, Mul, Div };

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

} // namespace dl::cuda
