#include "backend/cuda/activationmath.cuh"
#include "backend/cuda/elementkernels.h"

namespace dl::cuda {

namespace {

constexpr int kThreads = 256;

unsigned blocksFor(int64_t n)
{
    const int64_t blocks = (n + kThreads - 1) / kThreads;
    return static_cast<unsigned>(blocks < 65535 ? (blocks ? blocks : 1) : 65535);
}

#define DL_GRID_LOOP(i, n)                                                                                             \
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

__global__ void binary(BinaryOp op, const float* a, const float* b, float* y, Broadcast bc, int64_t total)
{
    DL_GRID_LOOP(i, total)
    {
        int64_t rest = i, ia = 0, ib = 0;
        for (int d = bc.rank - 1; d >= 0; --d) {
            const int64_t at = rest % bc.extent[d];
            rest /= bc.extent[d];
            ia += at * bc.strideA[d];
            ib += at * bc.strideB[d];
        }
        const float x = a[ia], z = b[ib];
        switch (op) {
        case BinaryOp::Add:
            y[i] = x + z;
            break;
        case BinaryOp::Sub:
            y[i] = x - z;
            break;
        case BinaryOp::Mul:
            y[i] = x * z;
            break;
        case BinaryOp::Div:
            y[i] = x / z;
            break;
        }
    }
}

__global__ void activation(const float* x, float* y, int64_t n, Activation act, float alpha, float beta)
{
    DL_GRID_LOOP(i, n) y[i] = applyActivation(x[i], act, alpha, beta);
}

__global__ void affineChannel(
    const float* x, float* y, const float* scale, const float* shift, int64_t channels, int64_t inner, int64_t total)
{
    DL_GRID_LOOP(i, total)
    {
        const int64_t c = (i / inner) % channels;
        y[i] = x[i] * scale[c] + shift[c];
    }
}

__global__ void upsampleNearest(const float* x, float* y, int64_t planes, int64_t h, int64_t w, int64_t sh, int64_t sw)
{
    const int64_t oh = h * sh, ow = w * sw, total = planes * oh * ow;
    DL_GRID_LOOP(i, total)
    {
        const int64_t j = i % ow, r = (i / ow) % oh, p = i / (ow * oh);
        y[i] = x[(p * h + r / sh) * w + j / sw];
    }
}

__global__ void gather(const float* x, float* y, Gather g, int64_t total, float fill)
{
    DL_GRID_LOOP(i, total)
    {
        int64_t rest = i, at = 0;
        bool inside = true;
        for (int d = g.rank - 1; d >= 0; --d) {
            const int64_t idx = rest % g.outExtent[d];
            rest /= g.outExtent[d];
            const int64_t src = g.start[d] + idx * g.step[d];
            inside = inside && src >= 0 && src < g.inExtent[d];
            at += src * g.inStride[d];
        }
        y[i] = inside ? x[at] : fill;
    }
}

} // namespace

cudaError_t launchGather(const float* x, float* y, const Gather& g, int64_t total, float fill, cudaStream_t stream)
{
    if (total <= 0) return cudaSuccess;
    gather<<<blocksFor(total), kThreads, 0, stream>>>(x, y, g, total, fill);
    return cudaGetLastError();
}

cudaError_t launchBinary(
    BinaryOp op, const float* a, const float* b, float* y, const Broadcast& bc, int64_t total, cudaStream_t stream)
{
    if (total <= 0) return cudaSuccess;
    binary<<<blocksFor(total), kThreads, 0, stream>>>(op, a, b, y, bc, total);
    return cudaGetLastError();
}

cudaError_t launchActivation(
    const float* x, float* y, int64_t n, Activation act, float alpha, float beta, cudaStream_t stream)
{
    if (n <= 0) return cudaSuccess;
    activation<<<blocksFor(n), kThreads, 0, stream>>>(x, y, n, act, alpha, beta);
    return cudaGetLastError();
}

cudaError_t launchAffineChannel(const float* x, float* y, const float* scale, const float* shift, int64_t channels,
    int64_t inner, int64_t total, cudaStream_t stream)
{
    if (total <= 0 || channels <= 0 || inner <= 0) return cudaSuccess;
    affineChannel<<<blocksFor(total), kThreads, 0, stream>>>(x, y, scale, shift, channels, inner, total);
    return cudaGetLastError();
}

cudaError_t launchUpsampleNearest(
    const float* x, float* y, int64_t planes, int64_t h, int64_t w, int64_t sh, int64_t sw, cudaStream_t stream)
{
    const int64_t total = planes * h * sh * w * sw;
    if (total <= 0) return cudaSuccess;
    upsampleNearest<<<blocksFor(total), kThreads, 0, stream>>>(x, y, planes, h, w, sh, sw);
    return cudaGetLastError();
}

} // namespace dl::cuda
