#pragma once

// Small files read whole and written whole: a configuration, a cache. Writing goes to a temporary beside the file and
// renames it over the file, so that a crash leaves the old contents or the new ones, never a torn file.

#include "core/result.h"

#include <string>

namespace dl {

// Io "cannot read '<path>'" when it cannot be opened or read.
Result<std::string> readTextFile(const std::string& path);
// Io "cannot write '<path>'" (the temporary removed) when it cannot be written or renamed.
Status writeTextFileReplacing(const std::string& path, const std::string& text);

} // namespace dl
