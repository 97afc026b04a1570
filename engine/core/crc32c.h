#pragma once

// CRC-32C (Castagnoli), the layer pack's per-layer checksum: cheap enough to check every streamed read
// (the SSE4.2 crc32 instruction where the CPU has it, a table otherwise).

#include <cstddef>
#include <cstdint>

namespace dl {

// Continues `crc` (0 to start) over `size` bytes.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

} // namespace dl
