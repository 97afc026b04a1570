// Fuzz target: the run configuration parser (dlayer plan's files, dlayer run --config).

#include "plan/config.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    auto config = dl::plan::configFromJson(std::string(reinterpret_cast<const char*>(data), size));
    if (config.ok()) (void)dl::plan::configToJson(*config);
    return 0;
}
