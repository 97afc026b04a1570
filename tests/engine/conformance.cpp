// Runs the ONNX conformance cases shipped by Debian's libonnx-testdata against the engine and compares with
// the shipped outputs. Each case runs in a forked child so that a crash or a hang fails that case only.
//
//   dl_conformance [--root DIR] [--filter SUBSTRING] [--verbose] [--min-pass N] [--list-skipped]
//
// A case is skipped when it uses an op the engine does not implement, or when a kernel reports the case's
// type or attribute variant as unsupported; every other problem (wrong numbers, planner errors, crashes) fails.

#include "backend/cpu/kernel.h"
#include "model/importer.h"
#include "runtime/executor.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace dl;

namespace {

enum class Outcome { Pass = 0, Fail = 1, Skip = 2 };

struct CaseResult
{
    Outcome outcome = Outcome::Fail;
    std::string reason;
};

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-5;

bool isFloat(DType t)
{
    return t == DType::F32 || t == DType::F64 || t == DType::F16;
}

std::string compare(const Tensor& got, const Tensor& want, const std::string& name)
{
    if (got.shape() != want.shape())
        return "output '" + name + "': shape " + shapeToString(got.shape()) + ", expected "
            + shapeToString(want.shape());
    if (isFloat(want.dtype()) != isFloat(got.dtype()) || (!isFloat(want.dtype()) && got.dtype() != want.dtype()))
        return "output '" + name + "': type " + dtypeName(got.dtype()) + ", expected " + dtypeName(want.dtype());
    const auto a = got.toDouble();
    const auto b = want.toDouble();
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(b[i]) && std::isnan(a[i])) continue;
        if (std::isinf(b[i]) && a[i] == b[i]) continue;
        const double tol = isFloat(want.dtype()) ? kAtol + kRtol * std::fabs(b[i]) : 0.0;
        if (!(std::fabs(a[i] - b[i]) <= tol)) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "output '%s'[%zu] = %.9g, expected %.9g", name.c_str(), i, a[i], b[i]);
            return buf;
        }
    }
    return {};
}

CaseResult runCase(const fs::path& dir)
{
    auto g = importOnnx((dir / "model.onnx").string());
    if (!g.ok())
        return { g.error().code == ErrorCode::Unsupported ? Outcome::Skip : Outcome::Fail,
            "import: " + g.error().message };
    for (const auto& n : g->nodes)
        if ((!n.domain.empty() && n.domain != "ai.onnx") || !cpu::OpRegistry::instance().find(n.opType))
            return { Outcome::Skip, "op " + n.opType + (n.domain.empty() ? "" : " (" + n.domain + ")") };
    auto knownType = [](DType t) { return t != DType::String && dtypeSize(t) > 0; };
    for (const auto& v : g->inputs)
        if (v.dtype != DType::Undefined && !knownType(v.dtype))
            return { Outcome::Skip, "type: input '" + v.name + "' has element type " + std::to_string(int(v.dtype)) };
    for (const auto& v : g->outputs)
        if (v.dtype != DType::Undefined && !knownType(v.dtype))
            return { Outcome::Skip, "type: output '" + v.name + "' has element type " + std::to_string(int(v.dtype)) };
    std::vector<fs::path> sets;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
    std::sort(sets.begin(), sets.end());
    if (sets.empty()) return { Outcome::Skip, "no test data set" };
    for (const auto& set : sets) {
        std::vector<Tensor> inputs;
        std::map<std::string, Shape> shapes;
        for (size_t i = 0; i < g->inputs.size(); ++i) {
            auto t = readTensorProtoFile((set / ("input_" + std::to_string(i) + ".pb")).string());
            if (!t.ok()) return { Outcome::Skip, "type: input " + std::to_string(i) + ": " + t.error().message };
            shapes[g->inputs[i].name] = t->shape();
            inputs.push_back(std::move(t).value());
        }
        auto exec = Executor::create(*g, shapes);
        if (!exec.ok() && exec.error().code == ErrorCode::Unsupported) {
            // Conformance models pass axes, shapes and sizes as graph inputs; real models have them as
            // constants. Freeze the integer inputs at plan time and try again.
            ExecutorOptions frozen;
            for (size_t i = 0; i < inputs.size(); ++i)
                if (!inputs[i].toInt64().empty() && inputs[i].dtype() != DType::Bool)
                    frozen.frozenInputs[g->inputs[i].name] = inputs[i];
            if (!frozen.frozenInputs.empty()) exec = Executor::create(*g, shapes, frozen);
            // Resize scales, Range bounds and the like are float inputs: freeze every input as a last resort
            // (the kernels then run at plan time, still compared with the shipped outputs).
            if (!exec.ok() && exec.error().code == ErrorCode::Unsupported) {
                for (size_t i = 0; i < inputs.size(); ++i)
                    frozen.frozenInputs[g->inputs[i].name] = inputs[i];
                exec = Executor::create(*g, shapes, frozen);
            }
        }
        if (!exec.ok())
            return { exec.error().code == ErrorCode::Unsupported ? Outcome::Skip : Outcome::Fail,
                "plan: " + exec.error().message };
        // Inputs declared with another type than the data file (rare) are converted to the planned type.
        for (size_t i = 0; i < inputs.size(); ++i) {
            const auto& v = (*exec)->values()[(*exec)->valueId(g->inputs[i].name)];
            if (inputs[i].dtype() != v.dtype) inputs[i] = inputs[i].cast(v.dtype);
        }
        auto outs = (*exec)->run(inputs);
        if (!outs.ok())
            return { outs.error().code == ErrorCode::Unsupported ? Outcome::Skip : Outcome::Fail,
                "run: " + outs.error().message };
        for (size_t o = 0; o < g->outputs.size(); ++o) {
            auto want = readTensorProtoFile((set / ("output_" + std::to_string(o) + ".pb")).string());
            if (!want.ok()) return { Outcome::Skip, "type: output " + std::to_string(o) + ": " + want.error().message };
            std::string diff = compare((*outs)[o], *want, g->outputs[o].name);
            if (!diff.empty()) return { Outcome::Fail, set.filename().string() + ": " + diff };
        }
    }
    return { Outcome::Pass, {} };
}

