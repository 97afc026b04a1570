// Fuzz target: the layer pack's header and table reader (readLayerPack), on a file holding the input.

#include "pack/layerpack.h"

#include "fuzztemp.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    auto pack = dl::readLayerPack(dlfuzz::writeTemp(data, size, ".dlpack"));
    if (pack.ok()) (void)pack->boundWeightBytes();
    return 0;
}
