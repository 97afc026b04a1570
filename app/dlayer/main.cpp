// dlayer: the command-line face of the engine.
//
//   dlayer info MODEL [--weights FILE] [--shape NAME=DIMS] [--split BYTES] [--json]
//   dlayer pack MODEL [--weights FILE] [--shape NAME=DIMS] [--split BYTES] [--precision fp32|fp16] -o FILE.dlpack
//   dlayer run MODEL|FILE.dlpack [--weights FILE] [--shape NAME=DIMS] [--input NAME=FILE.pb] [--iterations N]
//                    [--warmup N] [--threads N] [--seed N] [--save-outputs DIR] [--json]
//                    [--arch preload|sequential|sync|async|two-stage] [--staging BYTES] [--resident LIST]
//                    [--budget BYTES] [--split BYTES] [--precision fp32|fp16] [--trace FILE.json] [--pack-dir DIR]
//                    [--no-direct]
//                    [--no-uring] [--queue-depth N] [--chunk BYTES] [--verify first|always|off] [--read-thread]
//                    [--paired-preload [--paired-split]] [--paired-disk] [--no-huge-pages] [--record DB]
//   dlayer runs DB list|show ID|export ID [-o FILE]|import FILE|delete ID [--json]

#include "cli.h"
#include "record.h"

#include "core/largepages.h"
#include "core/procstat.h"
#include "core/random.h"
#include "core/sha256.h"
#include "model/importer.h"
#include "pack/layerpack.h"
#include "pipeline/pipeline.h"
#include "plan/budget.h"
#include "remote/messages.h"
#include "runstore.h"
#include "runtime/executor.h"
#include "runtime/modelinfo.h"
#include "runtime/versions.h"
#include "session/runreport.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <sys/resource.h>
#include <vector>

using namespace dl;