// Runs one case in a child process; a crash, a hang (120 s) or a non-zero exit is a failure.
CaseResult runIsolated(const fs::path& dir)
{
    int fds[2];
    if (pipe(fds) != 0) return { Outcome::Fail, "pipe failed" };
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        alarm(120);
        CaseResult r = runCase(dir);
        std::string msg = std::to_string(static_cast<int>(r.outcome)) + "\n" + r.reason;
        size_t off = 0;
        while (off < msg.size()) {
            ssize_t w = write(fds[1], msg.data() + off, msg.size() - off);
            if (w <= 0) break;
            off += static_cast<size_t>(w);
        }
        close(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    std::string msg;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0)
        msg.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) return { Outcome::Fail, std::string("crashed: ") + strsignal(WTERMSIG(status)) };
    const auto nl = msg.find('\n');
    if (nl == std::string::npos) return { Outcome::Fail, "no result from the child process" };
    return { static_cast<Outcome>(std::stoi(msg.substr(0, nl))), msg.substr(nl + 1) };
}

} // namespace

int main(int argc, char** argv)
{
    std::string root = "/usr/share/libonnx-testdata/data";
    std::string filter;
    bool verbose = false;
    bool listSkipped = false;
    long minPass = 0;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--root" && i + 1 < argc)
            root = argv[++i];
        else if (a == "--filter" && i + 1 < argc)
            filter = argv[++i];
        else if (a == "--min-pass" && i + 1 < argc)
            minPass = std::stol(argv[++i]);
        else if (a == "--verbose")
            verbose = true;
        else if (a == "--list-skipped")
            listSkipped = true;
        else {
            std::fprintf(stderr,
                "usage: %s [--root DIR] [--filter SUBSTRING] [--verbose] [--list-skipped] [--min-pass N]\n", argv[0]);
            return 2;
        }
    }
    std::vector<fs::path> cases;
    for (const char* group : { "node", "pytorch-converted", "pytorch-operator", "simple" }) {
        const fs::path dir = fs::path(root) / group;
        if (!fs::is_directory(dir)) {
            std::fprintf(stderr, "missing %s: install Debian's libonnx-testdata\n", dir.c_str());
            return 2;
        }
        for (const auto& e : fs::directory_iterator(dir))
            if (e.is_directory() && fs::exists(e.path() / "model.onnx")
                && (filter.empty() || e.path().string().find(filter) != std::string::npos))
                cases.push_back(e.path());
    }
    std::sort(cases.begin(), cases.end());

    int passed = 0, failed = 0, skipped = 0;
    std::map<std::string, std::vector<std::string>> skipsByReason;
    std::vector<std::string> failures;
    for (const auto& c : cases) {
        const std::string name = c.parent_path().filename().string() + "/" + c.filename().string();
        CaseResult r = runIsolated(c);
        switch (r.outcome) {
        case Outcome::Pass:
            ++passed;
            if (verbose) std::printf("PASS %s\n", name.c_str());
            break;
        case Outcome::Fail:
            ++failed;
            failures.push_back(name + ": " + r.reason);
            std::printf("FAIL %s: %s\n", name.c_str(), r.reason.c_str());
            break;
        case Outcome::Skip: {
            ++skipped;
            // Group unimplemented ops by name; other reasons (types, attribute variants) by their message.
            std::string key = r.reason.rfind("op ", 0) == 0 ? r.reason : "unsupported variant";
            skipsByReason[key].push_back(name + (key == r.reason ? "" : ": " + r.reason));
            if (verbose) std::printf("SKIP %s: %s\n", name.c_str(), r.reason.c_str());
            break;
        }
        }
        std::fflush(stdout);
    }
    std::printf("\nSkipped cases by reason:\n");
    for (const auto& [reason, list] : skipsByReason) {
        std::printf("  %-40s %zu\n", reason.c_str(), list.size());
        if (listSkipped || reason == "unsupported variant")
            for (const auto& s : list)
                std::printf("      %s\n", s.c_str());
    }
    if (!failures.empty()) {
        std::printf("\nFailed cases:\n");
        for (const auto& f : failures)
            std::printf("  %s\n", f.c_str());
    }
    std::printf("\n%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    if (failed > 0) return 1;
    if (passed < minPass) {
        std::printf("fewer than the required %ld cases passed\n", minPass);
        return 1;
    }
    return 0;
}
