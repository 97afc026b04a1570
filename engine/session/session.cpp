#include "session/session.h"

#include "plan/budget.h"

#include "core/align.h"
#include "core/half.h"
#include "core/largepages.h"
#include "core/procstat.h"
#include "core/random.h"
#include "core/sha256.h"
#include "core/stats.h"
#include "io/weightreader.h"
#include "model/importer.h"
#include "pack/layerpack.h"
#include "pack/packcache.h"
#include "plan/config.h"
#include "runtime/executor.h"
#include "runtime/versions.h"
#include "trace/chrometrace.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <malloc.h>
#include <mutex>
#include <new>
#include <tuple>

namespace dl {

namespace {

// Keeps the events of set-up and of the latest `keep` iterations, for the outcome's per-layer times and the store.
class KeepSink : public TraceSink
{
public:
    explicit KeepSink(int keep)
        : m_keep(keep)
    { }
    void onEvent(const TraceEvent& e) override
    {
        std::lock_guard lock(m_mutex);
        m_events.push_back(e);
    }
    // Drops what is older than the `keep` iterations up to `iteration`; set-up (-1) stays.
    void trim(int iteration)
    {
        std::lock_guard lock(m_mutex);
        const int oldest = iteration - m_keep + 1;
        if (oldest <= 0) return;
        std::erase_if(m_events, [&](const TraceEvent& e) { return e.iteration >= 0 && e.iteration < oldest; });
    }
    std::vector<TraceEvent> take()
    {
        std::lock_guard lock(m_mutex);
        return std::move(m_events);
    }

private:
    const int m_keep;
    std::mutex m_mutex;
    std::vector<TraceEvent> m_events;
};

Error cancelledError()
{
    return Error { ErrorCode::Cancelled, "stopped" };
}

// What the process holds now, for messages about running out of memory.
std::string heldNow()
{
    return std::to_string(processRssBytes() >> 20) + " MiB resident";
}

// Runs `body`, turning an allocation failure or any other exception below it into an error naming `what`.
template <typename F> auto guarded(const std::string& what, F&& body) -> decltype(body())
{
    try {
        return body();
    } catch (const std::bad_alloc&) {
        return makeError(ErrorCode::Internal, "out of memory while " + what + " (the process held " + heldNow() + ")");
    } catch (const std::length_error& e) {
        return makeError(ErrorCode::Internal, "out of memory while " + what + ": " + e.what());
    } catch (const std::exception& e) {
        return makeError(ErrorCode::Internal, "unexpected failure while " + what + ": " + e.what());
    }
}

// Reads "3,7,10-12"-style lists are the front ends' business; here only the bounds.
Status checkResident(const std::vector<int>& resident, size_t layers)
{
    for (int r : resident)
        if (r < 0 || static_cast<size_t>(r) >= layers)
            return badRequest("resident layer " + std::to_string(r) + " does not exist (the model has "
                + std::to_string(layers) + " layers, 0 to " + std::to_string(layers ? layers - 1 : 0) + ")");
    return {};
}

// --paired-disk: after each timed run, its streamed bytes again through a reader of the same kind (O_DIRECT, io_uring
// or pread as the run's), in order, into a 64 MiB buffer taken round robin: more than a last-level cache holds, so that
// each read lands in memory as cold as the run's do. Each pair is rated by the device's busy time where both sides
// kept it busy long enough to count, else by the reader's own time.
class DiskPass
{
public:
    static Result<std::unique_ptr<DiskPass>> open(const Pipeline* pl, const PackInfo* pack, const ReadSpec& read)
    {
        if (!pl || !pack) return badRequest("paired disk reads compare a streaming run's reads: name an architecture");
        auto d = std::unique_ptr<DiskPass>(new DiskPass());
        d->m_packPath = pack->path;
        for (int l : pl->streamedLayers())
            if (const PackLayer& pk = pack->layers[static_cast<size_t>(l)]; pk.paddedBytes) {
                d->m_ranges.push_back({ pk.offset, pk.paddedBytes });
                d->m_bytes += static_cast<double>(pk.paddedBytes);
            }
        if (d->m_ranges.empty())
            return badRequest("paired disk reads: this configuration reads nothing per run (every layer resident)");
        FileReaderOptions ro;
        ro.direct = read.direct;
        ro.uring = read.uring;
        ro.queueDepth = read.queueDepth;
        DL_ASSIGN(d->m_reader, openFileReader(pack->path, ro));
        d->m_chunkBytes = alignUp(std::max<size_t>(read.chunkBytes, 1), kDirectIoAlignment);
        d->m_bufferBytes = std::max(d->m_chunkBytes, (size_t(64) << 20) / d->m_chunkBytes * d->m_chunkBytes);
        d->m_buffer = allocateAligned(d->m_bufferBytes);
        if (!d->m_buffer)
            return makeError(ErrorCode::Internal,
                "out of memory: cannot allocate the paired disk pass's " + std::to_string(d->m_bufferBytes)
                    + "-byte buffer");
        return d;
    }

