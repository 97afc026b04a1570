#include "core/half.h"

#include "core/tensor.h"

#include <cmath>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define DL_HALF_F16C 1
#endif

namespace dl {

namespace {

void widenScalar(const uint16_t* src, float* dst, size_t n)
{
#if defined(__aarch64__)
    // The processor converts (FCVTL), and the compiler vectorises the loop.
    const auto* h = reinterpret_cast<const __fp16*>(src);
    for (size_t i = 0; i < n; ++i)
        dst[i] = static_cast<float>(h[i]);
#else
    for (size_t i = 0; i < n; ++i)
        dst[i] = halfToFloat(src[i]);
#endif
}

#ifdef DL_HALF_F16C
__attribute__((target("avx,f16c"))) void widenF16c(const uint16_t* src, float* dst, size_t n)
{
    // Scalar up to a 32-byte aligned destination, so that the streamed stores may be used.
    size_t i = 0;
    while (i < n && reinterpret_cast<uintptr_t>(dst + i) % 32 != 0) {
        dst[i] = halfToFloat(src[i]);
        ++i;
    }
    for (; i + 16 <= n; i += 16) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 8));
        _mm256_stream_ps(dst + i, _mm256_cvtph_ps(a));
        _mm256_stream_ps(dst + i + 8, _mm256_cvtph_ps(b));
    }
    for (; i < n; ++i)
        dst[i] = halfToFloat(src[i]);
    _mm_sfence();
}

__attribute__((target("avx,f16c"))) void narrowF16c(const float* src, uint16_t* dst, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
    }
    for (; i < n; ++i)
        dst[i] = floatToHalf(src[i]);
}

// Backward, eight at a time: each block is loaded before the floats that may cover it are stored.
__attribute__((target("avx,f16c"))) void widenBackF16c(const std::byte* src, std::byte* dst, size_t n)
{
    size_t i = n;
    for (; i % 8 != 0; --i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * (i - 1), 2);
        const float f = halfToFloat(h);
        std::memcpy(dst + 4 * (i - 1), &f, 4);
    }
    for (; i >= 8; i -= 8) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * (i - 8)));
        _mm256_storeu_ps(reinterpret_cast<float*>(dst + 4 * (i - 8)), _mm256_cvtph_ps(h));
    }
}

bool haveF16c()
{
    // F16C from CPUID itself: clang's __builtin_cpu_supports does not know "f16c".
    static const bool have = [] {
        unsigned a = 0, b = 0, c = 0, d = 0;
        return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0 && __builtin_cpu_supports("avx");
    }();
    return have;
}
#endif

} // namespace

void widenHalf(const uint16_t* src, float* dst, size_t n)
{
#ifdef DL_HALF_F16C
    if (haveF16c()) return widenF16c(src, dst, n);
#endif
    widenScalar(src, dst, n);
}

void widenHalfInPlace(std::byte* buffer, size_t from, size_t to, size_t n)
{
    const std::byte* src = buffer + from;
    std::byte* dst = buffer + to;
#ifdef DL_HALF_F16C
    if (haveF16c()) return widenBackF16c(src, dst, n);
#endif
    for (size_t i = n; i-- > 0;) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        const float f = halfToFloat(h);
        std::memcpy(dst + 4 * i, &f, 4);
    }
}

void narrowToHalf(const float* src, uint16_t* dst, size_t n)
{
#ifdef DL_HALF_F16C
    if (haveF16c()) return narrowF16c(src, dst, n);
#endif
    for (size_t i = 0; i < n; ++i)
        dst[i] = floatToHalf(src[i]);
}

bool fitsHalf(const float* src, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        if (std::isfinite(src[i]) && std::fabs(src[i]) >= 65520.0f) return false;
    return true;
}

const char* widenHalfPath()
{
#ifdef DL_HALF_F16C
    if (haveF16c()) return "f16c";
#endif
#if defined(__aarch64__)
    return "fcvt";
#else
    return "scalar";
#endif
}

} // namespace dl
