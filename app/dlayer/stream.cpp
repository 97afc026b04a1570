// dlayer pack, and dlayer run with --arch: the weights stream from a layer pack through a pipeline architecture.

#include "cli.h"
#include "record.h"

#include "core/largepages.h"
#include "core/procstat.h"
#include "core/sha256.h"
#include "io/weightreader.h"
#include "memory/ledger.h"
#include "model/importer.h"
#include "pack/layerpack.h"
#include "pack/packcache.h"
#include "pipeline/pipeline.h"
#include "plan/config.h"
#include "runtime/executor.h"
#include "trace/chrometrace.h"
#include "trace/trace.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <malloc.h>
#include <memory>
#include <optional>
#include <sys/wait.h>
#include <unistd.h>

using namespace dl;

namespace dlcli {

namespace {

// What --paired-disk's pass reads into, round robin (see where it is allocated).
constexpr size_t kPassBufferBytes = size_t(64) << 20;

// The model, its plan and where it came from; for a .dlpack argument, re-planned from the pack's source.
struct Planned
{
    std::unique_ptr<Executor> exec;
    PackSource source;
    std::map<std::string, Tensor> fileInputs;
    std::string explicitPack; // the .dlpack given on the command line
};

Planned planModel(const Options& given)
{
    Options o = given;
    Planned p;
    std::optional<PackInfo> packed;
    if (isLayerPack(o.model)) {
        auto info = readLayerPack(o.model);
        if (!info.ok()) fail(info.error().message);
        p.explicitPack = o.model;
        const PackSource& src = info->source;
        if (!std::filesystem::exists(src.modelPath))
            fail("the pack '" + o.model + "' was made from '" + src.modelPath + "', which no longer exists");
        o.model = src.modelPath;
        o.weights = src.weightsPath;
        for (const auto& [name, shape] : o.shapes)
            if (src.inputShapes.count(name) && src.inputShapes.at(name) != shape)
                fail("the pack '" + p.explicitPack + "' was made for " + name + "="
                    + shapeToString(src.inputShapes.at(name)) + ", not " + shapeToString(shape)
                    + ": pack again with that shape");
        if (!o.unnamedShape.empty()) fail("a pack fixes its input shapes: name the input with --shape NAME=DIMS", 2);
        o.shapes = src.inputShapes;
        packed = std::move(info).value();
    }
    // The split: the pack's own, else --split, else what a --budget asks for.
    size_t split = o.split;
    if (packed) {
        if (o.hasSplit && o.split != packed->source.splitBytes)
            fail("the pack '" + p.explicitPack + "' was made with "
                    + (packed->source.splitBytes ? "--split " + std::to_string(packed->source.splitBytes)
                                                 : std::string("no --split"))
                    + ": pack again to change it",
                2);
        split = packed->source.splitBytes;
    } else if (!o.hasSplit && o.hasBudget && !o.arch.empty()) {
        split = splitForBudget(*parseArch(o.arch), o.budget);
    }
    if (!std::filesystem::exists(o.model)) fail("'" + o.model + "' does not exist");
    Graph g = importOrFail(o);
    auto shapes = inputShapes(o, g, p.fileInputs);
    ExecutorOptions eo;
    eo.threads = o.threads;
    eo.splitBytes = split;
    auto exec = Executor::create(g, shapes, eo);
    if (!exec.ok()) fail(exec.error().message);
    p.exec = std::move(exec).value();

    auto described = describePackSource(*p.exec, o.model, o.weights, split);
    if (!described.ok()) fail(described.error().message);
    p.source = std::move(described).value();
    const PackSource& s = p.source;
    if (packed && packed->key != planKey(s))
        fail("the pack '" + p.explicitPack + "' no longer matches its model '" + s.modelPath
            + "' (the model, its weights or this engine build changed) — re-pack the model (dlayer pack MODEL -o "
            + p.explicitPack + ")");
    return p;
}

// Prints packing progress to stderr every tenth of the layers.
std::function<void(size_t, size_t)> packingProgress(const std::string& path)
{
    return [path, lastPct = size_t(101)](size_t done, size_t total) mutable {
        if (total == 0) return;
        const size_t pct = done * 100 / total;
        if (pct / 10 != lastPct / 10 || done == total) {
            std::fprintf(stderr, "\rpacking %s: %zu/%zu layers", path.c_str(), done, total);
            if (done == total) std::fprintf(stderr, "\n");
            lastPct = pct;
        }
    };
}

void writePack(const std::string& path, const Executor& exec, const PackSource& source)
{
    std::error_code ec;
    auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) fail("cannot create '" + dir.string() + "': " + ec.message());
    auto st = writeLayerPack(path, exec, source, packingProgress(path));
    if (!st.ok()) fail(st.error().message);
}

} // namespace

