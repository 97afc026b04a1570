// dl::Backend (backend/backend.h): the CPU backend behind it — memory spaces counted in the ledger, streams and events,
// supports() and kernel creation, the hints that drive fusion and splits, the layout tag that keeps packs to their
// backend — and the pipeline on events: with kernels that complete after they were launched (a backend whose compute
// stream is a worker thread running the CPU kernels, as a GPU stream runs its kernels after the launch returns),
// every architecture must give the outputs of the in-memory run, which it can only if a ring region is released when
// the kernels that read it have completed, not when they were launched. Also: a backend that cannot run here says why.

#include "backend/backend.h"
#include "backend/cpu/cpubackend.h"
#include "backend/cuda/algocache.h"
#include "core/half.h"
#include "core/random.h"
#include "core/sha256.h"
#include "memory/ledger.h"
#include "model/fuse.h"
#include "model/importer.h"
#include "model/split.h"
#include "pack/layerpack.h"
#include "pipeline/pipeline.h"
#include "runtime/executor.h"
#include "session/runreport.h"
#include "session/session.h"
#include "trace/trace.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>
#undef slots // LayerPlan::slots

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace dl;

namespace {

const std::string kTiny = std::string(DL_SOURCE_DIR) + "/resources/models/darknet/yolov4-tiny.cfg";

// An event a worker stream completes when it reaches it.
class WorkerEvent final : public Event
{
public:
    bool query() override
    {
        std::lock_guard lock(m_mutex);
        return m_done;
    }
    Status wait() override
    {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return m_done; });
        return m_status;
    }
    int64_t timeNs() override
    {
        std::lock_guard lock(m_mutex);
        return m_at;
    }
    void complete(Status st)
    {
        {
            std::lock_guard lock(m_mutex);
            m_done = true;
            m_at = traceClockNs();
            m_status = std::move(st);
        }
        m_cv.notify_all();
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_done = false;
    int64_t m_at = 0;
    Status m_status;
};

// A stream whose work runs later, in order, on a thread of its own, each kernel after `delay`: launches return at once.
class WorkerStream final : public Stream
{
public:
    // `init` runs first on the worker (the CPU backend's per-thread settings).
    WorkerStream(std::chrono::microseconds delay, std::function<void()> init)
        : m_delay(delay)
        , m_thread([this, init = std::move(init)] { loop(init); })
    { }
    ~WorkerStream() override
    {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_cv.notify_all();
        m_thread.join();
    }
    void enqueue(std::function<Status()> work, bool kernel)
    {
        {
            std::lock_guard lock(m_mutex);
            m_work.push_back({ std::move(work), kernel });
            ++launched;
        }
        m_cv.notify_all();
    }
    Status copy(void* dst, const void* src, size_t bytes) override
    {
        enqueue(
            [=] {
                std::memcpy(dst, src, bytes);
                return Status {};
            },
            false);
        return {};
    }
    Result<std::unique_ptr<Event>> record() override
    {
        auto ev = std::make_shared<WorkerEvent>();
        enqueue(
            [this, ev] {
                ev->complete(firstError());
                return Status {};
            },
            false);
        // The stream keeps its share until it completes the event; the caller owns the handle.
        struct Handle final : Event
        {
            std::shared_ptr<WorkerEvent> e;
            bool query() override { return e->query(); }
            Status wait() override { return e->wait(); }
            int64_t timeNs() override { return e->timeNs(); }
        };
        auto h = std::make_unique<Handle>();
        h->e = ev;
        return std::unique_ptr<Event>(std::move(h));
    }
    Status waitFor(Event& event) override
    {
        // Events of this backend complete on a worker; waiting here orders this stream after it.
        return event.wait();
    }
    Status synchronize() override
    {
        DL_ASSIGN(auto ev, record());
        return ev->wait();
    }
    Status firstError()
    {
        std::lock_guard lock(m_mutex);
        return m_error;
    }
    std::atomic<uint64_t> launched { 0 };

private:
    struct Work
    {
        std::function<Status()> fn;
        bool kernel = false;
    };
    void loop(const std::function<void()>& init)
    {
        if (init) init();
        for (;;) {
            Work w;
            {
                std::unique_lock lock(m_mutex);
                m_cv.wait(lock, [&] { return m_stop || !m_work.empty(); });
                if (m_work.empty()) return;
                w = std::move(m_work.front());
                m_work.pop_front();
            }
            if (w.kernel && m_delay.count() > 0) std::this_thread::sleep_for(m_delay);
            auto st = w.fn();
            if (!st.ok()) {
                std::lock_guard lock(m_mutex);
                if (m_error.ok()) m_error = st;
            }
        }
    }

    std::chrono::microseconds m_delay;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Work> m_work;
    bool m_stop = false;
    Status m_error;
    std::thread m_thread;
};

