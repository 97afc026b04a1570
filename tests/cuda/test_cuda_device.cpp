// The CUDA backend on a GPU: its float16 <-> float32 kernels against the CPU's conversions, over every half value.
// Without a usable device (here: no driver) it prints why and exits 77, which CTest counts as skipped.

#include "backend/cuda/castkernels.h"
#include "backend/cuda/cudaprobe.h"
#include "core/tensor.h"

#include <QTest>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <cuda_runtime_api.h>

using namespace dl;

namespace {

struct DeviceFree
{
    void operator()(void* p) const { cudaFree(p); }
};
using DeviceBuffer = std::unique_ptr<void, DeviceFree>;

DeviceBuffer deviceAlloc(size_t bytes)
{
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) return nullptr;
    return DeviceBuffer(p);
}

} // namespace

class TestCudaDevice : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void castsMatchTheCpu()
    {
        std::vector<uint16_t> halves(65536);
        for (size_t i = 0; i < halves.size(); ++i)
            halves[i] = static_cast<uint16_t>(i);
        DeviceBuffer src = deviceAlloc(halves.size() * 2), wide = deviceAlloc(halves.size() * 4),
                     back = deviceAlloc(halves.size() * 2);
        QVERIFY(src && wide && back);
        QCOMPARE(cudaMemcpy(src.get(), halves.data(), halves.size() * 2, cudaMemcpyHostToDevice), cudaSuccess);
        QCOMPARE(
            cuda::launchHalfToFloat(src.get(), static_cast<float*>(wide.get()), halves.size(), nullptr), cudaSuccess);
        QCOMPARE(cuda::launchFloatToHalf(static_cast<const float*>(wide.get()), back.get(), halves.size(), nullptr),
            cudaSuccess);
        std::vector<float> floats(halves.size());
        std::vector<uint16_t> again(halves.size());
        QCOMPARE(cudaMemcpy(floats.data(), wide.get(), floats.size() * 4, cudaMemcpyDeviceToHost), cudaSuccess);
        QCOMPARE(cudaMemcpy(again.data(), back.get(), again.size() * 2, cudaMemcpyDeviceToHost), cudaSuccess);
        for (size_t i = 0; i < halves.size(); ++i) {
            const float want = halfToFloat(halves[i]);
            if (std::isnan(want)) {
                QVERIFY(std::isnan(floats[i]));
                continue;
            }
            if (std::memcmp(&want, &floats[i], 4) != 0)
                QFAIL(qPrintable(QStringLiteral("half 0x%1: %2 on the GPU, %3 on the CPU")
                                     .arg(i, 4, 16, QLatin1Char('0'))
                                     .arg(double(floats[i]))
                                     .arg(double(want))));
            QCOMPARE(again[i], halves[i]); // every half survives the round trip
        }
    }
};

int main(int argc, char** argv)
{
    const cuda::DeviceProbe probe = cuda::probeDevice();
    if (!probe.usable) {
        std::printf("SKIP: no usable CUDA device: %s\n", probe.reason.c_str());
        return 77;
    }
    std::printf("device 0: %s, compute capability %d.%d%s\n", probe.name.c_str(), probe.major, probe.minor,
        probe.integrated ? ", integrated" : "");
    TestCudaDevice t;
    return QTest::qExec(&t, argc, argv);
}

#include "test_cuda_device.moc"
