#pragma once

// The activation arena planner: one block of memory for every activation of a run, each value at an offset, so that
// the block is close to the liveness lower bound instead of the sum of all values.
//
// Steps are the executor's node order 0..S-1. A value is alive over [first, last] inclusive; two values alive at one
// step must not overlap, except a legal in-place pair (a step that writes its output over an input it reads last).

#include "core/result.h"

#include <cstddef>
#include <vector>

namespace dl {

struct ArenaValue
{
    size_t bytes = 0;
    int first = 0; // the step that writes it
    int last = 0; // the last step that reads it (>= first); graph outputs: the number of steps (alive to the end)
    // Index of a value whose buffer this one may overwrite in place. Legal only when that value's last == this
    // value's first, its bytes >= this value's bytes, both are non-empty, and no other value already reuses it (the
    // lowest-indexed user wins). Illegal hints are ignored, never an error.
    int inPlaceOf = -1;
};

struct ArenaPlan
{
    std::vector<size_t> offsets; // per value; a multiple of the alignment
    std::vector<int> sharesWith; // per value: the value whose memory it reuses in place (same offset), or -1
    size_t arenaBytes = 0; // the arena's size, a multiple of the alignment
    size_t sumBytes = 0; // sum of every value's aligned bytes: the one-buffer-per-value cost
    size_t lowerBound = 0; // most aligned bytes alive at one step, in-place pairs counted once
};

// Assigns each value an offset so that no two values alive at one step overlap, honouring legal in-place hints
// (chains a→b→c collapse into one buffer). Greedy by size, each at the lowest offset that fits; deterministic; O(n²) at
// worst. Zero-byte values get offset 0 and never conflict. A `last` below `first` is read as `first`; an alignment of 0
// as 1. lowerBound <= arenaBytes <= sumBytes always.
ArenaPlan planArena(const std::vector<ArenaValue>& values, size_t alignment = 64);

// Checks a plan against its values: sizes, alignment, that every sharing is a legal hint at the same offset, that
// everything fits in arenaBytes, and that no two values alive at one step overlap. Returns an Internal error naming
// the value (or the two values) at fault, else ok.
Status verifyArena(const std::vector<ArenaValue>& values, const ArenaPlan& plan, size_t alignment = 64);

} // namespace dl
