// dlayer run: a thin adapter over the engine session (engine/session): options to a RunSpec, the session's
// outcome to a printed report, and --record as a listener of that outcome. What only a command line does stays here:
// --paired-preload's twin process and the --lockstep it drives.

#include "cli.h"
#include "record.h"

#include "core/tensor.h"
#include "model/importer.h"
#include "runstore.h"
#include "session/session.h"

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <sys/wait.h>
#include <unistd.h>

using namespace dl;

namespace dlcli {

namespace {

std::vector<int> parseLayerList(const std::string& text)
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
            return static_cast<int>(std::stol(t));
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
    PairedPreload(const Options& o, const dl::SessionSetup& src, const std::string& pack)
    {
        std::vector<std::string> args = { selfPath(), "run", pack.empty() ? src.modelPath : pack };
        if (pack.empty() && !src.weightsPath.empty()) args.insert(args.end(), { "--weights", src.weightsPath });
        for (const auto& [name, shape] : src.inputShapes)
            if (pack.empty() && !shape.empty())
                args.insert(args.end(), { "--shape", name + "=" + shapeToString(shape) });
        for (const auto& [name, file] : o.inputFiles)
            args.insert(args.end(), { "--input", name + "=" + file });
        if (!o.packDir.empty()) args.insert(args.end(), { "--pack-dir", o.packDir });
        // The twin is the fp32 model preloaded (a pack fixes its own precision).
        if (pack.empty()) args.insert(args.end(), { "--precision", "fp32" });
        if (!o.backend.empty()) args.insert(args.end(), { "--backend", o.backend }); // the same backend preloaded
        if (!o.graphs) args.push_back("--no-graphs");
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

RunSpec specOf(const Options& o)
{
    RunSpec s;
    s.model = o.model;
    s.weights = o.weights;
    s.inputShapes = o.shapes;
    if (!o.unnamedShape.empty()) {
        auto dims = parseDims(o.unnamedShape);
        if (!dims.ok()) fail(dims.error().message, 2);
        s.onlyInputShape = *dims;
    }
    s.inputFiles = o.inputFiles;
    s.seed = o.seed;
    if (!o.arch.empty()) s.arch = *parseArch(o.arch);
    s.stagingBytes = o.staging;
    s.resident = parseLayerList(o.resident);
    if (o.hasBudget) s.budgetBytes = o.budget;
    if (o.hasSplit) s.splitBytes = o.split;
    if (!o.precision.empty()) s.precision = parsePrecision(o.precision);
    if (!o.backend.empty()) s.backend = parseBackend(o.backend).value();
    s.captureGraphs = o.graphs;
    s.configFile = o.configFile;
    // --config NAME that is no file: a configuration deployed to this board (the studio's Deploy to Board), from the
    // agent's store (--state DIR, else the agent's default state directory).
    if (!o.configFile.empty() && !std::filesystem::exists(o.configFile)) {
        const std::string db = (o.stateDir.empty() ? defaultAgentStateDir() : o.stateDir) + "/runs.db";
        if (!std::filesystem::exists(db))
            fail("there is no configuration file '" + o.configFile + "' (and no agent store " + db
                + " to look the name up in)");
        auto store = store::RunStore::open(db);
        if (!store.ok()) fail(store.error().message);
        auto text = (*store)->config(o.configFile);
        if (!text.ok())
            fail("'" + o.configFile + "' is neither a configuration file nor a configuration deployed to this board ("
                + db + "): " + text.error().message);
        s.configText = *text;
    }
    s.warmup = o.warmup;
    s.iterations = o.iterations;
    s.threads = o.threads;
    s.packDir = o.packDir;
    s.read.direct = o.direct;
    s.read.uring = o.uring;
    s.read.queueDepth = o.queueDepth;
    s.read.chunkBytes = o.chunk;
    s.read.verify = *parseVerify(o.verify);
    s.read.readThread = o.readThread;
    s.hugePages = o.hugePages;
    s.memoryLimitBytes = o.memoryLimit;
    s.traceFile = o.trace;
    s.pairedDisk = o.pairedDisk;
    s.source = "dlayer";
    return s;
}

// Packing progress on stderr every tenth of the layers, and why a cached pack is made again.
ProgressFn progressPrinter(bool quiet)
{
    return [quiet, lastPct = 101](const Progress& p) mutable {
        if (p.phase == Progress::Phase::Repacking) {
            std::fprintf(stderr, "dlayer: %s\n", progressText(p).c_str());
            return;
        }
        if (quiet || p.phase != Progress::Phase::Packing || p.percent < 0) return;
        if (p.percent / 10 != lastPct / 10 || p.percent == 100) {
            std::fprintf(stderr, "\r%s", progressText(p).c_str());
            if (p.percent == 100) std::fprintf(stderr, "\n");
            lastPct = p.percent;
        }
    };
}

namespace {

void setPaired(RunReport& r, const std::vector<double>& pairedTimes, const std::string& twin)
{
    const std::vector<double>& times = r.latenciesMs;
    RunReport::PairedPreload pp;
    std::vector<double> overhead;
    for (size_t i = 0; i < times.size() && i < pairedTimes.size(); ++i) {
        overhead.push_back((times[i] / pairedTimes[i] - 1.0) * 100.0);
        pp.pairsMs.emplace_back(times[i], pairedTimes[i]);
    }
    RunReport twinTimes;
    setLatencies(twinTimes, pairedTimes);
    pp.latencyMedianMs = twinTimes.latencyMedianMs;
    pp.latencyMinMs = twinTimes.latencyMinMs;
    pp.latencyMaxMs = twinTimes.latencyMaxMs;
    pp.overheadPct = { median(overhead), quantile(overhead, 0.25), quantile(overhead, 0.75) };
    pp.twin = twin;
    r.pairedPreload = pp;
}

void printStreaming(const RunReport& r, const SessionOutcome& out)
{
    const RunReport::Memory& m = r.memory;
    std::printf("arch      %s, staging %s, %zu of %zu layers streamed\n", r.arch.c_str(),
        humanBytes(static_cast<double>(r.stagingBytes)).c_str(), r.streamedLayers, r.layers);
    std::printf("latency   median %.3f ms, min %.3f ms, max %.3f ms over %d runs; kernel stalled %.3f ms per run\n",
        r.latencyMedianMs, r.latencyMinMs, r.latencyMaxMs, r.iterations, r.stallMs);
    // Preload holds every blob as packed (4 KiB-padded) plus the constants the plan pins.
    const double preloadWeights = static_cast<double>(out.setup.preloadWeightBytes);
    std::printf("memory    weights %s held at once, %.1f %% less than preload's %s; activations %s (sum %s, "
                "bound %s), workspace %s\n",
        humanBytes(static_cast<double>(m.weightsBytes)).c_str(),
        100.0 * (1.0 - static_cast<double>(m.weightsBytes) / preloadWeights), humanBytes(preloadWeights).c_str(),
        humanBytes(static_cast<double>(m.activationsBytes)).c_str(),
        humanBytes(static_cast<double>(m.activationsSumBytes)).c_str(),
        humanBytes(static_cast<double>(m.activationsLowerBoundBytes)).c_str(),
        humanBytes(static_cast<double>(m.workspaceBytes)).c_str());
    std::printf("          ledger peak %s, RSS peak %s during the runs (%s during set-up)\n",
        humanBytes(static_cast<double>(m.peakBytes)).c_str(), humanBytes(static_cast<double>(m.rssPeakBytes)).c_str(),
        humanBytes(static_cast<double>(m.rssSetupPeakBytes)).c_str());
    if (m.hugePageBytes)
        std::printf("          %s on huge pages%s\n", humanBytes(static_cast<double>(*m.hugePageBytes)).c_str(),
            m.hugePages ? "" : " (--no-huge-pages)");
    if (const auto& pp = r.pairedPreload)
        std::printf("paired    preloaded median %.3f ms; delay overhead %+.1f %% over %zu pairs (quartiles %+.1f … "
                    "%+.1f %%)\n",
            pp->latencyMedianMs, pp->overheadPct.median, pp->pairsMs.size(), pp->overheadPct.q1, pp->overheadPct.q3);
    std::printf("read      %s per run at %.0f MB/s (%s)\n", humanBytes(static_cast<double>(r.read->bytes)).c_str(),
        r.read->mbPerS, r.read->reader.c_str());
    if (r.device.backend != "cpu")
        std::printf("compute   %s; %s\n", r.compute.backend.c_str(), r.compute.graphs.c_str());
    if (r.compute.measuredKernels)
        std::printf("compute   the library's own measured times of %zu kernels sum to %.3f ms per inference\n",
            r.compute.measuredKernels, r.compute.measuredMs);
    if (!r.compute.fallbacks.empty()) {
        std::string layers;
        for (const auto& f : r.compute.fallbacks) {
            std::string ops;
            for (const auto& op : f.ops)
                ops += (ops.empty() ? "" : ", ") + op;
            layers += (layers.empty() ? "" : "; ") + std::to_string(f.layer) + " '" + f.name + "' (" + ops + ")";
        }
        std::printf("compute   %s; on the CPU instead, with their activations copied: %zu layers: %s\n",
            r.compute.backend.c_str(), r.compute.fallbacks.size(), layers.c_str());
    }
    const RunReport::Precision& p = r.precision;
    if (p.layersWidened && p.storedBytes)
        std::printf("precision weights %s in the pack: %s read per run, widened to %s for the kernels in %.1f ms (%zu "
                    "layers, %s)\n",
            p.weights.c_str(), humanBytes(static_cast<double>(p.storedBytes)).c_str(),
            humanBytes(static_cast<double>(p.boundBytes)).c_str(), r.copyMs, p.layersWidened, p.widenPath.c_str());
    else if (p.layersWidened)
        std::printf("precision weights %s in the pack, widened once at set-up (%zu layers, %s)\n", p.weights.c_str(),
            p.layersWidened, p.widenPath.c_str());
    if (p.modelHalf)
        std::printf("          the model computes in float16; the kernels computed in %s\n", p.compute.c_str());
    if (const auto& d = r.read->device)
        std::printf("device    %s read %s per run, busy %.1f ms%s\n", d->name.c_str(), humanBytes(d->bytes).c_str(),
            d->busyMs, d->mbPerS ? (": " + std::to_string(std::lround(*d->mbPerS)) + " MB/s while busy").c_str() : "");
    if (const auto& d = r.pairedDisk)
        std::printf("disk      %.0f MB/s (median) reading the same bytes alone after each run; the run read at %.1f %% "
                    "of it (quartiles %.1f … %.1f, by %s)\n",
            d->diskMBpsMedian, d->readPctOfDisk.median, d->readPctOfDisk.q1, d->readPctOfDisk.q3, d->rateBy.c_str());
}

} // namespace

void printReport(const RunReport& r, const SessionOutcome& out, int64_t recordedId, const std::string& store)
{
    if (recordedId) std::printf("recorded  run %lld in %s\n", static_cast<long long>(recordedId), store.c_str());
    std::printf("model     %s\n", r.model.c_str());
    if (r.streaming()) {
        std::printf("pack      %s\n", r.pack.c_str());
        printStreaming(r, out);
    } else {
        std::printf("arch      in-memory (no pack)\nlatency   median %.3f ms, min %.3f ms, max %.3f ms over %d runs\n",
            r.latencyMedianMs, r.latencyMinMs, r.latencyMaxMs, r.iterations);
        std::printf("memory    weights %s, activations %s, RSS peak %s\n",
            humanBytes(static_cast<double>(r.memory.modelWeightBytes)).c_str(),
            humanBytes(static_cast<double>(r.memory.activationsBytes)).c_str(),
            humanBytes(static_cast<double>(r.memory.rssPeakBytes)).c_str());
    }
    for (const auto& o : r.outputs) {
        std::string dims;
        for (int64_t d : o.shape)
            dims += (dims.empty() ? "" : "x") + std::to_string(d);
        std::printf("output    %s %s %s sha256 %s\n", o.name.c_str(), o.dtype.c_str(), dims.c_str(),
            o.sha256.substr(0, 16).c_str());
    }
}

int cmdRun(const Options& o)
{
    // A store that cannot take the run is refused before the run, not after.
    if (!o.record.empty()) checkRecordable(o.record);
    const RunSpec spec = specOf(o);
    auto prepared = Session::prepare(spec, nullptr, progressPrinter(o.json));
    if (!prepared.ok()) fail(prepared.error().message, prepared.error().code == ErrorCode::BadRequest ? 2 : 1);
    Session& session = **prepared;
    const SessionSetup& setup = session.setup();

    std::unique_ptr<PairedPreload> paired;
    const bool wholeTwin = setup.splitBytes && !o.pairedSplit;
    if (o.pairedPreload) paired = std::make_unique<PairedPreload>(o, setup, wholeTwin ? std::string() : setup.packPath);
    const bool lockstep = o.lockstepIn >= 0;
    if (lockstep) writeAll(o.lockstepOut, "ready\n");
    std::vector<double> pairedTimes;
    IterationHooks hooks;
    if (lockstep)
        hooks.before = [&](int) {
            char c;
            ssize_t n;
            while ((n = ::read(o.lockstepIn, &c, 1)) < 0 && errno == EINTR) { }
            return n > 0; // else the partner is done
        };
    // Paired: strictly alternating, so that every run of either side follows one of the other's (swapping the order
    // every other pair widened the quartiles: docs/experiments/architecture-notes.md, "Measurements behind the code").
    if (paired || lockstep)
        hooks.after = [&](int it, double ms) -> Status {
            if (paired) {
                const double twinMs = paired->step();
                if (it >= o.warmup) pairedTimes.push_back(twinMs);
            }
            if (lockstep) writeAll(o.lockstepOut, std::to_string(ms) + "\n");
            return {};
        };
    SessionOutcome out = session.run(hooks);
    paired.reset();
    if (lockstep) return out.report.status == "failed" ? 1 : 0;
    RunReport& r = out.report;
    if (o.pairedPreload && r.status == "ok") setPaired(r, pairedTimes, wholeTwin ? "whole layers" : "the run's layers");

    if (r.status != "ok") {
        if (!o.record.empty()) {
            // The failure is kept too, with what it said and the runs before it.
            const int64_t id = recordRun(o.record, out);
            std::fprintf(
                stderr, "dlayer: the failed run is run %lld in %s\n", static_cast<long long>(id), o.record.c_str());
        }
        fail(r.error.empty() ? "the run was stopped" : r.error);
    }
    saveOutputs(o, out.outputs, setup.outputNames);
    const int64_t recordedId = o.record.empty() ? 0 : recordRun(o.record, out);
    if (o.json) {
        std::printf("%s\n", reportWithRecord(r, o.record, recordedId).c_str());
        return 0;
    }
    printReport(r, out, recordedId, o.record);
    return 0;
}

} // namespace dlcli
