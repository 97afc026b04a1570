// How fast the planner computes a frontier: optimize() at N budgets from the minimum to the whole model, on a
// cost model of L layers (mixed sizes and costs, read-heavy and compute-heavy stretches), per architecture.
//
//   build/bench/plan_bench [--layers 500] [--points 64] [--repeat 10]

#include "plan/planner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace dl;
using namespace dl::plan;

int main(int argc, char** argv)
{
    int layers = 500, points = 64, repeat = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const int v = std::max(1, std::atoi(argv[i + 1]));
        if (a == "--layers")
            layers = v;
        else if (a == "--points")
            points = std::max(2, v);
        else if (a == "--repeat")
            repeat = v;
        else {
            std::fprintf(stderr, "usage: plan_bench [--layers N] [--points N] [--repeat N]\n");
            return 2;
        }
    }
    CostModel m;
    for (int i = 0; i < layers; ++i) {
        // Sizes from 4 KiB to ~18 MiB, kernels from 0.05 to 12 ms: a YOLO-like spread.
        const uint64_t bytes = uint64_t(4096) * (1 + static_cast<uint64_t>((i * 7919) % 4500));
        const double kernel = 0.05 + 0.4 * ((i * 104729) % 30);
        m.layers.push_back({ "l" + std::to_string(i), i % 40 == 3 ? 0 : bytes, kernel, 0.0 });
    }
    m.diskBytesPerMs = 1.3e6;
    m.requestMs = 0.08;
    m.copyBytesPerMs = 6e6;
    m.pinnedBytes = 1 << 20;
    std::printf("Frontier of %d budgets on a %d-layer cost model (%.0f MiB of weights), median of %d, %u cores\n\n",
        points, layers, static_cast<double>(m.weightBytes()) / (1 << 20), repeat, std::thread::hardware_concurrency());
    std::printf("| arch | frontier ms | per budget ms |\n|---|---:|---:|\n");
    for (Arch arch : { Arch::TwoStage, Arch::Async, Arch::Sync, Arch::Sequential }) {
        std::vector<double> ms;
        for (int r = 0; r < repeat; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            auto f = frontier(m, arch, points);
            const auto t1 = std::chrono::steady_clock::now();
            if (!f.ok()) {
                std::fprintf(stderr, "plan_bench: %s\n", f.error().message.c_str());
                return 1;
            }
            ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        }
        std::sort(ms.begin(), ms.end());
        const double med = ms[ms.size() / 2];
        std::printf("| %s | %.1f | %.2f |\n", archName(arch), med, med / points);
    }
    return 0;
}
