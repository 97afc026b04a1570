#include "plan/planner.h"

#include "core/align.h"
#include "plan/budget.h"

#include "pack/layerpack.h"
#include "pipeline/staging.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <numeric>
#include <string_view>
#include <unordered_map>

namespace dl::plan {

namespace {

constexpr int kIterations = 3; // simulated back to back; the last one is the prediction

uint64_t packAligned(uint64_t v)
{
    return alignUp(v, kPackAlignment);
}

struct Layout
{
    std::vector<bool> resident;
    std::vector<int> streamed; // layer indices, in order
    uint64_t largest = 0; // largest streamed layer, as read
    uint64_t widened = 0; // largest streamed layer that widens, where the kernels read it; 0: none widens
    uint64_t residentBytes = 0; // + pinned
};

Result<Layout> layout(const CostModel& m, const Configuration& c)
{
    Layout l;
    const size_t n = m.layers.size();
    l.resident.assign(n, c.arch == Arch::Preload);
    for (int r : c.resident) {
        if (r < 0 || static_cast<size_t>(r) >= n)
            return invalid("resident layer " + std::to_string(r) + " does not exist (the model has " + std::to_string(n)
                + " layers)");
        l.resident[static_cast<size_t>(r)] = true;
    }
    l.residentBytes = m.pinnedBytes;
    for (size_t i = 0; i < n; ++i) {
        if (l.resident[i]) {
            l.residentBytes += m.layers[i].bound();
        } else if (m.layers[i].bytes > 0) {
            l.streamed.push_back(static_cast<int>(i));
            l.largest = std::max(l.largest, m.layers[i].bytes);
            if (m.layers[i].widens()) l.widened = std::max(l.widened, m.layers[i].bound());
        }
    }
    return l;
}

// The ring size async and two-stage run with (Pipeline::setup()), 0 when nothing streams.
Result<uint64_t> ringBytes(const Configuration& c, const Layout& l)
{
    if (l.streamed.empty()) return uint64_t(0);
    const uint64_t ring = packAligned(c.stagingBytes ? c.stagingBytes : l.largest);
    if (ring < l.largest)
        return invalid("a staging size of " + std::to_string(c.stagingBytes)
            + " bytes cannot hold the largest streamed layer: at least " + std::to_string(l.largest)
            + " bytes are needed");
    return ring;
}

// All staging buffers together, as Pipeline::setup() allocates them (plan/budget.h).
uint64_t stagingOf(Arch arch, uint64_t ring, uint64_t largest, uint64_t widened)
{
    return stagingBuffers(arch, ring, largest, widened).total();
}

struct Timing
{
    double latencyMs = 0;
    double stallMs = 0;
};

// Two-stage and async: rings, a disk served in order, a copy stage (async), kernels in layer order.
Result<Timing> simulateFifo(const CostModel& m, const Layout& l, uint64_t ring, bool async, double kernelScale)
{
    const size_t n = m.layers.size();
    const size_t perIter = l.streamed.size();
    const size_t items = perIter * kIterations;
    std::vector<int> itemOfLayer(n, -1);
    for (size_t s = 0; s < perIter; ++s)
        itemOfLayer[static_cast<size_t>(l.streamed[s])] = static_cast<int>(s);
    auto itemLayer
        = [&](size_t item) -> const LayerCost& { return m.layers[static_cast<size_t>(l.streamed[item % perIter])]; };
    auto itemBytes = [&](size_t item) { return itemLayer(item).bytes; };

    // As Pipeline::setup() sizes them: async's device ring holds the widened layers (twice the host ring).
    StagingRing host(ring, 0), device(async ? (l.widened ? 2 * ring : ring) : 0, 0);
    std::deque<double> hostRelease, deviceRelease; // times, in ring order
    double hostRoomAt = 0, deviceRoomAt = 0;
    std::vector<double> readEnd(items), copyEnd(async ? items : 0);
    size_t read = 0, copied = 0, step = 0;
    const size_t steps = n * kIterations;
    double diskFree = 0, copyFree = 0, kernelEnd = 0;
    bool diskUsed = false;
    const double diskRate = m.diskBytesPerMs * m.contention.readFactor;
    Timing t;
    std::vector<double> iterationEnd(kIterations, 0);
    while (step < steps) {
        bool progress = false;
        while (read < items) {
            if (host.tryAcquire(itemBytes(read))) {
                const double start = std::max(diskFree, hostRoomAt);
                // An idle disk pays its request latency; one kept busy hides it behind the queue.
                const bool idle = !diskUsed || start > diskFree + 1e-9;
                readEnd[read] = start + static_cast<double>(itemBytes(read)) / diskRate + (idle ? m.requestMs : 0.0);
                diskFree = readEnd[read];
                diskUsed = true;
                ++read;
                progress = true;
            } else if (!hostRelease.empty()) {
                host.release();
                hostRoomAt = std::max(hostRoomAt, hostRelease.front());
                hostRelease.pop_front();
                progress = true;
            } else {
                break;
            }
        }
        while (async && copied < read) {
            if (device.tryAcquire(itemLayer(copied).bound())) {
                const double start = std::max({ copyFree, readEnd[copied], deviceRoomAt });
                copyEnd[copied] = start + m.copyMs(static_cast<size_t>(l.streamed[copied % perIter]));
                copyFree = copyEnd[copied];
                hostRelease.push_back(copyEnd[copied]);
                ++copied;
                progress = true;
            } else if (!deviceRelease.empty()) {
                device.release();
                deviceRoomAt = std::max(deviceRoomAt, deviceRelease.front());
                deviceRelease.pop_front();
                progress = true;
            } else {
                break;
            }
        }
        while (step < steps) {
            const size_t layer = step % n;
            const int iteration = static_cast<int>(step / n);
            const int s = itemOfLayer[layer];
            double ready = kernelEnd;
            if (s >= 0) {
                const size_t item = static_cast<size_t>(iteration) * perIter + static_cast<size_t>(s);
                if (async ? item >= copied : item >= read) break;
                ready = async ? copyEnd[item] : readEnd[item];
            }
            const double start = std::max(kernelEnd, ready);
            if (iteration == kIterations - 1) t.stallMs += start - kernelEnd;
            // Two-stage widens a layer of an fp16 pack in its kernel stage, before the layer's kernels.
            const double widen = !async && s >= 0 && m.layers[layer].widens() ? m.copyMs(layer) : 0.0;
            kernelEnd = start + widen + m.layers[layer].kernelMs * kernelScale;
            if (s >= 0) (async ? deviceRelease : hostRelease).push_back(kernelEnd);
            if (layer == n - 1) iterationEnd[static_cast<size_t>(iteration)] = kernelEnd;
            ++step;
            progress = true;
        }
        if (!progress) return makeError(ErrorCode::Internal, "the pipeline simulation stopped making progress");
    }
    t.latencyMs = iterationEnd[kIterations - 1] - iterationEnd[kIterations - 2];
    return t;
}

// Sync: read, copy and kernel stages advance together, a cycle per streamed layer: in cycle c the reader reads
// layer c, the copy stage copies c − 1 and the kernels run c − 2 (with the layers before it that stream nothing); a
// cycle lasts as long as its slowest stage.
Timing simulateSync(const CostModel& m, const Layout& l, double kernelScale)
{
    const size_t n = m.layers.size(), s = l.streamed.size();
    std::vector<double> segment(s, 0.0); // kernels from after the previous streamed layer up to this one
    double tail = 0; // kernels after the last streamed layer
    size_t k = 0;
    for (size_t i = 0; i < n; ++i) {
        if (k < s && static_cast<size_t>(l.streamed[k]) == i) {
            segment[k] += m.layers[i].kernelMs * kernelScale;
            ++k;
        } else if (k < s) {
            segment[k] += m.layers[i].kernelMs * kernelScale;
        } else {
            tail += m.layers[i].kernelMs * kernelScale;
        }
    }
    // The tail rides with the first segment of the next iteration in steady state.
    segment[0] += tail;
    const double diskRate = m.diskBytesPerMs * m.contention.readFactor;
    Timing t;
    for (size_t c = 0; c < s; ++c) {
        const size_t r = c, cp = (c + s - 1) % s, kk = (c + s - 2) % s;
        const uint64_t bytes = m.layers[static_cast<size_t>(l.streamed[r])].bytes;
        const double read = bytes ? m.requestMs + static_cast<double>(bytes) / diskRate : 0.0;
        const double copy = m.copyMs(static_cast<size_t>(l.streamed[cp]));
        const double cycle = std::max({ read, copy, segment[kk] });
        t.latencyMs += cycle;
        t.stallMs += cycle - segment[kk];
    }
    return t;
}

} // namespace

uint64_t CostModel::weightBytes() const
{
    uint64_t sum = 0;
    for (const auto& l : layers)
        sum += l.bound();
    return sum;
}

uint64_t CostModel::readBytes() const
{
    uint64_t sum = 0;
    for (const auto& l : layers)
        sum += l.bytes;
    return sum;
}

bool CostModel::widens() const
{
    return std::any_of(layers.begin(), layers.end(), [](const LayerCost& l) { return l.widens(); });
}

double CostModel::kernelMs() const
{
    double sum = 0;
    for (const auto& l : layers)
        sum += l.kernelMs;
    return sum;
}

double CostModel::readMs(uint64_t bytes) const
{
    return bytes ? requestMs + static_cast<double>(bytes) / diskBytesPerMs : 0.0;
}

double CostModel::copyMs(size_t layer) const
{
    const LayerCost& l = layers[layer];
    if (l.copyMs > 0 || l.bytes == 0) return l.copyMs;
    return copyBytesPerMs > 0 ? static_cast<double>(l.bytes) / copyBytesPerMs : 0.0;
}

Result<CostModel> costModelFromProfile(
    const std::vector<ProfiledLayer>& layers, uint64_t pinnedBytes, uint64_t activationBytes, uint64_t workspaceBytes)
{
    if (layers.empty()) return invalid("the profile has no layers");
    CostModel m;
    m.pinnedBytes = pinnedBytes;
    m.activationBytes = activationBytes;
    m.workspaceBytes = workspaceBytes;
    // Least squares of read ms = request + bytes / bandwidth over the layers that were read.
    double sx = 0, sy = 0, sxx = 0, sxy = 0, copyBytes = 0, copyMs = 0;
    int reads = 0;
    for (const auto& p : layers) {
        m.layers.push_back({ p.name, p.bytes, std::max(0.0, p.kernelMs), std::max(0.0, p.copyMs), p.boundBytes });
        if (p.bytes > 0 && p.readMs > 0) {
            const double x = static_cast<double>(p.bytes), y = p.readMs;
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
            ++reads;
        }
        if (p.bytes > 0 && p.copyMs > 0) {
            copyBytes += static_cast<double>(p.bytes);
            copyMs += p.copyMs;
        }
    }
    if (reads == 0)
        return invalid("the profile read no layer (every layer resident, or a preload run): profile with a streaming "
                       "architecture, best sequential");
    double slope = 0, intercept = 0;
    const double det = reads * sxx - sx * sx;
    if (reads >= 2 && det > 0) {
        slope = (reads * sxy - sx * sy) / det;
        intercept = (sy - slope * sx) / reads;
    }
    if (!(slope > 0)) {
        // Too few or too alike reads to fit a latency: all of the time is bandwidth.
        slope = sy / sx;
        intercept = 0;
    }
    if (intercept < 0) {
        intercept = 0;
        slope = sy / sx;
    }
    m.diskBytesPerMs = 1.0 / slope;
    m.requestMs = intercept;
    m.copyBytesPerMs = copyMs > 0 ? copyBytes / copyMs : 0.0;
    return m;
}

uint64_t predictedStagingBytes(const CostModel& model, const Configuration& config)
{
    auto l = layout(model, config);
    if (!l.ok()) return 0;
    auto ring = ringBytes(config, *l);
    return ring.ok() ? stagingOf(config.arch, *ring, l->largest, l->widened) : 0;
}

Result<Prediction> simulate(const CostModel& m, const Configuration& c)
{
    if (!(m.diskBytesPerMs > 0)) return invalid("the cost model has no disk bandwidth");
    DL_ASSIGN(Layout l, layout(m, c));
    DL_ASSIGN(uint64_t ring, ringBytes(c, l));
    Prediction p;
    p.residentBytes = l.residentBytes;
    p.stagingBytes = stagingOf(c.arch, ring, l.largest, l.widened);
    p.weightsPeak = p.residentBytes + p.stagingBytes;
    p.peakTotal = p.weightsPeak + m.activationBytes + m.workspaceBytes;
    for (int s : l.streamed)
        p.streamedBytes += m.layers[static_cast<size_t>(s)].bytes;
    // Where reads run beside the kernels, what they cost the CPU lengthens the kernels.
    double kernelScale = 1;
    const double kernels = m.kernelMs();
    if ((c.arch == Arch::Sync || c.arch == Arch::Async || c.arch == Arch::TwoStage) && kernels > 0)
        kernelScale += m.contention.kernelMsPerMB * (static_cast<double>(p.streamedBytes) / 1e6) / kernels;
    Timing t;
    if (l.streamed.empty()) {
        t.latencyMs = m.kernelMs();
    } else {
        switch (c.arch) {
        case Arch::Preload:
            t.latencyMs = m.kernelMs();
            break;
        case Arch::Sequential:
            t.latencyMs = m.kernelMs();
            for (int s : l.streamed)
                t.latencyMs += m.readMs(m.layers[static_cast<size_t>(s)].bytes) + m.copyMs(static_cast<size_t>(s));
            t.stallMs = t.latencyMs - m.kernelMs();
            break;
        case Arch::Sync:
            t = simulateSync(m, l, kernelScale);
            break;
        case Arch::Async:
        case Arch::TwoStage: {
            DL_ASSIGN(t, simulateFifo(m, l, ring, c.arch == Arch::Async, kernelScale));
            break;
        }
        }
    }
    p.latencyMs = t.latencyMs;
    p.stallMs = t.stallMs;
    return p;
}

namespace {

// Invalid unless `arch` reads beside its kernels (sync, async, two-stage): only such a run can calibrate `what`.
Status readsBesideKernels(Arch arch, const char* what)
{
    if (arch == Arch::Sync || arch == Arch::Async || arch == Arch::TwoStage) return {};
    return invalid(std::string("a ") + archName(arch) + " run cannot calibrate " + what
        + ": its reads never run beside its kernels (use a sync, async or two-stage run)");
}

} // namespace

Result<Calibration> calibrate(const CostModel& model, const CalibrationRun& run)
{
    DL_TRY(readsBesideKernels(run.config.arch, "contention"));
    if (run.kernelMs.size() != model.layers.size())
        return invalid("the calibration run has " + std::to_string(run.kernelMs.size()) + " layers, the profile "
            + std::to_string(model.layers.size()) + ": they are not of the same model and split");
    if (!(run.latencyMs > 0)) return invalid("the calibration run has no latency");
    // The run's own kernel times, so that a machine that ran faster or slower then than during the profile does
    // not pass for contention on the reads.
    CostModel m = model;
    m.contention = {}; // the run's kernel times already hold what its reads cost them
    for (size_t i = 0; i < m.layers.size(); ++i)
        m.layers[i].kernelMs = std::max(0.0, run.kernelMs[i]);
    DL_ASSIGN(Prediction plain, simulate(m, run.config));
    if (plain.streamedBytes == 0) return invalid("the calibration run streamed nothing: every layer was resident");
    auto latencyAt = [&](double readFactor) -> Result<double> {
        m.contention.readFactor = readFactor;
        DL_ASSIGN(Prediction p, simulate(m, run.config));
        return p.latencyMs;
    };
    // Latency falls as the factor grows. A geometric grid over the range, refined by bisection where it crosses the
    // edges of the tolerance band around the measured latency; among the factors within the band (all of them when
    // the reads were hidden), the one nearest 1; when none is, the nearest miss.
    constexpr double kLo = 0.2, kHi = 5.0;
    constexpr int kSteps = 48;
    const double tolerance = std::max(1e-3, run.toleranceFraction);
    std::vector<std::pair<double, double>> tried; // factor, how far outside the band its latency is
    double prevFactor = 0, prevMs = 0;
    auto consider = [&](double f, double ms) {
        tried.emplace_back(f, std::max(0.0, std::abs(ms - run.latencyMs) / run.latencyMs - tolerance));
    };
    for (int k = 0; k <= kSteps; ++k) {
        const double f = kLo * std::pow(kHi / kLo, k / double(kSteps));
        DL_ASSIGN(double ms, latencyAt(f));
        consider(f, ms);
        for (const double edge : { run.latencyMs * (1 - tolerance), run.latencyMs * (1 + tolerance) }) {
            if (k == 0 || (prevMs - edge) * (ms - edge) >= 0) continue;
            double lo = prevFactor, hi = f;
            for (int i = 0; i < 40; ++i) {
                const double mid = std::sqrt(lo * hi);
                DL_ASSIGN(double r, latencyAt(mid));
                (r > edge ? lo : hi) = mid;
            }
            // The side of the crossing that is inside the band.
            DL_ASSIGN(double atLo, latencyAt(lo));
            DL_ASSIGN(double atHi, latencyAt(hi));
            consider(lo, atLo);
            consider(hi, atHi);
        }
        prevFactor = f;
        prevMs = ms;
    }
    // Among the factors whose latency is inside the band, the one nearest 1 (where reads were hidden, all of them,
    // so 1). When none is — a run faster than even hidden reads allow, or slower than the slowest reads — nothing
    // about the reads can be told from it: 1.
    double best = 1, nearest = INFINITY;
    for (const auto& [f, miss] : tried)
        if (miss == 0 && std::abs(std::log(f)) < nearest) {
            nearest = std::abs(std::log(f));
            best = f;
        }
    Calibration c;
    c.contention.readFactor = best;
    DL_ASSIGN(c.fittedMs, latencyAt(best));
    c.uncalibratedMs = plain.latencyMs;
    return c;
}

Result<KernelCalibration> calibrateKernels(const CostModel& model, const PairedRun& run)
{
    DL_TRY(readsBesideKernels(run.config.arch, "the kernels' slowdown"));
    if (!(run.twinMs > 0)) return invalid("the paired run has no twin latency");
    DL_ASSIGN(Prediction p, simulate(model, run.config));
    if (p.streamedBytes == 0) return invalid("the paired run streamed nothing: every layer was resident");
    KernelCalibration k;
    k.streamedBytes = p.streamedBytes;
    k.slowdownFraction = run.overheadFraction - std::max(0.0, run.stallMs) / run.twinMs;
    k.kernelMsPerMB
        = std::max(0.0, k.slowdownFraction) * model.kernelMs() / (static_cast<double>(p.streamedBytes) / 1e6);
    return k;
}

uint64_t minimumBudget(const CostModel& m, Arch arch)
{
    Configuration c;
    c.arch = arch;
    auto l = layout(m, c);
    auto ring = ringBytes(c, *l);
    return l->residentBytes + stagingOf(arch, *ring, l->largest, l->widened);
}

double kernelSpeedRatio(const CostModel& reference, const CostModel& other)
{
    std::unordered_map<std::string_view, double> ref;
    for (const LayerCost& l : reference.layers)
        ref.emplace(l.name, l.kernelMs);
    double refCommon = 0, otherCommon = 0;
    for (const LayerCost& l : other.layers)
        if (auto it = ref.find(l.name); it != ref.end()) {
            refCommon += it->second;
            otherCommon += l.kernelMs;
        }
    if (refCommon <= 0 || otherCommon <= 0 || refCommon < 0.1 * reference.kernelMs()
        || otherCommon < 0.1 * other.kernelMs())
        return 1.0;
    return otherCommon / refCommon;
}

void scaleKernels(CostModel& model, double factor)
{
    for (LayerCost& l : model.layers)
        l.kernelMs *= factor;
    model.contention.kernelMsPerMB *= factor;
}

double lowerBoundMs(const CostModel& m, Arch arch, uint64_t budget)
{
    // In the bytes the kernels read (what residency costs); what streams is then read at the pack's bytes per byte.
    const uint64_t total = m.weightBytes();
    const double readPerByte = total ? static_cast<double>(m.readBytes()) / static_cast<double>(total) : 1.0;
    uint64_t smallest = 0; // the least staging any streaming needs: the smallest layer, once
    for (const auto& l : m.layers)
        if (l.bytes > 0 && (smallest == 0 || l.bytes < smallest)) smallest = l.bytes;
    uint64_t keep = budget > m.pinnedBytes ? budget - m.pinnedBytes : 0;
    if (arch != Arch::Preload && keep < total) keep = keep > smallest ? keep - smallest : 0;
    const auto streamed = static_cast<uint64_t>(static_cast<double>(keep >= total ? 0 : total - keep) * readPerByte);
    // The pipelined architectures read beside their kernels, at the calibrated rate.
    const bool pipelined = arch == Arch::Sync || arch == Arch::Async || arch == Arch::TwoStage;
    const double rate = m.diskBytesPerMs * (pipelined ? m.contention.readFactor : 1.0);
    return std::max(m.kernelMs(), static_cast<double>(streamed) / rate);
}

Result<Choice> optimize(const CostModel& m, Arch arch, uint64_t budget)
{
    const uint64_t minimum = minimumBudget(m, arch);
    const uint64_t whole = m.pinnedBytes + m.weightBytes();
    if (arch == Arch::Preload && budget < whole)
        return invalid("preload holds the whole model: a weight budget of " + std::to_string(budget)
            + " bytes is below its " + std::to_string(whole) + " bytes");
    if (budget < minimum)
        return invalid("a weight budget of " + std::to_string(budget) + " bytes is below the minimum of "
            + std::to_string(minimum) + " bytes for the " + archName(arch) + " architecture on this model");
    Choice best;
    best.budgetBytes = budget;
    best.lowerBoundMs = lowerBoundMs(m, arch, budget);
    bool have = false;
    auto consider = [&](const Configuration& c) -> Status {
        DL_ASSIGN(Prediction p, simulate(m, c));
        if (p.weightsPeak > budget) return {};
        const bool better = !have || p.latencyMs < best.prediction.latencyMs - 1e-9
            || (std::abs(p.latencyMs - best.prediction.latencyMs) <= 1e-9
                && p.weightsPeak < best.prediction.weightsPeak);
        if (better) {
            best.config = c;
            best.prediction = p;
            have = true;
        }
        return {};
    };
    if (arch == Arch::Preload) {
        Configuration c;
        c.arch = arch;
        DL_TRY(consider(c));
        return best;
    }

    // The whole model fits: everything resident (the passes below add one layer at a time, and the last two
    // streamed layers may each need staging that only keeping both removes).
    if (budget >= whole) {
        Configuration all;
        all.arch = arch;
        for (size_t i = 0; i < m.layers.size(); ++i)
            if (m.layers[i].bytes > 0) all.resident.push_back(static_cast<int>(i));
        DL_TRY(consider(all));
    }

    // Layers ranked for residency: those whose reads outlast their kernels most for their bytes first (they build
    // the backlog that stalls the kernels), then the largest.
    std::vector<int> ranked;
    for (size_t i = 0; i < m.layers.size(); ++i)
        if (m.layers[i].bytes > 0) ranked.push_back(static_cast<int>(i));
    auto deficit = [&](int i) {
        const auto& l = m.layers[static_cast<size_t>(i)];
        const double factor = arch == Arch::Sequential ? 1.0 : m.contention.readFactor; // sequential reads alone
        const double read = m.requestMs + static_cast<double>(l.bytes) / (m.diskBytesPerMs * factor);
        return std::max(0.0, read - l.kernelMs) / static_cast<double>(l.bound()); // per byte residency costs
    };
    std::stable_sort(ranked.begin(), ranked.end(), [&](int a, int b) {
        const double da = deficit(a), db = deficit(b);
        if (da != db) return da > db;
        return m.layers[static_cast<size_t>(a)].bytes > m.layers[static_cast<size_t>(b)].bytes;
    });
    const bool fifo = arch == Arch::Async || arch == Arch::TwoStage;
    // The largest kernel blob of a streamed layer that widens (an fp16 pack's), with `resident` kept: the device
    // buffer such a layer needs (plan/budget.h); 0 when none widens.
    const bool widens = m.widens();
    auto widenedLeft = [&](const std::vector<bool>& resident) {
        uint64_t w = 0;
        if (widens)
            for (size_t i = 0; i < m.layers.size(); ++i)
                if (!resident[i] && m.layers[i].widens()) w = std::max(w, m.layers[i].bound());
        return w;
    };
    // Staging needed for the streamed layers that are left: FIFO rings of `depth` of the largest.
    auto stagingFor = [&](uint64_t largest, uint64_t depth, uint64_t widened) {
        return stagingOf(arch, packAligned(largest * depth), largest, widened);
    };
    // The largest ring whose staging fits `room` (staging grows by a fixed step per byte of ring).
    auto ringWithin = [&](uint64_t room, uint64_t largest, uint64_t widened) -> uint64_t {
        const uint64_t one = stagingOf(arch, kPackAlignment, largest, widened);
        const uint64_t two = stagingOf(arch, 2 * kPackAlignment, largest, widened);
        const uint64_t perRing = std::max<uint64_t>(1, (two - one) / kPackAlignment);
        const uint64_t fixed = one - perRing * kPackAlignment;
        return room > fixed ? (room - fixed) / perRing / kPackAlignment * kPackAlignment : 0;
    };
    const std::vector<uint64_t> depths
        = fifo ? std::vector<uint64_t> { 1, 2, 3, 4, 6, 8, 12, 16 } : std::vector<uint64_t> { 1 };
    std::vector<size_t> bySize(m.layers.size());
    std::iota(bySize.begin(), bySize.end(), size_t(0));
    std::stable_sort(
        bySize.begin(), bySize.end(), [&](size_t a, size_t b) { return m.layers[a].bytes > m.layers[b].bytes; });
    for (uint64_t depth : depths) {
        // Residency by rank, each layer that still leaves room for the ring of this depth over what is left.
        std::vector<bool> resident(m.layers.size(), false);
        uint64_t pinned = m.pinnedBytes;
        std::vector<int> chosen;
        size_t cursor = 0; // bySize entries before it are resident for good
        auto largestLeft = [&]() -> uint64_t {
            size_t k = cursor;
            while (k < bySize.size() && resident[bySize[k]])
                ++k;
            return k < bySize.size() ? m.layers[bySize[k]].bytes : 0;
        };
        uint64_t largest = largestLeft();
        if (pinned + stagingFor(largest, depth, widenedLeft(resident)) > budget) continue;
        // A layer that did not fit may fit once a larger one is resident (the staging shrinks): passes until none
        // is added.
        for (bool added = true; added;) {
            added = false;
            for (int i : ranked) {
                const auto idx = static_cast<size_t>(i);
                if (resident[idx]) continue;
                resident[idx] = true;
                const uint64_t big = m.layers[idx].bytes == largest ? largestLeft() : largest;
                if (pinned + m.layers[idx].bound() + stagingFor(big, depth, widenedLeft(resident)) > budget) {
                    resident[idx] = false;
                    continue;
                }
                pinned += m.layers[idx].bound();
                largest = big;
                chosen.push_back(i);
                added = true;
                while (cursor < bySize.size() && resident[bySize[cursor]])
                    ++cursor;
            }
        }
        std::sort(chosen.begin(), chosen.end());
        Configuration c;
        c.arch = arch;
        c.resident = chosen;
        if (fifo && largest > 0) {
            c.stagingBytes = packAligned(largest * depth);
            DL_TRY(consider(c));
            // And what the residency left over, to the rings.
            const uint64_t rest = ringWithin(budget - pinned, largest, widenedLeft(resident));
            if (rest > c.stagingBytes) {
                c.stagingBytes = rest;
                DL_TRY(consider(c));
            }
        } else {
            DL_TRY(consider(c));
        }
        // Nothing resident, the whole budget to the rings.
        if (fifo && depth == 1) {
            Configuration ringOnly;
            ringOnly.arch = arch;
            const std::vector<bool> none(m.layers.size(), false);
            ringOnly.stagingBytes
                = ringWithin(budget - m.pinnedBytes, bySize.empty() ? 0 : m.layers[bySize[0]].bytes, widenedLeft(none));
            DL_TRY(consider(ringOnly));
        }
    }
    if (!have) return invalid("no configuration of " + std::string(archName(arch)) + " fits the budget");
    return best;
}

Result<std::vector<Choice>> frontier(const CostModel& m, Arch arch, int points)
{
    points = std::max(points, 2);
    const double lo = static_cast<double>(minimumBudget(m, arch));
    const double hi = static_cast<double>(m.pinnedBytes + m.weightBytes());
    std::vector<Choice> out;
    for (int k = 0; k < points; ++k) {
        const double b = arch == Arch::Preload || lo >= hi || k == points - 1 ? hi
            : k == 0                                                          ? lo
                     : lo * std::pow(hi / lo, k / double(points - 1));
        auto c = optimize(m, arch, static_cast<uint64_t>(std::llround(b)));
        if (!c.ok()) return c.error();
        // What fit a smaller budget fits this one: never give a slower choice than the one before.
        if (!out.empty() && out.back().prediction.latencyMs < c->prediction.latencyMs) {
            const uint64_t budget = c->budgetBytes;
            const double bound = c->lowerBoundMs;
            c = out.back();
            c->budgetBytes = budget;
            c->lowerBoundMs = bound;
        }
        out.push_back(std::move(c).value());
        if (arch == Arch::Preload) break;
    }
    return out;
}

size_t smallestReach(const std::vector<CostModel>& models, Arch arch)
{
    size_t base = 0;
    for (size_t k = 1; k < models.size(); ++k)
        if (minimumBudget(models[k], arch) < minimumBudget(models[base], arch)) base = k;
    return base;
}

std::vector<double> alignKernelSpeeds(std::vector<CostModel>& models, size_t reference)
{
    std::vector<double> factors(models.size(), 1.0);
    for (size_t k = 0; k < models.size(); ++k) {
        if (k == reference) continue;
        const double ratio = kernelSpeedRatio(models[reference], models[k]);
        if (ratio == 1.0) continue;
        factors[k] = 1.0 / ratio;
        scaleKernels(models[k], factors[k]);
    }
    return factors;
}

Result<MergedFrontier> mergedFrontier(const std::vector<CostModel>& models, size_t base, Arch arch, int points)
{
    if (base >= models.size()) return invalid("no profile to plan from");
    DL_ASSIGN(std::vector<Choice> f, frontier(models[base], arch, points));
    MergedFrontier out;
    out.from.assign(f.size(), base);
    std::vector<uint64_t> minimum;
    for (const CostModel& m : models)
        minimum.push_back(minimumBudget(m, arch));
    for (size_t i = 0; i < f.size(); ++i)
        for (size_t k = 0; k < models.size(); ++k) {
            if (k == base || f[i].budgetBytes < minimum[k]) continue;
            auto other = optimize(models[k], arch, f[i].budgetBytes);
            if (other.ok() && other->prediction.latencyMs < f[i].prediction.latencyMs) {
                f[i] = *other;
                out.from[i] = k;
            }
        }
    out.points = std::move(f);
    return out;
}

} // namespace dl::plan
