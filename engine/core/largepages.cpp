#include "core/largepages.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <new>
#include <string>

#include <sys/mman.h>

namespace dl {
namespace {

std::atomic<bool> g_largePages { true };
constexpr size_t kSmallPage = 4096;

size_t roundUp(size_t v, size_t to)
{
    return (v + to - 1) / to * to;
}

// An anonymous mapping of `length` bytes starting on a 2 MiB boundary: map a huge page more than needed, then
// return the unaligned head and the spare tail to the kernel.
std::byte* mapAligned(size_t length)
{
    const size_t reserve = length + kLargePageBytes;
    if (reserve < length) return nullptr;
    void* raw = ::mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    const auto start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + kLargePageBytes - 1) & ~(uintptr_t(kLargePageBytes) - 1);
    if (aligned > start) ::munmap(raw, aligned - start);
    const uintptr_t end = aligned + length, reservedEnd = start + reserve;
    if (reservedEnd > end) ::munmap(reinterpret_cast<void*>(end), reservedEnd - end);
    auto* p = reinterpret_cast<std::byte*>(aligned);
    // Advice only: a kernel without transparent huge pages refuses it, and small pages serve as before.
    ::madvise(p, length, MADV_HUGEPAGE);
    return p;
}

// The small-buffer path of both allocators: operator new, zero-filled as asked.
std::byte* fromHeap(size_t bytes, size_t alignment, bool zero)
{
    void* p = ::operator new(bytes, std::align_val_t(alignment), std::nothrow);
    if (p && zero) std::memset(p, 0, bytes);
    return static_cast<std::byte*>(p);
}

} // namespace

void setLargePages(bool on)
{
    g_largePages.store(on, std::memory_order_relaxed);
}

bool largePagesOn()
{
    return g_largePages.load(std::memory_order_relaxed);
}

std::byte* allocateLargeOrAligned(size_t bytes, size_t alignment, bool zero, bool& mapped)
{
    mapped = false;
    if (bytes == 0 || alignment == 0 || (alignment & (alignment - 1)) != 0) return nullptr;
    if (largePagesOn() && bytes >= kLargePageBytes && alignment <= kLargePageBytes) {
        if (std::byte* p = mapAligned(roundUp(bytes, kSmallPage))) {
            mapped = true;
            // Fresh anonymous pages read as zero; touching them here faults them in now rather than mid-run, as
            // the memset of the other path does.
            if (zero) std::memset(p, 0, bytes);
            return p;
        }
    }
    return fromHeap(bytes, alignment, zero);
}

std::byte* allocateSmallPages(size_t bytes, size_t alignment, bool zero, bool& mapped)
{
    mapped = false;
    if (bytes == 0 || alignment == 0 || (alignment & (alignment - 1)) != 0) return nullptr;
    if (bytes >= kLargePageBytes && alignment <= kSmallPage) {
        const size_t length = roundUp(bytes, kSmallPage);
        void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            ::madvise(p, length, MADV_NOHUGEPAGE);
            mapped = true;
            if (zero) std::memset(p, 0, bytes);
            return static_cast<std::byte*>(p);
        }
    }
    return fromHeap(bytes, alignment, zero);
}

void freeLargeOrAligned(std::byte* p, size_t bytes, size_t alignment, bool mapped)
{
    if (!p) return;
    if (mapped)
        ::munmap(p, roundUp(bytes, kSmallPage));
    else
        ::operator delete(p, std::align_val_t(alignment));
}

long long hugePageBytes()
{
    std::ifstream in("/proc/self/smaps_rollup");
    std::string key;
    long long kb = 0;
    while (in >> key) {
        if (key == "AnonHugePages:") {
            if (in >> kb) return kb * 1024;
            return -1;
        }
        in.ignore(1 << 12, '\n');
    }
    return -1;
}

} // namespace dl
