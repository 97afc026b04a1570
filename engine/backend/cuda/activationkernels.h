#pragma once

// The CUDA backend's own kernel for what follows a convolution: a per-channel bias and the activation fuseGraph
// recorded on it ("_activation", model/fuse.h), in place over the convolution's output (N C spatial, float32).
// Compiled by nvcc as C++17. Launches on `stream` and returns the launch's error.

#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

namespace dl::cuda {

enum class Activation : int {
    None,
    Relu,
    LeakyRelu, // alpha
    Elu, // alpha
    Clip, // alpha = min, beta = max
    Sigmoid,
    HardSigmoid, // alpha, beta
    HardSwish,
    Tanh,
    Mish,
    Softplus,
    Swish,
    // Standalone ops only (never fused on a convolution):
    Sqrt,
    Square,
    Cube,
    Exp,
    Abs,
    Neg,
    Reciprocal,
};

// y[n, c, i] = act(y[n, c, i] + bias[c]) for `total` values with `channels` channels of `inner` values each; bias may
// be null (no bias).
cudaError_t launchBiasActivation(float* y, const float* bias, int64_t channels, int64_t inner, int64_t total,
    Activation act, float alpha, float beta, cudaStream_t stream);

} // namespace dl::cuda
