#include "core/streamcopy.h"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>
#define DL_STREAM_STORES 1
#endif

namespace dl {

void copyStreaming(void* dst, const void* src, size_t bytes)
{
#ifdef DL_STREAM_STORES
    auto* d = static_cast<std::byte*>(dst);
    const auto* s = static_cast<const std::byte*>(src);
    // The stores need 16-byte aligned destinations: an ordinary copy up to the first, and of the tail after the last
    // whole 64-byte line. Too small to be worth it: memcpy.
    constexpr size_t kLine = 64;
    if (bytes < 4 * kLine) {
        std::memcpy(d, s, bytes);
        return;
    }
    const size_t head = (kLine - reinterpret_cast<uintptr_t>(d) % kLine) % kLine;
    std::memcpy(d, s, head);
    d += head;
    s += head;
    bytes -= head;
    const size_t lines = bytes / kLine;
    auto* out = reinterpret_cast<__m128i*>(d);
    const auto* in = reinterpret_cast<const __m128i*>(s);
    for (size_t i = 0; i < lines; ++i, out += 4, in += 4) {
        const __m128i a = _mm_loadu_si128(in), b = _mm_loadu_si128(in + 1), c = _mm_loadu_si128(in + 2),
                      e = _mm_loadu_si128(in + 3);
        _mm_stream_si128(out, a);
        _mm_stream_si128(out + 1, b);
        _mm_stream_si128(out + 2, c);
        _mm_stream_si128(out + 3, e);
    }
    std::memcpy(d + lines * kLine, s + lines * kLine, bytes - lines * kLine);
    // Non-temporal stores are weakly ordered: fence them before whatever publishes the copy.
    _mm_sfence();
#else
    std::memcpy(dst, src, bytes);
#endif
}

} // namespace dl
