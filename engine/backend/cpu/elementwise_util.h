#pragma once

// Shared machinery of the elementwise and reduction kernels: element type dispatch, numpy broadcasting
// collapsed into a few contiguous loops, OpenMP splitting, vectorisable float math, and a wrapper that runs
// float32 kernels on float16 tensors.

#include "backend/cpu/kernel.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <type_traits>
#include <vector>

// The hot loops are compiled twice, for AVX2 and for the x86-64 baseline (SSE2), and the loader picks one per
// machine (GCC function multi-versioning). Elsewhere the plain loop is built for the configured target, and so it is
// under ThreadSanitizer: the loader runs the choosing function (an ifunc resolver) before TSan's runtime is up, and
// the instrumented resolver crashes the program before main.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define DL_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DL_SIMD_CLONES
#endif

namespace dl::cpu::ew {

// Below this many elements a loop runs on the calling thread: waking the OpenMP team costs more than the work.
constexpr int64_t kGrain = 1 << 15;
// For functions that cost tens of cycles per element (libm calls).
constexpr int64_t kHeavyGrain = 1 << 11;

// Calls f(begin, end) over [0, n), split across threads when n is large enough to pay for it.
template <class F> void parallelFor(int64_t n, int64_t grain, F&& f)
{
    if (n <= 0) return;
    const int64_t want = std::min<int64_t>(omp_get_max_threads(), (n + grain - 1) / grain);
    if (want <= 1 || omp_in_parallel()) {
        f(int64_t(0), n);
        return;
    }
    const int nt = static_cast<int>(want);
#pragma omp parallel for num_threads(nt) schedule(static, 1)
    for (int t = 0; t < nt; ++t) {
        // Split points on 16-element boundaries keep each thread's vector loop aligned with the others'.
        const int64_t b = t == 0 ? 0 : (n * t / nt) & ~int64_t(15);
        const int64_t e = t == nt - 1 ? n : (n * (t + 1) / nt) & ~int64_t(15);
        if (b < e) f(b, e);
    }
}

// ---- element types -------------------------------------------------------------------------------------------

template <class T> struct Tag
{
    using type = T;
};

// Stand-in element type for float16 storage (only Cast handles it directly; other kernels widen to float32).
struct Half
{
    uint16_t bits;
};

enum TypeSet : unsigned {
    kF32 = 1u,
    kF64 = 2u,
    kSigned = 4u, // int8, int16, int32, int64
    kUnsigned = 8u, // uint8, uint16, uint32, uint64
    kBool = 16u, // stored as uint8_t
    kHalf = 32u, // only for Cast
    kFloat = kF32 | kF64,
    kSignedNum = kFloat | kSigned,
    kNumeric = kFloat | kSigned | kUnsigned,
};

// Calls f(Tag<T>{}) for the C++ type of `t` when `t` is in S; returns false (calling nothing) otherwise.
// Bool maps to uint8_t.
template <unsigned S, class F> bool visitType(DType t, F&& f)
{
    switch (t) {
    case DType::F32:
        if constexpr ((S & kF32) != 0) {
            f(Tag<float> {});
            return true;
        }
        break;
    case DType::F64:
        if constexpr ((S & kF64) != 0) {
            f(Tag<double> {});
            return true;
        }
        break;
    case DType::I8:
        if constexpr ((S & kSigned) != 0) {
            f(Tag<int8_t> {});
            return true;
        }
        break;
    case DType::I16:
        if constexpr ((S & kSigned) != 0) {
            f(Tag<int16_t> {});
            return true;
        }
        break;
    case DType::I32:
        if constexpr ((S & kSigned) != 0) {
            f(Tag<int32_t> {});
            return true;
        }
        break;
    case DType::I64:
        if constexpr ((S & kSigned) != 0) {
            f(Tag<int64_t> {});
            return true;
        }
        break;
    case DType::U8:
        if constexpr ((S & kUnsigned) != 0) {
            f(Tag<uint8_t> {});
            return true;
        }
        break;
    case DType::U16:
        if constexpr ((S & kUnsigned) != 0) {
            f(Tag<uint16_t> {});
            return true;
        }
        break;
    case DType::U32:
        if constexpr ((S & kUnsigned) != 0) {
            f(Tag<uint32_t> {});
            return true;
        }
        break;
    case DType::U64:
        if constexpr ((S & kUnsigned) != 0) {
            f(Tag<uint64_t> {});
            return true;
        }
        break;
    case DType::Bool:
        if constexpr ((S & kBool) != 0) {
            f(Tag<uint8_t> {});
            return true;
        }
        break;
    case DType::F16:
        if constexpr ((S & kHalf) != 0) {
            f(Tag<Half> {});
            return true;
        }
        break;
    default:
        break;
    }
    return false;
}

inline Error typeUnsupported(const Node& node, DType t, const char* role = "input")
{
    return nodeUnsupported(node, std::string(role) + " type " + dtypeName(t) + " is not supported");
}

inline Status expectInputs(const KernelArgs& args, size_t minCount, size_t maxCount)
{
    const size_t n = args.inputs.size();
    if (n < minCount || n > maxCount || (minCount > 0 && !args.inputs[0].present()))
        return nodeError(args.node,
            "has " + std::to_string(n) + " inputs, expected " + std::to_string(minCount)
                + (maxCount == minCount ? std::string() : " to " + std::to_string(maxCount)));
    return {};
}

// The first element of a numeric tensor (0 when empty), read without allocating.
inline double firstAsDouble(const Tensor& t)
{
    double v = 0.0;
    if (t.numel() > 0)
        visitType<kNumeric | kBool | kHalf>(t.dtype(), [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (std::is_same_v<T, Half>)
                v = halfToFloat(t.ptr<uint16_t>()[0]);
            else
                v = static_cast<double>(t.ptr<T>()[0]);
        });
    return v;
}

// ---- kernels from closures -----------------------------------------------------------------------------------

using RunFn = std::function<Status(const std::vector<const Tensor*>&, const std::vector<Tensor*>&)>;

class FnKernel final : public Kernel
{
public:
    FnKernel(std::vector<OutputDesc> outs, RunFn fn, double flops)
        : m_fn(std::move(fn))
        , m_flops(flops)
    {
        outputs = std::move(outs);
    }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override { return m_fn(in, out); }
    double flops() const override { return m_flops; }

private:
    RunFn m_fn;
    double m_flops;
};

inline std::unique_ptr<Kernel> makeKernel(std::vector<OutputDesc> outs, RunFn fn, double flops = 0.0)
{
    return std::make_unique<FnKernel>(std::move(outs), std::move(fn), flops);
}

// ---- broadcasting --------------------------------------------------------------------------------------------

constexpr int kMaxBroadcastInputs = 3;
using Offsets = std::array<int64_t, kMaxBroadcastInputs>;

// Numpy broadcasting of up to three inputs to an output shape, with adjacent dimensions merged wherever every
// input walks them the same way. Same-shape and scalar operands collapse to a single row; per-channel operands
// (1xCx1x1 against NxCxHxW) to rows of H*W with the operand fixed along each row.
struct Broadcast
{
    int inputs = 0;
    std::vector<int64_t> dims; // merged output dimensions; the last one is the row
    std::vector<Offsets> strides; // per merged dimension, per input: element stride (0 where broadcast)
    int64_t rows = 0;
    int64_t inner = 0;

