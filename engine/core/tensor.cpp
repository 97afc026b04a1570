#include "core/tensor.h"

#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sys/mman.h>

namespace dl {

size_t dtypeSize(DType t)
{
    switch (t) {
    case DType::F32:
    case DType::I32:
    case DType::U32:
        return 4;
    case DType::U8:
    case DType::I8:
    case DType::Bool:
        return 1;
    case DType::U16:
    case DType::I16:
    case DType::F16:
        return 2;
    case DType::I64:
    case DType::U64:
    case DType::F64:
        return 8;
    case DType::Undefined:
    case DType::String:
        return 0;
    }
    return 0;
}

const char* dtypeName(DType t)
{
    switch (t) {
    case DType::F32:
        return "float32";
    case DType::U8:
        return "uint8";
    case DType::I8:
        return "int8";
    case DType::U16:
        return "uint16";
    case DType::I16:
        return "int16";
    case DType::I32:
        return "int32";
    case DType::I64:
        return "int64";
    case DType::String:
        return "string";
    case DType::Bool:
        return "bool";
    case DType::F16:
        return "float16";
    case DType::F64:
        return "float64";
    case DType::U32:
        return "uint32";
    case DType::U64:
        return "uint64";
    case DType::Undefined:
        break;
    }
    return "undefined";
}

int64_t numElements(const Shape& s)
{
    int64_t n = 1;
    for (int64_t d : s)
        n *= d;
    return n;
}

std::string shapeToString(const Shape& s)
{
    if (s.empty()) return "scalar";
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (i) out += 'x';
        out += std::to_string(s[i]);
    }
    return out;
}

float halfToFloat(uint16_t h)
{
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {
            // Subnormal half: value = mant * 2^-24.
            float v = std::ldexp(static_cast<float>(mant), -24);
            return sign ? -v : v;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    return std::bit_cast<float>(bits);
}

uint16_t floatToHalf(float f)
{
    const uint32_t x = std::bit_cast<uint32_t>(f);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) // inf or nan
        return sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u);
    if (absx >= 0x477ff000u) // rounds to >= 65520: overflow to inf
        return sign | 0x7c00u;
    if (absx < 0x38800000u) { // below the smallest normal half: subnormal or zero
        const float v = std::bit_cast<float>(absx);
        const float scaled = v * 16777216.0f; // 2^24
        return sign | static_cast<uint16_t>(std::nearbyint(scaled));
    }
    // Normal: round to nearest even on the 13 dropped mantissa bits.
    uint32_t rounded = absx + 0xfffu + ((absx >> 13) & 1u);
    return sign | static_cast<uint16_t>((rounded - 0x38000000u) >> 13);
}

namespace {
std::shared_ptr<std::byte> allocateAligned(size_t bytes)
{
    // Large buffers come straight from the kernel, whose fresh pages read as zero until first written: planning a
    // model then costs no page faults for activations it never runs (a summary of ISNet planned 480 MB of them).
    constexpr size_t kMapFrom = size_t(1) << 20;
    if (bytes >= kMapFrom) {
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED)
            return std::shared_ptr<std::byte>(
                static_cast<std::byte*>(p), [bytes](std::byte* q) { ::munmap(q, bytes); });
    }
    const size_t size = (bytes + 63) / 64 * 64;
    void* p = ::operator new(size == 0 ? 64 : size, std::align_val_t(64));
    std::memset(p, 0, size == 0 ? 64 : size);
    return std::shared_ptr<std::byte>(
        static_cast<std::byte*>(p), [](std::byte* q) { ::operator delete(q, std::align_val_t(64)); });
}

template <typename T> void readAll(const void* src, DType t, int64_t n, T* dst)
{
    auto go = [&](auto* p) {
        for (int64_t i = 0; i < n; ++i)
            dst[i] = static_cast<T>(p[i]);
    };
    switch (t) {
    case DType::F32:
        go(static_cast<const float*>(src));
        break;
    case DType::F64:
        go(static_cast<const double*>(src));
        break;
    case DType::F16: {
        auto* p = static_cast<const uint16_t*>(src);
        for (int64_t i = 0; i < n; ++i)
            dst[i] = static_cast<T>(halfToFloat(p[i]));
        break;
    }
    case DType::U8:
        go(static_cast<const uint8_t*>(src));
        break;
    case DType::I8:
        go(static_cast<const int8_t*>(src));
        break;
    case DType::U16:
        go(static_cast<const uint16_t*>(src));
        break;
    case DType::I16:
        go(static_cast<const int16_t*>(src));
        break;
    case DType::I32:
        go(static_cast<const int32_t*>(src));
        break;
    case DType::I64:
        go(static_cast<const int64_t*>(src));
        break;
    case DType::U32:
        go(static_cast<const uint32_t*>(src));
        break;
    case DType::U64:
        go(static_cast<const uint64_t*>(src));
        break;
    case DType::Bool:
        go(static_cast<const uint8_t*>(src));
        break;
    case DType::Undefined:
    case DType::String:
        break;
    }
}