int cmdPack(const Options& o)
{
    Planned p = planModel(o);
    writePack(o.output, *p.exec, p.source);
    auto info = readLayerPack(o.output);
    if (!info.ok()) fail(info.error().message);
    if (o.json) {
        json j = { { "pack", o.output }, { "key", info->key }, { "layers", info->layers.size() },
            { "weight_bytes", info->weightBytes() }, { "file_bytes", info->fileBytes },
            { "largest_layer_bytes", info->largestLayer() }, { "split_bytes", p.source.splitBytes },
            { "layers_split", p.exec->split().layersSplit } };
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("pack      %s\nlayers    %zu, weights %s, largest layer %s, file %s\n", o.output.c_str(),
        info->layers.size(), humanBytes(static_cast<double>(info->weightBytes())).c_str(),
        humanBytes(static_cast<double>(info->largestLayer())).c_str(),
        humanBytes(static_cast<double>(info->fileBytes)).c_str());
    return 0;
}

namespace {

std::vector<int> parseLayerList(const std::string& text, size_t layers)
{
    std::vector<int> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t comma = text.find(',', pos);
        std::string part = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        pos = comma == std::string::npos ? text.size() : comma + 1;
        auto dash = part.find('-');
        auto num = [&](const std::string& t) {
            if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos || t.size() > 9)
                fail("--resident expects layer indices like 0,5,10-12, got '" + text + "'", 2);
            const long v = std::stol(t);
            if (static_cast<size_t>(v) >= layers)
                fail("--resident: layer " + t + " does not exist (the model has " + std::to_string(layers)
                        + " layers, 0 to " + std::to_string(layers - 1) + ")",
                    2);
            return static_cast<int>(v);
        };
        if (dash == std::string::npos) {
            out.push_back(num(part));
            continue;
        }
        const int a = num(part.substr(0, dash)), b = num(part.substr(dash + 1));
        if (b < a) fail("--resident: the range '" + part + "' runs backwards", 2);
        for (int i = a; i <= b; ++i)
            out.push_back(i);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

// Counts the executor's own memory in the ledger for the pipeline's lifetime.
struct LedgerEntry
{
    MemoryLedger& ledger;
    MemTag tag;
    int64_t bytes;
    LedgerEntry(MemoryLedger& l, MemTag t, size_t b)
        : ledger(l)
        , tag(t)
        , bytes(static_cast<int64_t>(b))
    {
        ledger.add(tag, bytes);
    }
    ~LedgerEntry() { ledger.add(tag, -bytes); }
};

// The whole of `text` to `fd`, through short writes and interruptions; false when the other end is gone.
bool writeFully(int fd, const std::string& text)
{
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

void writeAll(int fd, const std::string& text)
{
    if (!writeFully(fd, text)) fail(std::string("--lockstep: cannot write: ") + std::strerror(errno));
}

// --paired-preload: a second dlayer process holds the same model preloaded (whole layers, from the cache's
// unsplit pack) and runs one inference for each byte it is sent, answering with the inference's latency. Two
// processes rather than a second pipeline here, so that each side's RSS and ledger stay its own.
class PairedPreload
{
public:
    // `pack`: the layer pack to preload from (whole layers, or the run's own split with --paired-split), if there is
    // one at hand; else the model's source (whole layers).
    PairedPreload(const Options& o, const PackSource& src, const std::string& pack)
    {
        std::vector<std::string> args = { selfPath(), "run", pack.empty() ? src.modelPath : pack };
        if (pack.empty() && !src.weightsPath.empty()) args.insert(args.end(), { "--weights", src.weightsPath });
        for (const auto& [name, shape] : src.inputShapes)
            if (pack.empty() && !shape.empty())
                args.insert(args.end(), { "--shape", name + "=" + shapeToString(shape) });
        for (const auto& [name, file] : o.inputFiles)
            args.insert(args.end(), { "--input", name + "=" + file });
        if (!o.packDir.empty()) args.insert(args.end(), { "--pack-dir", o.packDir });
        if (o.threads > 0) args.insert(args.end(), { "--threads", std::to_string(o.threads) });
        if (!o.hugePages) args.push_back("--no-huge-pages");
        int toChild[2], fromChild[2];
        if (::pipe2(toChild, O_CLOEXEC) != 0 || ::pipe2(fromChild, O_CLOEXEC) != 0)
            fail(std::string("--paired-preload: cannot make a pipe: ") + std::strerror(errno));
        args.insert(args.end(),
            { "--arch", "preload", "--seed", std::to_string(o.seed), "--iterations", std::to_string(o.iterations),
                "--warmup", std::to_string(o.warmup), "--lockstep",
                std::to_string(toChild[0]) + "," + std::to_string(fromChild[1]), "--json" });
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        std::signal(SIGPIPE, SIG_IGN); // a partner that died shows as a failed write, not as this process killed
        m_pid = ::fork();
        if (m_pid < 0) fail(std::string("--paired-preload: cannot start a process: ") + std::strerror(errno));
        if (m_pid == 0) {
            // Only async-signal-safe calls until exec: keep the two pipe ends, send the report to /dev/null.
            ::fcntl(toChild[0], F_SETFD, 0);
            ::fcntl(fromChild[1], F_SETFD, 0);
            const int null = ::open("/dev/null", O_WRONLY);
            if (null >= 0) ::dup2(null, 1);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::close(toChild[0]);
        ::close(fromChild[1]);
        m_to = toChild[1];
        m_from = fromChild[0];
        // Set-up (and packing, the first time) happens before the first pair, not during it.
        if (const std::string r = readLine(); r != "ready") ended();
    }
    ~PairedPreload()
    {
        ::close(m_to); // the partner's next read sees the end and it exits
        ::close(m_from);
        int status = 0;
        while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) { }
    }
    PairedPreload(const PairedPreload&) = delete;
    PairedPreload& operator=(const PairedPreload&) = delete;

    // One inference there; its latency in ms.
    double step()
    {
        if (!writeFully(m_to, "r")) ended();
        const std::string line = readLine();
        char* end = nullptr;
        const double ms = std::strtod(line.c_str(), &end);
        if (line.empty() || *end) ended();
        return ms;
    }

private:
    [[noreturn]] void ended()
    {
        fail("--paired-preload: the preloaded run (process " + std::to_string(m_pid)
            + ") ended early; its own message is above");
    }
    std::string readLine()
    {
        std::string line;
        char c;
        while (true) {
            const ssize_t n = ::read(m_from, &c, 1);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) ended();
            if (c == '\n') return line;
            line += c;
        }
    }

    pid_t m_pid = -1;
    int m_to = -1, m_from = -1;
};

} // namespace

std::string selfPath()
{
    std::error_code ec;
    auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) fail("cannot find this program (/proc/self/exe): " + ec.message());
    return p.string();
}