namespace dlcli {

[[noreturn]] void fail(const std::string& message, int code)
{
    std::fprintf(stderr, "dlayer: error: %s\n", message.c_str());
    std::exit(code);
}

const char* usageText()
{
    return "usage:\n"
           "  dlayer info MODEL [--weights FILE.weights] [--shape NAME=1x3x640x640] [--split BYTES] [--json]\n"
           "  dlayer pack MODEL [--weights FILE.weights] [--shape NAME=1x3x640x640] [--split BYTES]\n"
           "                   [--precision fp32|fp16] -o FILE.dlpack\n"
           "  dlayer run MODEL|FILE.dlpack [--weights FILE.weights] [--shape NAME=1x3x640x640] [--input NAME=FILE.pb]\n"
           "                   [--iterations N] [--warmup N] [--threads N] [--seed N] [--save-outputs DIR] [--json]\n"
           "                   [--arch preload|sequential|sync|async|two-stage] [--staging BYTES] [--resident LIST]\n"
           "                   [--budget BYTES] [--split BYTES] [--trace FILE.json] [--pack-dir DIR] [--no-direct]\n"
           "                   [--no-uring] [--queue-depth N] [--chunk BYTES] [--verify first|always|off]\n"
           "                   [--read-thread] [--paired-preload [--paired-split]] [--paired-disk] [--no-huge-pages]\n"
           "                   [--memory-limit BYTES] [--precision fp32|fp16] [--backend cpu|cuda] [--no-graphs]\n"
           "                   [--record DB]\n"
           "  dlayer runs DB list|show ID|export ID [-o FILE]|import FILE|delete ID [--json]\n"
           "  dlayer runs DB configs|save-config NAME CONFIG.json|config NAME [-o CONFIG.json]\n"
           "  dlayer plan MODEL|FILE.dlpack (--budget BYTES [-o CONFIG.json] | --frontier [--points N] |\n"
           "                   --config CONFIG.json) [--profile DB | --profile-run] [--split BYTES] [--arch ARCH]\n"
           "                   [--no-calibrate] [--json]\n"
           "  dlayer run MODEL|FILE.dlpack --config CONFIG.json|NAME [--state DIR] ...\n"
           "  dlayer serve [--listen HOST:PORT] [--state DIR] [--store DB] [--max-model-bytes BYTES]\n"
           "                   [--pack-dir DIR] [--rotate-token]\n"
           "  dlayer run MODEL --agent HOST:PORT [--token-file FILE] [--fingerprint FP] ...\n"
           "  dlayer runs --agent HOST:PORT [--token-file FILE] list|export UUID [-o FILE]|sync DB [--json]\n"
           "MODEL is an ONNX file (.onnx) or a Darknet network description (.cfg; seeded weights unless --weights).\n"
           "With --arch (or a .dlpack file) the weights stream from a layer pack, made on first use into the pack\n"
           "cache (--pack-dir, default ~/.cache/demand-layering/packs). BYTES take K, M, G (binary) or KB, MB, GB.\n"
           "--precision fp16 stores the weights in float16 in the pack (half the bytes read; the copy stage widens\n"
           "them to float32 for the kernels); the default is fp16 for a model that stores float16 weights, else fp32.\n"
           "--backend picks what computes (cpu, the default; cuda where this build and machine have it: a run says\n"
           "why not where they do not). On CUDA an inference whose weights stay put (in memory, preload) replays as "
           "one\n"
           "CUDA graph after its first run; --no-graphs launches kernel by kernel.\n"
           "LIST is layer indices and ranges: 0,5,10-12. --split cuts layers whose weights exceed BYTES into "
           "sub-layers\n"
           "along their output channels (a --budget below what whole layers need picks a split itself).\n"
           "two-stage submits and reaps its io_uring reads from the kernel stage, between layers; --read-thread gives\n"
           "them a thread of their own. --paired-preload alternates each run with a run of the same model (whole\n"
           "layers) preloaded in a second dlayer process, and reports the delay overhead pair by pair, so that a slow\n"
           "spell of a shared machine weighs on both sides of a pair (--paired-split: the twin preloads the run's own\n"
           "split, so that the pair differs only in streaming). --paired-disk reads the run's bytes again after\n"
           "each run, with nothing else running, and reports the run's read rate as a share of that one, pair by\n"
           "pair (the device's own busy time where /sys has it). --record DB keeps the run (per-layer times,\n"
           "memory timeline, trace events) in a run store, an SQLite file that 'dlayer runs' lists and exports.\n"
           "--memory-limit BYTES caps what the engine's memory ledger may hold (weights, staging, activations,\n"
           "workspace); a run that needs more ends with a message naming what it could not have.\n"
           "Staging buffers of 2 MiB and more sit on transparent huge pages, so that a direct read is one request\n"
           "to the disk rather than several (resident weights, read once, stay on small pages); --no-huge-pages\n"
           "keeps staging on small pages too.\n"
           "plan predicts, from one profiling run, the latency of every configuration and picks the fastest within\n"
           "a weight budget (docs/planner.md); run --config runs exactly that configuration, plan --config predicts\n"
           "it. A pipelined run of the model in the profile's store (sync, async, two-stage, on this device)\n"
           "calibrates how much slower reads go beside kernels; --no-calibrate leaves that out. A store with\n"
           "profiles of several splits (sequential runs with different --split) lets --budget and --frontier pick\n"
           "the split too, by predicted latency; --split BYTES (0: whole layers) keeps to that split's profile.\n"
           "serve is the board agent (docs/board.md): TLS 1.3 on HOST:PORT (default 0.0.0.0:7433) with a certificate\n"
           "and token made on first start in its state directory (default ~/.local/state/dlayer-agent); it prints\n"
           "the pairing line clients use. run --agent runs on that board (the model is uploaded once, by content)\n"
           "and prints what a local run prints; runs --agent lists the board's runs, exports one by uuid, or syncs\n"
           "into DB every run it lacks. --token-file holds the pairing line (default ~/.config/dlayer/agent), or a\n"
           "bare token with --fingerprint, or one pinned on first use in ~/.config/dlayer/known_agents.\n"
           "run --config NAME, where NAME is no file, runs a configuration deployed to this board by the studio (from\n"
           "the agent's store in --state DIR, default as serve's).\n";
}

// The usage of every command, or of one: its synopsis lines (and their continuations) and the notes.
void usage(FILE* to, const std::string& command = {})
{
    const std::string text = usageText();
    if (command.empty()) {
        std::fputs(text.c_str(), to);
        return;
    }
    std::string out = "usage:\n", line;
    bool inSynopsis = false, mine = false;
    size_t pos = 0;
    for (size_t end; (end = text.find('\n', pos)) != std::string::npos; pos = end + 1) {
        line = text.substr(pos, end - pos);
        if (line == "usage:") {
            inSynopsis = true;
            continue;
        }
        if (inSynopsis && line.rfind("  dlayer ", 0) == 0) {
            mine = line.rfind("  dlayer " + command + " ", 0) == 0;
        } else if (inSynopsis && line.rfind("      ", 0) != 0) {
            inSynopsis = false;
            out += "\n";
        }
        if (!inSynopsis || mine) out += line + "\n";
    }
    std::fputs(out.c_str(), to);
}

Result<Shape> parseDims(const std::string& text)
{
    Shape s;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t x = text.find_first_of("x,", pos);
        std::string part = text.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
        if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos)
            return invalid("bad shape '" + text + "': expected dimensions like 1x3x640x640");
        s.push_back(std::stoll(part));
        if (x == std::string::npos) break;
        pos = x + 1;
    }
    return s;
}

