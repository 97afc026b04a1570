#include "backend/backend.h"

#ifdef DL_HAVE_CUDA
#include "backend/cuda/cudabackend.h"
#include "backend/cuda/cudaprobe.h"
#endif

namespace dl {

BackendAvailability backendAvailability(BackendKind kind)
{
    BackendAvailability a;
    switch (kind) {
    case BackendKind::Cpu:
        a.available = true;
        a.device = "this computer's CPU";
        return a;
    case BackendKind::Cuda: {
#ifdef DL_HAVE_CUDA
        const cuda::DeviceProbe probe = cuda::probeDevice();
        if (!probe.usable) {
            a.why = "no usable CUDA device: " + probe.reason;
            return a;
        }
        a.available = true;
        a.device = probe.name + ", compute " + std::to_string(probe.major) + "." + std::to_string(probe.minor);
#else
        a.why = "this build has no CUDA backend (configured without the CUDA toolkit and cuDNN: DL_WITH_CUDA)";
#endif
        return a;
    }
    }
    a.why = "unknown backend";
    return a;
}

Result<std::shared_ptr<Backend>> makeBackend(BackendKind kind, int threads, const std::string& cacheDir)
{
    (void)cacheDir; // the CPU backend keeps nothing there
    if (kind == BackendKind::Cpu) return makeCpuBackend(threads);
#ifdef DL_HAVE_CUDA
    if (kind == BackendKind::Cuda) {
        auto b = cuda::makeCudaBackend(threads, cacheDir.empty() ? std::string() : cacheDir + "/cudnn-algorithms.json");
        if (!b.ok()) return unsupported("the cuda backend cannot run here: " + b.error().message);
        return b;
    }
#endif
    const BackendAvailability a = backendAvailability(kind);
    return unsupported(std::string("the ") + backendName(kind) + " backend cannot run here: " + a.why);
}

} // namespace dl
