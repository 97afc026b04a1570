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
        case BinaryOp::Pow: // a constant scalar exponent of 2, 3, 1 or 0.5 is planned as an activation instead
            y[i] = powf(x, z);
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

__device__ void linearTaps(double s, int64_t in, int64_t& i0, int64_t& i1, float& w1)
{
    const double last = static_cast<double>(in - 1);
    s = s < 0.0 ? 0.0 : (s > last ? last : s);
    i0 = static_cast<int64_t>(floor(s));
    i1 = i0 + 1 < in ? i0 + 1 : in - 1;
    w1 = static_cast<float>(s - static_cast<double>(i0));
}

__device__ double sourceCoordinate(ResizeCoord c, int64_t x, int64_t in, double scale)
{
    const double resized = scale * static_cast<double>(in), xd = static_cast<double>(x);
    switch (c) {
    case ResizeCoord::Asymmetric:
        return xd / scale;
    case ResizeCoord::PytorchHalfPixel:
        return resized > 1.0 ? (xd + 0.5) / scale - 0.5 : 0.0;
    case ResizeCoord::AlignCorners:
        return resized == 1.0 ? 0.0 : xd * (static_cast<double>(in) - 1.0) / (resized - 1.0);
    case ResizeCoord::HalfPixel:
        break;
    }
    return (xd + 0.5) / scale - 0.5;
}

__global__ void resizeLinear(const float* x, float* y, ResizeLinear r)
{
    const int64_t total = r.planes * r.oh * r.ow;
    DL_GRID_LOOP(i, total)
    {
        const int64_t ox = i % r.ow, oy = (i / r.ow) % r.oh, p = i / (r.ow * r.oh);
        int64_t y0, y1, x0, x1;
        float wy, wx;
        linearTaps(sourceCoordinate(r.coord, oy, r.h, r.scaleH), r.h, y0, y1, wy);
        linearTaps(sourceCoordinate(r.coord, ox, r.w, r.scaleW), r.w, x0, x1, wx);
        const float* plane = x + p * r.h * r.w;
        const float top = plane[y0 * r.w + x0] * (1.0f - wx) + plane[y0 * r.w + x1] * wx;
        const float bottom = plane[y1 * r.w + x0] * (1.0f - wx) + plane[y1 * r.w + x1] * wx;
        y[i] = top * (1.0f - wy) + bottom * wy;
    }
}

__global__ void reduce(ReduceOp op, const float* x, float* y, int64_t outer, int64_t mid, int64_t inner)
{
    DL_GRID_LOOP(i, outer * inner)
    {
        const int64_t o = i / inner, in = i % inner;
        const float* at = x + o * mid * inner + in;
        float acc = op == ReduceOp::Max ? -INFINITY : op == ReduceOp::Min ? INFINITY : 0.0f;
        for (int64_t m = 0; m < mid; ++m) {
            const float v = at[m * inner];
            acc = op == ReduceOp::Max ? fmaxf(acc, v) : op == ReduceOp::Min ? fminf(acc, v) : acc + v;
        }
        y[i] = op == ReduceOp::Mean ? acc / static_cast<float>(mid) : acc;
    }
}

__global__ void pool2d(const float* x, float* y, Pool2d p)
{
    const int64_t total = p.planes * p.oh * p.ow;
    DL_GRID_LOOP(i, total)
    {
        const int64_t ox = i % p.ow, oy = (i / p.ow) % p.oh, plane = i / (p.ow * p.oh);
        const float* in = x + plane * p.h * p.w;
        float acc = p.max ? -INFINITY : 0.0f;
        int64_t inside = 0, padded = 0;
        for (int64_t ky = 0; ky < p.kh; ++ky) {
            const int64_t r = oy * p.sh - p.padTop + ky * p.dh;
            const bool rowPadded = r >= -p.padTop && r < p.h + p.padBottom;
            for (int64_t kx = 0; kx < p.kw; ++kx) {
                const int64_t c = ox * p.sw - p.padLeft + kx * p.dw;
                padded += rowPadded && c >= -p.padLeft && c < p.w + p.padRight;
                if (r < 0 || r >= p.h || c < 0 || c >= p.w) continue;
                const float v = in[r * p.w + c];
                acc = p.max ? fmaxf(acc, v) : acc + v;
                ++inside;
            }
        }
        if (!p.max) {
            const int64_t n = p.includePad ? padded : inside;
            acc = n > 0 ? acc / static_cast<float>(n) : 0.0f;
        }
        y[i] = acc;
    }
}

} // namespace

cudaError_t launchResizeLinear(const float* x, float* y, const ResizeLinear& r, cudaStream_t stream)
{
    const int64_t total = r.planes * r.oh * r.ow;
    if (total <= 0) return cudaSuccess;
    resizeLinear<<<blocksFor(total), kThreads, 0, stream>>>(x, y, r);
    return cudaGetLastError();
}

cudaError_t launchReduce(
    ReduceOp op, const float* x, float* y, int64_t outer, int64_t mid, int64_t inner, cudaStream_t stream)
{
    if (outer * inner <= 0) return cudaSuccess;
    reduce<<<blocksFor(outer * inner), kThreads, 0, stream>>>(op, x, y, outer, mid, inner);
    return cudaGetLastError();
}

cudaError_t launchPool2d(const float* x, float* y, const Pool2d& p, cudaStream_t stream)
{
    const int64_t total = p.planes * p.oh * p.ow;
    if (total <= 0) return cudaSuccess;
    pool2d<<<blocksFor(total), kThreads, 0, stream>>>(x, y, p);
    return cudaGetLastError();
}

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
