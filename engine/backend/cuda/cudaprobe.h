#pragma once

// What the CUDA backend finds at run time, without touching a GPU where there is none: the libraries it was built
// with and loaded (CUDA runtime, cuDNN), and the device, or why there is none usable (no driver, no device). Nothing
// here aborts or throws: a machine without a GPU gets a reason, which GPU tests print when they skip.
//
// The interface has no CUDA types, so that code without CUDA may include it; it links only where libdlcuda is built
// (DL_CUDA_FOUND).

#include <cstdint>
#include <string>

namespace dl::cuda {

struct DeviceProbe
{
    bool usable = false; // a device and a driver that can run this build's kernels
    std::string reason; // why not, naming the CUDA error ("cudaErrorInsufficientDriver: ...")
    int count = 0; // devices the driver reports
    std::string name; // of device 0
    int major = 0, minor = 0; // its compute capability
    bool integrated = false; // cudaDevAttrIntegrated: shares memory with the CPU (Jetson)
    uint64_t memoryBytes = 0;
    int runtimeVersion = 0; // cudaRuntimeGetVersion, e.g. 13000
    int driverVersion = 0; // cudaDriverGetVersion; 0 without a driver
};

// Probes device 0 (cudaGetDeviceCount, cudaGetDeviceProperties).
DeviceProbe probeDevice();

// The cuDNN library loaded: cudnnGetVersion() as "9.19.0", and the version this build was compiled against.
std::string cudnnLoadedVersion();
std::string cudnnBuiltVersion();
// cuDNN's major version at run time (8 for JetPack 5's 8.6, 9 here); the legacy API serves both.
int cudnnLoadedMajor();

// The text cuDNN gives a status, by enum (statuses are compared by enum, never by number): for tests and messages.
std::string cudnnBadParamText();

} // namespace dl::cuda
