#pragma once

// The CUDA backend's ops other than Conv and ConvTranspose (cudabackend.cpp): elementwise arithmetic with
// broadcasting (and Pow), activations and unary math, BatchNormalization at inference, pooling (cuDNN; our kernel for
// ceil_mode, asymmetric pads and dilations), Concat, Slice, Pad, Transpose, reductions over adjacent axes, nearest
// upsampling by whole factors and linear resizing, Softmax, Cast between float32 and float16, Gemm and MatMul (cuBLAS:
// constant weights, or two computed operands batched), and the ops that only re-view their input (Reshape, Flatten,
// Squeeze, Unsqueeze, Identity, Dropout). float32. Output shapes are the CPU backend's (its kernels are made for the
// same request and asked), so that both backends plan a model alike. What an op's attributes or types do not fit is
// Unsupported, saying why, and the op falls back to the CPU.

#include "backend/backend.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

namespace dl::cuda {

// cuBLAS, loaded when the CUDA backend starts rather than linked: its libraries map over half a gigabyte of address
// space into every process that links them (a dlayer under a memory limit could not even start), and most runs never
// multiply on a GPU.
struct CublasApi
{
    decltype(&cublasCreate_v2) create = nullptr;
    decltype(&cublasDestroy_v2) destroy = nullptr;
    decltype(&cublasSetStream_v2) setStream = nullptr;
    decltype(&cublasSgemm_v2) sgemm = nullptr;
    decltype(&cublasSgemmStridedBatched) sgemmBatched = nullptr;
    decltype(&cublasGetStatusName) statusName = nullptr;
};
// Loads it once (libcublas.so.<the major version built against>); null, with `why`, where it does not load.
const CublasApi* loadCublas(std::string* why);

struct CudaContext
{
    cudaStream_t stream = nullptr;
    cudnnHandle_t cudnn = nullptr;
    cublasHandle_t cublas = nullptr; // null: Gemm and MatMul fall back, saying why (cublasWhy)
    const CublasApi* blas = nullptr;
    std::string cublasWhy;
    Backend* cpu = nullptr; // asked for the output shapes
};

// Ok when createOp makes a kernel for the request; Unsupported saying why otherwise. Needs no device.
Status supportsOp(const KernelRequest& request, const CudaContext& ctx);
Result<std::unique_ptr<Kernel>> createOp(const KernelRequest& request, const CudaContext& ctx);

} // namespace dl::cuda
