// The run store's speed on a real SQLite file: storing a run of 500 layers and 10 000 trace events, reading it back,
// and listing a store of 10 000 runs.
//
//   build/bench/store_bench [--dir DIR] [--runs 10000] [--repeat 20] [--write docs/benchmarks.md]
//
// DIR (default: the current directory) should be on the disk the studio keeps its store on: every commit is
// fsynced (synchronous = FULL). Prints a table; with --write it replaces the section between
// "<!-- run-store:begin -->" and "<!-- run-store:end -->" in that file (appended when missing).

#include "runstore.h"

#include "benchreport.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace dl;
using namespace dl::store;

namespace {

Run bigRun(int layers, int events)
{
    Run r;
    r.model = { "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "big.onnx", "/models/big.onnx",
        250'000'000, layers };
    r.device = { "bench", "cpu", "bench CPU", "", 1500 };
    r.arch = "two-stage";
    r.configJson = R"({"arch":"two-stage","staging_bytes":8388608,"resident_layers":[0,1,2]})";
    r.startedMs = 1'700'000'000'000;
    r.finishedMs = r.startedMs + 5000;
    r.iterations = 10;
    r.latencyMedianMs = 160.8;
    r.reportJson = R"({"arch":"two-stage"})";
    for (int i = 0; i < layers; ++i)
        r.layers.push_back({ i, "conv_" + std::to_string(i), 1 << 20, 0.5, 0.0, 1.25, 0.01, false });
    for (int i = 0; i < 2000; ++i)
        r.samples.push_back({ 1000LL * i, { 1 << 20, 8 << 20, 90 << 20, 60 << 20 } });
    int64_t t = 0;
    for (int i = 0; i < events; ++i) {
        StoredEvent e;
        e.kind = i % 2 ? EventKind::End : EventKind::Begin;
        e.stage = static_cast<Stage>(i % 3);
        e.layer = i % layers;
        e.iteration = i / (2 * layers);
        t += 15000 + (i * 7919) % 20000;
        e.beginNs = t;
        e.endNs = e.kind == EventKind::End ? t + 250000 : 0;
        e.bytes = e.stage == Stage::Read ? 1 << 20 : 0;
        r.events.push_back(e);
    }
    return r;
}

Run smallRun(int k)
{
    Run r = bigRun(8, 16);
    r.samples.resize(10);
    r.model.hash = "model-" + std::to_string(k % 20);
    r.model.name = "model" + std::to_string(k % 20) + ".cfg";
    r.latencyMedianMs = 10 + k % 100;
    return r;
}

double ms(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b)
{
    return std::chrono::duration<double, std::milli>(b - a).count();
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

[[noreturn]] void die(const std::string& what)
{
    std::fprintf(stderr, "store_bench: %s\n", what.c_str());
    std::exit(1);
}

template <typename T> T check(Result<T> r, const char* what)
{
    if (!r.ok()) die(std::string(what) + ": " + r.error().message);
    return std::move(r).value();
}

} // namespace

int main(int argc, char** argv)
{
    std::string dir = ".", writeTo;
    int runs = 10000, repeat = 20;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die(a + " needs a value");
            return argv[++i];
        };
        if (a == "--dir")
            dir = value();
        else if (a == "--runs")
            runs = std::max(1, std::atoi(value().c_str()));
        else if (a == "--repeat")
            repeat = std::max(1, std::atoi(value().c_str()));
        else if (a == "--write")
            writeTo = value();
        else
            die("usage: store_bench [--dir DIR] [--runs N] [--repeat N] [--write FILE.md]");
    }
    const auto base = std::filesystem::path(dir) / ("store-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(base);
    struct Cleanup
    {
        std::filesystem::path p;
        ~Cleanup() { std::filesystem::remove_all(p); }
    } cleanup { base };

    // 1. A run of 500 layers and 10 000 events, stored and read back.
    auto store = check(RunStore::open((base / "big.db").string()), "open");
    const Run big = bigRun(500, 10000);
    std::vector<double> addMs, readMs;
    int64_t lastId = 0;
    for (int k = 0; k < repeat; ++k) {
        auto t0 = std::chrono::steady_clock::now();
        lastId = check(store->addRun(big), "add");
        auto t1 = std::chrono::steady_clock::now();
        auto back = check(store->run(lastId), "read");
        auto t2 = std::chrono::steady_clock::now();
        if (back.events.size() != big.events.size() || back.layers.size() != big.layers.size())
            die("a run came back different");
        addMs.push_back(ms(t0, t1));
        readMs.push_back(ms(t1, t2));
    }
    const auto bigBytes = std::filesystem::file_size(base / "big.db");
    store.reset();

    // 2. A store of `runs` runs, listed.
    auto many = check(RunStore::open((base / "many.db").string()), "open");
    auto f0 = std::chrono::steady_clock::now();
    for (int k = 0; k < runs; ++k)
        check(many->addRun(smallRun(k)), "add");
    auto f1 = std::chrono::steady_clock::now();
    std::vector<double> listMs;
    for (int k = 0; k < repeat; ++k) {
        auto t0 = std::chrono::steady_clock::now();
        auto list = check(many->listRuns(), "list");
        auto t1 = std::chrono::steady_clock::now();
        if (list.size() != static_cast<size_t>(runs)) die("the list lost runs");
        listMs.push_back(ms(t0, t1));
    }

    std::ostringstream t;
    char buf[512];
    t << "Machine: " << dlbench::machineDescription() << "; SQLite " << sqliteVersion()
      << ", WAL, synchronous = FULL; medians of " << repeat << ".\n";
    t << "Command: `build/bench/store_bench --runs " << runs << " --repeat " << repeat << "`\n\n";
    t << "| operation | median ms | min ms | max ms |\n|---|---:|---:|---:|\n";
    auto row = [&](const std::string& what, const std::vector<double>& v) {
        std::snprintf(buf, sizeof buf, "| %s | %.2f | %.2f | %.2f |\n", what.c_str(), median(v),
            *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
        t << buf;
    };
    row("store a run of 500 layers, 10 000 events, 2 000 memory samples (one transaction)", addMs);
    row("read that run back whole", readMs);
    row("list a store of " + std::to_string(runs) + " runs", listMs);
    std::snprintf(buf, sizeof buf,
        "\nThe 500-layer store holds %d such runs in %.1f MiB (%.1f KiB a run); filling the %d-run store took %.1f s "
        "(%.2f ms a run, each its own fsynced transaction).\n",
        repeat, static_cast<double>(bigBytes) / (1 << 20), static_cast<double>(bigBytes) / 1024 / repeat, runs,
        ms(f0, f1) / 1000, ms(f0, f1) / runs);
    t << buf;
    const std::string table = t.str();
    std::fputs(table.c_str(), stdout);

    if (!writeTo.empty() && !dlbench::writeSection(writeTo, "run-store", "Run store", table))
        die("cannot write " + writeTo);
    return 0;
}
