#pragma once

// The CUDA backend's ops other than Conv (cudabackend.cpp): elementwise arithmetic with broadcasting, activations,
// BatchNormalization at inference, pooling (cuDNN), Concat, nearest upsampling by whole factors, Gemm and 2-D MatMul
// with constant weights (cuBLAS), and the ops that only re-view their input (Reshape, Flatten, Squeeze, Unsqueeze,
// Identity, Dropout). float32. Output shapes are the CPU backend's (its kernels are made for the same request and
// asked), so that both backends plan a model alike. What an op's attributes or types do not fit is Unsupported,
// saying why, and the op falls back to the CPU.

#include "backend/backend.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

namespace dl::cuda {

struct CudaContext
{
    cudaStream_t stream = nullptr;
    cudnnHandle_t cudnn = nullptr;
    cublasHandle_t cublas = nullptr;
    Backend* cpu = nullptr; // asked for the output shapes
};

// Ok when createOp makes a kernel for the request; Unsupported saying why otherwise. Needs no device.
Status supportsOp(const KernelRequest& request, const CudaContext& ctx);
Result<std::unique_ptr<Kernel>> createOp(const KernelRequest& request, const CudaContext& ctx);

} // namespace dl::cuda
