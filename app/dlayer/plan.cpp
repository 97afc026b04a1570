// dlayer plan: the configuration with the least predicted latency under a weight budget, or the whole frontier,
// from a cost model of one profiling run (recorded in a run store, or made now).

#include "cli.h"
#include "record.h"

#include "pack/layerpack.h"
#include "plan/config.h"
#include "plan/planner.h"
#include "runbuild.h"
#include "runstore.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <sys/wait.h>
#include <unistd.h>

using namespace dl;

namespace dlcli {

namespace {

// Runs this program with `args`; returns its exit status and what it printed on stdout (stderr passes through).
std::pair<int, std::string> runSelf(const std::vector<std::string>& given)
{
    std::vector<std::string> args = given;
    args.insert(args.begin(), selfPath());
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) fail(std::string("cannot make a pipe: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) fail(std::string("cannot start a process: ") + std::strerror(errno));
    if (pid == 0) {
        ::dup2(out[1], 1);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(out[0], buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    ::close(out[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
    return { WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), text };
}

std::string utcNow()
{
    const std::time_t t = std::time(nullptr);
    std::tm tm {};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// The model's identity as the store keys it, and its name.
std::pair<std::string, std::string> identify(const Options& o)
{
    std::string model = o.model, weights = o.weights, modelSha, weightsSha;
    if (isLayerPack(o.model)) {
        auto info = readLayerPack(o.model);
        if (!info.ok()) fail(info.error().message);
        model = info->source.modelPath;
        modelSha = info->source.modelSha256;
        weightsSha = info->source.weightsSha256;
    } else {
        if (!std::filesystem::exists(o.model)) fail("'" + o.model + "' does not exist");
        auto sha = fileSha256(o.model);
        if (!sha.ok()) fail(sha.error().message);
        modelSha = *sha;
        if (!o.weights.empty()) {
            auto w = fileSha256(o.weights);
            if (!w.ok()) fail(w.error().message);
            weightsSha = *w;
        }
    }
    return { modelHash(modelSha, weightsSha), std::filesystem::path(model).filename().string() };
}

struct Profile
{
    store::Run run;
    std::string description;
    std::optional<store::Run> calibration; // a pipelined run to calibrate the contention on
};

Profile profile(const Options& o, const std::string& hash)
{
    std::string db = o.profile;
    std::filesystem::path tempDir;
    int64_t id = 0;
    if (o.profileRun) {
        if (db.empty()) {
            char tmpl[] = "/tmp/dlayer-profile-XXXXXX";
            if (!::mkdtemp(tmpl)) fail(std::string("cannot make a temporary directory: ") + std::strerror(errno));
            tempDir = tmpl;
            db = (tempDir / "profile.db").string();
        }
        // Sequential: each layer's read, copy and kernels alone, so that each time is that stage's own.
        std::vector<std::string> args = { "run", o.model, "--arch", "sequential", "--iterations",
            std::to_string(o.iterations), "--warmup", std::to_string(o.warmup), "--record", db, "--json" };
        if (!o.weights.empty()) args.insert(args.end(), { "--weights", o.weights });
        for (const auto& [name, shape] : o.shapes)
            args.insert(args.end(), { "--shape", name + "=" + shapeToString(shape) });
        if (!o.unnamedShape.empty()) args.insert(args.end(), { "--shape", o.unnamedShape });
        if (o.hasSplit) args.insert(args.end(), { "--split", std::to_string(o.split) });
        if (!o.packDir.empty()) args.insert(args.end(), { "--pack-dir", o.packDir });
        if (o.threads > 0) args.insert(args.end(), { "--threads", std::to_string(o.threads) });
        if (!o.json)
            std::fprintf(stderr, "dlayer plan: profiling %s (sequential, %d runs)\n", o.model.c_str(), o.iterations);
        auto [code, out] = runSelf(args);
        if (code != 0) fail("the profiling run failed (its message is above)");
        const json j = json::parse(out, nullptr, false);
        if (j.is_discarded() || !j.contains("recorded")) fail("the profiling run printed no report");
        id = j["recorded"]["run_id"].get<int64_t>();
    } else if (db.empty()) {
        fail("dlayer plan needs a cost model: --profile DB (a run store with a run of this model) or --profile-run", 2);
    } else if (!std::filesystem::exists(db)) {
        fail("there is no run store '" + db + "'");
    }
    auto store = store::RunStore::open(db);
    if (!store.ok()) fail(store.error().message);
    if (!id) {
        // The newest whole run of this model with per-layer times; a sequential one before any other.
        auto list = (*store)->listRuns();
        if (!list.ok()) fail(list.error().message);
        int64_t any = 0;
        for (const auto& r : *list) {
            if (r.modelHash != hash || r.status != store::RunStatus::Ok || r.arch == "in-memory" || r.arch == "preload")
                continue;
            if (r.arch == "sequential") id = r.id;
            any = r.id;
        }
        if (!id) id = any;
        if (!id)
            fail("the run store '" + db
                + "' has no streaming run of this model to profile from: record one "
                  "(dlayer run MODEL --arch sequential --record "
                + db + ") or use --profile-run");
    }
    auto run = (*store)->run(id);
    if (!run.ok()) fail(run.error().message);
    if (run->layers.empty()) fail("run " + std::to_string(id) + " in " + db + " has no per-layer times");
    Profile p;
    p.run = std::move(run).value();
    if (o.calibrate) {
        auto cal = store::findCalibrationRun(**store, p.run);
        if (!cal.ok()) fail(cal.error().message);
        p.calibration = std::move(cal).value();
    }
    p.description = o.profileRun && tempDir.empty() ? "profiled now, run " + std::to_string(id) + " in " + db
        : o.profileRun                              ? "profiled now (" + p.run.arch + ")"
                                                    : "run " + std::to_string(id) + " (" + p.run.arch + ") in " + db;
    if (!tempDir.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(tempDir, ec);
    }
    return p;
}

struct Planned
{
    plan::CostModel model;
    std::optional<plan::Calibration> calibration; // on the profile's calibration run
};

// The profile's cost model, with its contention calibrated on the profile's pipelined run when there is one.
Planned costModel(Profile& prof)
{
    auto m = store::costModelFromRun(prof.run);
    if (!m.ok()) fail(m.error().message);
    Planned p { std::move(m).value(), std::nullopt };
    if (prof.calibration) {
        auto input = store::calibrationRunOf(*prof.calibration);
        if (!input.ok()) fail(input.error().message);
        auto c = plan::calibrate(p.model, *input);
        if (!c.ok())
            fail("calibrating on run " + std::to_string(prof.calibration->id) + ": " + c.error().message
                + " (--no-calibrate plans without it)");
        p.model.contention = c->contention;
        p.calibration = *c;
        char text[160];
        std::snprintf(text, sizeof text,
            "; contention from run %lld (%s): reads beside kernels at %.2f of the disk's rate",
            static_cast<long long>(prof.calibration->id), prof.calibration->arch.c_str(), c->contention.readFactor);
        prof.description += text;
    }
    return p;
}

json contentionJson(const Planned& p, const Profile& prof)
{
    json j = { { "read_factor", p.model.contention.readFactor }, { "run_id", nullptr } };
    if (p.calibration) {
        j["run_id"] = prof.calibration->id;
        j["run_arch"] = prof.calibration->arch;
        j["measured_ms"] = prof.calibration->latencyMedianMs; // that run's latency,
        j["fitted_ms"] = p.calibration->fittedMs; // its configuration simulated with these factors,
        j["uncalibrated_ms"] = p.calibration->uncalibratedMs; // and without them
    }
    return j;
}

json choiceJson(const plan::Choice& c)
{
    return { { "budget_bytes", c.budgetBytes }, { "predicted_latency_ms", c.prediction.latencyMs },
        { "predicted_weights_bytes", c.prediction.weightsPeak }, { "predicted_peak_bytes", c.prediction.peakTotal },
        { "lower_bound_ms", c.lowerBoundMs }, { "predicted_stall_ms", c.prediction.stallMs },
        { "staging_bytes", c.prediction.stagingBytes }, { "resident_layers", c.config.resident } };
}

} // namespace

int cmdPlan(const Options& given)
{
    Options o = given;
    const Arch arch = *parseArch(o.arch.empty() ? "two-stage" : o.arch);
    if (!o.hasBudget && !o.frontier && o.configFile.empty())
        fail("dlayer plan needs --budget BYTES, --frontier or --config FILE", 2);
    if (o.hasBudget && o.frontier) fail("give either --budget or --frontier", 2);
    const auto [hash, name] = identify(o);
    // plan --config: a configuration for another model is refused before any profile is looked for.
    std::optional<plan::RunConfig> toPredict;
    if (!o.configFile.empty()) {
        auto c = plan::readConfigFile(o.configFile);
        if (!c.ok()) fail(c.error().message);
        if (c->modelHash != hash)
            fail("the configuration '" + o.configFile + "' was made for another model (" + c->modelName + ")");
        toPredict = std::move(c).value();
        // A profile made now profiles with the configuration's split.
        o.split = toPredict->splitBytes;
        o.hasSplit = o.split > 0;
    }
    Profile prof = profile(o, hash);
    const Planned planned = costModel(prof);
    const plan::CostModel& model = planned.model;
    const uint64_t split = store::runSplitBytes(prof.run);

    if (toPredict) {
        // Exactly that configuration, predicted on this profile.
        const plan::RunConfig* c = &*toPredict;
        if (c->layers != static_cast<int>(model.layers.size()) || c->splitBytes != split)
            fail("the configuration '" + o.configFile + "' was made for a plan of " + std::to_string(c->layers)
                + " layers split at " + std::to_string(c->splitBytes) + " bytes; the profile has "
                + std::to_string(model.layers.size()) + " split at " + std::to_string(split));
        plan::Choice choice;
        choice.config = { c->arch, c->stagingBytes, c->resident };
        auto p = plan::simulate(model, choice.config);
        if (!p.ok()) fail(p.error().message);
        choice.prediction = *p;
        choice.budgetBytes = p->weightsPeak;
        choice.lowerBoundMs = plan::lowerBoundMs(model, c->arch, p->weightsPeak);
        json j = choiceJson(choice);
        j["arch"] = archName(c->arch);
        j["profile"] = prof.description;
        j["contention"] = contentionJson(planned, prof);
        if (o.json) {
            std::printf("%s\n", j.dump(2).c_str());
            return 0;
        }
        std::printf("%s: %s, staging %s, %zu of %zu layers resident; profile: %s\n", o.configFile.c_str(),
            archName(c->arch), humanBytes(static_cast<double>(p->stagingBytes)).c_str(), c->resident.size(),
            model.layers.size(), prof.description.c_str());
        std::printf("predicted %.3f ms (lower bound %.3f ms), weights %s, peak %s\n", p->latencyMs, choice.lowerBoundMs,
            humanBytes(static_cast<double>(p->weightsPeak)).c_str(),
            humanBytes(static_cast<double>(p->peakTotal)).c_str());
        return 0;
    }

    if (o.frontier) {
        const auto t0 = std::chrono::steady_clock::now();
        auto f = plan::frontier(model, arch, o.points);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (!f.ok()) fail(f.error().message);
        json j;
        j["model"] = { { "hash", hash }, { "name", name }, { "layers", model.layers.size() } };
        j["arch"] = archName(arch);
        j["split_bytes"] = split;
        j["profile"] = prof.description;
        j["disk_mb_per_s"] = model.diskBytesPerMs / 1e3;
        j["request_ms"] = model.requestMs;
        j["kernel_ms"] = model.kernelMs();
        j["contention"] = contentionJson(planned, prof);
        j["compute_ms"] = ms;
        j["frontier"] = json::array();
        for (const auto& c : *f)
            j["frontier"].push_back(choiceJson(c));
        if (o.json) {
            std::printf("%s\n", j.dump(2).c_str());
            return 0;
        }
        std::printf(
            "model     %s, %zu layers; profile: %s\n", name.c_str(), model.layers.size(), prof.description.c_str());
        std::printf("costs     kernels %.3f ms, disk %.0f MB/s, request %.3f ms; %zu budgets in %.1f ms\n",
            model.kernelMs(), model.diskBytesPerMs / 1e3, model.requestMs, f->size(), ms);
        if (planned.calibration)
            std::printf("contention reads beside kernels at %.2f of the disk's rate (run %lld, %s: measured %.3f ms, "
                        "fitted %.3f ms, uncalibrated %.3f ms)\n",
                model.contention.readFactor, static_cast<long long>(prof.calibration->id),
                prof.calibration->arch.c_str(), prof.calibration->latencyMedianMs, planned.calibration->fittedMs,
                planned.calibration->uncalibratedMs);
        else
            std::printf("contention uncalibrated (%s)\n",
                o.calibrate ? "no pipelined run of this model on this device in the store" : "--no-calibrate");
        std::printf("\n");
        std::printf(
            "%12s %14s %12s %12s %10s %9s\n", "budget", "latency ms", "weights", "peak", "bound ms", "resident");
        for (const auto& c : *f)
            std::printf("%12s %14.3f %12s %12s %10.3f %9zu\n", humanBytes(static_cast<double>(c.budgetBytes)).c_str(),
                c.prediction.latencyMs, humanBytes(static_cast<double>(c.prediction.weightsPeak)).c_str(),
                humanBytes(static_cast<double>(c.prediction.peakTotal)).c_str(), c.lowerBoundMs,
                c.config.resident.size());
        return 0;
    }

    auto choice = plan::optimize(model, arch, o.budget);
    if (!choice.ok())
        fail(choice.error().message
            + (split ? " (its layers split at " + std::to_string(split) + " bytes)"
                     : std::string(" (profile with --split BYTES to cut large layers)")));
    plan::RunConfig cfg;
    cfg.modelHash = hash;
    cfg.modelName = name;
    cfg.layers = static_cast<int>(model.layers.size());
    cfg.arch = arch;
    cfg.splitBytes = split;
    cfg.stagingBytes = choice->config.stagingBytes;
    cfg.resident = choice->config.resident;
    cfg.budgetBytes = o.budget;
    cfg.predictedLatencyMs = choice->prediction.latencyMs;
    cfg.predictedWeightsBytes = choice->prediction.weightsPeak;
    cfg.predictedPeakBytes = choice->prediction.peakTotal;
    cfg.lowerBoundMs = choice->lowerBoundMs;
    cfg.madeBy = "dlayer plan";
    cfg.madeAt = utcNow();
    cfg.profile = prof.description;
    if (!o.output.empty())
        if (auto st = plan::writeConfigFile(o.output, cfg); !st.ok()) fail(st.error().message);
    if (o.json || o.output.empty()) {
        std::fputs(plan::configToJson(cfg).c_str(), stdout);
        return 0;
    }
    std::printf("config    %s: %s, staging %s, %zu of %d layers resident\n", o.output.c_str(), archName(arch),
        humanBytes(static_cast<double>(choice->prediction.stagingBytes)).c_str(), cfg.resident.size(), cfg.layers);
    std::printf("predicted %.3f ms (lower bound %.3f ms), weights %s of the %s budget, peak %s\n",
        cfg.predictedLatencyMs, cfg.lowerBoundMs, humanBytes(static_cast<double>(cfg.predictedWeightsBytes)).c_str(),
        humanBytes(static_cast<double>(o.budget)).c_str(),
        humanBytes(static_cast<double>(cfg.predictedPeakBytes)).c_str());
    return 0;
}

} // namespace dlcli
