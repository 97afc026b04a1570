#pragma once

// Copying weights the kernels will read once: the copy stage of the sync, async and sequential architectures moves
// every streamed layer from the buffer the reads fill into the one the kernels read, once per inference. An
// ordinary copy first reads each destination line into the cache to own it, so it moves three bytes for each byte
// copied and fills the caches with the destination, pushing out the activations the kernels work on. Non-temporal
// stores write the lines straight to memory: two bytes moved for each byte copied, and the caches left to the
// kernels (measured: docs/experiments/architecture-notes.md, "The copy stage").

#include <cstddef>

namespace dl {

// Copies `bytes` from `src` to `dst` (not overlapping) like memcpy, with non-temporal stores where the processor has
// them (x86-64); elsewhere it is memcpy. The stores are ordered before the call returns, so that another thread that
// learns of the copy through a mutex or an atomic sees all of it.
void copyStreaming(void* dst, const void* src, size_t bytes);

} // namespace dl
