#include "processmemory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace dl::ui {

void limitMallocArenas()
{
#if defined(__GLIBC__)
    mallopt(M_ARENA_MAX, 2);
#endif
}

} // namespace dl::ui
