#include "backend/cuda/activationkernels.h"
#include "backend/cuda/activationmath.cuh"

namespace dl::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void biasActivation(float* y, const float* bias, int64_t channels, int64_t inner, int64_t total,
    Activation act, float alpha, float beta)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const float b = bias ? bias[(i / inner) % channels] : 0.0f;
        y[i] = applyActivation(y[i] + b, act, alpha, beta);
    }
}

unsigned blocksFor(int64_t n)
{
    const int64_t blocks = (n + kThreads - 1) / kThreads;
    return static_cast<unsigned>(blocks < 65535 ? (blocks ? blocks : 1) : 65535);
}

} // namespace

cudaError_t launchBiasActivation(float* y, const float* bias, int64_t channels, int64_t inner, int64_t total,
    Activation act, float alpha, float beta, cudaStream_t stream)
{
    if (total <= 0 || channels <= 0 || inner <= 0) return cudaSuccess;
    biasActivation<<<blocksFor(total), kThreads, 0, stream>>>(y, bias, channels, inner, total, act, alpha, beta);
    return cudaGetLastError();
}

} // namespace dl::cuda