    static Broadcast make(const std::vector<Shape>& in, const Shape& out)
    {
        Broadcast b;
        b.inputs = static_cast<int>(in.size());
        const size_t rank = out.size();
        std::vector<Offsets> full(rank, Offsets {});
        for (size_t i = 0; i < in.size(); ++i) {
            int64_t s = 1;
            for (size_t d = rank; d-- > 0;) {
                const size_t pad = rank - in[i].size();
                const int64_t dim = d < pad ? 1 : in[i][d - pad];
                full[d][i] = dim == 1 ? 0 : s;
                s *= dim;
            }
        }
        for (size_t d = 0; d < rank; ++d) {
            if (out[d] == 1) continue;
            bool merge = !b.dims.empty();
            for (int i = 0; merge && i < b.inputs; ++i)
                merge = b.strides.back()[i] == full[d][i] * out[d];
            if (merge) {
                b.dims.back() *= out[d];
                b.strides.back() = full[d];
            } else {
                b.dims.push_back(out[d]);
                b.strides.push_back(full[d]);
            }
        }
        if (b.dims.empty()) {
            b.dims.push_back(1);
            b.strides.push_back(Offsets {});
        }
        b.inner = b.dims.back();
        b.rows = 1;
        for (size_t d = 0; d + 1 < b.dims.size(); ++d)
            b.rows *= b.dims[d];
        return b;
    }

    int64_t total() const { return rows * inner; }
    // 1 when input i advances along a row, 0 when it stays put.
    int64_t step(int i) const { return strides.back()[i]; }