// A CPU kernel whose runs are launched onto the worker stream: what it reads (inputs, outputs, its weights as bound
// now) is taken at launch, as a GPU kernel's arguments are.
class LaunchedKernel final : public Kernel
{
public:
    LaunchedKernel(std::unique_ptr<Kernel> inner, WorkerStream& stream)
        : m_inner(std::move(inner))
        , m_stream(stream)
    {
        outputs = m_inner->outputs;
        inPlaceInput = m_inner->inPlaceInput;
        packed = m_inner->packed;
    }
    Status run(const std::vector<const Tensor*>& in, const std::vector<Tensor*>& out) override
    {
        std::vector<std::optional<Tensor>> ins, outs;
        for (const Tensor* t : in)
            ins.push_back(t ? std::optional<Tensor>(*t) : std::nullopt);
        for (const Tensor* t : out)
            outs.push_back(t ? std::optional<Tensor>(*t) : std::nullopt);
        for (const Tensor& p : packed)
            if (!p.data() && p.bytes() > 0) return makeError(ErrorCode::Internal, "launched with an unbound weight");
        m_stream.enqueue(
            [this, ins = std::move(ins), outs = std::move(outs), weights = packed, laid = sourceLaidOut]() mutable {
                m_inner->packed = weights;
                m_inner->sourceLaidOut = laid;
                std::vector<const Tensor*> i;
                std::vector<Tensor*> o;
                for (auto& t : ins)
                    i.push_back(t ? &*t : nullptr);
                for (auto& t : outs)
                    o.push_back(t ? &*t : nullptr);
                return m_inner->run(i, o);
            },
            true);
        return {};
    }
    double flops() const override { return m_inner->flops(); }
    bool shareSourceLayout(const Kernel& previous) override
    {
        auto* p = dynamic_cast<const LaunchedKernel*>(&previous);
        return p && m_inner->shareSourceLayout(*p->m_inner);
    }
    bool relaysSource() const override { return m_inner->relaysSource(); }

private:
    std::unique_ptr<Kernel> m_inner;
    WorkerStream& m_stream;
};

// The CPU backend with its kernels completing after launch, on a worker stream. Everything else is the CPU backend's,
// its layout tag included, so that its packs fit.
class LaunchingBackend final : public Backend
{
public:
    explicit LaunchingBackend(std::chrono::microseconds delay)
        : m_cpu(2)
        , m_stream(delay, [this] { m_cpu.beginRun(); })
    { }
    BackendKind kind() const override { return BackendKind::Cpu; }
    std::string describe() const override { return "cpu kernels launched onto a worker stream"; }
    MemorySpaceInfo memorySpace(MemorySpace space) const override { return m_cpu.memorySpace(space); }
    Result<BackendBuffer> allocate(MemorySpace space, MemTag tag, size_t bytes, MemoryLedger* ledger) override
    {
        return m_cpu.allocate(space, tag, bytes, ledger);
    }
    Result<std::unique_ptr<Stream>> createStream(StreamRole role) override { return m_cpu.createStream(role); }
    Stream& computeStream() override { return m_stream; }
    Status supports(const KernelRequest& r) const override { return m_cpu.supports(r); }
    Result<std::unique_ptr<Kernel>> createKernel(const KernelRequest& r) override
    {
        DL_ASSIGN(auto k, m_cpu.createKernel(r));
        return std::unique_ptr<Kernel>(new LaunchedKernel(std::move(k), m_stream));
    }
    const BackendHints& hints() const override { return m_cpu.hints(); }
    std::string layoutTag() const override { return m_cpu.layoutTag(); }
    size_t slotAlignment() const override { return m_cpu.slotAlignment(); }
    size_t workspaceBytes() const override { return m_cpu.workspaceBytes(); }
    Status upload(const Tensor& h, Tensor& d) override { return m_cpu.upload(h, d); }
    Status download(const Tensor& d, Tensor& h) override { return m_cpu.download(d, h); }
    uint64_t launched() const { return m_stream.launched; }

protected:
    void deallocate(MemorySpace, std::byte*, size_t) override { }

private:
    cpu::CpuBackend m_cpu;
    WorkerStream m_stream;
};