long parseCount(const std::string& flag, const std::string& v, long min)
{
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end || n < min)
        fail(flag + " expects a whole number of at least " + std::to_string(min) + ", got '" + v + "'", 2);
    return n;
}

// "a, b, c"
std::string joined(const std::vector<std::string>& names)
{
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

// The command, from the first argument; --help, --version and an unknown command end the program here.
std::string commandOf(int argc, char** argv)
{
    Options o;
    if (argc < 2) {
        usage(stderr);
        std::exit(2);
    }
    o.command = argv[1];
    if (o.command == "-h" || o.command == "--help" || o.command == "help") {
        usage(stdout, argc > 2 ? argv[2] : "");
        std::exit(0);
    }
    if (o.command == "--version" || o.command == "version") {
        std::printf("dlayer %s\n", DL_VERSION);
        std::printf("oneDNN %s, report schema %d, run store schema %d, CUDA %s\n", oneDnnVersion().c_str(),
            RunReport::kSchema, store::RunStore::kSchemaVersion,
            cudaVersion().empty() ? "not built in" : cudaVersion().c_str());
        std::exit(0);
    }
    if (o.command != "info" && o.command != "run" && o.command != "pack" && o.command != "runs" && o.command != "plan"
        && o.command != "serve")
        fail("unknown command '" + o.command + "' (commands: info, pack, run, runs, plan, serve)", 2);
    return o.command;
}

// What info, pack, runs and plan take; any other option given to them is named and refused. Null for run.
const std::set<std::string>* optionsTakenBy(const std::string& command)
{
    static const std::set<std::string> infoTakes { "--json", "--weights", "--shape", "--split", "--seed", "--budget",
        "--arch", "-h", "--help" };
    static const std::set<std::string> packTakes = [] {
        std::set<std::string> t = infoTakes;
        t.erase("--budget");
        t.erase("--arch");
        t.insert({ "-o", "--output", "--precision" });
        return t;
    }();
    static const std::set<std::string> runsTakes { "--json", "-o", "--output", "-h", "--help", "--agent",
        "--token-file", "--fingerprint" };
    static const std::set<std::string> serveTakes { "--listen", "--state", "--store", "--max-model-bytes",
        "--rotate-token", "--pack-dir", "-h", "--help" };
    static const std::set<std::string> planTakes = [] {
        std::set<std::string> t = packTakes;
        t.insert({ "--budget", "--frontier", "--points", "--config", "--profile", "--profile-run", "--no-calibrate",
            "--arch", "--pack-dir", "--iterations", "--warmup", "--threads", "--backend" });
        return t;
    }();
    return command == "info" ? &infoTakes
        : command == "pack"  ? &packTakes
        : command == "runs"  ? &runsTakes
        : command == "plan"  ? &planTakes
        : command == "serve" ? &serveTakes
                             : nullptr;
}

// One argument `a` of the command line into `o`; `value()` takes the next one as its value.
void readArgument(Options& o, const std::string& a, const std::function<std::string()>& value)
{
    if (a == "--json")
        o.json = true;
    else if (a == "--weights")
        o.weights = value();
    else if (a == "--shape") {
        std::string v = value();
        auto eq = v.find('=');
        if (eq == std::string::npos) {
            o.unnamedShape = v;
            return;
        }
        auto s = parseDims(v.substr(eq + 1));
        if (!s.ok()) fail(s.error().message, 2);
        o.shapes[v.substr(0, eq)] = *s;
    } else if (a == "--input") {
        std::string v = value();
        auto eq = v.find('=');
        if (eq == std::string::npos) fail("--input expects NAME=FILE.pb, got '" + v + "'", 2);
        o.inputFiles[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (a == "--iterations") {
        o.iterations = static_cast<int>(parseCount(a, value(), 1));
        o.runOptions.push_back(a);
    } else if (a == "--warmup") {
        o.warmup = static_cast<int>(parseCount(a, value(), 0));
        o.runOptions.push_back(a);
    } else if (a == "--threads") {
        o.threads = static_cast<int>(parseCount(a, value(), 1));
        o.runOptions.push_back(a);
    } else if (a == "--seed")
        o.seed = static_cast<uint64_t>(parseCount(a, value(), 0));
    else if (a == "--save-outputs")
        o.saveOutputs = value();
    else if (a == "--arch") {
        o.arch = value();
        if (!parseArch(o.arch))
            fail("unknown architecture '" + o.arch + "' (preload, sequential, sync, async, two-stage)", 2);
    } else if (a == "--staging")
        o.staging = parseBytes(a, value());
    else if (a == "--resident")
        o.resident = value();
    else if (a == "--budget") {
        o.budget = parseBytes(a, value());
        o.hasBudget = true;
    } else if (a == "--split") {
        o.split = parseBytes(a, value());
        o.hasSplit = true;
    } else if (a == "--no-graphs") {
        o.graphs = false;
    } else if (a == "--backend") {
        o.backend = value();
        if (!dl::parseBackend(o.backend).ok()) fail("--backend takes cpu or cuda, not '" + o.backend + "'", 2);
    } else if (a == "--precision") {
        o.precision = value();
        if (!dl::parsePrecision(o.precision)) fail("--precision takes fp32 or fp16, not '" + o.precision + "'", 2);
    } else if (a == "--trace")
        o.trace = value();
    else if (a == "-o" || a == "--output")
        o.output = value();
    else if (a == "--pack-dir")
        o.packDir = value();
    else if (a == "--no-direct") {
        o.direct = false;
        o.readOptions.push_back(a);
    } else if (a == "--no-uring") {
        o.uring = false;
        o.readOptions.push_back(a);
    } else if (a == "--memory-limit") {
        o.memoryLimit = parseBytes(a, value());
        if (o.memoryLimit == 0) fail("--memory-limit expects a size above 0", 2);
    } else if (a == "--no-huge-pages")
        o.hugePages = false;
    else if (a == "--read-thread") {
        o.readThread = true;
        o.readOptions.push_back(a);
    } else if (a == "--record")
        o.record = value();
    else if (a == "--profile")
        o.profile = value();
    else if (a == "--profile-run")
        o.profileRun = true;
    else if (a == "--no-calibrate")
        o.calibrate = false;
    else if (a == "--frontier")
        o.frontier = true;
    else if (a == "--points") {
        o.points = static_cast<int>(parseCount(a, value(), 2));
        o.hasPoints = true;
    } else if (a == "--config")
        o.configFile = value();
    else if (a == "--paired-preload")
        o.pairedPreload = true;
    else if (a == "--paired-split")
        o.pairedSplit = true;
    else if (a == "--paired-disk")
        o.pairedDisk = true;
    else if (a == "--lockstep") {
        const std::string v = value();
        char* end = nullptr;
        const long in = std::strtol(v.c_str(), &end, 10);
        const long out = *end == ',' ? std::strtol(end + 1, &end, 10) : -1;
        if (*end || in < 0 || out < 0 || in > 1 << 20 || out > 1 << 20)
            fail("--lockstep expects two file descriptors, IN,OUT, got '" + v + "'", 2);
        o.lockstepIn = static_cast<int>(in);
        o.lockstepOut = static_cast<int>(out);
    } else if (a == "--no-verify") {
        o.verify = "off";
        o.readOptions.push_back(a);
    } else if (a == "--verify") {
        o.verify = value();
        o.readOptions.push_back(a);
        if (!parseVerify(o.verify)) fail("--verify expects first, always or off, got '" + o.verify + "'", 2);
    } else if (a == "--queue-depth") {
        o.queueDepth = static_cast<unsigned>(parseCount(a, value(), 1));
        o.readOptions.push_back(a);
    } else if (a == "--chunk") {
        o.chunk = parseBytes(a, value());
        o.readOptions.push_back(a);
    } else if (a == "--listen")
        o.listen = value();
    else if (a == "--state")
        o.stateDir = value();
    else if (a == "--store")
        o.store = value();
    else if (a == "--max-model-bytes") {
        o.maxModelBytes = parseBytes(a, value());
        if (o.maxModelBytes == 0) fail("--max-model-bytes expects a size above 0", 2);
    } else if (a == "--rotate-token")
        o.rotateToken = true;
    else if (a == "--agent")
        o.agent = value();
    else if (a == "--token-file")
        o.tokenFile = value();
    else if (a == "--fingerprint")
        o.fingerprint = value();
    else if (a == "-h" || a == "--help") {
        usage(stdout, o.command);
        std::exit(0);
    } else if (!a.empty() && a[0] == '-')
        fail("unknown option '" + a + "'", 2);
    else if (o.command == "runs")
        o.positional.push_back(a);
    else if (o.command == "serve")
        fail("dlayer serve takes no model: clients upload theirs ('" + a + "')", 2);
    else if (o.model.empty())
        o.model = a;
    else
        fail("unexpected argument '" + a + "'", 2);
}

// The combinations of options that make no sense, each refused with what to do instead (exit 2).
void checkOptions(const Options& o, const std::vector<std::string>& refused)
{
    if (!refused.empty()) {
        const std::string names = joined(refused);
        const std::string what = o.command == "runs" ? "--json and (export, config) -o FILE"
            : o.command == "info" ? "--weights, --shape, --split, --budget, --arch, --seed and --json"
            : o.command == "pack" ? "--weights, --shape, --split, --precision, --seed, --json and -o"
                                  : "the options its usage lists (dlayer --help)";
        fail("dlayer " + o.command + " takes " + what + ", not " + names, 2);
    }
    if ((!o.tokenFile.empty() || !o.fingerprint.empty()) && o.agent.empty())
        fail("--token-file and --fingerprint go with --agent HOST:PORT", 2);
    if (!o.agent.empty() && o.command != "run" && o.command != "runs")
        fail("--agent belongs to 'dlayer run' and 'dlayer runs'", 2);
    if (o.command != "serve" && (!o.listen.empty() || !o.store.empty() || o.maxModelBytes || o.rotateToken))
        fail("--listen, --store, --max-model-bytes and --rotate-token belong to 'dlayer serve'", 2);
    if (!o.stateDir.empty() && o.command != "serve" && (o.command != "run" || o.configFile.empty()))
        fail("--state belongs to 'dlayer serve', and to 'dlayer run --config NAME' (a configuration deployed to the "
             "board's agent)",
            2);
    if (o.command == "runs" || o.command == "serve") return;
    if (o.model.empty()) fail("no model given", 2);
    if (!o.agent.empty()) {
        // What names a file here, or starts a second process here, has no place in a run on the board.
        std::vector<std::string> local;
        if (!o.inputFiles.empty()) local.push_back("--input");
        if (!o.saveOutputs.empty()) local.push_back("--save-outputs");
        if (!o.trace.empty()) local.push_back("--trace");
        if (!o.packDir.empty()) local.push_back("--pack-dir");
        if (!o.configFile.empty()) local.push_back("--config");
        if (o.pairedPreload || o.pairedDisk || o.lockstepIn >= 0) local.push_back("--paired-*");
        if (!o.hugePages) local.push_back("--no-huge-pages");
        if (!local.empty())
            fail(joined(local) + ": not with --agent (the board keeps its own files, packs and processes)", 2);
    }
    if (!o.record.empty() && o.command != "run") fail("--record belongs to 'dlayer run'", 2);
    if (o.command == "info" && (!o.inputFiles.empty() || !o.saveOutputs.empty()))
        fail("--input and --save-outputs belong to 'dlayer run'", 2);
    if (o.command == "pack" && o.output.empty()) fail("dlayer pack needs -o FILE.dlpack", 2);
    if (o.command == "info" && o.hasBudget && o.hasSplit)
        fail("dlayer info --budget lists the layers as the budget rule cuts them: leave out --split", 2);
    if (o.command == "info" && !o.arch.empty() && !o.hasBudget)
        fail("dlayer info --arch names the architecture a --budget is for", 2);
    if (o.command != "pack" && o.command != "plan" && !o.output.empty())
        fail("-o belongs to 'dlayer pack', 'dlayer plan' and 'dlayer runs DB export'", 2);
    if (o.command != "plan" && (o.profileRun || !o.profile.empty() || o.frontier || !o.calibrate))
        fail("--profile, --profile-run, --frontier and --no-calibrate belong to 'dlayer plan'", 2);
    if (o.hasPoints && (o.command != "plan" || !o.frontier)) fail("--points goes with 'dlayer plan --frontier'", 2);
    if (o.command == "plan" && o.frontier && !o.output.empty())
        fail("dlayer plan -o writes the configuration --budget chooses; --frontier prints (--json for a file)", 2);
    if (!o.configFile.empty()) {
        if (o.command != "run" && o.command != "plan") fail("--config belongs to 'dlayer run' and 'dlayer plan'", 2);
        if (o.command == "plan" && (o.frontier || o.hasBudget || !o.output.empty() || o.hasSplit))
            fail("dlayer plan --config predicts that configuration: leave out --budget, --frontier, -o and --split", 2);
        if (!o.arch.empty() || o.staging || !o.resident.empty() || o.hasBudget || o.hasSplit)
            fail("--config fixes the architecture, staging, resident layers and split: leave out --arch, --staging, "
                 "--resident, --budget and --split",
                2);
    }
    const bool streaming = !o.arch.empty() || !o.configFile.empty(); // a configuration names its architecture
    if (!o.readOptions.empty() && (o.command != "run" || (!streaming && !isLayerPack(o.model)))) {
        const std::string names = joined(o.readOptions);
        fail(names + ": how a streaming run reads its pack, for 'dlayer run' with --arch, --config or a .dlpack", 2);
    }
    if (!o.runOptions.empty() && o.command != "run" && !(o.command == "plan" && o.profileRun)) {
        const std::string names = joined(o.runOptions);
        fail(names + ": how a run is timed, for 'dlayer run' and 'dlayer plan --profile-run'", 2);
    }
    if (!o.packDir.empty() && o.command != "plan" && (o.command != "run" || (!streaming && !isLayerPack(o.model))))
        fail(
            "--pack-dir is the pack cache of a streaming run ('dlayer run' with --arch or --config, 'dlayer plan')", 2);
    if (o.staging && !o.arch.empty() && o.arch != "async" && o.arch != "two-stage")
        fail("--staging sizes the rings of async and two-stage; " + o.arch
                + (o.arch == "preload" ? " streams nothing"
                                       : " stages one layer at a time (or two, sync) in buffers of its own"),
            2);
    if (!o.resident.empty() && o.arch == "preload") fail("--resident: preload keeps every layer resident", 2);
    if (o.readThread && !o.arch.empty() && o.arch != "two-stage")
        fail("--read-thread is for --arch two-stage: sync and async read on a thread of their own, sequential between "
             "its layers",
            2);
    if (o.command == "run" && !streaming && (o.staging || !o.resident.empty() || o.hasBudget || !o.trace.empty()))
        fail("--staging, --resident, --budget and --trace need --arch", 2);
    if ((o.pairedPreload || o.lockstepIn >= 0) && (o.command != "run" || (!streaming && !isLayerPack(o.model))))
        fail(std::string(o.pairedPreload ? "--paired-preload" : "--lockstep")
                + " needs 'dlayer run' with --arch or a .dlpack",
            2);
    if (o.pairedPreload && o.lockstepIn >= 0) fail("--paired-preload and --lockstep do not go together", 2);
    if (o.pairedSplit && !o.pairedPreload) fail("--paired-split goes with --paired-preload", 2);
    if (o.pairedDisk && (o.command != "run" || (!streaming && !isLayerPack(o.model))))
        fail("--paired-disk compares a streaming run's reads (--arch, --budget, --config or a .dlpack) with the disk's",
            2);
    if (o.pairedDisk && o.lockstepIn >= 0) fail("--paired-disk and --lockstep do not go together", 2);
    if (o.hasBudget && (o.staging || !o.resident.empty()))
        fail("--budget picks the staging and resident layers itself: give either --budget or --staging/--resident", 2);
}

Options parseArgs(int argc, char** argv)
{
    Options o;
    o.command = commandOf(argc, argv);
    const std::set<std::string>* takes = optionsTakenBy(o.command);
    std::vector<std::string> refused;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (takes && a.size() > 1 && a[0] == '-' && !takes->count(a)) refused.push_back(a);
        readArgument(o, a, [&]() -> std::string {
            if (i + 1 >= argc) fail(a + " needs a value", 2);
            return argv[++i];
        });
    }
    checkOptions(o, refused);
    return o;
}

Graph importOrFail(const Options& o)
{
    if (!std::filesystem::exists(o.model)) fail("'" + o.model + "' does not exist");
    ImportOptions io;
    io.darknetWeights = o.weights;
    auto g = importModel(o.model, io);
    if (!g.ok()) fail(g.error().message);
    return std::move(g).value();
}

// Input shapes from --shape and --input files; a bare --shape applies to the only input.
std::map<std::string, Shape> inputShapes(const Options& o, const Graph& g, std::map<std::string, Tensor>& fileInputs)
{
    std::map<std::string, Shape> shapes = o.shapes;
    if (!o.unnamedShape.empty()) {
        if (g.inputs.size() != 1)
            fail("the model has " + std::to_string(g.inputs.size()) + " inputs: name one with --shape NAME=DIMS", 2);
        auto s = parseDims(o.unnamedShape);
        if (!s.ok()) fail(s.error().message, 2);
        shapes[g.inputs[0].name] = *s;
    }
    for (const auto& [name, file] : o.inputFiles) {
        auto t = readTensorProtoFile(file);
        if (!t.ok()) fail("--input " + name + ": " + t.error().message);
        if (shapes.count(name) && shapes[name] != t->shape())
            fail("--input " + name + " holds shape " + shapeToString(t->shape()) + " but --shape says "
                + shapeToString(shapes[name]));
        shapes[name] = t->shape();
        fileInputs[name] = std::move(t).value();
    }
    return shapes;
}

size_t parseBytes(const std::string& flag, const std::string& text)
{
    size_t i = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])))
        ++i;
    const std::string num = text.substr(0, i), unit = text.substr(i);
    static const std::map<std::string, double> units
        = { { "", 1 }, { "B", 1 }, { "K", 1024.0 }, { "KiB", 1024.0 }, { "M", 1048576.0 }, { "MiB", 1048576.0 },
              { "G", 1073741824.0 }, { "GiB", 1073741824.0 }, { "KB", 1e3 }, { "MB", 1e6 }, { "GB", 1e9 } };
    auto u = units.find(unit);
    if (num.empty() || u == units.end() || num.size() > 15)
        fail(flag + " expects a size like 4096, 64K, 18M or 1G, got '" + text + "'", 2);
    return static_cast<size_t>(std::stod(num) * u->second);
}

