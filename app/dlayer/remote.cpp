// dlayer run --agent and dlayer runs --agent: the client's side of the board (engine/remote/client.h). A run on the
// board prints what a local run prints; runs lists, exports and syncs the board's stored runs by uuid.

#include "cli.h"
#include "record.h"

#include "core/sha256.h"
#include "pack/packcache.h"
#include "remote/client.h"
#include "remote/credentials.h"
#include "runbuild.h"
#include "runstore.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace dl;
using namespace dl::remote;
namespace fs = std::filesystem;

namespace dlcli {

namespace {

std::string configDir()
{
    if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) return std::string(x) + "/dlayer";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.config/dlayer";
    return ".dlayer";
}

std::string trimmed(std::string s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.pop_back();
    size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
        ++i;
    return s.substr(i);
}

// The agent's fingerprint pinned on first use, from ~/.config/dlayer/known_agents ("HOST:PORT FINGERPRINT" lines).
std::string knownFingerprint(const std::string& hostPort)
{
    std::ifstream f(configDir() + "/known_agents");
    std::string address, fp;
    while (f >> address >> fp)
        if (address == hostPort) return fp;
    return {};
}

void rememberFingerprint(const std::string& hostPort, const std::string& fp)
{
    std::error_code ec;
    fs::create_directories(configDir(), ec);
    std::ofstream f(configDir() + "/known_agents", std::ios::app);
    f << hostPort << " " << fp << "\n";
    if (!f) std::fprintf(stderr, "dlayer: cannot remember the agent's fingerprint in %s\n", configDir().c_str());
}

struct AgentAccess
{
    std::string token, fingerprint;
    bool firstUse = false;
};

// The token and the fingerprint to pin: from the pairing line in --token-file (or ~/.config/dlayer/agent), else a
// bare token there with --fingerprint or the fingerprint pinned on first use.
AgentAccess accessFor(const Options& o)
{
    const std::string file = o.tokenFile.empty() ? configDir() + "/agent" : o.tokenFile;
    std::ifstream f(file);
    if (!f)
        fail("cannot read the agent's token from '" + file
                + "': put the pairing line 'dlayer serve' printed there, or give --token-file",
            2);
    std::stringstream text;
    text << f.rdbuf();
    const std::string content = trimmed(text.str());
    AgentAccess a;
    if (content.rfind("dlayer-agent ", 0) == 0) {
        auto p = parsePairingLine(content);
        if (!p.ok()) fail("'" + file + "': " + p.error().message, 2);
        a.token = p->token;
        a.fingerprint = p->fingerprint;
    } else {
        a.token = content;
        a.fingerprint = o.fingerprint.empty() ? knownFingerprint(o.agent) : o.fingerprint;
        a.firstUse = a.fingerprint.empty();
    }
    if (!o.fingerprint.empty() && o.fingerprint != a.fingerprint)
        fail("--fingerprint differs from the one in the pairing line of '" + file + "'", 2);
    if (a.token.size() != 64 || a.token.find_first_not_of("0123456789abcdef") != std::string::npos)
        fail("'" + file + "' holds neither a pairing line nor a token (64 hex digits)", 2);
    return a;
}

std::unique_ptr<AgentClient> connectOrFail(const Options& o)
{
    const AgentAccess access = accessFor(o);
    auto c = AgentClient::connect(o.agent, access.fingerprint, access.token, std::string("dlayer ") + DL_VERSION);
    if (!c.ok()) fail(c.error().message);
    if (access.firstUse) {
        std::fprintf(stderr,
            "dlayer: first connection to %s: its certificate's fingerprint is\n  %s\n"
            "dlayer: compare it with what 'dlayer serve' printed on the board; it is pinned from now on\n",
            o.agent.c_str(), (*c)->fingerprint().c_str());
        rememberFingerprint(o.agent, (*c)->fingerprint());
    }
    return std::move(c).value();
}

std::string kindOf(const std::string& model)
{
    const std::string ext = fs::path(model).extension().string();
    if (ext == ".onnx") return "onnx";
    if (ext == ".cfg") return "cfg";
    fail("'" + model + "': a board runs an ONNX file (.onnx) or a Darknet .cfg", 2);
}

std::function<void(uint64_t, uint64_t)> uploadPrinter(const std::string& what)
{
    if (!::isatty(STDERR_FILENO)) return {};
    return [what, last = -1](uint64_t done, uint64_t total) mutable {
        const int pct = total ? static_cast<int>(100 * done / total) : 100;
        if (pct / 5 == last / 5 && pct != 100) return;
        last = pct;
        std::fprintf(stderr, "\ruploading %s: %d%%", what.c_str(), pct);
        if (pct == 100) std::fprintf(stderr, "\n");
    };
}

} // namespace