// A backend whose device memory the host does not address (as a discrete GPU's): buffers in it are separate
// allocations reached only through copies (inputs uploaded, outputs downloaded, resident layers through a bounce
// buffer); its kernels are the CPU's, and it declines some ops — which then fall back to the CPU backend with their
// activations copied out and back, and their weights pinned in host memory.
class SeparateDeviceBackend final : public Backend
{
public:
    SeparateDeviceBackend(std::set<std::string> declinedOps, std::set<std::string> declinedNodes)
        : m_cpu(2)
        , m_declinedOps(std::move(declinedOps))
        , m_declinedNodes(std::move(declinedNodes))
    { }
    BackendKind kind() const override { return BackendKind::Cpu; }
    std::string describe() const override { return "cpu kernels on memory the host reaches through copies"; }
    MemorySpaceInfo memorySpace(MemorySpace space) const override
    {
        MemorySpaceInfo info = m_cpu.memorySpace(space);
        if (space == MemorySpace::Device) info.hostVisible = false;
        return info;
    }
    Result<BackendBuffer> allocate(MemorySpace space, MemTag tag, size_t bytes, MemoryLedger* ledger) override
    {
        if (space == MemorySpace::Device) deviceBytes += bytes;
        return m_cpu.allocate(space, tag, bytes, ledger);
    }
    Result<std::unique_ptr<Stream>> createStream(StreamRole role) override { return m_cpu.createStream(role); }
    Stream& computeStream() override { return m_cpu.computeStream(); }
    Status supports(const KernelRequest& r) const override
    {
        halfRequests += r.halfCompute;
        if (m_declinedOps.count(r.node.opType) || m_declinedNodes.count(r.node.name))
            return unsupported(r.node.describe() + ": declined by this backend");
        return m_cpu.supports(r);
    }
    Result<std::unique_ptr<Kernel>> createKernel(const KernelRequest& r) override { return m_cpu.createKernel(r); }
    void beginRun() override { m_cpu.beginRun(); }
    const BackendHints& hints() const override { return m_cpu.hints(); }
    std::string layoutTag() const override { return m_cpu.layoutTag(); }
    size_t slotAlignment() const override { return m_cpu.slotAlignment(); }
    size_t workspaceBytes() const override { return m_cpu.workspaceBytes(); }
    Status upload(const Tensor& h, Tensor& d) override
    {
        ++uploads;
        return m_cpu.upload(h, d);
    }
    Status download(const Tensor& d, Tensor& h) override
    {
        ++downloads;
        return m_cpu.download(d, h);
    }
    Status widenHalf(Stream& stream, const void* src, float* dst, size_t n) override
    {
        // What a GPU does in its memory, done here in the host memory this backend pretends the host cannot reach.
        ++widens;
        DL_TRY(stream.synchronize());
        dl::widenHalf(static_cast<const uint16_t*>(src), dst, n);
        return {};
    }
    size_t uploads = 0, downloads = 0, deviceBytes = 0, widens = 0;
    mutable size_t halfRequests = 0; // kernel requests that asked for float16 compute

protected:
    void deallocate(MemorySpace, std::byte*, size_t) override { }

private:
    cpu::CpuBackend m_cpu;
    std::set<std::string> m_declinedOps, m_declinedNodes;
};

std::vector<std::string> digests(const std::vector<Tensor>& outs)
{
    std::vector<std::string> d;
    for (const auto& t : outs)
        d.push_back(Sha256::hexOf(t.data(), t.bytes()));
    return d;
}

// YOLOv4-tiny planned on the CPU backend, seeded inputs, and its outputs' digests: what every other way must give.
struct Reference
{
    Graph graph;
    std::unique_ptr<Executor> exec;
    std::vector<Tensor> inputs;
    std::vector<std::string> want;

    explicit Reference(uint64_t seed)
    {
        auto g = importModel(kTiny);
        if (!g.ok()) qFatal("%s", g.error().message.c_str());
        graph = std::move(g).value();
        ExecutorOptions cpuOnly;
        cpuOnly.threads = 2;
        auto e = Executor::create(graph, {}, cpuOnly);
        if (!e.ok()) qFatal("%s", e.error().message.c_str());
        exec = std::move(e).value();
        for (const auto& in : exec->graph().inputs) {
            const auto& v = exec->values()[exec->valueId(in.name)];
            inputs.push_back(seededTensor(v.dtype, v.shape, seed++));
        }
        auto out = exec->run(inputs);
        if (!out.ok()) qFatal("%s", out.error().message.c_str());
        want = digests(*out);
    }
};

// Writes `exec`'s layer pack for its backend at `path`, releases its own weights and reads the pack back.
Result<PackInfo> packAndRelease(Executor& exec, const std::string& path, Precision precision = Precision::F32)
{
    PackSource src;
    src.modelPath = kTiny;
    src.modelSha256 = "test";
    src.precision = precision;
    src.layoutTag = packLayoutTag(precision, &exec.backend());
    DL_TRY(writeLayerPack(path, exec, src));
    exec.releaseWeights();
    return readLayerPack(path);
}

// Runs `exec` from the pack at `path` by every architecture, whole and with layers 1 and 2 resident, twice each: the
// outputs' digests must be `want`. `after` (when set) runs after each.
void everyArchitectureGives(Executor& exec, const PackInfo& pack, const std::string& path,
    const std::vector<Tensor>& inputs, const std::vector<std::string>& want,
    const std::function<void(Arch)>& after = {})
{
    for (Arch arch : { Arch::Preload, Arch::Sequential, Arch::Sync, Arch::Async, Arch::TwoStage })
        for (bool resident : { false, true }) {
            MemoryLedger ledger;
            PipelineOptions po;
            po.arch = arch;
            if (resident) po.resident = { 1, 2 };
            auto reader = openFileReader(path);
            QVERIFY(reader.ok());
            auto pl = Pipeline::create(exec, pack, std::move(reader).value(), po, &ledger, nullptr);
            QVERIFY2(pl.ok(), pl.ok() ? "" : pl.error().message.c_str());
            for (int i = 0; i < 2; ++i) {
                auto r = (*pl)->run(inputs);
                QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
                QVERIFY2(digests(*r) == want, archName(arch));
            }
            if (after) after(arch);
        }
}

size_t countOp(const Graph& g, const std::string& op)
{
    size_t n = 0;
    for (const auto& node : g.nodes)
        n += node.opType == op;
    return n;
}

} // namespace

