// The CUDA backend on a GPU: its float16 <-> float32 kernels against the CPU's conversions, over every half value;
// device memory the ledger counts against what cudaMemGetInfo says went; streams, events and copies; a real model on
// the GPU (convolutions on cuDNN, the rest falling back to the CPU) against the CPU backend, in memory and streamed
// by every architecture. Without a usable device (here: no driver) it prints why and exits 77, which CTest counts as
// skipped.

#include "backend/cuda/castkernels.h"
#include "backend/cuda/cudabackend.h"
#include "backend/cuda/cudaprobe.h"
#include "core/random.h"
#include "core/tensor.h"
#include "io/weightreader.h"
#include "memory/ledger.h"
#include "model/importer.h"
#include "opcases.h"
#include "pack/layerpack.h"
#include "pipeline/pipeline.h"
#include "runtime/executor.h"

#include <QTemporaryDir>

#include <QTest>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
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

size_t freeDeviceBytes()
{
    size_t free = 0, total = 0;
    cudaMemGetInfo(&free, &total);
    return free;
}

// ||a - b|| / ||b|| over every output.
double normalisedError(const std::vector<Tensor>& a, const std::vector<Tensor>& b)
{
    double num = 0, den = 0;
    for (size_t k = 0; k < a.size() && k < b.size(); ++k) {
        const float* x = a[k].ptr<float>();
        const float* y = b[k].ptr<float>();
        for (int64_t i = 0; i < b[k].numel(); ++i) {
            num += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
            den += double(y[i]) * y[i];
        }
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

DeviceBuffer deviceAlloc(size_t bytes)
{
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) return nullptr;
    return DeviceBuffer(p);
}

} // namespace

// YOLOv4-tiny (seeded weights), seeded inputs, and the CPU backend's outputs for them: what the model tests hold the
// GPU's against.
struct TinyYolo
{
    Graph graph;
    std::vector<Tensor> inputs, reference;
    std::string why; // empty when it was made
    bool ok() const { return why.empty(); }

    explicit TinyYolo(uint64_t seed)
    {
        auto g = importModel(std::string(DL_SOURCE_DIR) + "/resources/models/darknet/yolov4-tiny.cfg");
        if (!g.ok()) {
            why = g.error().message;
            return;
        }
        graph = std::move(g).value();
        auto cpu = Executor::create(graph, {}, {});
        if (!cpu.ok()) {
            why = cpu.error().message;
            return;
        }
        for (const auto& in : (*cpu)->graph().inputs) {
            const auto& v = (*cpu)->values()[(*cpu)->valueId(in.name)];
            inputs.push_back(seededTensor(v.dtype, v.shape, seed));
        }
        auto want = (*cpu)->run(inputs);
        if (!want.ok()) {
            why = want.error().message;
            return;
        }
        for (const auto& t : *want)
            reference.push_back(t.clone());
    }
};

