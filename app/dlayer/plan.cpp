// dlayer plan: the configuration with the least predicted latency under a weight budget, or the whole frontier,
// from a cost model of one profiling run (recorded in a run store, or made now).

#include "cli.h"
#include "record.h"

#include "pack/layerpack.h"
#include "pack/packcache.h"
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
    uint64_t splitBytes = 0; // the run's split (0: whole layers)
    std::string description;
    std::optional<store::Run> calibration; // a pipelined run to calibrate the read contention on
    std::optional<store::Run> pairedCalibration; // a paired pipelined run to calibrate the kernels' slowdown on
    plan::CostModel model; // calibrated on those
    std::optional<plan::Calibration> readCalibration;
    std::optional<plan::KernelCalibration> kernelCalibration;
    double kernelScale = 1; // what its kernel times were multiplied by to weigh it beside another split's profile
};

// The precision planned for: --precision, else fp32 (the profiles are runs of packs of that precision).
std::string planPrecision(const Options& o)
{
    return o.precision.empty() ? "fp32" : o.precision;
}

// The profiles to plan from. --profile-run: one, made now. --profile DB: per split, the newest sequential run of the
// model (each stage's time alone), else its newest streaming run; only `onlySplit`'s when given. The first is the
// newest sequential run of any split (the newest streaming one where there is none): the profile a single plan
// takes.
std::vector<Profile> profiles(const Options& o, const std::string& hash, std::optional<uint64_t> onlySplit)
{
    std::string db = o.profile;
    std::filesystem::path tempDir;
    if (o.profileRun) {
        if (db.empty()) {
            std::error_code ec;
            std::string tmpl = (std::filesystem::temp_directory_path(ec) / "dlayer-profile-XXXXXX").string();
            if (ec || !::mkdtemp(tmpl.data()))
                fail(std::string("cannot make a temporary directory: ") + std::strerror(errno));
            tempDir = tmpl;
            db = (tempDir / "profile.db").string();
        }
        // Sequential: each layer's read, copy and kernels alone, so that each time is that stage's own.
        // The pack of the precision planned for (plan::chooseProfiles takes only its runs).
        std::vector<std::string> args
            = { "run", o.model, "--arch", "sequential", "--precision", planPrecision(o), "--iterations",
                  std::to_string(o.iterations), "--warmup", std::to_string(o.warmup), "--record", db, "--json" };
        if (!o.weights.empty()) args.insert(args.end(), { "--weights", o.weights });
        if (!o.backend.empty()) args.insert(args.end(), { "--backend", o.backend });
        for (const auto& [name, shape] : o.shapes)
            args.insert(args.end(), { "--shape", name + "=" + shapeToString(shape) });
        if (!o.unnamedShape.empty()) args.insert(args.end(), { "--shape", o.unnamedShape });
        if (onlySplit && *onlySplit) args.insert(args.end(), { "--split", std::to_string(*onlySplit) });
        if (!o.packDir.empty()) args.insert(args.end(), { "--pack-dir", o.packDir });
        if (o.threads > 0) args.insert(args.end(), { "--threads", std::to_string(o.threads) });
        if (!o.json)
            std::fprintf(stderr, "dlayer plan: profiling %s (sequential, %d runs)\n", o.model.c_str(), o.iterations);
        auto [code, out] = runSelf(args);
        if (code != 0) fail("the profiling run failed (its message is above)");
        const json j = json::parse(out, nullptr, false);
        if (j.is_discarded() || !j.contains("recorded")) fail("the profiling run printed no report");
    } else if (db.empty()) {
        fail("dlayer plan needs a cost model: --profile DB (a run store with a run of this model) or --profile-run", 2);
    } else if (!std::filesystem::exists(db)) {
        fail("there is no run store '" + db + "'");
    }
    auto store = store::RunStore::open(db);
    if (!store.ok()) fail(store.error().message);
    // The profile just made is the newest sequential run of its split (plan/profiles.h).
    store::ProfileQuery query;
    query.modelHash = hash;
    query.onlySplit = o.profileRun ? std::optional<uint64_t>(onlySplit.value_or(0)) : onlySplit;
    query.calibrate = o.calibrate;
    query.precision = planPrecision(o);
    query.backend = o.backend.empty() ? "cpu" : o.backend; // each backend's profiles plan for it alone
    auto loaded = store::loadProfiles(**store, query);
    if (!loaded.ok()) fail(loaded.error().message);
    std::vector<Profile> out;
    for (store::LoadedProfile& lp : *loaded) {
        for (const std::string& note : lp.notes)
            std::fprintf(stderr, "dlayer plan: %s; planning without it\n", note.c_str());
        Profile p;
        const int64_t id = lp.run.id;
        p.run = std::move(lp.run);
        p.splitBytes = lp.splitBytes;
        p.calibration = std::move(lp.calibration);
        p.pairedCalibration = std::move(lp.pairedCalibration);
        p.model = std::move(lp.model);
        p.readCalibration = lp.readCalibration;
        p.kernelCalibration = lp.kernelCalibration;
        p.description = o.profileRun && tempDir.empty() ? "profiled now, run " + std::to_string(id) + " in " + db
            : o.profileRun                              ? "profiled now (" + p.run.arch + ")"
                           : "run " + std::to_string(id) + " (" + p.run.arch + ") in " + db;
        out.push_back(std::move(p));
    }
    if (!tempDir.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(tempDir, ec);
    }
    return out;
}

