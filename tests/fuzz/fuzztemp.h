#pragma once

// For the fuzz targets whose parser reads a file (a pack, a Darknet network and its weights): the input written to
// a file of this process under $TMPDIR, rewritten for each input.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace dlfuzz {

inline std::string writeTemp(const uint8_t* data, size_t size, const std::string& suffix)
{
    const char* dir = std::getenv("TMPDIR");
    const std::string path
        = std::string(dir && *dir ? dir : "/tmp") + "/dl-fuzz-" + std::to_string(::getpid()) + suffix;
    if (FILE* f = std::fopen(path.c_str(), "wb")) {
        if (size) std::fwrite(data, 1, size, f);
        std::fclose(f);
    }
    return path;
}

} // namespace dlfuzz
