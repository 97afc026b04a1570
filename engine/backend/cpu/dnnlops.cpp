// The operators backed by oneDNN primitives (and their close relatives in own code), one file per family.

#include "backend/cpu/dnnlcommon.h"

namespace dl::cpu {

void registerDnnlOps(OpRegistry& r)
{
    registerDnnlConvOps(r);
    registerDnnlPoolOps(r);
    registerDnnlMatmulOps(r);
    registerDnnlNormOps(r);
}

} // namespace dl::cpu