int cmdRunRemote(const Options& o)
{
    if (!fs::exists(o.model)) fail("'" + o.model + "' does not exist");
    if (!o.record.empty()) checkRecordable(o.record);
    const std::string kind = kindOf(o.model);
    auto client = connectOrFail(o);
    auto modelSha = client->ensureFile(o.model, kind, uploadPrinter(fs::path(o.model).filename().string()));
    if (!modelSha.ok()) fail(modelSha.error().message);
    std::string weightsSha;
    if (!o.weights.empty()) {
        auto w = client->ensureFile(o.weights, "weights", uploadPrinter(fs::path(o.weights).filename().string()));
        if (!w.ok()) fail(w.error().message);
        weightsSha = *w;
    }
    RunSpec spec = specOf(o);
    spec.modelHash = weightsSha.empty() ? *modelSha : modelHash(*modelSha, weightsSha);
    if (spec.onlyInputShape) fail("with --agent, name the input: --shape NAME=DIMS", 2);
    Json request = runRequestToJson(spec, *modelSha, weightsSha);
    request["model_name"] = fs::path(o.model).filename().string();

    SessionOutcome out;
    RunCallbacks cb;
    const bool tty = ::isatty(STDERR_FILENO);
    cb.queued = [&](uint64_t run, int position) {
        if (position > 0)
            std::fprintf(stderr, "dlayer: run %llu waits on the board, %d ahead of it\n",
                static_cast<unsigned long long>(run), position);
    };
    cb.progress = progressPrinter(o.json || !tty);
    cb.started = [&](const RemoteSetup& s) { out.setup = s.setup; };
    auto outcome = client->run(request, cb);
    if (!outcome.ok()) fail(outcome.error().message);
    const Json& b = *outcome;
    const std::string status = field(b, "status", std::string("failed"));
    if (b.contains("report") && b["report"].is_object()) {
        auto r = reportFromJson(b["report"].dump());
        if (!r.ok()) fail("the agent's report does not read: " + r.error().message);
        out.report = std::move(r).value();
    }
    const std::string uuid = field(b, "uuid", std::string());
    if (!field(b, "store_error", std::string()).empty())
        std::fprintf(
            stderr, "dlayer: the board did not record the run: %s\n", field(b, "store_error", std::string()).c_str());
    // --record: the board's stored run into the local store too, under the same uuid.
    int64_t localId = 0;
    if (!o.record.empty() && !uuid.empty()) {
        auto text = client->fetchRun(uuid);
        if (!text.ok()) fail("fetching run " + uuid + " from the board: " + text.error().message);
        auto run = store::runFromJson(*text);
        if (!run.ok()) fail("the board's run " + uuid + " does not read: " + run.error().message);
        auto store = store::RunStore::open(o.record);
        if (!store.ok()) fail(store.error().message);
        auto id = (*store)->addRun(*run);
        if (!id.ok()) fail(id.error().message);
        localId = *id;
    }
    if (status != "ok") {
        if (!uuid.empty()) std::fprintf(stderr, "dlayer: the failed run is %s on the board\n", uuid.c_str());
        fail(field(b, "error", std::string()).empty() ? "the run was stopped" : field(b, "error", std::string()));
    }
    if (o.json) {
        Json j = Json::parse(reportToJson(out.report, -1));
        j["recorded"] = { { "agent", o.agent }, { "uuid", uuid }, { "run_id", field(b, "stored_id", int64_t(0)) } };
        if (localId) j["recorded"]["store"] = o.record, j["recorded"]["local_run_id"] = localId;
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("board     %s, run %s\n", o.agent.c_str(), uuid.c_str());
    printReport(out.report, out, localId, o.record);
    return 0;
}

int cmdRunsRemote(const Options& o)
{
    const auto& a = o.positional;
    if (a.empty()) fail("usage: dlayer runs --agent HOST:PORT list|export UUID [-o FILE]|sync DB [--json]", 2);
    const std::string what = a[0];
    auto want = [&](size_t n) {
        if (a.size() != n)
            fail("dlayer runs --agent HOST:PORT " + what + " takes " + std::to_string(n - 1) + " argument(s)", 2);
    };
    auto client = connectOrFail(o);
    if (what == "list") {
        want(1);
        auto list = client->listRuns();
        if (!list.ok()) fail(list.error().message);
        if (o.json) {
            std::printf("%s\n", Json({ { "runs", list->runs }, { "active", list->active } }).dump(2).c_str());
            return 0;
        }
        for (const auto& r : list->runs)
            std::printf("%s  %-9s  %-10s  %-24s  %10.3f ms\n", field(r, "uuid", std::string()).c_str(),
                field(r, "status", std::string()).c_str(), field(r, "arch", std::string()).c_str(),
                field(r, "model", std::string()).c_str(), field(r, "latency_median_ms", 0.0));
        for (const auto& r : list->active)
            std::printf("(%s)  run %llu  %s\n", field(r, "state", std::string()).c_str(),
                static_cast<unsigned long long>(field(r, "run", uint64_t(0))),
                field(r, "model", std::string()).c_str());
        return 0;
    }
    if (what == "export") {
        want(2);
        auto text = client->fetchRun(a[1]);
        if (!text.ok()) fail(text.error().message);
        if (o.output.empty()) {
            std::printf("%s\n", text->c_str());
            return 0;
        }
        std::ofstream f(o.output + ".tmp", std::ios::binary | std::ios::trunc);
        f << *text << "\n";
        f.close();
        std::error_code ec;
        if (!f || (fs::rename(o.output + ".tmp", o.output, ec), ec)) fail("cannot write '" + o.output + "'");
        return 0;
    }
    if (what == "sync") {
        want(2);
        auto store = store::RunStore::open(a[1]);
        if (!store.ok()) fail(store.error().message);
        auto list = client->listRuns();
        if (!list.ok()) fail(list.error().message);
        int fetched = 0, had = 0;
        for (const auto& r : list->runs) {
            const std::string uuid = field(r, "uuid", std::string());
            if (!store::isRunUuid(uuid)) continue;
            auto id = (*store)->runIdByUuid(uuid);
            if (!id.ok()) fail(id.error().message);
            if (*id) {
                ++had;
                continue;
            }
            auto text = client->fetchRun(uuid);
            if (!text.ok()) fail("fetching run " + uuid + ": " + text.error().message);
            auto run = store::runFromJson(*text);
            if (!run.ok()) fail("the board's run " + uuid + " does not read: " + run.error().message);
            if (auto added = (*store)->addRun(*run); !added.ok()) fail(added.error().message);
            ++fetched;
        }
        if (o.json)
            std::printf("%s\n", Json({ { "fetched", fetched }, { "already_there", had } }).dump().c_str());
        else
            std::printf(
                "fetched %d runs from %s into %s (%d already there)\n", fetched, o.agent.c_str(), a[1].c_str(), had);
        return 0;
    }
    fail("unknown 'runs --agent' command '" + what + "' (list, export, sync)", 2);
}

} // namespace dlcli