struct Planned
{
    plan::CostModel model;
    std::optional<plan::Calibration> calibration; // on the profile's calibration run
    std::optional<plan::KernelCalibration> kernels; // on its paired calibration run
};

// The profile's cost model, with its contention as calibrated on the runs beside it (store::loadProfiles), and the
// profile's description saying which.
Planned costModel(Profile& prof)
{
    Planned p { prof.model, prof.readCalibration, prof.kernelCalibration };
    char text[200];
    if (p.calibration) {
        std::snprintf(text, sizeof text,
            "; contention from run %lld (%s): reads beside kernels at %.2f of the disk's rate",
            static_cast<long long>(prof.calibration->id), prof.calibration->arch.c_str(),
            p.model.contention.readFactor);
        prof.description += text;
    }
    if (p.kernels) {
        std::snprintf(text, sizeof text, "; kernels from run %lld (%s, paired): %.3f ms longer per MB streamed",
            static_cast<long long>(prof.pairedCalibration->id), prof.pairedCalibration->arch.c_str(),
            p.model.contention.kernelMsPerMB);
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
    j["kernel_ms_per_mb"] = p.model.contention.kernelMsPerMB;
    j["kernel_run_id"] = nullptr;
    if (p.kernels) {
        j["kernel_run_id"] = prof.pairedCalibration->id;
        j["kernel_run_arch"] = prof.pairedCalibration->arch;
        j["kernel_slowdown_fraction"] = p.kernels->slowdownFraction; // that run's overhead less its stalls
        j["kernel_run_streamed_bytes"] = p.kernels->streamedBytes;
    }
    return j;
}

// Profiles of several splits are weighed at one speed: each one's kernels scaled by how much faster or slower the
// layers it shares with the reference ran (plan::alignKernelSpeeds), so that the machine's drift between the moments
// they were recorded does not pass for what a split costs (docs/planner.md, "Choosing the split").
void alignKernelSpeeds(std::vector<Profile>& profs, std::vector<Planned>& plans, size_t ref)
{
    std::vector<plan::CostModel> models;
    for (Planned& p : plans)
        models.push_back(std::move(p.model));
    const std::vector<double> factors = plan::alignKernelSpeeds(models, ref);
    for (size_t k = 0; k < plans.size(); ++k) {
        plans[k].model = std::move(models[k]);
        if (factors[k] == 1.0) continue;
        profs[k].kernelScale = factors[k];
        char text[200];
        std::snprintf(text, sizeof text, "; kernels × %.3f, to the speed of run %lld on the layers both profiles share",
            factors[k], static_cast<long long>(profs[ref].run.id));
        profs[k].description += text;
    }
}

std::vector<plan::CostModel> modelsOf(const std::vector<Planned>& plans)
{
    std::vector<plan::CostModel> models;
    for (const Planned& p : plans)
        models.push_back(p.model);
    return models;
}

json choiceJson(const plan::Choice& c)
{
    return { { "budget_bytes", c.budgetBytes }, { "predicted_latency_ms", c.prediction.latencyMs },
        { "predicted_weights_bytes", c.prediction.weightsPeak }, { "predicted_peak_bytes", c.prediction.peakTotal },
        { "lower_bound_ms", c.lowerBoundMs }, { "predicted_stall_ms", c.prediction.stallMs },
        { "staging_bytes", c.prediction.stagingBytes }, { "resident_layers", c.config.resident } };
}

// plan --config: exactly that configuration, predicted on the first profile.
int predictConfig(const Options& o, const plan::RunConfig& config, const Profile& prof, const Planned& planned)
{
    const plan::CostModel& model = planned.model;
    const uint64_t split = prof.splitBytes;
    const plan::RunConfig* c = &config;
    // Exactly that configuration, predicted on this profile.
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
        humanBytes(static_cast<double>(p->weightsPeak)).c_str(), humanBytes(static_cast<double>(p->peakTotal)).c_str());
    return 0;
}