class TestBackend : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir { DL_TEST_TMP "/backend-XXXXXX" };

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void cpuMemorySpacesAreCountedInTheLedger()
    {
        auto backend = makeCpuBackend(2);
        QCOMPARE(backend->kind(), BackendKind::Cpu);
        QVERIFY(backend->deviceIsHost());
        MemoryLedger ledger;
        ledger.setCapacity(size_t(8) << 20);
        for (MemorySpace space :
            { MemorySpace::Host, MemorySpace::PinnedHost, MemorySpace::Device, MemorySpace::Mapped }) {
            const MemorySpaceInfo info = backend->memorySpace(space);
            QVERIFY(info.available);
            QVERIFY(info.hostVisible);
            QCOMPARE(info.alignment, size_t(4096));
            auto b = backend->allocate(space, MemTag::Staging, 3 << 20, &ledger);
            QVERIFY2(b.ok(), b.ok() ? "" : b.error().message.c_str());
            QCOMPARE(b->space(), space);
            QCOMPARE(reinterpret_cast<uintptr_t>(b->data()) % info.alignment, uintptr_t(0));
            QCOMPARE(ledger.current(MemTag::Staging), size_t(3) << 20);
            std::memset(b->data(), 0x5a, b->size());
            // Beyond the ledger's capacity: refused, saying so, and nothing counted.
            auto over = backend->allocate(space, MemTag::ResidentWeights, 6 << 20, &ledger);
            QVERIFY(!over.ok());
            QVERIFY2(over.error().message.find("out of memory") != std::string::npos, over.error().message.c_str());
            QCOMPARE(ledger.current(MemTag::ResidentWeights), size_t(0));
            BackendBuffer moved = std::move(b).value();
            QCOMPARE(ledger.current(MemTag::Staging), size_t(3) << 20);
            moved.reset();
            QCOMPARE(ledger.current(MemTag::Staging), size_t(0));
        }
        QCOMPARE(std::string(memorySpaceName(MemorySpace::PinnedHost)), std::string("pinned_host"));
    }

    void cpuStreamsCopyAndTheirEventsComplete()
    {
        auto backend = makeCpuBackend(2);
        auto stream = backend->createStream(StreamRole::Copy);
        QVERIFY(stream.ok());
        std::vector<uint8_t> src(1 << 20), dst(1 << 20, 0);
        for (size_t i = 0; i < src.size(); ++i)
            src[i] = static_cast<uint8_t>(i * 131 + 7);
        auto first = (*stream)->record();
        QVERIFY((*stream)->copy(dst.data(), src.data(), src.size()).ok());
        auto last = (*stream)->record();
        QVERIFY(first.ok() && last.ok());
        QVERIFY((*last)->query());
        QVERIFY((*last)->wait().ok());
        QVERIFY((*first)->timeNs() <= (*last)->timeNs());
        QVERIFY(dst == src);
        QVERIFY(backend->computeStream().waitFor(**last).ok());
        QVERIFY(!(*stream)->copy(nullptr, src.data(), 16).ok());
    }

    void supportsNamesWhatItCannotRun()
    {
        auto backend = makeCpuBackend(2);
        Node conv;
        conv.opType = "Conv";
        conv.name = "c";
        QVERIFY(backend->supports(KernelRequest { conv, {}, 13 }).ok());
        Node odd = conv;
        odd.opType = "NoSuchOp";
        auto st = backend->supports(KernelRequest { odd, {}, 13 });
        QVERIFY(!st.ok());
        QCOMPARE(st.error().code, ErrorCode::Unsupported);
        QVERIFY2(st.error().message.find("NoSuchOp") != std::string::npos, st.error().message.c_str());
        Node foreign = conv;
        foreign.domain = "com.example";
        QVERIFY(!backend->supports(KernelRequest { foreign, {}, 13 }).ok());
        auto made = backend->createKernel(KernelRequest { odd, {}, 13 });
        QVERIFY(!made.ok());
        QCOMPARE(made.error().code, ErrorCode::Unsupported);
    }

    // Fusion and splits follow the backend's hints, not constants of the model code.
    void hintsDriveFusionAndSplits()
    {
        auto g = importModel(kTiny);
        QVERIFY(g.ok());
        const size_t leaky = countOp(*g, "LeakyRelu");
        QVERIFY(leaky > 10);
        Graph fused = *g, kept = *g;
        QVERIFY(fuseGraph(fused, cpu::CpuBackend::cpuHints().fusableActivations).ok());
        QVERIFY(fuseGraph(kept, { "Relu" }).ok());
        QCOMPARE(countOp(fused, "LeakyRelu"), size_t(0));
        QCOMPARE(countOp(kept, "LeakyRelu"), leaky); // the batch norms folded, the activations left to run alone
        QCOMPARE(countOp(kept, "BatchNormalization"), size_t(0));

        // Pieces hold whole blocks of the backend's size: every piece of a cut but its last ("NAME.K", K highest).
        for (int64_t block : { int64_t(64), int64_t(32) }) {
            Graph s = fused;
            const SplitSummary sum = splitLargeLayers(s, 64 << 10, SplitBlocks { block, 16 });
            QVERIFY(sum.layersSplit > 0);
            std::map<std::string, std::map<int, int64_t>> cuts; // cut → piece index → output channels
            for (const auto& n : s.nodes) {
                const size_t dot = n.name.rfind('.');
                if (n.opType != "Conv" || dot == std::string::npos || !s.weights.count(n.inputs[1])) continue;
                cuts[n.name.substr(0, dot)][std::stoi(n.name.substr(dot + 1))] = s.weights.at(n.inputs[1]).dim(0);
            }
            QCOMPARE(cuts.size(), sum.layersSplit);
            bool smallest = false;
            for (const auto& [name, pieces] : cuts) {
                for (auto it = pieces.begin(); std::next(it) != pieces.end(); ++it)
                    QVERIFY2(it->second % block == 0, name.c_str());
                smallest = smallest || pieces.begin()->second == block;
            }
            QVERIFY(smallest); // at 64 KiB a piece of 3x3 convolutions is one block
        }
    }

    void executorRunsOnTheBackendItIsGiven()
    {
        auto g = importModel(kTiny);
        QVERIFY(g.ok());
        auto backend = makeCpuBackend(2);
        ExecutorOptions eo;
        eo.backend = backend;
        auto exec = Executor::create(*g, {}, eo);
        QVERIFY(exec.ok());
        QCOMPARE(&(*exec)->backend(), backend.get());
        QCOMPARE((*exec)->backend().layoutTag(), Executor::layoutTag());
        QCOMPARE((*exec)->workspaceBytes(), backend->workspaceBytes());
        for (const auto& l : (*exec)->layers())
            for (const auto& s : l.slots)
                QCOMPARE(s.offset % backend->slotAlignment(), size_t(0));
    }

    // A pack laid out for another backend is refused, naming both layouts.
    void packsKeepToTheirBackend()
    {
        auto g = importModel(kTiny);
        QVERIFY(g.ok());
        auto exec = Executor::create(*g, {}, {});
        QVERIFY(exec.ok());
        const std::string path = (m_dir.path() + "/other.dlpack").toStdString();
        PackSource src;
        src.modelPath = kTiny;
        src.modelSha256 = "test";
        src.layoutTag = "cuda-cudnn 9.19 sm 90 pack 1";
        QVERIFY(writeLayerPack(path, **exec, src).ok());
        auto pack = readLayerPack(path);
        QVERIFY(pack.ok());
        auto st = checkPackMatches(*pack, **exec);
        QVERIFY(!st.ok());
        QCOMPARE(st.error().code, ErrorCode::Corrupt);
        QVERIFY2(st.error().message.find("cuda-cudnn 9.19") != std::string::npos, st.error().message.c_str());
        QVERIFY2(st.error().message.find(Executor::layoutTag()) != std::string::npos, st.error().message.c_str());
    }

    // Kernels that complete after their launch: the in-memory run and every architecture, at the smallest staging
    // and with a resident layer, give the outputs of the CPU backend run bit for bit.
    void kernelsCompletingAfterLaunch()
    {
        Reference ref(11);
        const Graph& g = ref.graph;
        const std::vector<Tensor>& inputs = ref.inputs;
        const auto& want = ref.want;

        // Each kernel starts 300 µs after the one before finished: the launches run far ahead of the kernels.
        auto backend = std::make_shared<LaunchingBackend>(std::chrono::microseconds(300));
        ExecutorOptions eo;
        eo.backend = backend;
        auto exec = Executor::create(g, {}, eo);
        QVERIFY(exec.ok());
        auto inMemory = (*exec)->run(inputs);
        QVERIFY(inMemory.ok());
        QCOMPARE(digests(*inMemory), want);

        const std::string path = (m_dir.path() + "/tiny.dlpack").toStdString();
        auto pack = packAndRelease(**exec, path);
        QVERIFY2(pack.ok(), pack.ok() ? "" : pack.error().message.c_str());
        for (Arch arch : { Arch::Preload, Arch::Sequential, Arch::Sync, Arch::Async, Arch::TwoStage })
            for (bool resident : { false, true }) {
                MemoryLedger ledger;
                Tracer tracer;
                CollectingSink sink;
                tracer.addSink(&sink);
                PipelineOptions po;
                po.arch = arch;
                if (resident) po.resident = { 1 };
                auto reader = openFileReader(path);
                QVERIFY(reader.ok());
                auto pl = Pipeline::create(**exec, *pack, std::move(reader).value(), po, &ledger, &tracer);
                QVERIFY2(pl.ok(), pl.ok() ? "" : pl.error().message.c_str());
                for (int i = 0; i < 3; ++i) {
                    const uint64_t before = backend->launched();
                    auto r = (*pl)->run(inputs);
                    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
                    QVERIFY2(digests(*r) == want, archName(arch));
                    QVERIFY(backend->launched() > before + pack->layers.size());
                }
                // The kernel stage's spans are the events': one End per layer and iteration, each after its begin.
                size_t ends = 0;
                for (const auto& e : sink.events())
                    if (e.stage == Stage::Kernel && e.kind == EventKind::End) {
                        ++ends;
                        QVERIFY(e.endNs >= e.beginNs);
                    }
                QCOMPARE(ends, 3 * pack->layers.size());
            }
    }

    // Unsupported ops run on the CPU backend with their copies, reported per layer; on a device the host cannot
    // address, every architecture still gives the CPU backend's outputs bit for bit.
    void unsupportedOpsFallBackToTheCpu()
    {
        Reference ref(5);
        const Graph& g = ref.graph;
        const std::vector<Tensor>& inputs = ref.inputs;
        const auto& want = ref.want;
        const auto& reference = ref.exec;
        // The last convolution with weights, declined by name: its weights stay on the host.
        std::string lastConv;
        for (const auto& np : reference->nodes())
            if (reference->graph().nodes[np.node].opType == "Conv") lastConv = reference->graph().nodes[np.node].name;
        QVERIFY(!lastConv.empty());

        auto backend = std::make_shared<SeparateDeviceBackend>(
            std::set<std::string> { "MaxPool", "Concat" }, std::set<std::string> { lastConv });
        ExecutorOptions eo;
        eo.backend = backend;
        auto exec = Executor::create(g, {}, eo);
        QVERIFY2(exec.ok(), exec.ok() ? "" : exec.error().message.c_str());
        QVERIFY(!(*exec)->backend().deviceIsHost());
        size_t onHost = 0, maxPools = 0;
        for (const auto& np : (*exec)->nodes()) {
            const std::string& op = (*exec)->graph().nodes[np.node].opType;
            maxPools += op == "MaxPool";
            if (!np.onHost()) continue;
            ++onHost;
            QVERIFY2(np.fallback.find("declined by this backend") != std::string::npos, np.fallback.c_str());
        }
        QCOMPARE((*exec)->fallbackNodes(), onHost);
        QVERIFY(maxPools > 0 && onHost > maxPools);
        // Reported per layer, and the declined convolution's weights pinned instead of streamed.
        size_t layersFallingBack = 0;
        for (const auto& lp : (*exec)->layers()) {
            if (lp.fallbackOps.empty()) continue;
            ++layersFallingBack;
            for (const auto& op : lp.fallbackOps)
                QVERIFY2(op == "MaxPool" || op == "Concat" || op == "Conv", op.c_str());
        }
        QVERIFY(layersFallingBack >= 3);
        QVERIFY((*exec)->pinnedWeightBytes() > reference->pinnedWeightBytes());

        auto inMemory = (*exec)->run(inputs);
        QVERIFY2(inMemory.ok(), inMemory.ok() ? "" : inMemory.error().message.c_str());
        QCOMPARE(digests(*inMemory), want);
        QVERIFY(backend->uploads >= inputs.size() + onHost); // the inputs, and each fallback node's output
        QVERIFY(backend->downloads >= onHost); // each fallback node's inputs, and the outputs
        QVERIFY(backend->deviceBytes >= (*exec)->activationSumBytes() / 4); // activations in device memory

        const std::string path = (m_dir.path() + "/separate.dlpack").toStdString();
        auto pack = packAndRelease(**exec, path);
        QVERIFY2(pack.ok(), pack.ok() ? "" : pack.error().message.c_str());
        everyArchitectureGives(**exec, *pack, path, inputs, want);
        if (QTest::currentTestFailed()) return;

        // The report carries the fallbacks, and reads them back; a damaged list is refused, naming it.
        RunReport rep;
        rep.compute.backend = backend->describe();
        for (const auto& lp : (*exec)->layers())
            if (!lp.fallbackOps.empty()) rep.compute.fallbacks.push_back({ lp.index, lp.name, lp.fallbackOps });
        auto back = reportFromJson(reportToJson(rep));
        QVERIFY(back.ok());
        QCOMPARE(back->compute.backend, rep.compute.backend);
        QCOMPARE(back->compute.fallbacks.size(), rep.compute.fallbacks.size());
        QCOMPARE(back->compute.fallbacks.back().ops, rep.compute.fallbacks.back().ops);
        QCOMPARE(back->compute.measuredKernels, size_t(0)); // the CPU backend measures nothing: no "measured"
        QVERIFY(reportToJson(rep).find("\"measured\"") == std::string::npos);
        rep.compute.measuredKernels = 21;
        rep.compute.measuredMs = 1.25;
        auto measured = reportFromJson(reportToJson(rep));
        QVERIFY(measured.ok());
        QCOMPARE(measured->compute.measuredKernels, size_t(21));
        QCOMPARE(measured->compute.measuredMs, 1.25);
        std::string damaged = reportToJson(rep);
        damaged.replace(damaged.find("\"measured\""), 10, "\"measured\": 3, \"y\"");
        auto refusedMeasured = reportFromJson(damaged);
        QVERIFY(!refusedMeasured.ok());
        QVERIFY2(refusedMeasured.error().message.find("measured") != std::string::npos,
            refusedMeasured.error().message.c_str());
        std::string text = reportToJson(rep);
        const size_t at = text.find("\"fallback_layers\"");
        QVERIFY(at != std::string::npos);
        text.replace(at, std::string("\"fallback_layers\"").size(), "\"fallback_layers\": 7, \"x\"");
        auto bad = reportFromJson(text);
        QVERIFY(!bad.ok());
        QVERIFY2(bad.error().message.find("fallback_layers") != std::string::npos, bad.error().message.c_str());
    }

    // A float16 pack on a device the host cannot address goes there as stored, and the device widens it (the CUDA
    // backend's cast kernel; here the test backend's stand-in): every architecture, whole and with resident layers,
    // gives what the CPU backend gives from the same pack, widened on the host, bit for bit. The base backend refuses
    // to widen in memory the host cannot reach, naming itself.
    void halfPacksWidenOnTheDevice()
    {
        Reference ref(9);
        auto backend = std::make_shared<SeparateDeviceBackend>(std::set<std::string> {}, std::set<std::string> {});
        ExecutorOptions eo;
        eo.backend = backend;
        eo.halfCompute = true;
        auto exec = Executor::create(ref.graph, {}, eo);
        QVERIFY2(exec.ok(), exec.ok() ? "" : exec.error().message.c_str());
        QVERIFY(backend->halfRequests > 0); // an fp16 run's planning asks the backend's kernels for float16
        const std::string path = (m_dir.path() + "/half.dlpack").toStdString();
        auto pack = packAndRelease(**exec, path, Precision::F16);
        QVERIFY2(pack.ok(), pack.ok() ? "" : pack.error().message.c_str());
        size_t widening = 0;
        for (const auto& l : pack->layers)
            widening += l.widens();
        QVERIFY(widening > 2);

        // The CPU backend's outputs from this pack (widened on the host), and that they are not the float32 ones.
        std::vector<std::string> want;
        {
            ExecutorOptions cpuOnly;
            cpuOnly.threads = 2;
            auto cpu = Executor::create(ref.graph, {}, cpuOnly);
            QVERIFY(cpu.ok());
            (*cpu)->releaseWeights();
            auto reader = openFileReader(path);
            QVERIFY(reader.ok());
            PipelineOptions po;
            po.arch = Arch::Preload;
            auto pl = Pipeline::create(**cpu, *pack, std::move(reader).value(), po, nullptr, nullptr);
            QVERIFY2(pl.ok(), pl.ok() ? "" : pl.error().message.c_str());
            auto r = (*pl)->run(ref.inputs);
            QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
            want = digests(*r);
        }
        QVERIFY(want != ref.want);

        size_t before = backend->widens;
        everyArchitectureGives(**exec, *pack, path, ref.inputs, want, [&](Arch arch) {
            QVERIFY2(backend->widens > before, archName(arch)); // the device widened, not the host
            before = backend->widens;
        });
        if (QTest::currentTestFailed()) return;

        // The base class widens only where the device is host memory.
        cpu::CpuBackend host(1);
        std::vector<uint16_t> half { 0x3c00, 0xc000 }; // 1, -2
        std::vector<float> wide(2);
        QVERIFY(host.widenHalf(host.computeStream(), half.data(), wide.data(), 2).ok());
        QCOMPARE(wide[0], 1.0f);
        QCOMPARE(wide[1], -2.0f);
        // The base class's widening, on a backend whose device the host cannot reach (its own override bypassed).
        auto refused = backend->Backend::widenHalf(backend->computeStream(), half.data(), wide.data(), 2);
        QVERIFY(!refused.ok());
        QCOMPARE(refused.error().code, ErrorCode::Unsupported);
        QVERIFY2(refused.error().message.find("cpu backend cannot widen") != std::string::npos,
            refused.error().message.c_str());
    }

    // The CUDA backend's convolution algorithms kept with a plan: written, read back, and refused when damaged or
    // made on another device or cuDNN.
    void algorithmCacheRoundTripsAndRefusesDamage()
    {
        using cuda::AlgoCache;
        using cuda::ConvChoice;
        using cuda::ConvKey;
        ConvKey k { { 1, 3, 608, 608 }, { 32, 3, 3, 3 }, { 1, 1 }, { 1, 1 }, { 1, 1 }, 1, "fp16", "tensor_op" };
        QCOMPARE(k.text(), std::string("n1c3h608w608 k32c3r3s3 p1,1 s1,1 d1,1 g1 fp16 tensor_op"));
        auto parsed = ConvKey::parse(k.text());
        QVERIFY(parsed.ok());
        QVERIFY(*parsed == k);
        ConvKey k3 { { 2, 8, 4, 16, 16 }, { 8, 1, 3, 3, 3 }, { 0, 1, 1 }, { 1, 2, 2 }, { 1, 1, 1 }, 8, "fp32",
            "default" };
        QVERIFY(ConvKey::parse(k3.text()).ok() && ConvKey::parse(k3.text()).value() == k3);
        // A transposed convolution's key differs from the forward one of the same shapes, and reads back as such.
        ConvKey kt = k;
        kt.transposed = true;
        QCOMPARE(kt.text(), k.text() + " transposed");
        QVERIFY(ConvKey::parse(kt.text()).ok() && ConvKey::parse(kt.text()).value() == kt);
        for (const char* bad : { "", "n1c3h608w608 k32c3r3s3 p1,1 s1,1 d1,1 g1 fp16 tensor_op backward",
                 "n1c3h608w608 k32c3r3s3 p1,1 s1,1 d1,1 g1 fp16 transposed",
                 "n1c3h608 k32c3r3s3 p1,1 s1,1 d1,1 g1 fp16 tensor_op",
                 "n1c3h608w608 k32c3r3s3 p1 s1,1 d1,1 g1 fp16 tensor_op",
                 "n1c3h608w608 k32c3r3s3 p1,1 s1,1 d1,1 g0 fp16 tensor_op",
                 "n1c3h608w608 k32c3r3s3 p1,1 s1,1 d1,1 g1 bf16 tensor_op",
                 "n1c3h608w608 k32c3r3s3 p1,1 s1,1 d1,1 g1 fp16 fast",
                 "n1c3h608w608 k32c3r3s3 p1,1 s-1,1 d1,1 g1 fp16 tensor_op",
                 "n99999999999999c3h608w608 k32c3r3s3 p1,1 s1,1 d1,1 g1 fp16 tensor_op" })
            QVERIFY2(!ConvKey::parse(bad).ok(), bad);

        AlgoCache cache;
        cache.device = "NVIDIA H100 80GB HBM3, compute 9.0";
        cache.cudnn = "9.19.0";
        const ConvChoice c { 1, "IMPLICIT_PRECOMP_GEMM", 4096, 0.031, "tensor_op", true };
        cache.put(k, c);
        cache.put(k3, { 0, "IMPLICIT_GEMM", 0, 0.5, "default", false });
        const std::string path = (m_dir.path() + "/algos.json").toStdString();
        QVERIFY(cache.save(path).ok());
        auto back = AlgoCache::load(path);
        QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
        QCOMPARE(back->size(), size_t(2));
        QVERIFY(back->find(k) && *back->find(k) == c);
        QVERIFY(back->mismatch(cache.device, "9.19.0").empty());
        QVERIFY(back->mismatch("NVIDIA Orin, compute 8.7", "9.19.0").find("measured on") != std::string::npos);
        QVERIFY(back->mismatch(cache.device, "8.6.0").find("cuDNN 9.19.0") != std::string::npos);
        k.dtype = "fp32";
        QVERIFY(!back->find(k));

        // Damage of every kind: refused naming what, never half used.
        const std::string good = cache.toJson();
        auto edited = [&](const std::string& from, const std::string& to) {
            std::string t = good;
            const size_t at = t.find(from);
            if (at == std::string::npos) qFatal("no '%s' in the cache", from.c_str());
            return t.replace(at, from.size(), to);
        };
        const std::pair<std::string, std::string> cases[] = {
            { edited("\"version\": 1", "\"version\": 2"), "version" },
            { edited("\"algo\": 1", "\"algo\": -1"), "entry" },
            { edited("\"algo\": 1", "\"algo\": \"one\""), "algo" },
            { edited("\"workspace_bytes\": 4096", "\"workspace_bytes\": -4"), "workspace_bytes" },
            { edited("\"deterministic\": true", "\"deterministic\": 1"), "deterministic" },
            { edited("tensor_op\",", "warp\","), "math" },
            { edited("p1,1", "p1"), "pads" },
            { edited("\"cudnn\"", "\"cuDNN\""), "cudnn" },
            { good.substr(0, good.size() / 2), "not a JSON object" },
            { "[]", "not a JSON object" },
        };
        for (const auto& [text, needle] : cases) {
            auto r = AlgoCache::fromJson(text);
            QVERIFY2(!r.ok(), needle.c_str());
            QVERIFY2(r.error().message.find(needle) != std::string::npos, r.error().message.c_str());
        }
        std::string twice = good;
        const size_t open = twice.find("\"entries\": [") + 13;
        const size_t close = twice.find('}', open);
        twice.insert(open, twice.substr(open, close - open + 1) + ",");
        auto dup = AlgoCache::fromJson(twice);
        QVERIFY(!dup.ok());
        QVERIFY2(dup.error().message.find("twice") != std::string::npos, dup.error().message.c_str());
        QVERIFY(!AlgoCache::load(path + ".missing").ok());
    }

    void aBackendThatCannotRunSaysWhy()
    {
        const BackendAvailability cpu = backendAvailability(BackendKind::Cpu);
        QVERIFY(cpu.available);
        const BackendAvailability cuda = backendAvailability(BackendKind::Cuda);
        QVERIFY(!cuda.available);
        QVERIFY(!cuda.why.empty());
#ifdef DL_TEST_HAVE_CUDA
        // Built with CUDA: the device probe's reason, naming the CUDA error (no driver here).
        QVERIFY2(cuda.why.find("cudaError") != std::string::npos, cuda.why.c_str());
#else
        QVERIFY2(cuda.why.find("no CUDA backend") != std::string::npos, cuda.why.c_str());
#endif
        auto made = makeBackend(BackendKind::Cuda, 2);
        QVERIFY(!made.ok());
        QCOMPARE(made.error().code, ErrorCode::Unsupported);
        QVERIFY(made.error().message.find(cuda.why) != std::string::npos);
        QVERIFY(!parseBackend("tpu").ok());
        QCOMPARE(parseBackend("cuda").value(), BackendKind::Cuda);

        // A run asked of it fails before anything is read, saying why.
        RunSpec spec;
        spec.model = kTiny;
        spec.backend = BackendKind::Cuda;
        spec.iterations = 1;
        spec.warmup = 0;
        spec.packDir = (m_dir.path() + "/packs").toStdString();
        auto outcome = Session::prepare(spec);
        QVERIFY(!outcome.ok());
        QVERIFY2(outcome.error().message.find(cuda.why) != std::string::npos, outcome.error().message.c_str());
        QVERIFY(!QDir(m_dir.path() + "/packs").exists() || QDir(m_dir.path() + "/packs").isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestBackend)
#include "test_backend.moc"
