// dlayer run --record DB, and dlayer runs DB list|show ID|export ID [-o FILE]|import FILE|delete ID.

#include "record.h"

#include "core/sha256.h"
#include "plan/config.h"
#include "runbuild.h"
#include "runstore.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace dl;
using namespace dl::store;

namespace dlcli {

namespace {

std::unique_ptr<RunStore> openOrFail(const std::string& path)
{
    auto s = RunStore::open(path);
    if (!s.ok()) fail(s.error().message);
    return std::move(s).value();
}

std::string isoTime(int64_t ms)
{
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm {};
    localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

int64_t parseId(const std::string& text)
{
    if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
        fail("a run id is a whole number, got '" + text + "'", 2);
    return std::stoll(text);
}

// A stored run as text: what ran, where, its latency, memory, reads and per-layer times.
void printRun(const Run& r)
{
    std::printf("run       %lld (%s), %s%s%s\n", static_cast<long long>(r.id), isoTime(r.startedMs).c_str(),
        runStatusName(r.status), r.error.empty() ? "" : ": ", r.error.c_str());
    std::printf("model     %s (%s), %d layers, weights %s, sha256 %s\n", r.model.name.c_str(), r.model.path.c_str(),
        r.model.layers, humanBytes(static_cast<double>(r.model.bytes)).c_str(), r.model.hash.substr(0, 16).c_str());
    std::printf("device    %s, %s, %s\n", r.device.host.c_str(), r.device.backend.c_str(), r.device.cpu.c_str());
    std::printf("config    %s %s\n", r.arch.c_str(), r.configJson.c_str());
    std::printf("latency   median %.3f ms, min %.3f, max %.3f, mean %.3f over %d runs; kernel stalled %.3f ms\n",
        r.latencyMedianMs, r.latencyMinMs, r.latencyMaxMs, r.latencyMeanMs, r.iterations, r.stallMs);
    std::printf("memory    ledger peak %s (resident weights %s, staging %s, activations %s, workspace %s), RSS "
                "peak %s\n",
        humanBytes(static_cast<double>(r.peakTotal)).c_str(), humanBytes(static_cast<double>(r.peakByTag[0])).c_str(),
        humanBytes(static_cast<double>(r.peakByTag[1])).c_str(),
        humanBytes(static_cast<double>(r.peakByTag[2])).c_str(),
        humanBytes(static_cast<double>(r.peakByTag[3])).c_str(), humanBytes(static_cast<double>(r.rssPeak)).c_str());
    if (r.readBytes > 0)
        std::printf("read      %s per inference at %.0f MB/s\n", humanBytes(static_cast<double>(r.readBytes)).c_str(),
            r.readMBps);
    std::printf("trace     %zu events, %zu memory samples\n", r.events.size(), r.samples.size());
    if (!r.layers.empty()) {
        std::printf("\n%5s  %-28s %10s %9s %9s %9s %9s\n", "layer", "name", "bytes", "read ms", "copy ms", "kernel ms",
            "stall ms");
        for (const auto& l : r.layers)
            std::printf("%5d  %-28s %10s %9.3f %9.3f %9.3f %9.3f\n", l.layer, l.name.substr(0, 28).c_str(),
                humanBytes(static_cast<double>(l.bytes)).c_str(), l.readMs, l.copyMs, l.kernelMs, l.stallMs);
    }
}

} // namespace

void checkRecordable(const std::string& db)
{
    openOrFail(db);
}

int64_t recordRun(const std::string& db, const SessionOutcome& outcome)
{
    auto store = openOrFail(db);
    auto id = store->addRun(runFromOutcome(outcome));
    if (!id.ok()) fail(id.error().message);
    return *id;
}

std::string reportWithRecord(const std::string& reportJson, const std::string& db, int64_t runId)
{
    json j = json::parse(reportJson, nullptr, false);
    if (j.is_discarded() || !j.is_object()) j = json::object();
    if (runId) j["recorded"] = { { "store", db }, { "run_id", runId } };
    return j.dump(2);
}

std::string reportWithRecord(const RunReport& report, const std::string& db, int64_t runId)
{
    return reportWithRecord(reportToJson(report, -1), db, runId);
}

int cmdRuns(const Options& o)
{
    const auto& a = o.positional;
    const char* usageText = "usage: dlayer runs DB list|show ID|export ID [-o FILE]|import FILE|delete ID [--json]\n"
                            "       dlayer runs DB configs|save-config NAME FILE|config NAME [-o FILE]";
    if (a.size() < 2) fail(usageText, 2);
    const std::string& db = a[0];
    const std::string& what = a[1];
    auto want = [&](size_t count) {
        if (a.size() != count) fail(usageText, 2);
    };
    if (what != "import" && !std::filesystem::exists(db)) fail("there is no run store '" + db + "'");
    auto store = openOrFail(db);

    if (what == "list") {
        want(2);
        auto runs = store->listRuns();
        if (!runs.ok()) fail(runs.error().message);
        if (o.json) {
            json j = json::array();
            for (const auto& r : *runs)
                j.push_back({ { "id", r.id }, { "model", r.modelName }, { "model_hash", r.modelHash },
                    { "arch", r.arch }, { "started_ms", r.startedMs }, { "status", runStatusName(r.status) },
                    { "iterations", r.iterations }, { "latency_median_ms", r.latencyMedianMs },
                    { "weights_peak_bytes", r.weightsPeak }, { "peak_bytes", r.peakTotal } });
            std::printf("%s\n", j.dump(2).c_str());
            return 0;
        }
        for (const auto& r : *runs)
            std::printf("%lld  %s  %-9s  %-10s  %-24s  %10.3f ms  weights %10s  total %10s\n",
                static_cast<long long>(r.id), isoTime(r.startedMs).c_str(), runStatusName(r.status), r.arch.c_str(),
                r.modelName.c_str(), r.latencyMedianMs, humanBytes(static_cast<double>(r.weightsPeak)).c_str(),
                humanBytes(static_cast<double>(r.peakTotal)).c_str());
        return 0;
    }
    if (what == "show" || what == "export") {
        want(3);
        auto r = store->run(parseId(a[2]));
        if (!r.ok()) fail(r.error().message);
        if (what == "show" && o.json) {
            // The run's report, as `dlayer run --json` printed it when it was recorded.
            std::printf("%s\n", reportWithRecord(r->reportJson, db, r->id).c_str());
            return 0;
        }
        if (what == "export") {
            const std::string text = runToJson(*r) + "\n";
            if (o.output.empty()) {
                std::fwrite(text.data(), 1, text.size(), stdout);
                return 0;
            }
            // Written beside the target and renamed into place: a failed export never leaves half a file.
            const std::string tmp = o.output + ".tmp";
            {
                std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
                f << text;
                f.flush();
                if (!f) fail("cannot write '" + tmp + "'");
            }
            std::error_code ec;
            std::filesystem::rename(tmp, o.output, ec);
            if (ec) fail("cannot write '" + o.output + "': " + ec.message());
            return 0;
        }
        printRun(*r);
        return 0;
    }
    if (what == "import") {
        want(3);
        std::ifstream f(a[2], std::ios::binary);
        if (!f) fail("cannot read '" + a[2] + "'");
        std::stringstream text;
        text << f.rdbuf();
        auto r = runFromJson(text.str());
        if (!r.ok()) fail("'" + a[2] + "' is not a run export: " + r.error().message);
        auto id = store->addRun(*r);
        if (!id.ok()) fail(id.error().message);
        if (o.json)
            std::printf("%s\n", json({ { "id", *id } }).dump().c_str());
        else
            std::printf("%lld\n", static_cast<long long>(*id));
        return 0;
    }
    if (what == "delete") {
        want(3);
        if (auto st = store->deleteRun(parseId(a[2])); !st.ok()) fail(st.error().message);
        return 0;
    }
    // Named configurations: dlayer plan's files, kept beside the runs they came from.
    if (what == "save-config") {
        want(4);
        auto c = plan::readConfigFile(a[3]);
        if (!c.ok()) fail(c.error().message);
        if (auto st = store->saveConfig(a[2], c->modelHash, plan::configToJson(*c)); !st.ok()) fail(st.error().message);
        return 0;
    }
    if (what == "config") {
        want(3);
        auto body = store->config(a[2]);
        if (!body.ok()) fail(body.error().message);
        auto c = plan::configFromJson(*body);
        if (!c.ok()) fail("configuration '" + a[2] + "' in " + db + " is damaged: " + c.error().message);
        if (o.output.empty()) {
            std::fputs(body->c_str(), stdout);
            return 0;
        }
        if (auto st = plan::writeConfigFile(o.output, *c); !st.ok()) fail(st.error().message);
        return 0;
    }
    if (what == "configs") {
        want(2);
        auto names = store->configNames();
        if (!names.ok()) fail(names.error().message);
        for (const auto& n : *names) {
            auto body = store->config(n);
            auto c = body.ok() ? plan::configFromJson(*body) : Result<plan::RunConfig>(body.error());
            if (!c.ok()) {
                std::printf("%-24s  (damaged: %s)\n", n.c_str(), c.error().message.c_str());
                continue;
            }
            std::printf("%-24s  %-24s  %-10s  budget %10s  predicted %10.3f ms  peak %10s\n", n.c_str(),
                c->modelName.c_str(), archName(c->arch), humanBytes(static_cast<double>(c->budgetBytes)).c_str(),
                c->predictedLatencyMs, humanBytes(static_cast<double>(c->predictedPeakBytes)).c_str());
        }
        return 0;
    }
    fail("unknown 'runs' command '" + what + "' (list, show, export, import, delete, configs, save-config, config)", 2);
}

} // namespace dlcli
