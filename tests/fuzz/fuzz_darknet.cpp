// Fuzz target: the Darknet importer, a network description (.cfg) alone (seeded weights of the shapes it declares)
// or with a weights file. An input holding the line "#dl-fuzz-weights" is the cfg before it and the weights after.

#include "model/importer.h"

#include "fuzztemp.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static constexpr std::string_view kMarker = "\n#dl-fuzz-weights\n";
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    const size_t at = all.find(kMarker);
    dl::ImportOptions options;
    options.maxWeightBytes = uint64_t(64) << 20; // larger networks import too, only slowly: not what is fuzzed here
    const std::string cfg = dlfuzz::writeTemp(data, at == std::string_view::npos ? size : at, ".cfg");
    if (at != std::string_view::npos) {
        const size_t from = at + kMarker.size();
        options.darknetWeights = dlfuzz::writeTemp(data + from, size - from, ".weights");
    }
    (void)dl::importDarknet(cfg, options);
    return 0;
}