template <typename T> void writeAll(const double* src, int64_t n, T* dst)
{
    for (int64_t i = 0; i < n; ++i)
        dst[i] = static_cast<T>(src[i]);
}
} // namespace

Tensor::Tensor(DType dtype, Shape shape)
    : m_dtype(dtype)
    , m_shape(std::move(shape))
{
    m_storage = allocateAligned(bytes());
    m_data = m_storage.get();
}

Tensor Tensor::view(DType dtype, Shape shape, void* data)
{
    Tensor t;
    t.m_dtype = dtype;
    t.m_shape = std::move(shape);
    t.m_data = static_cast<std::byte*>(data);
    return t;
}

Tensor Tensor::adopt(DType dtype, Shape shape, std::shared_ptr<std::byte> storage)
{
    Tensor t = view(dtype, std::move(shape), storage.get());
    t.m_storage = std::move(storage);
    return t;
}

Tensor Tensor::reshaped(Shape shape) const
{
    Tensor t = *this;
    t.m_shape = std::move(shape);
    return t;
}

Tensor Tensor::clone() const
{
    Tensor t(m_dtype, m_shape);
    if (bytes()) std::memcpy(t.m_data, m_data, bytes());
    return t;
}

std::vector<int64_t> Tensor::toInt64() const
{
    std::vector<int64_t> out(static_cast<size_t>(numel()));
    switch (m_dtype) {
    case DType::F32:
    case DType::F64:
    case DType::F16:
    case DType::Undefined:
    case DType::String:
        return {};
    default:
        readAll(m_data, m_dtype, numel(), out.data());
    }
    return out;
}

std::vector<double> Tensor::toDouble() const
{
    std::vector<double> out(static_cast<size_t>(numel()));
    readAll(m_data, m_dtype, numel(), out.data());
    return out;
}

Tensor Tensor::cast(DType to) const
{
    Tensor t(to, m_shape);
    const int64_t n = numel();
    if (to == m_dtype) {
        if (bytes()) std::memcpy(t.m_data, m_data, bytes());
        return t;
    }
    // Integer to integer goes through int64 so that large values stay exact.
    const bool srcInt = m_dtype != DType::F32 && m_dtype != DType::F64 && m_dtype != DType::F16;
    const bool dstInt = to != DType::F32 && to != DType::F64 && to != DType::F16;
    if (srcInt && dstInt) {
        std::vector<int64_t> v(static_cast<size_t>(n));
        readAll(m_data, m_dtype, n, v.data());
        auto go = [&](auto* d) {
            for (int64_t i = 0; i < n; ++i)
                d[i] = static_cast<std::remove_pointer_t<decltype(d)>>(v[i]);
        };
        switch (to) {
        case DType::U8:
            go(t.ptr<uint8_t>());
            break;
        case DType::I8:
            go(t.ptr<int8_t>());
            break;
        case DType::U16:
            go(t.ptr<uint16_t>());
            break;
        case DType::I16:
            go(t.ptr<int16_t>());
            break;
        case DType::I32:
            go(t.ptr<int32_t>());
            break;
        case DType::I64:
            go(t.ptr<int64_t>());
            break;
        case DType::U32:
            go(t.ptr<uint32_t>());
            break;
        case DType::U64:
            go(t.ptr<uint64_t>());
            break;
        case DType::Bool: {
            auto* d = t.ptr<uint8_t>();
            for (int64_t i = 0; i < n; ++i)
                d[i] = v[i] != 0;
            break;
        }
        default:
            break;
        }
        return t;
    }
    std::vector<double> v(static_cast<size_t>(n));
    readAll(m_data, m_dtype, n, v.data());
    switch (to) {
    case DType::F32:
        writeAll(v.data(), n, t.ptr<float>());
        break;
    case DType::F64:
        writeAll(v.data(), n, t.ptr<double>());
        break;
    case DType::F16: {
        auto* d = t.ptr<uint16_t>();
        for (int64_t i = 0; i < n; ++i)
            d[i] = floatToHalf(static_cast<float>(v[i]));
        break;
    }
    case DType::Bool: {
        auto* d = t.ptr<uint8_t>();
        for (int64_t i = 0; i < n; ++i)
            d[i] = v[i] != 0.0;
        break;
    }
    case DType::U8:
        writeAll(v.data(), n, t.ptr<uint8_t>());
        break;
    case DType::I8:
        writeAll(v.data(), n, t.ptr<int8_t>());
        break;
    case DType::U16:
        writeAll(v.data(), n, t.ptr<uint16_t>());
        break;
    case DType::I16:
        writeAll(v.data(), n, t.ptr<int16_t>());
        break;
    case DType::I32:
        writeAll(v.data(), n, t.ptr<int32_t>());
        break;
    case DType::I64:
        writeAll(v.data(), n, t.ptr<int64_t>());
        break;
    case DType::U32:
        writeAll(v.data(), n, t.ptr<uint32_t>());
        break;
    case DType::U64:
        writeAll(v.data(), n, t.ptr<uint64_t>());
        break;
    default:
        break;
    }
    return t;
}

} // namespace dl