void saveOutputs(const Options& o, const std::vector<Tensor>& outputs, const std::vector<std::string>& names)
{
    if (o.saveOutputs.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(o.saveOutputs, ec);
    if (ec) fail("cannot create '" + o.saveOutputs + "': " + ec.message());
    for (size_t i = 0; i < outputs.size(); ++i) {
        auto st = writeTensorProtoFile(o.saveOutputs + "/output_" + std::to_string(i) + ".pb", outputs[i], names[i]);
        if (!st.ok()) fail(st.error().message);
    }
}

std::string humanBytes(double b)
{
    const char* units[] = { "B", "KiB", "MiB", "GiB" };
    int u = 0;
    while (b >= 1024 && u < 3) {
        b /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", b, units[u]);
    return buf;
}

json shapeJson(const Shape& s)
{
    json a = json::array();
    for (int64_t d : s)
        a.push_back(d);
    return a;
}

int cmdInfo(const Options& o)
{
    Graph g = importOrFail(o);
    std::map<std::string, Tensor> unused;
    auto shapes = inputShapes(o, g, unused);
    // --budget: the split the budget rule cuts the layers at for that architecture (two-stage unless --arch says).
    const size_t split = o.hasBudget ? splitForBudget(o.arch.empty() ? Arch::TwoStage : *parseArch(o.arch), o.budget)
        : o.hasSplit                 ? o.split
                                     : 0;
    auto s = summarizeModel(g, shapes, 0, split);
    if (!s.ok()) fail(s.error().message);
    if (o.json) {
        json j = json(remote::summaryToJson(*s));
        j["model"] = o.model;
        j["split_bytes"] = split;
        if (o.hasBudget) j["budget_bytes"] = o.budget;
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf(
        "model     %s (%s, opset %lld)\n", o.model.c_str(), s->format.c_str(), static_cast<long long>(s->opset));
    for (const auto& in : s->inputs)
        std::printf("input     %s %s %s\n", in.name.c_str(), dtypeName(in.dtype), shapeToString(in.shape).c_str());
    for (const auto& out : s->outputs)
        std::printf("output    %s %s %s\n", out.name.c_str(), dtypeName(out.dtype), shapeToString(out.shape).c_str());
    std::printf("\n%5s  %-28s %-34s %12s  %-18s %10s\n", "layer", "name", "ops", "weights", "output", "MFLOPs");
    for (const auto& l : s->layers) {
        std::string ops;
        for (const auto& op : l.opTypes)
            ops += (ops.empty() ? "" : "+") + op;
        if (ops.size() > 34) ops = ops.substr(0, 31) + "...";
        std::string name = l.name.size() > 28 ? l.name.substr(0, 25) + "..." : l.name;
        std::printf("%5d  %-28s %-34s %12s  %-18s %10.1f\n", l.index, name.c_str(), ops.c_str(),
            humanBytes(static_cast<double>(l.weightBytes)).c_str(), shapeToString(l.outputShape).c_str(),
            l.flops / 1e6);
    }
    std::printf("\n%zu layers, %zu nodes, %lld parameters, weights %s (%zu bytes; %zu in the model file before "
                "fusion), %.2f GFLOPs, activations %s\n",
        s->layers.size(), s->nodeCount, static_cast<long long>(s->parameterCount),
        humanBytes(static_cast<double>(s->weightBytes)).c_str(), s->weightBytes, s->sourceWeightBytes, s->flops / 1e9,
        humanBytes(static_cast<double>(s->activationBytes)).c_str());
    if (split)
        std::printf("layers whose weights exceed %s are cut into sub-layers (%s)\n",
            humanBytes(static_cast<double>(split)).c_str(), o.hasBudget ? "what --budget asks for" : "--split");
    return 0;
}

} // namespace dlcli

int main(int argc, char** argv)
{
    using namespace dlcli;
    Options o = parseArgs(argc, argv);
    if (o.command == "info") return cmdInfo(o);
    if (o.command == "pack") return cmdPack(o);
    if (o.command == "runs" && o.agent.empty()) return cmdRuns(o);
    if (o.command == "runs") {
        try {
            return cmdRunsRemote(o);
        } catch (const std::exception& e) {
            fail(std::string("the agent sent a malformed message: ") + e.what());
        }
    }
    if (o.command == "plan") return cmdPlan(o);
    if (o.command == "serve") return cmdServe(o);
    if (!o.agent.empty()) {
        try {
            return cmdRunRemote(o);
        } catch (const std::exception& e) {
            fail(std::string("the agent sent a malformed message: ") + e.what());
        }
    }
    return cmdRun(o);
}