    void rowOffsets(int64_t row, Offsets& off) const
    {
        off.fill(0);
        for (size_t d = dims.size() - 1; d-- > 0;) {
            const int64_t idx = row % dims[d];
            row /= dims[d];
            for (int i = 0; i < inputs; ++i)
                off[i] += idx * strides[d][i];
        }
    }

    // Calls f(inputOffsets, outputOffset, count) over spans of consecutive output elements, in parallel.
    template <class F> void forEach(int64_t grain, F&& f) const
    {
        parallelFor(total(), grain, [&](int64_t b, int64_t e) {
            int64_t row = b / inner;
            int64_t col = b % inner;
            Offsets off;
            while (b < e) {
                rowOffsets(row, off);
                const int64_t n = std::min(inner - col, e - b);
                for (int i = 0; i < inputs; ++i)
                    off[i] += col * step(i);
                f(off, b, n);
                b += n;
                ++row;
                col = 0;
            }
        });
    }
};

// y[i] = f(x[i]).
template <class T, class O, class F> DL_SIMD_CLONES void unarySpan(const T* x, O* y, int64_t n, F f)
{
#pragma omp simd
    for (int64_t i = 0; i < n; ++i)
        y[i] = static_cast<O>(f(x[i]));
}

// o[i] = f(a[i], b[i]) where an operand with step 0 is a scalar for the span.
template <class A, class B, class O, class F>
DL_SIMD_CLONES void binarySpan(const A* a, int64_t sa, const B* b, int64_t sb, O* o, int64_t n, F f)
{
    if (sa && sb) {
#pragma omp simd
        for (int64_t i = 0; i < n; ++i)
            o[i] = f(a[i], b[i]);
    } else if (sa) {
        const B bv = *b;
#pragma omp simd
        for (int64_t i = 0; i < n; ++i)
            o[i] = f(a[i], bv);
    } else if (sb) {
        const A av = *a;
#pragma omp simd
        for (int64_t i = 0; i < n; ++i)
            o[i] = f(av, b[i]);
    } else {
        const O v = f(*a, *b);
        for (int64_t i = 0; i < n; ++i)
            o[i] = v;
    }
}

// ---- vectorisable float math ---------------------------------------------------------------------------------
// libm calls stop the vectoriser; these inline approximations (within a few ulp) keep activation loops SIMD.
// The double overloads defer to libm.

inline float fastExp(float x)
{
    // exp(x) = 2^k * exp(r) with k = round(x / ln 2), |r| <= ln2 / 2, ln 2 split in two for an exact k * ln 2.
    const float xc = std::min(std::max(x, -86.9f), 88.7228f);
    const float kf = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;
    const float r = (xc - kf * 0.693359375f) + kf * 2.12194440e-4f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    // 2^(k-1) * 2 keeps the exponent field in range for k = 128.
    const int32_t k = static_cast<int32_t>(kf);
    const float scale = std::bit_cast<float>(static_cast<uint32_t>(k + 126) << 23);
    float y = p * scale * 2.0f;
    y = x > 88.72283f ? std::numeric_limits<float>::infinity() : y;
    y = x < -86.9f ? 0.0f : y;
    return y;
}
inline double fastExp(double x)
{
    return std::exp(x);
}

inline float fastExpm1(float x)
{
    // Near zero exp(x) - 1 cancels; the Taylor series keeps the relative accuracy there.
    float p = 1.0f / 40320.0f;
    p = p * x + 1.0f / 5040.0f;
    p = p * x + 1.0f / 720.0f;
    p = p * x + 1.0f / 120.0f;
    p = p * x + 1.0f / 24.0f;
    p = p * x + 1.0f / 6.0f;
    p = p * x + 0.5f;
    p = p * x + 1.0f;
    p = p * x;
    const float e = fastExp(x) - 1.0f;
    return std::fabs(x) < 0.3466f ? p : e;
}
inline double fastExpm1(double x)
{
    return std::expm1(x);
}

// log(1 + t) for t in [0, 1], via 2 atanh(t / (2 + t)).
inline float fastLog1pUnit(float t)
{
    const float s = t / (2.0f + t);
    const float s2 = s * s;
    float p = 1.0f / 15.0f;
    p = p * s2 + 1.0f / 13.0f;
    p = p * s2 + 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}
inline double fastLog1pUnit(double t)
{
    return std::log1p(t);
}

template <class T> inline T fastTanh(T x)
{
    // tanh|x| = -u / (u + 2) with u = expm1(-2|x|): no cancellation near zero, saturates to 1 for large |x|.
    const T u = fastExpm1(T(-2) * std::fabs(x));
    return std::copysign(-u / (u + T(2)), x);
}

template <class T> inline T fastSigmoid(T x)
{
    return T(1) / (T(1) + fastExp(-x));
}

template <class T> inline T fastSoftplus(T x)
{
    return std::max(x, T(0)) + fastLog1pUnit(fastExp(-std::fabs(x)));
}

template <class T> inline T fastMish(T x)
{
    // tanh(softplus(x)) = u / (u + 2) with n = e^x, u = n (n + 2): one exp instead of three; x above 20 makes
    // the factor 1 in float and would overflow u further up.
    const T n = fastExp(std::min(x, T(20)));
    const T u = n * (n + T(2));
    return x >= T(20) ? x : x * (u / (u + T(2)));
}

// ---- float16 -------------------------------------------------------------------------------------------------

inline void widenHalf(const uint16_t* src, float* dst, int64_t n)
{
    parallelFor(n, kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
            dst[i] = halfToFloat(src[i]);
    });
}

