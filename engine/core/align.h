#pragma once

#include <cstdint>

namespace dl {

// `n` rounded up to a multiple of `alignment` (any positive number, not only a power of two).
constexpr uint64_t alignUp(uint64_t n, uint64_t alignment)
{
    return (n + alignment - 1) / alignment * alignment;
}

} // namespace dl
