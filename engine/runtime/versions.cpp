#include "runtime/versions.h"

#include <oneapi/dnnl/dnnl.h>

namespace dl {

std::string oneDnnVersion()
{
    const dnnl_version_t* v = dnnl_version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

std::string cudaVersion()
{
#ifdef DL_CUDA_VERSION
    return DL_CUDA_VERSION;
#else
    return {};
#endif
}

} // namespace dl
