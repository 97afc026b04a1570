#pragma once

// How the studio's process keeps its memory: set once at start-up (dlstudio's main, and the tests that stand in for
// it).

namespace dl::ui {

// Caps glibc's malloc at two arenas. By default each thread that allocates gets an arena of its own (up to eight per
// core); the studio's threads (loader, planner, run store, the engine's run threads) build objects that the GUI thread
// frees later, and each arena keeps what was freed in it resident. Over 150 models opened and run one after another
// (tests/ui/test_stress) that crept from 65 to 72 MiB of resident memory by default, and from 62 to 66 MiB with two
// arenas. The engine's large buffers are its own mappings, not malloc's. Nothing happens where the C library is not
// glibc.
void limitMallocArenas();

} // namespace dl::ui
