#pragma once

// The versions this engine build runs on, for about boxes and reports.

#include <string>

namespace dl {

// oneDNN's version as the library reports it at run time, e.g. "3.0.0".
std::string oneDnnVersion();
// The CUDA toolkit the build found at /usr/local/cuda, e.g. "12.4.131"; empty when built without it.
std::string cudaVersion();

} // namespace dl
