#pragma once

// Float16 in bulk: widening the weights an fp16 layer pack stores into the float32 the kernels read, once per streamed
// layer and inference, and narrowing them when packing. Round to nearest even; values beyond float16's range become
// infinities, NaN stays NaN (the same results as halfToFloat / floatToHalf in core/tensor.h, element for element).

#include <cstddef>
#include <cstdint>

namespace dl {

// Writes n floats at `dst` from n halves at `src` (not overlapping). With F16C (x86-64, chosen at run time) eight at a
// time, the floats written with non-temporal stores like copyStreaming(): the destination is a staging buffer the
// kernels read once, not worth the caches. The stores are ordered before the call returns.
void widenHalf(const uint16_t* src, float* dst, size_t n);

// Widens n halves at `buffer + from` into n floats at `buffer + to` within one buffer, where `to` >= `from` (the
// floats may overlap the halves): from the last element back, so that no half is overwritten before it is read.
void widenHalfInPlace(std::byte* buffer, size_t from, size_t to, size_t n);

// Writes n halves at `dst` from n floats at `src`.
void narrowToHalf(const float* src, uint16_t* dst, size_t n);

// Whether every finite value of the n floats stays finite in float16 (|v| < 65520, which rounds to at most 65504):
// false where narrowing would turn a weight into an infinity.
bool fitsHalf(const float* src, size_t n);

// What widenHalf runs on this machine: "f16c" (x86-64), "fcvt" (aarch64) or "scalar".
const char* widenHalfPath();

} // namespace dl
