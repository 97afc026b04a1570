// The board agent's costs, measured against a real `dlayer serve` on loopback TLS (it starts its own, with a state
// directory under $TMPDIR):
//
//   1. overhead: inference latency with a client following every live batch, paired run by run (alternating which
//      goes first) with the same run and no live trace at all ("live": false), on YOLOv4-tiny and ResNet-152;
//   2. live latency: from an event's end on the agent to its decoding in the client (one machine, one steady clock);
//   3. a stalled client: connected and alive (heartbeats) but reading nothing while a run streams, for --stall-seconds:
//      the agent's RSS, and the iterations' latency before and during the stall;
//   4. upload: a large model (ISNet, 169 MB) uploaded to a fresh agent, MB/s; and again when it is there (hashing the
//      file here, then one round trip).
//
//   agent_bench [--dlayer PATH] [--pairs N] [--iterations N] [--stall-seconds S] [--upload FILE] [--only LIST]
//               [--write docs/benchmarks.md]

#include "benchreport.h"

#include "core/stats.h"
#include "remote/client.h"
#include "remote/credentials.h"
#include "remote/messages.h"
#include "remote/tls.h"
#include "session/session.h"
#include "trace/trace.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace dl;
using namespace dl::remote;
namespace fs = std::filesystem;

namespace {

[[noreturn]] void die(const std::string& m)
{
    std::fprintf(stderr, "agent_bench: %s\n", m.c_str());
    std::exit(1);
}

template <typename T> T check(Result<T> r, const std::string& what)
{
    if (!r.ok()) die(what + ": " + r.error().message);
    return std::move(r).value();
}

double nowMs()
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// `dlayer serve` as a child process; its pairing line from its standard output.
class AgentProcess
{
public:
    AgentProcess(const std::string& dlayer, const std::string& state)
    {
        int out[2];
        if (::pipe(out) != 0) die("pipe");
        m_pid = ::fork();
        if (m_pid == 0) {
            ::dup2(out[1], 1);
            const int devnull = ::open("/dev/null", O_WRONLY);
            ::dup2(devnull, 2);
            ::close(out[0]);
            ::execl(dlayer.c_str(), dlayer.c_str(), "serve", "--listen", "127.0.0.1:0", "--state", state.c_str(),
                static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(out[1]);
        std::string text;
        char buf[4096];
        while (text.find("listening on") == std::string::npos) {
            const ssize_t n = ::read(out[0], buf, sizeof buf);
            if (n <= 0) die("dlayer serve did not start (" + dlayer + ")");
            text.append(buf, static_cast<size_t>(n));
        }
        ::close(out[0]);
        const auto at = text.find("pair with: ");
        const std::string line = text.substr(at + 11, text.find('\n', at) - at - 11);
        m_pairing = check(parsePairingLine(line), "the pairing line");
        const auto l = text.find("listening on 127.0.0.1:");
        m_pairing.hostPort = "127.0.0.1:" + std::to_string(std::atoi(text.c_str() + l + 23));
    }
    ~AgentProcess()
    {
        ::kill(m_pid, SIGTERM);
        int status = 0;
        ::waitpid(m_pid, &status, 0);
    }
    std::unique_ptr<AgentClient> client(const std::string& name) const
    {
        return check(AgentClient::connect(m_pairing.hostPort, m_pairing.fingerprint, m_pairing.token, name), "connect");
    }
    const Pairing& pairing() const { return m_pairing; }
    // The agent's resident set (kB), from /proc.
    long rssKb() const
    {
        std::ifstream f("/proc/" + std::to_string(m_pid) + "/status");
        std::string key;
        long v = -1;
        while (f >> key)
            if (key == "VmRSS:") {
                f >> v;
                break;
            } else
                f.ignore(4096, '\n');
        return v;
    }

private:
    pid_t m_pid = -1;
    Pairing m_pairing;
};

Json request(const std::string& sha, const std::string& name, int iterations, bool live)
{
    RunSpec s;
    s.modelHash = sha;
    s.arch = Arch::TwoStage;
    s.warmup = 1;
    s.iterations = iterations;
    Json j = runRequestToJson(s);
    j["model_name"] = name;
    j["live"] = live;
    return j;
}

std::vector<double> latenciesOf(const Json& outcome)
{
    if (outcome.value("status", std::string()) != "ok") die("a run failed: " + outcome.value("error", std::string()));
    return outcome["report"]["latencies_ms"].get<std::vector<double>>();
}

struct Table
{
    std::ostringstream md;
};

std::string fmt(const char* f, double v)
{
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

} // namespace

int main(int argc, char** argv)
{
    std::string dlayer = DL_DLAYER, writeTo, upload, only = "overhead,latency,stall,upload";
    const char* home = std::getenv("HOME");
    upload = std::string(home ? home : ".") + "/.cache/demand-layering/models/isnet.onnx";
    int pairs = 8, iterations = 20, stallSeconds = 60;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die(a + " needs a value");
            return argv[++i];
        };
        if (a == "--dlayer")
            dlayer = value();
        else if (a == "--pairs")
            pairs = std::max(2, std::atoi(value().c_str()));
        else if (a == "--iterations")
            iterations = std::max(3, std::atoi(value().c_str()));
        else if (a == "--stall-seconds")
            stallSeconds = std::max(5, std::atoi(value().c_str()));
        else if (a == "--upload")
            upload = value();
        else if (a == "--only")
            only = value();
        else if (a == "--write")
            writeTo = value();
        else
            die("usage: agent_bench [--dlayer PATH] [--pairs N] [--iterations N] [--stall-seconds S] [--upload FILE] "
                "[--only overhead,latency,stall,upload] [--write FILE.md]");
    }
    const char* tmp = std::getenv("TMPDIR");
    const fs::path base = fs::path(tmp ? tmp : "/tmp") / ("agent-bench-" + std::to_string(::getpid()));
    fs::create_directories(base);
    struct Cleanup
    {
        fs::path p;
        ~Cleanup() { fs::remove_all(p); }
    } cleanup { base };