// plan --frontier: the frontier of the profile that reaches the smallest budget; at each of its budgets, another
// split's profile takes the point where it predicts a lower latency.
int planFrontier(const Options& o, const std::vector<Profile>& profs, const std::vector<Planned>& plans, size_t base,
    Arch arch, const std::string& hash, const std::string& name)
{
    const auto t0 = std::chrono::steady_clock::now();
    auto merged = plan::mergedFrontier(modelsOf(plans), base, arch, o.points);
    if (!merged.ok()) fail(merged.error().message);
    const std::vector<plan::Choice>* f = &merged->points;
    const std::vector<size_t>& from = merged->from;
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const plan::CostModel& bm = plans[base].model;
    json j;
    j["model"] = { { "hash", hash }, { "name", name }, { "layers", bm.layers.size() } };
    j["arch"] = archName(arch);
    j["precision"] = planPrecision(o);
    j["backend"] = o.backend.empty() ? "cpu" : o.backend;
    j["split_bytes"] = profs[base].splitBytes;
    j["profile"] = profs[base].description;
    j["disk_mb_per_s"] = bm.diskBytesPerMs / 1e3;
    j["request_ms"] = bm.requestMs;
    j["kernel_ms"] = bm.kernelMs();
    j["contention"] = contentionJson(plans[base], profs[base]);
    j["profiles"] = json::array();
    for (size_t k = 0; k < profs.size(); ++k)
        j["profiles"].push_back({ { "split_bytes", profs[k].splitBytes }, { "layers", plans[k].model.layers.size() },
            { "profile", profs[k].description }, { "kernel_ms", plans[k].model.kernelMs() },
            { "kernel_scale", profs[k].kernelScale }, { "contention", contentionJson(plans[k], profs[k]) } });
    j["compute_ms"] = ms;
    j["frontier"] = json::array();
    for (size_t i = 0; i < f->size(); ++i) {
        json point = choiceJson((*f)[i]);
        point["split_bytes"] = profs[from[i]].splitBytes;
        j["frontier"].push_back(point);
    }
    if (o.json) {
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf(
        "model     %s, %zu layers; profile: %s\n", name.c_str(), bm.layers.size(), profs[base].description.c_str());
    for (size_t k = 0; k < profs.size(); ++k)
        if (k != base)
            std::printf("also      %s (%zu layers, %s)\n", profs[k].description.c_str(), plans[k].model.layers.size(),
                profs[k].splitBytes ? ("split at " + humanBytes(static_cast<double>(profs[k].splitBytes))).c_str()
                                    : "whole layers");
    std::printf("costs     kernels %.3f ms, disk %.0f MB/s, request %.3f ms; %zu budgets in %.1f ms\n", bm.kernelMs(),
        bm.diskBytesPerMs / 1e3, bm.requestMs, f->size(), ms);
    if (plans[base].calibration)
        std::printf("contention reads beside kernels at %.2f of the disk's rate (run %lld, %s: measured %.3f ms, "
                    "fitted %.3f ms, uncalibrated %.3f ms)\n",
            bm.contention.readFactor, static_cast<long long>(profs[base].calibration->id),
            profs[base].calibration->arch.c_str(), profs[base].calibration->latencyMedianMs,
            plans[base].calibration->fittedMs, plans[base].calibration->uncalibratedMs);
    else
        std::printf("contention uncalibrated (%s)\n",
            o.calibrate ? "no pipelined run of this model on this device in the store" : "--no-calibrate");
    if (plans[base].kernels)
        std::printf("kernels   %.3f ms longer per MB streamed beside them (run %lld, %s, paired: %+.1f %% of its "
                    "kernels)\n",
            bm.contention.kernelMsPerMB, static_cast<long long>(profs[base].pairedCalibration->id),
            profs[base].pairedCalibration->arch.c_str(), plans[base].kernels->slowdownFraction * 100.0);
    std::printf("\n");
    std::printf("%12s %14s %12s %12s %10s %9s %10s\n", "budget", "latency ms", "weights", "peak", "bound ms",
        "resident", "split");
    for (size_t i = 0; i < f->size(); ++i) {
        const plan::Choice& c = (*f)[i];
        const uint64_t s = profs[from[i]].splitBytes;
        std::printf("%12s %14.3f %12s %12s %10.3f %9zu %10s\n", humanBytes(static_cast<double>(c.budgetBytes)).c_str(),
            c.prediction.latencyMs, humanBytes(static_cast<double>(c.prediction.weightsPeak)).c_str(),
            humanBytes(static_cast<double>(c.prediction.peakTotal)).c_str(), c.lowerBoundMs, c.config.resident.size(),
            s ? humanBytes(static_cast<double>(s)).c_str() : "whole");
    }
    return 0;
}

// plan --budget: every split's profile optimises the budget; the lowest predicted latency wins (the first profile's on
// a tie), written as a configuration.
int planBudget(const Options& o, const std::vector<Profile>& profs, const std::vector<Planned>& plans, Arch arch,
    const std::string& hash, const std::string& name)
{
    size_t best = 0;
    std::optional<plan::Choice> choice;
    std::string refusal;
    std::vector<std::string> weighed(plans.size()); // what each profile made of the budget
    for (size_t k = 0; k < plans.size(); ++k) {
        auto c = plan::optimize(plans[k].model, arch, o.budget);
        char text[96];
        if (c.ok())
            std::snprintf(text, sizeof text, "predicted %.1f ms", c->prediction.latencyMs);
        else
            std::snprintf(text, sizeof text, "needs at least %llu bytes",
                static_cast<unsigned long long>(plan::minimumBudget(plans[k].model, arch)));
        weighed[k] = text;
        if (!c.ok()) {
            const uint64_t s = profs[k].splitBytes;
            if (refusal.empty())
                refusal = c.error().message
                    + (s ? " (its layers split at " + std::to_string(s) + " bytes)"
                         : std::string(" (profile with --split BYTES to cut large layers)"));
            continue;
        }
        if (!choice || c->prediction.latencyMs < choice->prediction.latencyMs) {
            choice = *c;
            best = k;
        }
    }
    if (!choice) fail(refusal);
    const plan::CostModel& chosenModel = plans[best].model;
    const uint64_t chosenSplit = profs[best].splitBytes;
    plan::RunConfig cfg;
    cfg.modelHash = hash;
    cfg.modelName = name;
    cfg.layers = static_cast<int>(chosenModel.layers.size());
    cfg.arch = arch;
    cfg.precision = *parsePrecision(planPrecision(o));
    cfg.backend = o.backend.empty() ? "cpu" : o.backend;
    cfg.splitBytes = chosenSplit;
    cfg.stagingBytes = choice->config.stagingBytes;
    cfg.resident = choice->config.resident;
    cfg.budgetBytes = o.budget;
    cfg.predictedLatencyMs = choice->prediction.latencyMs;
    cfg.predictedWeightsBytes = choice->prediction.weightsPeak;
    cfg.predictedPeakBytes = choice->prediction.peakTotal;
    cfg.lowerBoundMs = choice->lowerBoundMs;
    cfg.madeBy = "dlayer plan";
    cfg.madeAt = utcNow();
    cfg.profile = profs[best].description;
    if (profs.size() > 1) {
        // Which splits were weighed, so that the file says why it has this one.
        std::string others;
        for (size_t k = 0; k < profs.size(); ++k)
            if (k != best) {
                const uint64_t s = profs[k].splitBytes;
                others += (others.empty() ? "" : "; ")
                    + (s ? "layers split at " + std::to_string(s) + " bytes" : std::string("whole layers")) + ", "
                    + weighed[k];
            }
        cfg.profile += " (" + weighed[best] + "), chosen over the store's profiles of " + others;
    }
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
        if (!o.precision.empty() && o.precision != precisionName(c->precision))
            fail(std::string("the configuration '") + o.configFile + "' stores the weights in "
                    + precisionName(c->precision) + ": leave --precision out",
                2);
        o.precision = precisionName(c->precision);
        if (!o.backend.empty() && o.backend != c->backend)
            fail("the configuration '" + o.configFile + "' was planned for the " + c->backend
                    + " backend: leave --backend out",
                2);
        o.backend = c->backend;
        toPredict = std::move(c).value();
    }
    // A configuration is predicted on a profile of its own split; --split picks one; else --budget and --frontier
    // choose among every split the store has a profile of.
    std::optional<uint64_t> onlySplit;
    if (toPredict)
        onlySplit = toPredict->splitBytes;
    else if (o.hasSplit)
        onlySplit = o.split;
    std::vector<Profile> profs = profiles(o, hash, onlySplit);
    std::vector<Planned> plans;
    for (Profile& p : profs)
        plans.push_back(costModel(p));
    // --budget and --frontier weigh the splits at the speed of the profile that reaches the smallest budget, so that
    // a configuration is predicted as the frontier's point at its budget is.
    const size_t base = plan::smallestReach(modelsOf(plans), arch);
    alignKernelSpeeds(profs, plans, base);

    if (toPredict) return predictConfig(o, *toPredict, profs.front(), plans.front());
    if (o.frontier) return planFrontier(o, profs, plans, base, arch, hash, name);
    return planBudget(o, profs, plans, arch, hash, name);
}

} // namespace dlcli
