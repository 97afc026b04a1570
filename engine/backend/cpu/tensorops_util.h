#pragma once

// Shared machinery of the data-movement kernels (tensorops*.cpp): byte copies split across threads, a strided
// copy that every permuting op (Transpose, Expand, Tile, Slice, DepthToSpace) compiles to at creation, typed
// element access for the few ops that compute, and helpers that read shape-determining inputs.

#include "backend/cpu/kernel.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace dl::cpu::tensorops {

// Registration of the operator sets kept in the other tensorops sources.
void registerIndexingOps(OpRegistry& r); // indexing.cpp: Slice, Pad, Gather*, Scatter*, Trilu
void registerResizeOps(OpRegistry& r); // resize.cpp: Resize, Upsample
void registerGeneratorOps(OpRegistry& r); // generators.cpp: Shape, Size, Constant*, Range, OneHot, TopK, ...

// Below this many bytes moved a loop stays on the calling thread: waking the OpenMP team costs more.
constexpr int64_t kParallelBytes = 1 << 17;

// Calls f(begin, end) over [0, n), split across threads when `bytes` (the work's size) pays for it.
template <class F> void parallelRange(int64_t n, int64_t bytes, F&& f)
{
    if (n <= 0) return;
    const int64_t want = std::min<int64_t>({ omp_get_max_threads(), n, std::max<int64_t>(1, bytes / kParallelBytes) });
    if (want <= 1 || omp_in_parallel()) {
        f(int64_t(0), n);
        return;
    }
    const int nt = static_cast<int>(want);
#pragma omp parallel for num_threads(nt) schedule(static, 1)
    for (int t = 0; t < nt; ++t) {
        const int64_t b = n * t / nt;
        const int64_t e = n * (t + 1) / nt;
        if (b < e) f(b, e);
    }
}

// memcpy across threads for large sizes; nothing when the buffers coincide (an in-place reshape).
void copyBytes(void* dst, const void* src, size_t bytes);
// Writes `count` copies of the `elemSize`-byte element at `value` to dst.
void fillElements(void* dst, const void* value, size_t elemSize, int64_t count);

// Row-major strides (in elements) of a dense shape.
std::vector<int64_t> denseStrides(const Shape& s);

// A gather of a strided view of a source buffer into a dense destination, planned once: unit dimensions are
// dropped and dimensions that are contiguous in both are merged, so that the inner loop is a memcpy whenever
// the source's innermost dimension is contiguous.
class StridedCopy
{
public:
    // `dims`: the destination's shape; `srcStrides`: the source element stride for each destination dimension
    // (0 broadcasts, negative walks backwards); `srcOffset`: the source element that destination index 0 reads.
    void plan(const Shape& dims, const std::vector<int64_t>& srcStrides, int64_t srcOffset, size_t elemSize);
    void run(const void* src, void* dst) const;

private:
    std::vector<int64_t> m_dims; // outer dimensions after merging, without the inner one
    std::vector<int64_t> m_strides;
    int64_t m_offset = 0;
    int64_t m_rows = 0; // product of m_dims
    int64_t m_inner = 0; // elements per row
    int64_t m_innerStride = 1;
    size_t m_elem = 0;
    // Transposing copies, where the source's contiguous dimension is an outer one of the destination, go tile
    // by tile so that the source lines a tile reads stay in cache: m_tileDim indexes that dimension, or is -1.
    int m_tileDim = -1;
    std::vector<int64_t> m_dstStrides; // destination element strides of m_dims
};

// ---- element types ----------------------------------------------------------------------------------------------

// Distinct stand-in for float16 storage (uint16_t already means uint16).
struct Half
{
    uint16_t bits;
};

template <class T> struct Tag
{
    using type = T;
};

template <class T> inline double toDouble(T v)
{
    if constexpr (std::is_same_v<T, Half>)
        return halfToFloat(v.bits);
    else
        return static_cast<double>(v);
}

template <class T> inline T fromDouble(double v)
{
    if constexpr (std::is_same_v<T, Half>)
        return Half { floatToHalf(static_cast<float>(v)) };
    else if constexpr (std::is_same_v<T, bool>)
        return v != 0.0;
    else
        return static_cast<T>(v);
}

// Calls f(Tag<T>{}) with the C++ type of a numeric element type (Bool as bool, F16 as Half); false when the
// type is not numeric.
template <class F> bool visitNumeric(DType t, F&& f)
{
    switch (t) {
    case DType::F32:
        f(Tag<float> {});
        return true;
    case DType::F64:
        f(Tag<double> {});
        return true;
    case DType::F16:
        f(Tag<Half> {});
        return true;
    case DType::I8:
        f(Tag<int8_t> {});
        return true;
    case DType::I16:
        f(Tag<int16_t> {});
        return true;
    case DType::I32:
        f(Tag<int32_t> {});
        return true;
    case DType::I64:
        f(Tag<int64_t> {});
        return true;
    case DType::U8:
        f(Tag<uint8_t> {});
        return true;
    case DType::U16:
        f(Tag<uint16_t> {});
        return true;
    case DType::U32:
        f(Tag<uint32_t> {});
        return true;
    case DType::U64:
        f(Tag<uint64_t> {});
        return true;
    case DType::Bool:
        f(Tag<bool> {});
        return true;
    default:
        return false;
    }
}

// Calls f(Tag<T>{}) with an unsigned integer type of the element's size, for ops that only move elements.
template <class F> bool visitBySize(size_t elemSize, F&& f)
{
    switch (elemSize) {
    case 1:
        f(Tag<uint8_t> {});
        return true;
    case 2:
        f(Tag<uint16_t> {});
        return true;
    case 4:
        f(Tag<uint32_t> {});
        return true;
    case 8:
        f(Tag<uint64_t> {});
        return true;
    default:
        return false;
    }
}

// Element i of an integer (or, for OneHot, any numeric) buffer as int64.
int64_t loadIndex(DType t, const void* data, int64_t i);
// Writes `v` converted to `t` into dst (one element); false for types without a numeric meaning.
bool storeScalar(DType t, double v, void* dst);

// ---- kernels ----------------------------------------------------------------------------------------------------

// A kernel whose run() is a callable: factories compute everything once and capture it by value.
template <class F> class FnKernel final : public Kernel
{
public:
    explicit FnKernel(F f)
        : m_f(std::move(f))
    { }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override { return m_f(in, out); }

private:
    F m_f;
};

template <class F> std::unique_ptr<Kernel> makeKernel(std::vector<OutputDesc> outputs, F f)
{
    auto k = std::make_unique<FnKernel<F>>(std::move(f));
    k->outputs = std::move(outputs);
    return k;
}

// Fails unless the node has between `min` and `max` inputs (omitted optional inputs count) and input 0 is present.
Status checkInputs(const KernelArgs& a, size_t min, size_t max);
// Input `i` when it was given (present), else nullptr.
const ValueDesc* optionalInput(const KernelArgs& a, size_t i);
// The integer values of a plan-time constant input, or Unsupported "needs a constant <what>".
Result<std::vector<int64_t>> constantInts(const KernelArgs& a, size_t i, const char* what);
// The values of a plan-time constant numeric input as doubles, or Unsupported.
Result<std::vector<double>> constantDoubles(const KernelArgs& a, size_t i, const char* what);
// Element types that only move: every type with a byte size (not String).
Status checkMovable(const KernelArgs& a, DType t);

} // namespace dl::cpu::tensorops