    // Reads the pass after a run whose device counters were `before` and `after` it (absent off a block device) and
    // whose pipeline had read `bytes0` bytes in `seconds0` before it.
    Status measure(const Pipeline& pl, const std::optional<BlockDeviceCounters>& before,
        const std::optional<BlockDeviceCounters>& after, double bytes0, double seconds0)
    {
        const auto d0 = after ? blockDeviceCounters(m_packPath) : std::nullopt;
        auto pass = readPass(*m_reader, m_ranges, m_buffer.get(), m_bufferBytes, m_chunkBytes);
        if (!pass.ok()) return makeError(pass.error().code, "paired disk pass: " + pass.error().message);
        const auto d1 = d0 ? blockDeviceCounters(m_packPath) : std::nullopt;
        const double runByDevice = d1 ? deviceReadMBps(*before, *after) : 0.0;
        const double passByDevice = d1 ? deviceReadMBps(*d0, *d1) : 0.0;
        if (runByDevice > 0 && passByDevice > 0) {
            m_pairs.emplace_back(runByDevice, passByDevice);
            ++m_pairsByDevice;
        } else {
            const double seconds = pl.stats().readSeconds - seconds0;
            const double runRate
                = seconds > 0 ? (static_cast<double>(pl.stats().readBytes) - bytes0) / seconds / 1e6 : 0.0;
            m_pairs.emplace_back(runRate, m_bytes / *pass / 1e6);
        }
        return {};
    }

    size_t pairs() const { return m_pairs.size(); }