// Writes `exec`'s pack for `backend` at `path` in `precision`, releases its weights, then runs it from the pack by
// every architecture, `runs` times each: `check` sees each run's outputs.
void everyArchitecture(Executor& exec, Backend* backend, const std::string& path, Precision precision,
    const std::vector<Tensor>& inputs, int runs,
    const std::function<void(Arch, int, const std::vector<Tensor>&)>& check)
{
    PackSource src;
    src.modelPath = "yolov4-tiny.cfg";
    src.modelSha256 = "test";
    src.precision = precision;
    src.layoutTag = packLayoutTag(precision, backend);
    QVERIFY(writeLayerPack(path, exec, src).ok());
    exec.releaseWeights();
    auto pack = readLayerPack(path);
    QVERIFY(pack.ok());
    for (Arch arch : { Arch::Preload, Arch::Sequential, Arch::Sync, Arch::Async, Arch::TwoStage }) {
        MemoryLedger ledger;
        PipelineOptions po;
        po.arch = arch;
        auto reader = openFileReader(path);
        QVERIFY(reader.ok());
        auto pl = Pipeline::create(exec, *pack, std::move(reader).value(), po, &ledger, nullptr);
        QVERIFY2(pl.ok(), pl.ok() ? "" : pl.error().message.c_str());
        for (int i = 0; i < runs; ++i) {
            auto r = (*pl)->run(inputs);
            QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
            check(arch, i, *r);
        }
    }
}

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

    // The ledger counts device memory as the device does: an allocation of 256 MiB takes that much from what
    // cudaMemGetInfo reports free (within the driver's granularity), and gives it back.
    void theLedgerCountsDeviceMemory()
    {
        auto backend = cuda::makeCudaBackend(2);
        QVERIFY2(backend.ok(), backend.ok() ? "" : backend.error().message.c_str());
        MemoryLedger ledger;
        const size_t bytes = size_t(256) << 20, slack = size_t(32) << 20;
        const size_t before = freeDeviceBytes();
        auto buffer = (*backend)->allocate(MemorySpace::Device, MemTag::Staging, bytes, &ledger);
        QVERIFY(buffer.ok());
        QCOMPARE(ledger.current(MemTag::Staging), bytes);
        const size_t during = freeDeviceBytes();
        qInfo("256 MiB allocated: the device's free memory fell by %.1f MiB", double(before - during) / (1 << 20));
        QVERIFY(before - during >= bytes - slack && before - during <= bytes + slack);
        buffer->reset();
        QCOMPARE(ledger.current(MemTag::Staging), size_t(0));
        QVERIFY(freeDeviceBytes() + slack >= before);
        // Beyond the ledger's capacity: refused before the device is asked.
        ledger.setCapacity(bytes / 2);
        auto over = (*backend)->allocate(MemorySpace::Device, MemTag::Staging, bytes, &ledger);
        QVERIFY(!over.ok());
        QCOMPARE(ledger.current(MemTag::Staging), size_t(0));
        // Pinned and mapped memory: the host writes it where it lies.
        for (MemorySpace space : { MemorySpace::PinnedHost, MemorySpace::Mapped }) {
            auto b = (*backend)->allocate(space, MemTag::Staging, 1 << 20, nullptr);
            QVERIFY(b.ok());
            std::memset(b->data(), 7, b->size());
        }
    }

    void streamsCopyAndEventsAreTimed()
    {
        auto backend = cuda::makeCudaBackend(2);
        QVERIFY(backend.ok());
        auto copy = (*backend)->createStream(StreamRole::Copy);
        QVERIFY(copy.ok());
        auto device = (*backend)->allocate(MemorySpace::Device, MemTag::Staging, 64 << 20, nullptr);
        auto pinned = (*backend)->allocate(MemorySpace::PinnedHost, MemTag::Staging, 64 << 20, nullptr);
        QVERIFY(device.ok() && pinned.ok());
        std::vector<uint8_t> src(64 << 20);
        for (size_t i = 0; i < src.size(); ++i)
            src[i] = static_cast<uint8_t>(i * 2654435761u >> 24);
        std::memcpy(pinned->data(), src.data(), src.size());
        auto first = (*copy)->record();
        QVERIFY((*copy)->copy(device->data(), pinned->data(), src.size()).ok());
        auto last = (*copy)->record();
        QVERIFY(first.ok() && last.ok());
        // The compute stream waits for the copy, then copies back.
        QVERIFY((*backend)->computeStream().waitFor(**last).ok());
        std::memset(pinned->data(), 0, src.size());
        QVERIFY((*backend)->computeStream().copy(pinned->data(), device->data(), src.size()).ok());
        QVERIFY((*backend)->computeStream().synchronize().ok());
        QVERIFY(std::memcmp(pinned->data(), src.data(), src.size()) == 0);
        QVERIFY((*last)->query());
        const int64_t ns = (*last)->timeNs() - (*first)->timeNs();
        qInfo("64 MiB host to device: %.3f ms by the events", ns / 1e6);
        QVERIFY(ns > 0 && ns < int64_t(1000000000));
    }

    // Every op the backend takes, against the CPU backend (opcases.h), within each case's tolerance.
    void everyOpAgainstTheCpu()
    {
        auto backend = cuda::makeCudaBackend(2);
        QVERIFY(backend.ok());
        size_t failed = 0;
        for (const auto& c : dltest::cudaOpCases()) {
            auto cpu = Executor::create(c.graph, {}, {});
            ExecutorOptions eo;
            eo.backend = *backend;
            auto gpu = Executor::create(c.graph, {}, eo);
            QVERIFY2(cpu.ok() && gpu.ok(), c.name.c_str());
            QCOMPARE((*gpu)->fallbackNodes(), size_t(0));
            std::vector<Tensor> inputs;
            uint64_t seed = 40;
            for (const auto& in : (*cpu)->graph().inputs) {
                const auto& v = (*cpu)->values()[(*cpu)->valueId(in.name)];
                inputs.push_back(seededTensor(v.dtype, v.shape, seed++));
            }
            auto want = (*cpu)->run(inputs);
            auto got = (*gpu)->run(inputs);
            QVERIFY2(want.ok() && got.ok(), c.name.c_str());
            const double err = normalisedError(*got, *want);
            const bool ok = err <= c.tolerance && std::isfinite(err);
            qInfo("%-34s normalised error %.2e (tolerance %.0e)%s", c.name.c_str(), err, c.tolerance,
                ok ? "" : "  FAILS");
            failed += !ok;
        }
        QCOMPARE(failed, size_t(0));
    }

    // YOLOv4-tiny on the GPU, every node of it: the outputs agree with the CPU backend's, in memory and streamed by
    // every architecture.
    void aModelOnTheGpu()
    {
        TinyYolo t(3);
        QVERIFY2(t.ok(), t.why.c_str());
        const auto& g = t.graph;
        const auto& inputs = t.inputs;
        const auto& reference = t.reference;
        auto backend = cuda::makeCudaBackend(2);
        QVERIFY(backend.ok());
        ExecutorOptions eo;
        eo.backend = *backend;
        auto gpu = Executor::create(g, {}, eo);
        QVERIFY2(gpu.ok(), gpu.ok() ? "" : gpu.error().message.c_str());
        size_t convs = 0;
        for (const auto& np : (*gpu)->nodes())
            convs += (*gpu)->graph().nodes[np.node].opType == "Conv" && !np.onHost();
        qInfo("%zu convolutions on cuDNN, %zu nodes on the CPU", convs, (*gpu)->fallbackNodes());
        QVERIFY(convs > 20);
        QCOMPARE((*gpu)->fallbackNodes(), size_t(0));
        auto got = (*gpu)->run(inputs);
        QVERIFY2(got.ok(), got.ok() ? "" : got.error().message.c_str());
        const double err = normalisedError(*got, reference);
        qInfo("in memory: normalised error against the CPU backend %.2e", err);
        QVERIFY(err <= 1e-4);
        std::vector<Tensor> inMemory;
        for (const auto& t : *got)
            inMemory.push_back(t.clone());
        // The second run is recorded, the third replayed as one CUDA graph: the same outputs.
        QVERIFY((*gpu)->capturable());
        for (int i = 0; i < 2; ++i) {
            auto again = (*gpu)->run(inputs);
            QVERIFY2(again.ok(), again.ok() ? "" : again.error().message.c_str());
            QCOMPARE(normalisedError(*again, inMemory), 0.0);
        }
        qInfo("graphs: %s", (*gpu)->graphs().c_str());
        QVERIFY2((*gpu)->graphs().find("replayed") != std::string::npos, (*gpu)->graphs().c_str());

        QTemporaryDir dir;
        everyArchitecture(**gpu, backend->get(), (dir.path() + "/tiny-cuda.dlpack").toStdString(), Precision::F32,
            inputs, 3, [&](Arch arch, int i, const std::vector<Tensor>& r) {
                const double e = normalisedError(r, inMemory);
                bool identical = true;
                for (size_t k = 0; k < r.size(); ++k)
                    identical = identical && std::memcmp(r[k].data(), inMemory[k].data(), inMemory[k].bytes()) == 0;
                if (i == 2)
                    qInfo("%s: %s (normalised error %.2e against in memory)", archName(arch),
                        identical ? "bit-identical" : "not bit-identical", e);
                QVERIFY(e <= 1e-5);
            });
    }

    // An fp16 pack on the GPU: its weights go to the device as stored and are widened there, the convolutions
    // compute in float16 on tensor cores; every architecture's outputs are within 1e-2 (normalised) of the CPU
    // backend's float32 ones.
    void aHalfPackOnTheGpu()
    {
        TinyYolo t(4);
        QVERIFY2(t.ok(), t.why.c_str());
        const auto& g = t.graph;
        const auto& inputs = t.inputs;
        const auto& reference = t.reference;
        auto backend = cuda::makeCudaBackend(2);
        QVERIFY(backend.ok());
        ExecutorOptions eo;
        eo.backend = *backend;
        eo.halfCompute = true;
        auto gpu = Executor::create(g, {}, eo);
        QVERIFY2(gpu.ok(), gpu.ok() ? "" : gpu.error().message.c_str());
        qInfo("%zu convolutions compute in float16", (*gpu)->halfConvolutions());
        QVERIFY((*gpu)->halfConvolutions() > 20);
        QTemporaryDir dir;
        std::vector<Tensor> first;
        everyArchitecture(**gpu, backend->get(), (dir.path() + "/tiny-cuda-fp16.dlpack").toStdString(), Precision::F16,
            inputs, 2, [&](Arch arch, int i, const std::vector<Tensor>& r) {
                const double e = normalisedError(r, reference);
                if (first.empty())
                    for (const auto& t : r)
                        first.push_back(t.clone());
                if (i == 1)
                    qInfo("%s fp16: normalised error %.2e against the CPU's float32, %.2e against preload fp16",
                        archName(arch), e, normalisedError(r, first));
                QVERIFY(e <= 1e-2);
            });
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
