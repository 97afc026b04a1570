#pragma once

// The pipeline architectures by name (docs/architecture.md), apart from the pipeline itself so that headers of the
// studio can name them without the engine's internals.

#include <optional>
#include <string>

namespace dl {

enum class Arch { Preload, Sequential, Sync, Async, TwoStage };

// "preload", "sequential", "sync", "async", "two-stage".
const char* archName(Arch a);
std::optional<Arch> parseArch(const std::string& name);

} // namespace dl
