#include "backend/cuda/castkernels.h"

#include <cuda_fp16.h>

namespace dl::cuda {

namespace {

constexpr int kThreads = 256;

// A grid-stride loop: any n with a bounded grid.
__global__ void halfToFloat(const __half* src, float* dst, size_t n)
{
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
        dst[i] = __half2float(src[i]);
}

__global__ void floatToHalf(const float* src, __half* dst, size_t n)
{
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
        dst[i] = __float2half_rn(src[i]);
}

unsigned blocksFor(size_t n)
{
    const size_t blocks = (n + kThreads - 1) / kThreads;
    return static_cast<unsigned>(blocks < 65535 ? (blocks ? blocks : 1) : 65535);
}

} // namespace

cudaError_t launchHalfToFloat(const void* src, float* dst, size_t n, cudaStream_t stream)
{
    if (n == 0) return cudaSuccess;
    halfToFloat<<<blocksFor(n), kThreads, 0, stream>>>(static_cast<const __half*>(src), dst, n);
    return cudaGetLastError();
}

cudaError_t launchFloatToHalf(const float* src, void* dst, size_t n, cudaStream_t stream)
{
    if (n == 0) return cudaSuccess;
    floatToHalf<<<blocksFor(n), kThreads, 0, stream>>>(src, static_cast<__half*>(dst), n);
    return cudaGetLastError();
}

} // namespace dl::cuda