    RunReport::PairedDisk result() const
    {
        RunReport::PairedDisk pd;
        std::vector<double> share, disk;
        for (const auto& [run, pass] : m_pairs) {
            share.push_back(pass > 0 ? run / pass * 100.0 : 0.0);
            disk.push_back(pass);
        }
        pd.pairsMBps = m_pairs;
        pd.rateBy = m_pairsByDevice == m_pairs.size() ? "device busy time"
            : m_pairsByDevice == 0                    ? "the reader's own time"
                                   : "device busy time in " + std::to_string(m_pairsByDevice) + " of "
                + std::to_string(m_pairs.size()) + " pairs, the reader's own time in the others";
        pd.bufferBytes = m_bufferBytes;
        pd.diskMBpsMedian = median(disk);
        pd.readPctOfDisk = { median(share), quantile(share, 0.25), quantile(share, 0.75) };
        return pd;
    }

private:
    DiskPass() = default;
    std::string m_packPath;
    std::unique_ptr<WeightReader> m_reader;
    AlignedBuffer m_buffer;
    size_t m_bufferBytes = 0, m_chunkBytes = 0;
    std::vector<ReadRange> m_ranges;
    double m_bytes = 0;
    std::vector<std::pair<double, double>> m_pairs; // (run, pass) MB/s
    size_t m_pairsByDevice = 0;
};

} // namespace

std::string progressText(const Progress& p)
{
    switch (p.phase) {
    case Progress::Phase::Importing:
        return "importing " + p.detail;
    case Progress::Phase::Planning:
        return "planning " + p.detail;
    case Progress::Phase::Packing:
        return "packing layer " + std::to_string(p.done) + " of " + std::to_string(p.total);
    case Progress::Phase::Repacking:
        return "the cached pack is stale or damaged (" + p.detail + "); packing again";
    case Progress::Phase::SettingUp:
        return "setting up " + p.detail;
    }
    return {};
}

int64_t unixNowMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct Session::Impl
{
    RunSpec spec;
    const std::atomic<bool>* stop = nullptr;
    std::atomic<bool> cancelled { false };
    int64_t startedMs = 0;
    SessionSetup setup;
    std::optional<plan::RunConfig> config;
    std::unique_ptr<Executor> exec;
    std::optional<PackInfo> pack;
    std::map<std::string, Tensor> fileInputs;
    std::vector<Tensor> inputs;
    std::unique_ptr<MemoryLedger> ledger;
    Tracer tracer;
    std::unique_ptr<KeepSink> kept;
    std::unique_ptr<ChromeTraceWriter> traceWriter;
    std::vector<TraceSink*> sinks;
    std::mutex pipelineMutex;
    std::unique_ptr<Pipeline> pipeline;
    ProgressFn progress;
    uint64_t setupRssPeak = 0;
    bool ran = false;

    ~Impl()
    {
        {
            std::lock_guard lock(pipelineMutex);
            pipeline.reset();
        }
        if (ledger && exec) {
            ledger->add(MemTag::Activations, -static_cast<int64_t>(exec->activationBytes()));
            ledger->add(MemTag::Workspace, -static_cast<int64_t>(exec->workspaceBytes()));
        }
    }

    bool stopped() const { return cancelled.load() || (stop && stop->load()); }
    Status checkStop() const { return stopped() ? Status(cancelledError()) : Status(); }

    Status prepare();
    Status plan();
    Status openPack();
    Status createPipeline();
    void runLoop(SessionOutcome& out, const IterationHooks& hooks);
    void fillReport(SessionOutcome& out, const std::vector<double>& times);
};

Status Session::Impl::plan()
{
    RunSpec& s = spec;
    std::optional<PackInfo> packed;
    std::string explicitPack;
    if (isLayerPack(s.model)) {
        DL_ASSIGN(PackInfo info, readLayerPack(s.model));
        explicitPack = s.model;
        const PackSource& src = info.source;
        if (!std::filesystem::exists(src.modelPath))
            return invalid("the pack '" + s.model + "' was made from '" + src.modelPath + "', which no longer exists");
        for (const auto& [name, shape] : s.inputShapes)
            if (src.inputShapes.count(name) && src.inputShapes.at(name) != shape)
                return badRequest("the pack '" + explicitPack + "' was made for " + name + "="
                    + shapeToString(src.inputShapes.at(name)) + ", not " + shapeToString(shape)
                    + ": pack again with that shape");
        if (s.onlyInputShape) return badRequest("a pack fixes its input shapes: name the input with --shape NAME=DIMS");
        if (s.splitBytes && *s.splitBytes != src.splitBytes)
            return badRequest("the pack '" + explicitPack + "' was made with "
                + (src.splitBytes ? "--split " + std::to_string(src.splitBytes) : std::string("no --split"))
                + ": pack again to change it");
        s.model = src.modelPath;
        s.weights = src.weightsPath;
        s.inputShapes = src.inputShapes;
        s.splitBytes = src.splitBytes;
        if (s.precision && *s.precision != src.precision)
            return badRequest("the pack '" + explicitPack + "' stores its weights in " + precisionName(src.precision)
                + ": pack again with --precision " + precisionName(*s.precision));
        s.precision = src.precision;
        if (!s.arch) s.arch = Arch::Preload;
        packed = std::move(info);
    }
    if (!std::filesystem::exists(s.model)) return invalid("'" + s.model + "' does not exist");
    if (!s.weights.empty() && !std::filesystem::exists(s.weights))
        return invalid("the weights file '" + s.weights + "' does not exist");
    const uint64_t split = s.splitBytes ? *s.splitBytes
        : s.budgetBytes && s.arch       ? splitForBudget(*s.arch, s.budgetBytes)
                                        : 0;

    const std::string name = std::filesystem::path(s.model).filename().string();
    if (progress) progress({ Progress::Phase::Importing, -1, 0, 0, name });
    ImportOptions io;
    io.darknetWeights = s.weights;
    io.progress = [&](double f) {
        if (progress) progress({ Progress::Phase::Importing, static_cast<int>(f * 100), 0, 0, name });
        return !stopped();
    };
    DL_ASSIGN(Graph g, guarded("importing '" + s.model + "'", [&] { return importModel(s.model, io); }));
    DL_TRY(checkStop());
    if (!s.precision) s.precision = defaultPrecision(g);

    std::map<std::string, Shape> shapes = s.inputShapes;
    if (s.onlyInputShape) {
        if (g.inputs.size() != 1)
            return badRequest(
                "the model has " + std::to_string(g.inputs.size()) + " inputs: name one with --shape NAME=DIMS");
        shapes[g.inputs[0].name] = *s.onlyInputShape;
    }
    for (const auto& [name, file] : s.inputFiles) {
        auto t = readTensorProtoFile(file);
        if (!t.ok()) return makeError(t.error().code, "input " + name + ": " + t.error().message);
        if (shapes.count(name) && shapes[name] != t->shape())
            return invalid("input " + name + " holds shape " + shapeToString(t->shape()) + " but the run asks for "
                + shapeToString(shapes[name]));
        shapes[name] = t->shape();
        fileInputs[name] = std::move(t).value();
    }

    if (progress) progress({ Progress::Phase::Planning, -1, 0, 0, name });
    ExecutorOptions eo;
    eo.threads = s.threads;
    eo.splitBytes = split;
    eo.captureGraphs = s.captureGraphs;
    eo.halfCompute = *s.precision == Precision::F16;
    DL_ASSIGN(eo.backend,
        makeBackend(s.backend.value_or(BackendKind::Cpu), s.threads, s.packDir.empty() ? defaultPackDir() : s.packDir));
    DL_ASSIGN(exec, guarded("planning '" + s.model + "'", [&] { return Executor::create(g, shapes, eo); }));
    g = Graph {}; // the executor shares the weights it needs
    DL_TRY(checkStop());

    DL_ASSIGN(PackSource source, describePackSource(*exec, s.model, s.weights, split, *s.precision));
    setup.modelPath = source.modelPath;
    setup.weightsPath = source.weightsPath;
    setup.inputShapes = source.inputShapes;
    setup.splitBytes = source.splitBytes;
    setup.modelHash = modelHash(source.modelSha256, source.weightsSha256);
    if (!s.modelHash.empty() && s.modelHash != setup.modelHash)
        return invalid("'" + s.model + "' is not the model asked for: its sha256 is " + setup.modelHash.substr(0, 16)
            + "…, the run names " + s.modelHash.substr(0, 16) + "…");
    if (packed) {
        if (packed->key != planKey(source))
            return invalid("the pack '" + explicitPack + "' no longer matches its model '" + source.modelPath
                + "' (the model, its weights or this engine build changed) — re-pack the model (dlayer pack MODEL -o "
                + explicitPack + ")");
        DL_TRY(checkPackMatches(*packed, *exec, packed->key));
        pack = std::move(packed);
    }
    if (config) {
        if (setup.modelHash != config->modelHash)
            return invalid("the configuration '" + s.configFile + "' was made for another model (" + config->modelName
                + ", sha256 " + config->modelHash.substr(0, 16) + "…), not '" + source.modelPath + "' (sha256 "
                + setup.modelHash.substr(0, 16) + "…): plan this model with dlayer plan");
        if (exec->layers().size() != static_cast<size_t>(config->layers))
            return invalid("the configuration '" + s.configFile + "' was made for a plan of "
                + std::to_string(config->layers) + " layers, this model plans " + std::to_string(exec->layers().size())
                + " (another engine build or input shape): plan it again");
    }
    return {};
}

Status Session::Impl::openPack()
{
    const RunSpec& s = spec;
    // A budget below what the plan can stream in is refused before anything is packed (fp32: the pack's layers are the
    // plan's; an fp16 pack's sizes are known once it is made, and the budget rule refuses it then).
    if (s.budgetBytes && *s.precision == Precision::F32)
        if (auto st = checkBudget(paddedLayerBytes(*exec), *s.arch, s.budgetBytes); !st.ok())
            return invalid(st.error().message
                + (setup.splitBytes ? " (its layers split at " + std::to_string(setup.splitBytes) + " bytes)"
                                    : std::string()));
    if (!pack) {
        DL_ASSIGN(PackSource source, describePackSource(*exec, s.model, s.weights, setup.splitBytes, *s.precision));
        const std::string dir = s.packDir.empty() ? defaultPackDir() : s.packDir;
        const std::string path = packCachePath(dir, planKey(source));
        CachedPackOptions co;
        co.cancel = stop;
        co.progress = [&](size_t done, size_t total) {
            if (progress)
                progress(
                    { Progress::Phase::Packing, total ? static_cast<int>(done * 100 / total) : -1, done, total, path });
        };
        co.replacing = [&](const std::string& why) {
            if (progress) progress({ Progress::Phase::Repacking, -1, 0, 0, why });
        };
        DL_ASSIGN(pack, guarded("packing the model", [&] { return openCachedPack(dir, *exec, source, co); }));
    }
    DL_TRY(checkStop());
    // From here on the weights live in the pack only.
    exec->releaseWeights();
    malloc_trim(0);
    setupRssPeak = processPeakRssBytes();
    return {};
}

Status Session::Impl::createPipeline()
{
    const RunSpec& s = spec;
    PipelineOptions po;
    if (s.budgetBytes) {
        DL_ASSIGN(po, optionsForBudget(*pack, *s.arch, s.budgetBytes));
    } else {
        po.arch = *s.arch;
        po.stagingBytes = s.stagingBytes;
        DL_TRY(checkResident(s.resident, pack->layers.size()));
        po.resident = s.resident;
    }
    po.chunkBytes = s.read.chunkBytes;
    po.verify = s.read.verify;
    po.readThread = s.read.readThread;
    po.stopToken = stop ? stop : &cancelled;
    FileReaderOptions ro;
    ro.direct = s.read.direct;
    ro.uring = s.read.uring;
    ro.queueDepth = s.read.queueDepth;
    DL_ASSIGN(auto reader, openFileReader(pack->path, ro));
    if (progress) progress({ Progress::Phase::SettingUp, -1, 0, 0, archName(po.arch) });
    auto created = guarded("setting up the pipeline",
        [&] { return Pipeline::create(*exec, *pack, std::move(reader), po, ledger.get(), &tracer); });
    if (!created.ok()) return created.error();
    std::lock_guard lock(pipelineMutex);
    pipeline = std::move(created).value();
    return {};
}

Status Session::Impl::prepare()
{
    RunSpec& s = spec;
    startedMs = unixNowMs();
    setLargePages(s.hugePages);
    if (!s.configFile.empty()) {
        if (s.configText.empty()) {
            DL_ASSIGN(config, plan::readConfigFile(s.configFile));
        } else {
            auto c = plan::configFromJson(s.configText);
            if (!c.ok()) return invalid("the configuration '" + s.configFile + "' is damaged: " + c.error().message);
            config = std::move(c).value();
        }
        if (s.arch || s.stagingBytes || !s.resident.empty() || s.budgetBytes || s.splitBytes)
            return badRequest("a configuration fixes the architecture, staging, resident layers and split: leave them "
                              "out");
        s.arch = config->arch;
        s.stagingBytes = config->stagingBytes;
        s.resident = config->resident;
        if (config->splitBytes || !isLayerPack(s.model)) s.splitBytes = config->splitBytes;
        if (s.precision && *s.precision != config->precision)
            return badRequest(std::string("the configuration stores the weights in ") + precisionName(config->precision)
                + ": leave --precision out, or plan again");
        s.precision = config->precision;
        const BackendKind configBackend = parseBackend(config->backend).value();
        if (s.backend && *s.backend != configBackend)
            return badRequest("the configuration was planned for the " + config->backend
                + " backend: leave --backend out, or plan again");
        s.backend = configBackend;
    }
    if (!s.backend) s.backend = BackendKind::Cpu;
    if (s.iterations < 1 && !s.continuous) return badRequest("a run needs at least one timed iteration");
    if (s.warmup < 0) return badRequest("the warm-up cannot be negative");
    DL_TRY(plan());
    DL_TRY(checkStop());

    setup.arch = s.arch;
    for (const auto& out : exec->graph().outputs)
        setup.outputNames.push_back(out.name);
    // Inputs in graph order: from files, else seeded.
    for (size_t i = 0; i < exec->graph().inputs.size(); ++i) {
        const std::string& name = exec->graph().inputs[i].name;
        const auto& v = exec->values()[exec->valueId(name)];
        if (auto f = fileInputs.find(name); f != fileInputs.end()) {
            if (f->second.dtype() != v.dtype)
                return invalid("input " + name + " holds " + dtypeName(f->second.dtype()) + ", the model takes "
                    + dtypeName(v.dtype));
            inputs.push_back(f->second);
        } else {
            DL_ASSIGN(Tensor t, guarded("making input " + name, [&]() -> Result<Tensor> {
                return seededTensor(v.dtype, v.shape, s.seed + i);
            }));
            inputs.push_back(std::move(t));
        }
    }
    fileInputs.clear();

    ledger = std::make_unique<MemoryLedger>();
    ledger->setCapacity(s.memoryLimitBytes);
    DL_TRY(ledger->reserve(MemTag::Activations, exec->activationBytes()));
    if (auto st = ledger->reserve(MemTag::Workspace, exec->workspaceBytes()); !st.ok()) {
        ledger->add(MemTag::Activations, -static_cast<int64_t>(exec->activationBytes()));
        ledger.reset();
        return st;
    }
    if (!s.arch) { // in-memory: the executor keeps its weights
        DL_TRY(ledger->reserve(MemTag::ResidentWeights, exec->weightBytes()));
        setup.modelWeightBytes = exec->weightBytes();
        for (const auto& l : exec->layers()) {
            setup.layerNames.push_back(l.name);
            setup.layerBytes.push_back(0);
            setup.resident.push_back(true);
        }
        return {};
    }

    DL_TRY(openPack());
    setup.packPath = pack->path;
    setup.modelWeightBytes = pack->weightBytes();
    setup.budgetBytes = s.budgetBytes;
    tracer.setLedger(ledger.get());
    const int keep = s.continuous ? std::max(1, s.keepIterations) : s.warmup + s.iterations + 1;
    kept = std::make_unique<KeepSink>(keep);
    tracer.addSink(kept.get());
    if (!s.traceFile.empty()) {
        std::vector<std::string> names;
        for (const auto& l : pack->layers)
            names.push_back(l.name);
        DL_ASSIGN(traceWriter, ChromeTraceWriter::open(s.traceFile, names));
        tracer.addSink(traceWriter.get());
    }
    for (TraceSink* sink : sinks)
        tracer.addSink(sink);
    DL_TRY(createPipeline());
    const Pipeline& pl = *pipeline;
    setup.resident.assign(pack->layers.size(), *s.arch == Arch::Preload);
    for (int l : pl.options().resident)
        setup.resident[static_cast<size_t>(l)] = true;
    setup.precision = pack->source.precision;
    for (const auto& l : pack->layers) {
        setup.layerNames.push_back(l.name);
        setup.layerBytes.push_back(static_cast<int64_t>(l.paddedBytes));
        setup.layerStored.push_back(storedTypeOf(l));
        setup.layerBoundBytes.push_back(static_cast<int64_t>(l.boundPadded()));
    }
    setup.preloadWeightBytes = minimumWeightMemory(*pack, Arch::Preload) + exec->pinnedWeightBytes();
    setup.stagingBytes = pl.stagingBytes();
    setup.residentBytes = pl.residentBytes();
    setup.reader = pl.readerDescription();
    setup.directIo = pl.directIo();
    return {};
}

Result<std::unique_ptr<Session>> Session::prepare(const RunSpec& spec, const std::atomic<bool>* stop,
    const ProgressFn& progress, const std::vector<TraceSink*>& sinks)
{
    auto impl = std::make_unique<Impl>();
    impl->spec = spec;
    impl->stop = stop;
    impl->progress = progress;
    impl->sinks = sinks;
    const Status st = guarded("preparing the run", [&] { return impl->prepare(); });
    if (!st.ok()) {
        for (TraceSink* sink : sinks)
            impl->tracer.removeSink(sink);
        return st.error();
    }
    impl->progress = nullptr; // the caller's callback need not outlive prepare()
    return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Session::Session(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl))
{ }

Session::~Session()
{
    if (!m_impl) return;
    m_impl->tracer.flush();
    for (TraceSink* sink : m_impl->sinks)
        m_impl->tracer.removeSink(sink);
}

const SessionSetup& Session::setup() const
{
    return m_impl->setup;
}

void Session::cancel()
{
    m_impl->cancelled = true;
    std::lock_guard lock(m_impl->pipelineMutex);
    if (m_impl->pipeline) m_impl->pipeline->cancel();
    if (m_impl->exec && !m_impl->spec.arch) m_impl->exec->cancel();
}

SessionOutcome Session::run(const IterationHooks& hooks)
{
    Impl& d = *m_impl;
    SessionOutcome out;
    out.setup = d.setup;
    out.startedMs = d.startedMs;
    if (d.ran) {
        out.report.status = "failed";
        out.report.error = "a prepared session runs once";
        return out;
    }
    d.ran = true;
    const Status st = guarded("running", [&]() -> Status {
        d.runLoop(out, hooks);
        return {};
    });
    if (!st.ok()) {
        out.report.status = "failed";
        out.report.error = st.error().message;
    }
    out.finishedMs = unixNowMs();
    return out;
}

void Session::Impl::runLoop(SessionOutcome& out, const IterationHooks& hooks)
{
    const RunSpec& s = spec;
    RunReport& rep = out.report;
    Pipeline* pl = pipeline.get();
    std::vector<double> times;
    std::optional<Error> error;
    bool stoppedEarly = false; // a hook ended the run
    int done = 0;
    // The pack's device over the timed runs, by its own counters; absent where the pack is on no block device.
    const std::optional<BlockDeviceCounters> device = pl ? blockDeviceCounters(pack->path) : std::nullopt;
    uint64_t deviceBytes = 0, deviceBusyMs = 0;
    std::unique_ptr<DiskPass> diskPass;
    if (s.pairedDisk) {
        auto opened = DiskPass::open(pl, pack ? &*pack : nullptr, s.read);
        if (opened.ok())
            diskPass = std::move(opened).value();
        else
            error = opened.error();
    }
    bool rssReset = false;
    for (int it = 0; !error && (s.continuous || it < s.warmup + s.iterations); ++it) {
        if (stopped()) break;
        if (it == s.warmup) {
            if (pl) pl->resetStats();
            ledger->resetPeaks();
            rssReset = resetProcessPeakRss();
        }
        if (hooks.before && !hooks.before(it)) {
            stoppedEarly = true;
            break;
        }
        const std::optional<BlockDeviceCounters> before
            = it >= s.warmup && device ? blockDeviceCounters(pack->path) : std::nullopt;
        const double pipelineBytes0 = pl ? static_cast<double>(pl->stats().readBytes) : 0;
        const double pipelineSeconds0 = pl ? pl->stats().readSeconds : 0;
        const auto t0 = std::chrono::steady_clock::now();
        auto r = pl ? pl->run(inputs) : exec->run(inputs);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (!r.ok()) {
            if (r.error().code != ErrorCode::Cancelled) error = r.error();
            break;
        }
        // Paired disk: the reads the stages make ahead of the next run count towards this one, and the pass reads
        // with the disk to itself.
        if (diskPass) pl->waitForReadAhead();
        if (hooks.after)
            if (Status st = hooks.after(it, ms); !st.ok()) {
                error = st.error();
                break;
            }
        done = it + 1;
        if (it >= s.warmup) {
            times.push_back(ms);
            const auto after = before ? blockDeviceCounters(pack->path) : std::nullopt;
            if (after) {
                deviceBytes += after->bytesRead - before->bytesRead;
                deviceBusyMs += after->busyMs - before->busyMs;
            }
            if (diskPass)
                if (Status st = diskPass->measure(*pl, before, after, pipelineBytes0, pipelineSeconds0); !st.ok()) {
                    error = st.error();
                    break;
                }
        }
        out.outputs = std::move(r).value();
        if (s.continuous) {
            if (kept) kept->trim(it);
            // A continuous run's latencies are those of its kept iterations too.
            if (times.size() > static_cast<size_t>(std::max(1, s.keepIterations))) times.erase(times.begin());
        }
    }
    tracer.flush();
    if (traceWriter) {
        tracer.removeSink(traceWriter.get());
        if (auto st = traceWriter->close(); !st.ok() && !error) error = st.error();
        traceWriter.reset();
    }

    rep.memory.rssPeakIsRunOnly = rssReset;
    fillReport(out, times);
    if (device && pl && pl->stats().readBytes > 0) {
        const double runs = std::max(1, pl->stats().runs);
        RunReport::DeviceRead dr;
        dr.name = device->device;
        dr.bytes = static_cast<double>(deviceBytes) / runs;
        dr.busyMs = static_cast<double>(deviceBusyMs) / runs;
        const double mbps = deviceReadMBps({ device->device, 0, 0 }, { device->device, deviceBytes, deviceBusyMs });
        if (mbps > 0) dr.mbPerS = mbps; // else busy too briefly to rate
        rep.read->device = dr;
    }
    if (diskPass && diskPass->pairs()) rep.pairedDisk = diskPass->result();

    const int timed = static_cast<int>(times.size());
    out.firstIteration = done - timed;
    out.endIteration = done;
    if (kept) {
        tracer.removeSink(kept.get());
        out.events = kept->take();
    }
    out.timeline = ledger->timeline();
    if (error) {
        rep.status = "failed";
        rep.error = error->message;
    } else if (stoppedEarly) {
        rep.status = "ok";
    } else if (timed == 0 || (!s.continuous && done < s.warmup + s.iterations)) {
        rep.status = "cancelled";
    } else {
        rep.status = "ok";
    }

    nlohmann::ordered_json c;
    c["arch"] = rep.arch;
    if (pl) {
        c["staging_bytes"] = pl->stagingBytes();
        c["resident_layers"] = pl->options().resident;
    }
    c["split_bytes"] = setup.splitBytes;
    c["backend"] = backendName(s.backend.value_or(BackendKind::Cpu));
    c["threads"] = s.threads;
    if (pl) {
        c["chunk_bytes"] = pl->options().chunkBytes;
        c["queue_depth"] = s.read.queueDepth;
        c["direct"] = s.read.direct;
        c["uring"] = s.read.uring;
        c["huge_pages"] = s.hugePages;
        c["read_thread"] = s.read.readThread;
        c["verify"] = verifyName(pl->options().verify);
        c["pack"] = pack->path;
        c["precision"] = precisionName(pack->source.precision);
    }
    if (s.budgetBytes) c["budget_bytes"] = s.budgetBytes;
    if (s.continuous) c["continuous"] = true;
    c["source"] = s.source;
    out.configJson = c.dump();
}

void Session::Impl::fillReport(SessionOutcome& out, const std::vector<double>& times)
{
    const RunSpec& s = spec;
    RunReport& r = out.report;
    const Pipeline* pl = pipeline.get();
    r.model = setup.modelPath;
    r.modelHash = setup.modelHash;
    r.pack = setup.packPath;
    r.arch = s.arch ? archName(*s.arch) : "in-memory";
    r.device = thisDevice();
    r.device.backend = backendName(s.backend.value_or(BackendKind::Cpu));
    r.source = s.source;
    if (config)
        r.config = RunReport::ConfigRef { s.configFile, config->predictedLatencyMs, config->predictedPeakBytes };
    r.threads = s.threads;
    r.iterations = s.continuous ? static_cast<int>(times.size()) : s.iterations;
    r.warmup = s.warmup;
    r.continuous = s.continuous;
    r.budgetBytes = s.budgetBytes;
    setLatencies(r, times);

    RunReport::Memory& m = r.memory;
    for (size_t t = 0; t < kMemTagCount; ++t)
        m.byTag[t] = ledger->peak(static_cast<MemTag>(t));
    m.weightsBytes = ledger->peak(MemTag::ResidentWeights) + ledger->peak(MemTag::Staging);
    m.modelWeightBytes = setup.modelWeightBytes;
    m.activationsBytes = exec->activationBytes();
    m.activationsSumBytes = exec->activationSumBytes();
    m.activationsLowerBoundBytes = exec->activationLowerBound();
    m.workspaceBytes = exec->workspaceBytes();
    m.peakBytes = ledger->peakTotal();
    m.rssPeakBytes = processPeakRssBytes();
    m.rssSetupPeakBytes = setupRssPeak;
    m.hugePages = s.hugePages;
    if (const long long huge = hugePageBytes(); huge >= 0) m.hugePageBytes = huge;

    if (pl) {
        const PipelineStats& st = pl->stats();
        const double runs = std::max(1, st.runs);
        r.layers = pack->layers.size();
        r.splitBytes = setup.splitBytes;
        r.layersSplit = exec->split().layersSplit;
        r.stagingBytes = pl->stagingBytes();
        r.residentLayers = pl->options().resident;
        r.residentAll = *s.arch == Arch::Preload;
        r.streamedLayers = pl->streamedLayers().size();
        r.largestLayerBytes = pack->largestLayer();
        RunReport::Read rd;
        rd.bytes = st.readBytes / static_cast<uint64_t>(runs);
        rd.seconds = st.readSeconds / runs;
        rd.mbPerS = st.readSeconds > 0 ? static_cast<double>(st.readBytes) / st.readSeconds / 1e6 : 0.0;
        rd.directIo = pl->directIo();
        rd.reader = pl->readerDescription();
        rd.verify = verifyName(pl->options().verify);
        // Who submits and reaps the reads: the kernel stage itself (two-stage, sequential) or a reader thread.
        rd.inlineReads = pl->inlineReads() || *s.arch == Arch::Sequential;
        r.read = rd;
        for (int k = 0; k < 3; ++k)
            r.stallMsByStage[static_cast<size_t>(k)] = st.stallSeconds[k] * 1e3 / runs;
        r.stallMs = r.stallMsByStage[static_cast<size_t>(Stage::Kernel)];
        r.copyMs = st.copySeconds * 1e3 / runs;
        r.precision.weights = precisionName(pack->source.precision);
        for (int l : pl->streamedLayers()) {
            const PackLayer& layer = pack->layers[static_cast<size_t>(l)];
            r.precision.storedBytes += layer.paddedBytes;
            r.precision.boundBytes += layer.boundPadded();
        }
        for (const PackLayer& layer : pack->layers)
            if (layer.widens()) ++r.precision.layersWidened;
        if (r.precision.layersWidened) r.precision.widenPath = widenHalfPath();
    } else {
        r.splitBytes = setup.splitBytes;
    }
    r.compute.backend = exec->backend().describe();
    r.compute.graphs = exec->graphs();
    std::tie(r.compute.measuredMs, r.compute.measuredKernels) = exec->measuredKernelMs();
    for (const LayerPlan& lp : exec->layers())
        if (!lp.fallbackOps.empty()) r.compute.fallbacks.push_back({ lp.index, lp.name, lp.fallbackOps });
    r.precision.modelHalf = exec->precision().widened();
    if (exec->backend().kind() == BackendKind::Cuda && exec->halfConvolutions() > 0) {
        r.precision.compute = "fp16";
        r.precision.computeWhy = std::to_string(exec->halfConvolutions())
            + " convolutions compute in float16 on tensor cores (cuDNN's conversion math, accumulating in float32); "
              "the other ops, and the values between layers, in float32";
    } else if (r.precision.modelHalf || r.precision.weights != "fp32") {
        r.precision.computeWhy = "the CPU backend's kernels compute in float32 (oneDNN " + oneDnnVersion()
            + " has no float16 path for them): float16 values are widened";
    }
    for (size_t i = 0; i < out.outputs.size(); ++i) {
        const Tensor& t = out.outputs[i];
        RunReport::Output o;
        o.name = i < setup.outputNames.size() ? setup.outputNames[i] : std::string();
        o.dtype = dtypeName(t.dtype());
        o.shape = t.shape();
        o.sha256 = Sha256::hexOf(t.data(), t.bytes());
        r.outputs.push_back(std::move(o));
    }
}

} // namespace dl
