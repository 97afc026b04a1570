#pragma once

// The activations fuseGraph records and the standalone activation ops, as one device function for the CUDA kernels
// that apply them (activationkernels.cu, elementkernels.cu). Matches the CPU backend's oneDNN post-ops.

#include "backend/cuda/activationkernels.h"

namespace dl::cuda {

__device__ inline float applyActivation(float x, Activation act, float alpha, float beta)
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
    case Activation::Sqrt:
        return sqrtf(x);
    case Activation::Square:
        return x * x;
    case Activation::Cube:
        return x * x * x;
    case Activation::Exp:
        return expf(x);
    case Activation::Abs:
        return fabsf(x);
    case Activation::Neg:
        return -x;
    case Activation::Reciprocal:
        return 1.0f / x;
    }
    return x;
}

} // namespace dl::cuda
