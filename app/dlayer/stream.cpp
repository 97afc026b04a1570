// dlayer pack, and dlayer run with --arch: the weights stream from a layer pack through a pipeline architecture.

#include "cli.h"
#include "record.h"

#include "core/largepages.h"
#include "core/procstat.h"
#include "core/sha256.h"
#include "io/weightreader.h"
#include "memory/ledger.h"
#include "model/importer.h"
#include "pack/layerpack.h"
#include "pack/packcache.h"
#include "pipeline/pipeline.h"
#include "plan/budget.h"
#include "plan/config.h"
#include "runtime/executor.h"
#include "trace/chrometrace.h"
#include "trace/trace.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <malloc.h>
#include <memory>
#include <optional>
#include <sys/wait.h>
#include <unistd.h>

using namespace dl;

namespace dlcli {

namespace {

// What --paired-disk's pass reads into, round robin (see where it is allocated).
constexpr size_t kPassBufferBytes = size_t(64) << 20;

// The model, its plan and where it came from; for a .dlpack argument, re-planned from the pack's source.
struct Planned
{
    std::unique_ptr<Executor> exec;
    PackSource source;
    std::map<std::string, Tensor> fileInputs;
    std::string explicitPack; // the .dlpack given on the command line
};

Planned planModel(const Options& given)
{
    Options o = given;
    Planned p;
    std::optional<PackInfo> packed;
    if (isLayerPack(o.model)) {
        auto info = readLayerPack(o.model);
        if (!info.ok()) fail(info.error().message);
        p.explicitPack = o.model;
        const PackSource& src = info->source;
        if (!std::filesystem::exists(src.modelPath))
            fail("the pack '" + o.model + "' was made from '" + src.modelPath + "', which no longer exists");
        o.model = src.modelPath;
        o.weights = src.weightsPath;
        for (const auto& [name, shape] : o.shapes)
            if (src.inputShapes.count(name) && src.inputShapes.at(name) != shape)
                fail("the pack '" + p.explicitPack + "' was made for " + name + "="
                    + shapeToString(src.inputShapes.at(name)) + ", not " + shapeToString(shape)
                    + ": pack again with that shape");
        if (!o.unnamedShape.empty()) fail("a pack fixes its input shapes: name the input with --shape NAME=DIMS", 2);
        o.shapes = src.inputShapes;
        packed = std::move(info).value();
    }
    // The split: the pack's own, else --split, else what a --budget asks for.
    size_t split = o.split;
    if (packed) {
        if (o.hasSplit && o.split != packed->source.splitBytes)
            fail("the pack '" + p.explicitPack + "' was made with "
                    + (packed->source.splitBytes ? "--split " + std::to_string(packed->source.splitBytes)
                                                 : std::string("no --split"))
                    + ": pack again to change it",
                2);
        split = packed->source.splitBytes;
    } else if (!o.hasSplit && o.hasBudget && !o.arch.empty()) {
        split = splitForBudget(*parseArch(o.arch), o.budget);
    }
    if (!std::filesystem::exists(o.model)) fail("'" + o.model + "' does not exist");
    Graph g = importOrFail(o);
    auto shapes = inputShapes(o, g, p.fileInputs);
    ExecutorOptions eo;
    eo.threads = o.threads;
    eo.splitBytes = split;
    auto exec = Executor::create(g, shapes, eo);
    if (!exec.ok()) fail(exec.error().message);
    p.exec = std::move(exec).value();

    const Precision precision = packed ? packed->source.precision
        : o.precision.empty()          ? defaultPrecision(g)
                                       : *parsePrecision(o.precision);
    auto described = describePackSource(*p.exec, o.model, o.weights, split, precision);
    if (!described.ok()) fail(described.error().message);
    p.source = std::move(described).value();
    const PackSource& s = p.source;
    if (packed && packed->key != planKey(s))
        fail("the pack '" + p.explicitPack + "' no longer matches its model '" + s.modelPath
            + "' (the model, its weights or this engine build changed) — re-pack the model (dlayer pack MODEL -o "
            + p.explicitPack + ")");
    return p;
}

// Prints packing progress to stderr every tenth of the layers.
std::function<void(size_t, size_t)> packingProgress(const std::string& path)
{
    return [path, lastPct = size_t(101)](size_t done, size_t total) mutable {
        if (total == 0) return;
        const size_t pct = done * 100 / total;
        if (pct / 10 != lastPct / 10 || done == total) {
            std::fprintf(stderr, "\rpacking %s: %zu/%zu layers", path.c_str(), done, total);
            if (done == total) std::fprintf(stderr, "\n");
            lastPct = pct;
        }
    };
}

void writePack(const std::string& path, const Executor& exec, const PackSource& source)
{
    std::error_code ec;
    auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) fail("cannot create '" + dir.string() + "': " + ec.message());
    auto st = writeLayerPack(path, exec, source, packingProgress(path));
    if (!st.ok()) fail(st.error().message);
}

} // namespace

int cmdPack(const Options& o)
{
    Planned p = planModel(o);
    writePack(o.output, *p.exec, p.source);
    auto info = readLayerPack(o.output);
    if (!info.ok()) fail(info.error().message);
    if (o.json) {
        json j = { { "pack", o.output }, { "key", info->key }, { "layers", info->layers.size() },
            { "weight_bytes", info->weightBytes() }, { "file_bytes", info->fileBytes },
            { "largest_layer_bytes", info->largestLayer() }, { "split_bytes", p.source.splitBytes },
            { "precision", precisionName(info->source.precision) }, { "bound_weight_bytes", info->boundWeightBytes() },
            { "layers_split", p.exec->split().layersSplit } };
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("pack      %s\nlayers    %zu, weights %s (%s), largest layer %s, file %s\n", o.output.c_str(),
        info->layers.size(), humanBytes(static_cast<double>(info->weightBytes())).c_str(),
        precisionName(info->source.precision), humanBytes(static_cast<double>(info->largestLayer())).c_str(),
        humanBytes(static_cast<double>(info->fileBytes)).c_str());
    return 0;
}

} // namespace dlcli
