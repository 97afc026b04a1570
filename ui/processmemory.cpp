#include "processmemory.h"

#include <cstdlib> // defines __GLIBC__ where the C library is glibc: the test below needs it first

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace dl::ui {

void limitMallocRetention()
{
#if defined(__GLIBC__)
    constexpr int Threshold = 1 << 20;
    mallopt(M_ARENA_MAX, 2);
    mallopt(M_MMAP_THRESHOLD, Threshold);
    mallopt(M_TRIM_THRESHOLD, Threshold);
#endif
}

} // namespace dl::ui
