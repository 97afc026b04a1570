#pragma once

// How the studio's process keeps its memory: set once at start-up (dlstudio's main, and the tests that stand in for
// it).

namespace dl::ui {

// Limits what glibc's malloc keeps of memory the studio freed. Two settings, both measured over 50 models opened and
// run one after another (tests/ui/test_stress, resident set after the loop against after the first model):
// - at most two arenas. By default each thread that allocates gets an arena of its own (up to eight per core); the
//   studio's threads (loader, planner, run store, the engine's run threads) build objects the GUI thread frees later,
//   and each arena keeps what was freed in it. With nine arenas the resident set grew +2 to +13 %.
// - fixed thresholds (1 MiB) for serving an allocation by mmap and for giving back the top of a heap. By default
//   both rise with the largest block freed so far (up to 32 and 64 MiB), after which the free top of an arena's heap
//   is never given back, not even by malloc_trim. With two arenas alone the resident set grew +2 to +7 %; with the
//   thresholds fixed too, +2 to +4 %, the rest being library code (oneDNN's kernels) first run by later models.
// The engine's large buffers are its own mappings, not malloc's. Nothing happens where the C library is not glibc.
void limitMallocRetention();

} // namespace dl::ui
