#pragma once

// The CUDA backend's own kernels for float16 <-> float32 (Cast, and the edges of a float16 model computed in float32
// where an op has no float16 kernel). Compiled by nvcc as C++17, so this header keeps to C++17 and the CUDA runtime.
// Each launches on `stream` and returns the launch's error (cudaSuccess when it was queued); n may be 0.

#include <cstddef>
#include <cuda_runtime_api.h>

namespace dl::cuda {

// dst[i] = float(src[i]) for n IEEE half values (as uint16_t bits) in device memory.
cudaError_t launchHalfToFloat(const void* src, float* dst, size_t n, cudaStream_t stream);
// dst[i] = half(src[i]), rounding to nearest even; beyond float16's range: infinity.
cudaError_t launchFloatToHalf(const float* src, void* dst, size_t n, cudaStream_t stream);

} // namespace dl::cuda