inline void narrowToHalf(const float* src, uint16_t* dst, int64_t n)
{
    parallelFor(n, kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
            dst[i] = floatToHalf(src[i]);
    });
}

// Runs a float32 kernel on float16 data: inputs are widened into scratch buffers made at creation, and float32
// outputs are narrowed back when the first input was float16 (elementwise ops take their type from it).
class HalfKernel final : public Kernel
{
public:
    static Result<std::unique_ptr<Kernel>> create(const KernelFactory& factory, const KernelArgs& args)
    {
        auto k = std::unique_ptr<HalfKernel>(new HalfKernel);
        const size_t n = args.inputs.size();
        KernelArgs wide { args.node, args.inputs, args.opset, args.ctx };
        k->m_constants.resize(n);
        k->m_wideIn.resize(n);
        k->m_in.resize(n);
        for (size_t i = 0; i < n; ++i) {
            ValueDesc& v = wide.inputs[i];
            if (v.dtype != DType::F16) continue;
            v.dtype = DType::F32;
            if (v.constant) {
                k->m_constants[i] = v.constant->cast(DType::F32);
                v.constant = &k->m_constants[i];
            }
            k->m_wideIn[i] = Tensor(DType::F32, v.shape);
        }
        DL_ASSIGN(k->m_inner, factory(wide));
        const bool narrow = n > 0 && args.inputs[0].dtype == DType::F16;
        k->m_wideOut.resize(k->m_inner->outputs.size());
        k->m_out.resize(k->m_inner->outputs.size());
        for (size_t o = 0; o < k->m_inner->outputs.size(); ++o) {
            OutputDesc d = k->m_inner->outputs[o];
            if (narrow && d.dtype == DType::F32) {
                k->m_wideOut[o] = Tensor(DType::F32, d.shape);
                d.dtype = DType::F16;
            }
            k->outputs.push_back(d);
        }
        return std::unique_ptr<Kernel>(std::move(k));
    }

    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        for (size_t i = 0; i < in.size() && i < m_in.size(); ++i) {
            m_in[i] = in[i];
            if (in[i] && m_wideIn[i].valid()) {
                widenHalf(in[i]->ptr<uint16_t>(), m_wideIn[i].ptr<float>(), m_wideIn[i].numel());
                m_in[i] = &m_wideIn[i];
            }
        }
        for (size_t o = 0; o < out.size() && o < m_out.size(); ++o)
            m_out[o] = m_wideOut[o].valid() && out[o] ? &m_wideOut[o] : out[o];
        DL_TRY(m_inner->run(m_in, m_out));
        for (size_t o = 0; o < out.size() && o < m_out.size(); ++o)
            if (m_wideOut[o].valid() && out[o])
                narrowToHalf(m_wideOut[o].ptr<float>(), out[o]->ptr<uint16_t>(), m_wideOut[o].numel());
        return {};
    }
    double flops() const override { return m_inner->flops(); }

private:
    HalfKernel() = default;
    std::unique_ptr<Kernel> m_inner;
    std::vector<Tensor> m_constants;
    std::vector<Tensor> m_wideIn;
    std::vector<Tensor> m_wideOut;
    std::vector<const Tensor*> m_in;
    std::vector<Tensor*> m_out;
};

// A factory that sends nodes with any float16 input through HalfKernel.
inline KernelFactory withHalf(KernelFactory factory)
{
    return [factory](const KernelArgs& args) -> Result<std::unique_ptr<Kernel>> {
        for (const auto& v : args.inputs)
            if (v.dtype == DType::F16) return HalfKernel::create(factory, args);
        return factory(args);
    };
}

} // namespace dl::cpu::ew
