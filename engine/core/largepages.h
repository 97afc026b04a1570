#pragma once

// Large buffers on transparent huge pages. A direct read lands in the pages of its destination, and the block layer
// describes it to the device one physically contiguous segment at a time: on 4 KiB pages a 4 MiB read is 1024
// segments, more than a virtio disk takes in one request (254 here), so it leaves as several requests, each pinned
// page by page. On 2 MiB pages it is two segments and one request (measured: docs/experiments/architecture-notes.md,
// "Measurements behind the code").
//
// A buffer of at least kLargePageBytes is an anonymous mapping aligned to 2 MiB and advised MADV_HUGEPAGE (honoured
// when /sys/kernel/mm/transparent_hugepage/enabled is "always" or "madvise"); its length is the request rounded up to
// 4 KiB only, so a partial last huge page stays on small pages and the buffer holds no more memory than asked for.
// Smaller buffers, alignments above 2 MiB, or large pages turned off come from operator new as before.

#include <cstddef>

namespace dl {

inline constexpr size_t kLargePageBytes = size_t(2) << 20;

// Whether large buffers go on huge pages (default on). Process-wide: `dlayer run --no-huge-pages` turns it off to
// measure what it buys. Buffers allocated before a change keep their kind.
void setLargePages(bool on);
bool largePagesOn();

// `bytes` (> 0) of memory aligned to `alignment` (a power of two), zero-filled (fresh pages) or not as `zero` says,
// and null when out of memory. Free with freeLargeOrAligned, passing the same bytes and alignment and the `mapped`
// flag this call set.
std::byte* allocateLargeOrAligned(size_t bytes, size_t alignment, bool zero, bool& mapped);
void freeLargeOrAligned(std::byte* p, size_t bytes, size_t alignment, bool mapped);
// The same on small pages whatever setLargePages says: from 2 MiB up (alignment up to 4 KiB) an anonymous mapping
// advised MADV_NOHUGEPAGE, so that a kernel whose transparent huge pages are "always" does not put it on huge pages
// either; else operator new. Free with freeLargeOrAligned and the `mapped` flag this call set.
std::byte* allocateSmallPages(size_t bytes, size_t alignment, bool zero, bool& mapped);

// Bytes of this process's memory on transparent huge pages now (AnonHugePages of /proc/self/smaps_rollup), or -1
// where the kernel does not say.
long long hugePageBytes();

} // namespace dl
