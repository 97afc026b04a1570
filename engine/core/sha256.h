#pragma once

// SHA-256 (FIPS 180-4), for output fingerprints and content hashes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace dl {

class Sha256
{
public:
    Sha256();
    void update(const void* data, size_t size);
    std::array<uint8_t, 32> finish();
    // Lower-case hex of the digest; the object must not be used after.
    std::string hex();

    static std::string hexOf(const void* data, size_t size);

private:
    void block(const uint8_t* p);

    std::array<uint32_t, 8> m_h;
    std::array<uint8_t, 64> m_buf {};
    size_t m_used = 0;
    uint64_t m_total = 0;
};

} // namespace dl