    std::ostringstream md;
    md << "Machine: " << dlbench::machineDescription() << "; agent and client on one machine, TLS 1.3 on loopback. "
       << "Command: `build/bench/agent_bench";
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) != "--write")
            md << " " << argv[i];
        else
            ++i;
    md << "`.\n\n";

    const bool wantOverhead = only.find("overhead") != std::string::npos;
    const bool wantLatency = only.find("latency") != std::string::npos;
    if (wantOverhead || wantLatency) {
        AgentProcess agent(dlayer, (base / "state").string());
        auto c = agent.client("agent_bench");
        std::vector<double> live; // event end → decoded, ms
        md << "| model | pairs × iterations | median, no live trace | median, a client following every batch | "
              "overhead per pair: median [quartiles] | batches | events followed "
              "|\n|---|---:|---:|---:|---:|---:|---:|\n";
        for (const char* model : { "yolov4-tiny.cfg", "resnet152.cfg" }) {
            const std::string path = std::string(DL_SOURCE_DIR "/resources/models/darknet/") + model;
            const std::string sha = check(c->ensureFile(path, "cfg"), "upload");
            (void)check(c->run(request(sha, model, 2, false), {}), "warm-up run"); // packs the model
            std::vector<double> overhead, quiet, followed;
            size_t batches = 0, events = 0;
            for (int p = 0; p < pairs; ++p) {
                double a = 0, b = 0;
                for (int k = 0; k < 2; ++k) {
                    const bool follow = (k == 0) == (p % 2 == 0); // alternate which goes first
                    RunCallbacks cb;
                    if (follow)
                        cb.events = [&](LiveBatch&& batch) {
                            const int64_t now = traceClockNs();
                            ++batches;
                            events += batch.events.size();
                            for (const auto& e : batch.events)
                                if (e.kind == EventKind::End) live.push_back(double(now - e.endNs) / 1e6);
                        };
                    const auto lat = latenciesOf(check(c->run(request(sha, model, iterations, follow), cb), "run"));
                    (follow ? a : b) = median(lat);
                }
                followed.push_back(a);
                quiet.push_back(b);
                overhead.push_back((a / b - 1) * 100);
                std::fprintf(
                    stderr, "%s pair %d: followed %.3f ms, quiet %.3f ms, %+.2f %%\n", model, p, a, b, overhead.back());
            }
            md << "| " << model << " | " << pairs << " × " << iterations << " | " << fmt("%.2f ms", median(quiet))
               << " | " << fmt("%.2f ms", median(followed)) << " | " << fmt("%+.2f %%", median(overhead)) << " ["
               << fmt("%+.2f", quantile(overhead, 0.25)) << ", " << fmt("%+.2f", quantile(overhead, 0.75)) << "] | "
               << batches << " | " << events << " |\n";
        }
        if (!live.empty())
            md << "\nLive latency, an event's end on the agent to its decoding in the client, over " << live.size()
               << " events: p50 " << fmt("%.1f ms", quantile(live, 0.5)) << ", p99 "
               << fmt("%.1f ms", quantile(live, 0.99)) << ", max "
               << fmt("%.1f ms", *std::max_element(live.begin(), live.end()))
               << " (batches go at most every 33 ms and only once the client has read the previous one).\n";
    }

    if (only.find("stall") != std::string::npos) {
        AgentProcess agent(dlayer, (base / "stall-state").string());
        auto follower = agent.client("follower");
        const std::string path = DL_SOURCE_DIR "/resources/models/darknet/yolov4-tiny.cfg";
        const std::string sha = check(follower->ensureFile(path, "cfg"), "upload");
        (void)check(follower->run(request(sha, "yolov4-tiny.cfg", 2, false), {}), "warm-up run");
        // One long run, followed throughout; the stalled client joins after a baseline and reads nothing.
        std::vector<std::pair<double, double>> lat; // (ms since start, latency)
        std::vector<std::pair<double, long>> rss;
        const double t0 = nowMs();
        std::atomic<bool> stop { false };
        double stallFrom = 0, stallTo = 0;
        std::unique_ptr<TlsConnection> stalled;
        std::thread beats;
        std::atomic<bool> beating { true };
        RunCallbacks cb;
        cb.events = [&](LiveBatch&& b) {
            const double t = nowMs() - t0;
            for (const auto& [it, ms] : b.latencies)
                lat.emplace_back(t, ms);
            if (rss.empty() || t - rss.back().first > 1000) rss.emplace_back(t, agent.rssKb());
            if (!stalled && t > 15000) {
                // The stalled client: authenticated, watching the run, heartbeats only, never a read.
                stalled = check(connectTls(agent.pairing().hostPort, agent.pairing().fingerprint, 5000), "stall");
                (void)check(clientHandshake(*stalled, agent.pairing().token, "stalled", 5000), "stall handshake");
                (void)stalled->send(MessageType::Watch, Json::object());
                stallFrom = t;
                beats = std::thread([&] {
                    while (beating) {
                        if (!stalled->send(MessageType::Heartbeat, Json::object()).ok()) break;
                        std::this_thread::sleep_for(std::chrono::milliseconds(300));
                    }
                });
            }
            if (stalled && !stallTo && t > stallFrom + stallSeconds * 1000.0) {
                stallTo = t;
                stop = true;
            }
        };
        (void)follower->run(request(sha, "yolov4-tiny.cfg", 1000000, true), cb, &stop);
        beating = false;
        if (beats.joinable()) beats.join();
        std::vector<double> before, during;
        for (const auto& [t, ms] : lat)
            (t < stallFrom ? before : during).push_back(ms);
        long rssBefore = 0, rssMax = 0;
        for (const auto& [t, kb] : rss) {
            if (t < stallFrom)
                rssBefore = kb;
            else
                rssMax = std::max(rssMax, kb);
        }
        md << "\nA client stalled for " << stallSeconds
           << " s (connected and alive, watching a YOLOv4-tiny run, reading nothing): the agent's RSS "
           << rssBefore / 1024 << " MiB before, at most " << rssMax / 1024 << " MiB during (+"
           << (rssMax - rssBefore) / 1024 << " MiB); the run's latency median " << fmt("%.2f ms", median(before))
           << " over " << before.size() << " iterations before, " << fmt("%.2f ms", median(during)) << " over "
           << during.size() << " during (" << fmt("%+.2f %%", (median(during) / median(before) - 1) * 100) << ").\n";
    }

    if (only.find("upload") != std::string::npos && fs::exists(upload)) {
        AgentProcess agent(dlayer, (base / "upload-state").string());
        auto c = agent.client("uploader");
        const double bytes = static_cast<double>(fs::file_size(upload));
        double t = nowMs();
        (void)check(c->ensureFile(upload, "onnx"), "upload");
        const double firstMs = nowMs() - t;
        t = nowMs();
        const std::string sha = check(sha256OfFile(upload), "hash"); // the file now in the page cache, as below
        const double hashMs = nowMs() - t;
        t = nowMs();
        (void)check(c->ensureFile(upload, "onnx"), "second upload");
        const double secondMs = nowMs() - t;
        t = nowMs();
        (void)check(c->modelState(sha), "has-model");
        const double roundTripMs = nowMs() - t;
        md << "\nUpload of " << fs::path(upload).filename().string() << " (" << fmt("%.0f MB", bytes / 1e6)
           << ") to a fresh agent: " << fmt("%.2f s", firstMs / 1e3) << ", "
           << fmt("%.0f MB/s", bytes / 1e6 / (firstMs / 1e3))
           << " (hashing here, 4 MiB chunks four in flight, the agent writing and checking the sha256). Again, "
           << "already there: " << fmt("%.0f ms", secondMs) << ", of which " << fmt("%.0f ms", hashMs)
           << " hash the file here and one has-model round trip takes " << fmt("%.2f ms", roundTripMs) << ".\n";
    }

    std::printf("%s", md.str().c_str());
    if (!writeTo.empty() && !dlbench::writeSection(writeTo, "agent", "The board agent", md.str()))
        die("cannot write " + writeTo);
    return 0;
}
