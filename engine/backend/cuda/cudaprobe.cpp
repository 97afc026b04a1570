#include "backend/cuda/cudaprobe.h"

#include <cuda_runtime_api.h>
#include <cudnn.h>

namespace dl::cuda {

namespace {

std::string errorText(cudaError_t e)
{
    return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
}

std::string versionText(size_t v)
{
    // cuDNN 9 numbers its versions major * 10000 + minor * 100 + patch; cuDNN 8 major * 1000 + minor * 100 + patch.
    const size_t major = v >= 90000 ? v / 10000 : v / 1000;
    const size_t minor = v >= 90000 ? (v / 100) % 100 : (v / 100) % 10;
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(v % 100);
}

} // namespace

DeviceProbe probeDevice()
{
    DeviceProbe p;
    cudaRuntimeGetVersion(&p.runtimeVersion);
    cudaDriverGetVersion(&p.driverVersion);
    const cudaError_t e = cudaGetDeviceCount(&p.count);
    if (e != cudaSuccess) {
        p.count = 0;
        p.reason = "cudaGetDeviceCount: " + errorText(e);
        cudaGetLastError(); // clear it: the runtime keeps the last error per thread
        return p;
    }
    if (p.count == 0) {
        p.reason = "the driver reports no CUDA device";
        return p;
    }
    cudaDeviceProp prop {};
    if (const cudaError_t pe = cudaGetDeviceProperties(&prop, 0); pe != cudaSuccess) {
        p.reason = "cudaGetDeviceProperties: " + errorText(pe);
        cudaGetLastError();
        return p;
    }
    p.name = prop.name;
    p.major = prop.major;
    p.minor = prop.minor;
    p.integrated = prop.integrated != 0;
    p.memoryBytes = prop.totalGlobalMem;
    p.usable = true;
    return p;
}

std::string cudnnLoadedVersion()
{
    return versionText(cudnnGetVersion());
}

std::string cudnnBuiltVersion()
{
    return versionText(CUDNN_VERSION);
}

int cudnnLoadedMajor()
{
    const size_t v = cudnnGetVersion();
    return static_cast<int>(v >= 90000 ? v / 10000 : v / 1000);
}

std::string cudnnBadParamText()
{
    return cudnnGetErrorString(CUDNN_STATUS_BAD_PARAM);
}

} // namespace dl::cuda
