#include "backend/cuda/activationkernels.h"

namespace dl::cuda {

namespace {

constexpr int kThreads = 256;

__device__ float activate(float x, Activation act, float alpha, float beta)
{
    switch (act) {
    case Activation::None:
        return x;
    case Activation::Relu:
        return x > 0.0f ? x : 0.0f;
    case Activation::LeakyRelu:
        return x > 0.0f ? x : alpha * x;
    case Activation::Elu:
        return x > 0.0f ? x : alpha * expm1f(x);
    case Activation::Clip:
        return fminf(fmaxf(x, alpha), beta);
    case Activation::Sigmoid:
        return 1.0f / (1.0f + expf(-x));
    case Activation::HardSigmoid:
        return fminf(fmaxf(alpha * x + beta, 0.0f), 1.0f);
    case Activation::HardSwish:
        return x * fminf(fmaxf(x / 6.0f + 0.5f, 0.0f), 1.0f);
    case Activation::Tanh:
        return tanhf(x);
    case Activation::Mish:
        return x * tanhf(x > 20.0f ? x : log1pf(expf(x)));
    case Activation::Softplus:
        return x > 20.0f ? x : log1pf(expf(x));
    case Activation::Swish:
        return x / (1.0f + expf(-x));
    }
    return x;
}

__global__ void biasActivation(float* y, const float* bias, int64_t channels, int64_t inner, int64_t total,
    Activation act, float alpha, float beta)
{
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const float b = bias ? bias[(i / inner) % channels] : 0.0f;
        y[i] = activate(y[i] + b, act, alpha, beta);
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
