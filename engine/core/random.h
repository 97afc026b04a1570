#pragma once

// Deterministic pseudo-random numbers (splitmix64): the same seed gives the same values on every machine.

#include "core/tensor.h"

#include <cstdint>

namespace dl {

class SplitMix64
{
public:
    explicit SplitMix64(uint64_t seed)
        : m_state(seed)
    { }
    uint64_t next()
    {
        uint64_t z = (m_state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1).
    float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }

private:
    uint64_t m_state;
};

// A tensor of seeded values: floats uniform in [0, 1), integers in [0, 10), booleans 0/1.
Tensor seededTensor(DType dtype, const Shape& shape, uint64_t seed);

} // namespace dl