int cmdRunStreaming(const Options& given)
{
    Options o = given;
    // --config: exactly the configuration dlayer plan chose.
    std::optional<plan::RunConfig> config;
    if (!o.configFile.empty()) {
        auto c = plan::readConfigFile(o.configFile);
        if (!c.ok()) fail(c.error().message);
        config = std::move(c).value();
        o.arch = archName(config->arch);
        o.staging = config->stagingBytes;
        o.resident.clear();
        for (int r : config->resident)
            o.resident += (o.resident.empty() ? "" : ",") + std::to_string(r);
        o.split = config->splitBytes;
        o.hasSplit = config->splitBytes > 0 || isLayerPack(o.model);
    }
    if (o.arch.empty()) o.arch = "preload";
    const Arch arch = *parseArch(o.arch);
    const int64_t startedMs = unixMs();
    // A store that cannot take the run is refused before the run, not after.
    if (!o.record.empty()) checkRecordable(o.record);
    Planned p = planModel(o);
    Executor& exec = *p.exec;
    if (config) {
        const std::string hash = modelHash(p.source.modelSha256, p.source.weightsSha256);
        if (hash != config->modelHash)
            fail("the configuration '" + o.configFile + "' was made for another model (" + config->modelName
                + ", sha256 " + config->modelHash.substr(0, 16) + "…), not '" + p.source.modelPath + "' (sha256 "
                + hash.substr(0, 16) + "…): plan this model with dlayer plan");
        if (exec.layers().size() != static_cast<size_t>(config->layers))
            fail("the configuration '" + o.configFile + "' was made for a plan of " + std::to_string(config->layers)
                + " layers, this model plans " + std::to_string(exec.layers().size())
                + " (another engine build or input shape): plan it again");
    }

    // A budget below what the plan can stream in is refused before anything is packed.
    if (o.hasBudget)
        if (auto st = checkBudget(paddedLayerBytes(exec), arch, o.budget); !st.ok())
            fail(st.error().message
                + (p.source.splitBytes ? " (its layers split at " + std::to_string(p.source.splitBytes) + " bytes)"
                                       : std::string()));

    // The pack: the one given, else the cache's, made now when missing or stale.
    const std::string key = planKey(p.source);
    std::string packPath = p.explicitPack;
    std::optional<PackInfo> opened;
    if (packPath.empty()) {
        const std::string dir = o.packDir.empty() ? defaultPackDir() : o.packDir;
        packPath = packCachePath(dir, key);
        CachedPackOptions co;
        if (!o.json) co.progress = packingProgress(packPath);
        co.replacing = [&](const std::string& why) {
            std::fprintf(stderr, "dlayer: the cached pack %s is stale or damaged (%s); packing again\n",
                packPath.c_str(), why.c_str());
        };
        auto r = openCachedPack(dir, exec, p.source, co);
        if (!r.ok()) fail(r.error().message);
        opened = std::move(r).value();
    } else {
        auto r = readLayerPack(packPath);
        if (r.ok())
            if (auto st = checkPackMatches(*r, exec, key); !st.ok()) r = st.error();
        if (!r.ok()) fail(r.error().message);
        opened = std::move(r).value();
    }
    const PackInfo& pack = *opened;

    // From here on the weights live in the pack only.
    exec.releaseWeights();
    malloc_trim(0);
    const size_t setupRssPeak = peakRss();

    PipelineOptions po;
    if (o.hasBudget) {
        auto b = optionsForBudget(pack, arch, o.budget);
        if (!b.ok()) fail(b.error().message);
        po = *b;
    } else {
        po.arch = arch;
        po.stagingBytes = o.staging;
        po.resident = parseLayerList(o.resident, pack.layers.size());
    }
    po.chunkBytes = o.chunk;
    po.verify = *parseVerify(o.verify);
    po.readThread = o.readThread;

    FileReaderOptions ro;
    ro.direct = o.direct;
    ro.uring = o.uring;
    ro.queueDepth = o.queueDepth;
    auto reader = openFileReader(packPath, ro);
    if (!reader.ok()) fail(reader.error().message);

    MemoryLedger ledger;
    LedgerEntry activations(ledger, MemTag::Activations, exec.activationBytes());
    LedgerEntry workspace(ledger, MemTag::Workspace, exec.workspaceBytes());
    Tracer tracer;
    tracer.setLedger(&ledger);
    CollectingSink collected; // --record: every event, set-up included
    if (!o.record.empty()) tracer.addSink(&collected);
    std::unique_ptr<ChromeTraceWriter> traceWriter;
    if (!o.trace.empty()) {
        std::vector<std::string> names;
        for (const auto& l : pack.layers)
            names.push_back(l.name);
        auto w = ChromeTraceWriter::open(o.trace, names);
        if (!w.ok()) fail(w.error().message);
        traceWriter = std::move(w).value();
        tracer.addSink(traceWriter.get());
    }
    auto pipeline = Pipeline::create(exec, pack, std::move(reader).value(), po, &ledger, &tracer);
    if (!pipeline.ok()) fail(pipeline.error().message);
    Pipeline& pl = **pipeline;

    std::vector<std::string> names, outNames;
    std::vector<DType> dtypes;
    std::vector<Shape> inShapes;
    for (const auto& in : exec.graph().inputs) {
        const auto& v = exec.values()[exec.valueId(in.name)];
        names.push_back(in.name);
        dtypes.push_back(v.dtype);
        inShapes.push_back(v.shape);
    }
    for (const auto& out : exec.graph().outputs)
        outNames.push_back(out.name);
    std::vector<Tensor> inputs = makeInputs(o, names, dtypes, inShapes, p.fileInputs);

    // What --record stores besides the report: the layers, the trace, the ledger's timeline and the configuration.
    auto recording = [&](const json& report) {
        RecordedRun rec;
        rec.report = &report;
        rec.modelHash = modelHash(p.source.modelSha256, p.source.weightsSha256);
        rec.modelPath = p.source.modelPath;
        rec.weightBytes = static_cast<int64_t>(pack.weightBytes());
        std::vector<bool> resident(pack.layers.size(), arch == Arch::Preload);
        for (int l : pl.options().resident)
            if (l >= 0 && static_cast<size_t>(l) < resident.size()) resident[static_cast<size_t>(l)] = true;
        for (const auto& l : pack.layers) {
            rec.layerNames.push_back(l.name);
            rec.layerBytes.push_back(static_cast<int64_t>(l.paddedBytes));
            rec.layerResident.push_back(resident[static_cast<size_t>(l.index)]);
        }
        rec.warmup = o.warmup;
        rec.events = collected.events();
        rec.timeline = ledger.timeline();
        for (size_t t = 0; t < kMemTagCount; ++t)
            rec.peaks[t] = ledger.peak(static_cast<MemTag>(t));
        rec.peakTotal = ledger.peakTotal();
        rec.startedMs = startedMs;
        rec.config = { { "arch", archName(arch) }, { "staging_bytes", pl.stagingBytes() },
            { "resident_layers", pl.options().resident }, { "split_bytes", p.source.splitBytes },
            { "threads", o.threads }, { "chunk_bytes", pl.options().chunkBytes }, { "queue_depth", o.queueDepth },
            { "direct", o.direct }, { "uring", o.uring }, { "huge_pages", o.hugePages },
            { "read_thread", o.readThread }, { "verify", verifyName(pl.options().verify) }, { "pack", packPath } };
        if (o.hasBudget) rec.config["budget_bytes"] = o.budget;
        return rec;
    };

    std::unique_ptr<PairedPreload> paired;
    if (o.pairedPreload)
        paired = std::make_unique<PairedPreload>(
            o, p.source, p.source.splitBytes && !o.pairedSplit ? std::string() : packPath);
    const bool lockstep = o.lockstepIn >= 0;
    if (lockstep) writeAll(o.lockstepOut, "ready\n");

    const bool rssReset = resetPeakRss();
    std::vector<double> times, pairedTimes;
    std::vector<Tensor> outputs;
    // The pack's device over the timed runs (each from just before it to just before its disk pass), by its own
    // counters; absent where the pack is on no block device.
    std::optional<BlockDeviceCounters> device = blockDeviceCounters(packPath);
    uint64_t deviceBytes = 0, deviceBusyMs = 0;
    // --paired-disk: after each run, its streamed bytes again through a reader of the same kind (O_DIRECT, io_uring
    // or pread as the run's), in order.
    std::unique_ptr<WeightReader> passReader;
    AlignedBuffer passBuffer;
    size_t passBufferBytes = 0, passChunkBytes = 0;
    std::vector<ReadRange> passRanges;
    double passBytes = 0;
    std::vector<double> runReadMBps, diskMBps;
    size_t pairsByDevice = 0;
    if (o.pairedDisk) {
        for (int l : pl.streamedLayers())
            if (pack.layers[static_cast<size_t>(l)].paddedBytes)
                passRanges.push_back(
                    { pack.layers[static_cast<size_t>(l)].offset, pack.layers[static_cast<size_t>(l)].paddedBytes });
        if (passRanges.empty()) fail("--paired-disk: this configuration reads nothing per run (every layer resident)");
        for (const auto& rg : passRanges)
            passBytes += static_cast<double>(rg.bytes);
        auto r2 = openFileReader(packPath, ro);
        if (!r2.ok()) fail(r2.error().message);
        passReader = std::move(r2).value();
        // The run's requests, as many in flight as its reader takes, into a 64 MiB buffer taken round robin,
        // more than a last-level cache holds, so that each read lands in memory as cold as the run's do: into one
        // reused 4 MiB buffer the pass read up to 1.3 times faster than any run streaming hundreds of MiB could
        // (docs/architecture.md, "The disk's rate"). The pass adds 64 MiB to the RSS.
        passChunkBytes
            = (std::max<size_t>(o.chunk, 1) + kDirectIoAlignment - 1) / kDirectIoAlignment * kDirectIoAlignment;
        passBufferBytes = std::max(passChunkBytes, kPassBufferBytes / passChunkBytes * passChunkBytes);
        passBuffer = allocateAligned(passBufferBytes);
        if (!passBuffer) fail("--paired-disk: out of memory for a " + std::to_string(passBufferBytes) + "-byte buffer");
    }
    for (int it = 0; it < o.warmup + o.iterations; ++it) {
        if (it == o.warmup) {
            pl.resetStats();
            ledger.resetPeaks();
        }
        const std::optional<BlockDeviceCounters> before
            = it >= o.warmup && device ? blockDeviceCounters(packPath) : std::nullopt;
        const double pipelineBytes0 = static_cast<double>(pl.stats().readBytes);
        const double pipelineSeconds0 = pl.stats().readSeconds;
        if (lockstep) {
            char c;
            ssize_t n;
            while ((n = ::read(o.lockstepIn, &c, 1)) < 0 && errno == EINTR) { }
            if (n <= 0) return 0; // the partner is done
        }
        // Paired: strictly alternating, so that every run of either side follows one of the other's. (Swapping the
        // order every other pair made each side's run after its own previous one ~8 % faster on PaddleOCR det, whose
        // working set fits the cache: wider quartiles, no better median.)
        double pairedMs = 0;
        auto t0 = std::chrono::steady_clock::now();
        auto r = pl.run(inputs);
        auto t1 = std::chrono::steady_clock::now();
        if (!r.ok()) {
            if (!o.record.empty()) {
                // The failure is kept too, with what it said and the runs before it.
                tracer.flush();
                tracer.removeSink(&collected);
                json report = { { "model", p.source.modelPath }, { "pack", packPath }, { "arch", archName(arch) },
                    { "error", r.error().message } };
                RecordedRun rec = recording(report);
                rec.timesMs = times;
                rec.failed = true;
                rec.error = r.error().message;
                const int64_t id = recordRun(o, rec);
                std::fprintf(
                    stderr, "dlayer: the failed run is run %lld in %s\n", static_cast<long long>(id), o.record.c_str());
            }
            fail(r.error().message);
        }
        const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
        // --paired-disk: the reads the stages make ahead of the next run count towards this one, and the pass
        // reads with the disk to itself (each window starts and ends with the stages settled).
        if (passReader) pl.waitForReadAhead();
        if (paired) pairedMs = paired->step();
        if (lockstep) writeAll(o.lockstepOut, std::to_string(ms) + "\n");
        if (it >= o.warmup) {
            times.push_back(ms);
            if (paired) pairedTimes.push_back(pairedMs);
            // A pair is rated by the device's busy time when both sides kept it busy long enough to count
            // (deviceReadMBps), else by the reader's own time (the pipeline's, the pass's).
            const auto after = before ? blockDeviceCounters(packPath) : std::nullopt;
            if (after) {
                deviceBytes += after->bytesRead - before->bytesRead;
                deviceBusyMs += after->busyMs - before->busyMs;
            }
            if (passReader) {
                const auto d0 = after ? blockDeviceCounters(packPath) : std::nullopt;
                auto pass = readPass(*passReader, passRanges, passBuffer.get(), passBufferBytes, passChunkBytes);
                if (!pass.ok()) fail("--paired-disk: " + pass.error().message);
                const auto d1 = d0 ? blockDeviceCounters(packPath) : std::nullopt;
                const double runByDevice = d1 ? deviceReadMBps(*before, *after) : 0.0;
                const double passByDevice = d1 ? deviceReadMBps(*d0, *d1) : 0.0;
                if (runByDevice > 0 && passByDevice > 0) {
                    runReadMBps.push_back(runByDevice);
                    diskMBps.push_back(passByDevice);
                    ++pairsByDevice;
                } else {
                    const double seconds = pl.stats().readSeconds - pipelineSeconds0;
                    runReadMBps.push_back(
                        seconds > 0 ? (static_cast<double>(pl.stats().readBytes) - pipelineBytes0) / seconds / 1e6 : 0);
                    diskMBps.push_back(passBytes / *pass / 1e6);
                }
            }
        }
        outputs = std::move(r).value();
    }
    paired.reset();
    if (lockstep) return 0;
    const size_t runRssPeak = peakRss();
    tracer.flush();
    if (traceWriter) {
        tracer.removeSink(traceWriter.get());
        if (auto st = traceWriter->close(); !st.ok()) fail(st.error().message);
    }
    saveOutputs(o, outputs, outNames);

    const PipelineStats& st = pl.stats();
    const size_t weightsPeak = ledger.peak(MemTag::ResidentWeights) + ledger.peak(MemTag::Staging);
    const double readMBps = st.readSeconds > 0 ? st.readBytes / st.readSeconds / 1e6 : 0.0;
    const double runs = std::max(1, st.runs);
    json byTag = json::object();
    for (size_t t = 0; t < kMemTagCount; ++t)
        byTag[memTagName(static_cast<MemTag>(t))] = ledger.peak(static_cast<MemTag>(t));
    json stalls = json::object();
    const char* stageNames[] = { "read", "copy", "kernel", "setup" };
    for (int k = 0; k < 3; ++k)
        stalls[stageNames[k]] = st.stallSeconds[k] * 1e3 / runs;
    json j;
    j["model"] = p.source.modelPath;
    j["pack"] = packPath;
    j["arch"] = archName(arch);
    if (config)
        j["config"] = { { "file", o.configFile }, { "predicted_latency_ms", config->predictedLatencyMs },
            { "predicted_peak_bytes", config->predictedPeakBytes } };
    j["threads"] = o.threads;
    j["iterations"] = o.iterations;
    j["warmup"] = o.warmup;
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    j["latency_ms"] = { { "median", median(times) }, { "min", sorted.front() }, { "max", sorted.back() } };
    j["layers"] = pack.layers.size();
    j["split_bytes"] = p.source.splitBytes;
    j["layers_split"] = exec.split().layersSplit;
    j["staging_bytes"] = pl.stagingBytes();
    j["resident_layers"] = pl.options().resident;
    if (arch == Arch::Preload) j["resident_layers"] = "all";
    j["streamed_layers"] = pl.streamedLayers().size();
    j["largest_layer_bytes"] = pack.largestLayer();
    j["memory"] = { { "weights_bytes", weightsPeak }, { "model_weight_bytes", pack.weightBytes() },
        { "activations_bytes", exec.activationBytes() }, { "activations_sum_bytes", exec.activationSumBytes() },
        { "activations_lower_bound_bytes", exec.activationLowerBound() }, { "workspace_bytes", exec.workspaceBytes() },
        { "peak_bytes", ledger.peakTotal() }, { "by_tag", byTag }, { "rss_peak_bytes", runRssPeak },
        { "rss_peak_is_run_only", rssReset }, { "rss_setup_peak_bytes", setupRssPeak } };
    // What the kernel put on huge pages, measured with the run's buffers still held (null where it does not say).
    const long long hugeBytes = hugePageBytes();
    j["memory"]["huge_pages"] = o.hugePages;
    j["memory"]["huge_page_bytes"] = hugeBytes >= 0 ? json(hugeBytes) : json(nullptr);
    j["read"] = { { "bytes", st.readBytes / static_cast<uint64_t>(runs) }, { "seconds", st.readSeconds / runs },
        { "mb_per_s", readMBps }, { "direct_io", pl.directIo() }, { "reader", pl.readerDescription() },
        { "verify", verifyName(po.verify) },
        // Who submits and reaps the reads: the kernel stage itself (two-stage, sequential) or a reader thread.
        { "inline", pl.inlineReads() || po.arch == Arch::Sequential } };
    if (device && st.readBytes > 0) {
        // The device's own account of the same runs: its busy time ends when a read completes, not when it is
        // reaped (the inline reader reaps between layers, so its own "seconds" also hold the rest of the kernel
        // during which a read finished). It counts every process's reads of that device.
        const double bytes = static_cast<double>(deviceBytes) / runs;
        const double busyMs = static_cast<double>(deviceBusyMs) / runs;
        const double mbps = deviceReadMBps({ device->device, 0, 0 }, { device->device, deviceBytes, deviceBusyMs });
        j["read"]["device"] = { { "name", device->device }, { "bytes", bytes }, { "busy_ms", busyMs },
            { "mb_per_s", mbps > 0 ? json(mbps) : json(nullptr) } }; // null: busy too briefly to rate
    }
    if (o.pairedDisk) {
        std::vector<double> share;
        json pairList = json::array();
        for (size_t i = 0; i < diskMBps.size(); ++i) {
            share.push_back(diskMBps[i] > 0 ? runReadMBps[i] / diskMBps[i] * 100.0 : 0.0);
            pairList.push_back({ runReadMBps[i], diskMBps[i] });
        }
        const std::string rateBy = pairsByDevice == diskMBps.size() ? "device busy time"
            : pairsByDevice == 0                                    ? "the reader's own time"
                                 : "device busy time in " + std::to_string(pairsByDevice) + " of "
                + std::to_string(diskMBps.size()) + " pairs, the reader's own time in the others";
        j["paired_disk"] = { { "rate_by", rateBy }, { "buffer_bytes", passBufferBytes },
            { "disk_mb_per_s", { { "median", median(diskMBps) } } },
            { "read_pct_of_disk",
                { { "median", median(share) }, { "q1", quantile(share, 0.25) }, { "q3", quantile(share, 0.75) } } },
            { "pairs_mb_per_s", pairList } };
    }
    if (o.pairedPreload) {
        // Each pair's overhead, then their median and quartiles: a slow spell weighs on both runs of a pair.
        std::vector<double> overhead;
        json pairs = json::array();
        for (size_t i = 0; i < times.size(); ++i) {
            overhead.push_back((times[i] / pairedTimes[i] - 1.0) * 100.0);
            pairs.push_back({ times[i], pairedTimes[i] });
        }
        std::vector<double> preSorted = pairedTimes;
        std::sort(preSorted.begin(), preSorted.end());
        j["paired_preload"]
            = { { "latency_ms",
                    { { "median", median(pairedTimes) }, { "min", preSorted.front() }, { "max", preSorted.back() } } },
                  { "overhead_pct",
                      { { "median", median(overhead) }, { "q1", quantile(overhead, 0.25) },
                          { "q3", quantile(overhead, 0.75) } } },
                  { "pairs_ms", pairs },
                  { "twin", p.source.splitBytes && !o.pairedSplit ? "whole layers" : "the run's layers" } };
    }
    j["stall_ms"] = st.stallSeconds[static_cast<int>(Stage::Kernel)] * 1e3 / runs;
    j["stall_ms_by_stage"] = stalls;
    j["outputs"] = json::array();
    for (size_t i = 0; i < outputs.size(); ++i)
        j["outputs"].push_back({ { "name", outNames[i] }, { "dtype", dtypeName(outputs[i].dtype()) },
            { "shape", shapeJson(outputs[i].shape()) },
            { "sha256", Sha256::hexOf(outputs[i].data(), outputs[i].bytes()) } });
    int64_t recordedId = 0;
    if (!o.record.empty()) {
        tracer.removeSink(&collected);
        RecordedRun rec = recording(j);
        rec.timesMs = times;
        rec.rssPeak = runRssPeak;
        rec.stallMs = j["stall_ms"].get<double>();
        // Sequential reads run alone, nothing overlapping them: their rate is the device's own.
        if (arch == Arch::Sequential) rec.diskMBps = readMBps;
        recordedId = recordRun(o, rec);
        j["recorded"] = { { "store", o.record }, { "run_id", recordedId } };
    }
    if (o.json) {
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    if (recordedId) std::printf("recorded  run %lld in %s\n", static_cast<long long>(recordedId), o.record.c_str());
    std::printf("model     %s\npack      %s\narch      %s, staging %s, %zu of %zu layers streamed\n",
        p.source.modelPath.c_str(), packPath.c_str(), archName(arch),
        humanBytes(static_cast<double>(pl.stagingBytes())).c_str(), pl.streamedLayers().size(), pack.layers.size());
    std::printf("latency   median %.3f ms, min %.3f ms, max %.3f ms over %d runs; kernel stalled %.3f ms per run\n",
        median(times), sorted.front(), sorted.back(), o.iterations, j["stall_ms"].get<double>());
    // Preload holds every blob as packed (4 KiB-padded) plus the constants the plan pins.
    const double preloadWeights
        = static_cast<double>(minimumWeightMemory(pack, Arch::Preload) + exec.pinnedWeightBytes());
    std::printf("memory    weights %s held at once, %.1f %% less than preload's %s; activations %s (sum %s, "
                "bound %s), workspace %s\n",
        humanBytes(static_cast<double>(weightsPeak)).c_str(), 100.0 * (1.0 - weightsPeak / preloadWeights),
        humanBytes(preloadWeights).c_str(), humanBytes(static_cast<double>(exec.activationBytes())).c_str(),
        humanBytes(static_cast<double>(exec.activationSumBytes())).c_str(),
        humanBytes(static_cast<double>(exec.activationLowerBound())).c_str(),
        humanBytes(static_cast<double>(exec.workspaceBytes())).c_str());
    std::printf("          ledger peak %s, RSS peak %s during the runs (%s during set-up)\n",
        humanBytes(static_cast<double>(ledger.peakTotal())).c_str(),
        humanBytes(static_cast<double>(runRssPeak)).c_str(), humanBytes(static_cast<double>(setupRssPeak)).c_str());
    if (hugeBytes >= 0)
        std::printf("          %s on huge pages%s\n", humanBytes(static_cast<double>(hugeBytes)).c_str(),
            o.hugePages ? "" : " (--no-huge-pages)");
    if (o.pairedPreload) {
        const json& pp = j["paired_preload"];
        std::printf("paired    preloaded median %.3f ms; delay overhead %+.1f %% over %zu pairs (quartiles %+.1f … "
                    "%+.1f %%)\n",
            pp["latency_ms"]["median"].get<double>(), pp["overhead_pct"]["median"].get<double>(), times.size(),
            pp["overhead_pct"]["q1"].get<double>(), pp["overhead_pct"]["q3"].get<double>());
    }
    std::printf("read      %s per run at %.0f MB/s (%s)\n",
        humanBytes(static_cast<double>(st.readBytes) / runs).c_str(), readMBps, pl.readerDescription().c_str());
    if (j["read"].contains("device")) {
        const json& d = j["read"]["device"];
        std::printf("device    %s read %s per run, busy %.1f ms%s\n", d["name"].get<std::string>().c_str(),
            humanBytes(d["bytes"].get<double>()).c_str(), d["busy_ms"].get<double>(),
            d["mb_per_s"].is_null()
                ? ""
                : (": " + std::to_string(std::lround(d["mb_per_s"].get<double>())) + " MB/s while busy").c_str());
    }
    if (o.pairedDisk) {
        const json& d = j["paired_disk"];
        std::printf("disk      %.0f MB/s (median) reading the same bytes alone after each run; the run read at %.1f %% "
                    "of it (quartiles %.1f … %.1f, by %s)\n",
            d["disk_mb_per_s"]["median"].get<double>(), d["read_pct_of_disk"]["median"].get<double>(),
            d["read_pct_of_disk"]["q1"].get<double>(), d["read_pct_of_disk"]["q3"].get<double>(),
            d["rate_by"].get<std::string>().c_str());
    }
    for (size_t i = 0; i < outputs.size(); ++i)
        std::printf("output    %s %s %s sha256 %s\n", outNames[i].c_str(), dtypeName(outputs[i].dtype()),
            shapeToString(outputs[i].shape()).c_str(),
            Sha256::hexOf(outputs[i].data(), outputs[i].bytes()).substr(0, 16).c_str());
    return 0;
}

} // namespace dlcli
