#include "pipeline/pipeline.h"

#include "plan/budget.h"

#include "core/align.h"
#include "core/largepages.h"
#include "core/streamcopy.h"
#include "pipeline/staging.h"
#include "runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <numeric>
#include <thread>
#include <unordered_map>

namespace dl {

const char* archName(Arch a)
{
    switch (a) {
    case Arch::Preload:
        return "preload";
    case Arch::Sequential:
        return "sequential";
    case Arch::Sync:
        return "sync";
    case Arch::Async:
        return "async";
    case Arch::TwoStage:
        return "two-stage";
    }
    return "?";
}

std::optional<Arch> parseArch(const std::string& name)
{
    for (Arch a : { Arch::Preload, Arch::Sequential, Arch::Sync, Arch::Async, Arch::TwoStage })
        if (name == archName(a)) return a;
    return std::nullopt;
}

const char* verifyName(Verify v)
{
    switch (v) {
    case Verify::Off:
        return "off";
    case Verify::First:
        return "first";
    case Verify::Always:
        return "always";
    }
    return "?";
}

std::optional<Verify> parseVerify(const std::string& name)
{
    for (Verify v : { Verify::Off, Verify::First, Verify::Always })
        if (name == verifyName(v)) return v;
    return std::nullopt;
}

// Kernels of a layer enqueued on the compute stream, not yet known to have completed: the staging they read is
// released, and their End traced with the events' times, once they have.
struct Pipeline::Launched
{
    int layer = -1;
    int iteration = 0;
    std::unique_ptr<Event> begin;
    std::unique_ptr<Event> end;
    StagingRing* ring = nullptr; // whose oldest region the layer read; null: none (resident, sequential)
};

struct Pipeline::Item
{
    uint64_t seq = 0; // position in the stream since the stages started
    int layer = -1;
    int iteration = 0;
    size_t offset = 0; // in the ring the item sits in
    Error error; // set with failed = true (the reader's bookkeeping; failures reach other stages via failStages)
    bool failed = false;
};

// A layer the read stage has taken ring room for, with the bytes of it submitted and landed so far.
struct Pipeline::Pending
{
    Item item;
    uint64_t submitted = 0;
    uint64_t done = 0;
    int64_t begin = 0;
};

// Reads in flight by tag: the part of each pending layer (by seq) that each one covers.
struct Pipeline::ReadPart
{
    uint64_t seq = 0;
    uint64_t bytes = 0;
};

struct Pipeline::ReadPump
{
    std::deque<Pending> pending; // layers being read, oldest first; each is published once all its bytes are in
    std::unordered_map<uint64_t, std::vector<ReadPart>> requests;
    uint64_t nextTag = 0;
    uint64_t unsubmitted = 0; // bytes of pending layers not yet submitted
    uint64_t nextSeq = 0;
    int64_t busySince = 0;
    std::vector<ReadCompletion> completions;
    bool syncArrivePending = false;
};

struct Pipeline::ReadState
{
    StagingRing hostRing;
    StagingRing deviceRing;
    BlockingQueue<Item> copyQueue; // reader → copy
    BlockingQueue<Item> computeQueue; // reader or copy → kernel
    ReadPump pump; // the read stage's bookkeeping: the reader thread's, or the kernel stage's when reads are inline
    CycleBarrier barrier; // sync only
    std::thread reader;
    std::thread copier;
    std::atomic<bool> stop { false };
    std::mutex failureMutex;
    std::optional<Error> failure; // the first stage error; stops every stage
    std::mutex statsMutex;

    // Stops every stage and wakes whichever waits (on a ring, a queue or the barrier).
    void wakeAll()
    {
        stop = true;
        hostRing.stop();
        deviceRing.stop();
        copyQueue.stop();
        computeQueue.stop();
        barrier.stop();
    }
    uint64_t readBytes = 0;
    double readSeconds = 0;
    double copySeconds = 0;
    double stallSeconds[4] = {};
};

Pipeline::Pipeline(Executor& exec, const PackInfo& pack, std::unique_ptr<WeightReader> reader, const PipelineOptions& o,
    MemoryLedger* ledger, Tracer* tracer)
    : m_exec(exec)
    , m_backend(exec.backend())
    , m_pack(pack)
    , m_reader(std::move(reader))
    , m_options(o)
    , m_ledger(ledger)
    , m_tracer(tracer)
    , m_stopToken(o.stopToken)
{ }

Pipeline::~Pipeline()
{
    dropLaunched();
    stopStages();
    for (size_t l = 0; l < m_exec.layers().size(); ++l)
        m_exec.unbindLayer(l);
    if (m_ledger) m_ledger->add(MemTag::ResidentWeights, -static_cast<int64_t>(m_exec.pinnedWeightBytes()));
}

Result<std::unique_ptr<Pipeline>> Pipeline::create(Executor& exec, const PackInfo& pack,
    std::unique_ptr<WeightReader> reader, const PipelineOptions& options, MemoryLedger* ledger, Tracer* tracer)
{
    if (!reader) return invalid("the pipeline needs a weight reader");
    DL_TRY(checkPackMatches(pack, exec));
    if (ledger) DL_TRY(ledger->reserve(MemTag::ResidentWeights, exec.pinnedWeightBytes()));
    std::unique_ptr<Pipeline> p(new Pipeline(exec, pack, std::move(reader), options, ledger, tracer));
    DL_TRY(p->setup());
    return p;
}

Error Pipeline::layerError(int layer, const Error& e) const
{
    const std::string prefix = "layer " + std::to_string(layer) + " '" + m_pack.layers[layer].name + "'";
    if (e.message.rfind(prefix, 0) == 0) return e;
    return makeError(e.code, prefix + ": " + e.message);
}

void Pipeline::emit(EventKind kind, Stage stage, int layer, int iteration, int64_t begin, int64_t end, uint64_t bytes)
{
    if (m_tracer) m_tracer->emit(traceEvent(kind, stage, layer, iteration, begin, end, bytes));
}

void Pipeline::stall(Stage stage, int layer, int iteration, int64_t begin)
{
    const int64_t end = traceClockNs();
    emit(EventKind::Stall, stage, layer, iteration, begin, end);
    if (m_state) {
        std::lock_guard lock(m_state->statsMutex);
        m_state->stallSeconds[static_cast<int>(stage)] += (end - begin) * 1e-9;
    }
}

Status Pipeline::setup()
{
    const size_t layers = m_pack.layers.size();
    m_isResident.assign(layers, m_options.arch == Arch::Preload);
    m_verified = std::make_unique<std::atomic<bool>[]>(layers);
    for (int r : m_options.resident) {
        if (r < 0 || static_cast<size_t>(r) >= layers)
            return invalid("resident layer " + std::to_string(r) + " does not exist (the model has "
                + std::to_string(layers) + " layers, 0 to " + std::to_string(layers - 1) + ")");
        m_isResident[r] = true;
    }
    if (m_options.chunkBytes < kPackAlignment) m_options.chunkBytes = kPackAlignment;
    m_options.chunkBytes = m_options.chunkBytes / kPackAlignment * kPackAlignment;
    m_readerDescription = m_reader->describe();
    m_directIo = m_reader->directIo();
    m_inlineReads = m_options.arch == Arch::TwoStage && !m_options.readThread && m_reader->asynchronous();
    m_state = std::make_unique<ReadState>();
    DL_ASSIGN(m_copyStream, m_backend.createStream(StreamRole::Copy));
    // Where each buffer lives: the reader fills host memory a copy engine reads at full speed, or, in two-stage, memory
    // the kernels read where it lies (on the CPU backend every space is host memory).
    const MemorySpace readSpace = m_options.arch == Arch::TwoStage ? MemorySpace::Mapped : MemorySpace::PinnedHost;
    const bool deviceIsHost = m_backend.deviceIsHost();

    for (size_t l = 0; l < layers; ++l)
        if (!m_isResident[l] && m_pack.layers[l].paddedBytes > 0) m_streamed.push_back(static_cast<int>(l));
    const size_t largest = largestStreamedLayer(m_pack, m_isResident);
    const size_t widened = largestWidenedLayer(m_pack, m_isResident);

    // Device memory the host cannot address takes a float16 layer as stored, and the device widens it: a buffer for
    // the largest such layer that is resident, or streamed through pinned host memory.
    if (!deviceIsHost) {
        size_t half = 0;
        for (size_t l = 0; l < layers; ++l)
            if (m_pack.layers[l].widens() && (m_isResident[l] || m_options.arch != Arch::TwoStage))
                half = std::max<size_t>(half, m_pack.layers[l].paddedBytes);
        if (half) {
            DL_ASSIGN(m_halfStaging, m_backend.allocate(MemorySpace::Device, MemTag::Staging, half, m_ledger));
        }
    }

    // Resident layers first: read once, bound for good. A layer that widens is read into the start of its resident
    // buffer and widened there, from its last weight back. Device memory the host cannot address is filled through a
    // pinned bounce buffer and the copy stream (a float16 layer through the half staging, widened by the device).
    m_residentBuffers.resize(layers);
    BackendBuffer bounce;
    for (size_t l = 0; l < layers; ++l) {
        const PackLayer& pl = m_pack.layers[l];
        if (!m_isResident[l] && pl.paddedBytes > 0) continue;
        if (pl.paddedBytes == 0) {
            m_exec.bindLayer(l, nullptr);
            continue;
        }
        if (m_stopToken && m_stopToken->load()) return Error { ErrorCode::Cancelled, "stopped" };
        DL_ASSIGN(m_residentBuffers[l],
            m_backend.allocate(MemorySpace::Device, MemTag::ResidentWeights, pl.boundPadded(), m_ledger));
        if (deviceIsHost) {
            DL_TRY(readWhole(static_cast<int>(l), m_residentBuffers[l].data(), -1, Stage::Setup));
            if (pl.widens()) widenPackLayerInPlace(m_pack, l, m_residentBuffers[l].data());
        } else {
            if (bounce.size() < pl.paddedBytes) {
                bounce.reset();
                DL_ASSIGN(
                    bounce, m_backend.allocate(MemorySpace::PinnedHost, MemTag::Staging, pl.paddedBytes, m_ledger));
            }
            DL_TRY(readWhole(static_cast<int>(l), bounce.data(), -1, Stage::Setup));
            if (pl.widens()) {
                DL_TRY(m_copyStream->copy(m_halfStaging.data(), bounce.data(), pl.paddedBytes));
                DL_TRY(widenOnDevice(static_cast<int>(l), m_halfStaging.data(), m_residentBuffers[l].data()));
            } else {
                DL_TRY(m_copyStream->copy(m_residentBuffers[l].data(), bounce.data(), pl.paddedBytes));
            }
            DL_TRY(m_copyStream->synchronize());
        }
        m_exec.bindLayer(l, m_residentBuffers[l].data());
        m_residentBytes += pl.boundPadded();
    }
    m_residentBytes += m_exec.pinnedWeightBytes();
    if (m_streamed.empty()) return {};

    size_t ring = 0;
    switch (m_options.arch) {
    case Arch::Sync:
        m_state->hostRing.configure(2 * largest, 2);
        m_state->deviceRing.configure(2 * std::max(largest, widened), 2);
        break;
    case Arch::Async:
    case Arch::TwoStage: {
        ring = m_options.stagingBytes ? m_options.stagingBytes : largest;
        ring = alignUp(ring, kPackAlignment);
        if (ring < largest)
            return invalid("a staging size of " + std::to_string(m_options.stagingBytes)
                + " bytes cannot hold the largest streamed layer: at least " + std::to_string(largest)
                + " bytes are needed");
        m_state->hostRing.configure(ring, 0);
        m_state->deviceRing.configure(m_options.arch == Arch::Async ? (widened ? 2 * ring : ring) : 0, 0);
        m_options.stagingBytes = ring;
        break;
    }
    default:
        break;
    }
    const StagingBuffers buffers = stagingBuffers(m_options.arch, ring, largest, widened);
    const size_t hostBytes = buffers.host, deviceBytes = buffers.device;
    if (hostBytes) {
        DL_ASSIGN(m_host, m_backend.allocate(readSpace, MemTag::Staging, hostBytes, m_ledger));
    }
    if (deviceBytes) {
        DL_ASSIGN(m_device, m_backend.allocate(MemorySpace::Device, MemTag::Staging, deviceBytes, m_ledger));
    }
    m_stagingBytes = hostBytes + deviceBytes + m_halfStaging.size();
    return {};
}

Status Pipeline::widenOnDevice(int layer, const std::byte* stored, std::byte* dst)
{
    for (const PackSlot& s : m_pack.layers[static_cast<size_t>(layer)].slots) {
        if (s.widens())
            DL_TRY(m_backend.widenHalf(*m_copyStream, stored + s.offset, reinterpret_cast<float*>(dst + s.boundOffset),
                s.bytes / sizeof(uint16_t)));
        else
            DL_TRY(m_copyStream->copy(dst + s.boundOffset, stored + s.offset, s.bytes));
    }
    return {};
}

Status Pipeline::readWhole(int layer, std::byte* dst, int iteration, Stage stage)
{
    const PackLayer& pl = m_pack.layers[layer];
    const int64_t begin = traceClockNs();
    emit(EventKind::Begin, stage, layer, iteration, begin, begin);
    uint64_t submitted = 0;
    size_t done = 0;
    std::optional<Error> failure;
    std::vector<ReadCompletion> completions;
    while (done < pl.paddedBytes) {
        while (submitted < pl.paddedBytes && m_reader->inFlight() < m_reader->queueDepth() && !failure) {
            const size_t n = std::min<uint64_t>(m_options.chunkBytes, pl.paddedBytes - submitted);
            auto st = m_reader->submit(ReadRequest { pl.offset + submitted, n, dst + submitted, submitted });
            if (!st.ok()) {
                failure = st.error();
                break;
            }
            submitted += n;
        }
        if (m_reader->inFlight() == 0) break;
        completions.clear();
        auto st = m_reader->reap(completions, true);
        if (!st.ok()) return layerError(layer, st.error());
        for (const auto& c : completions) {
            if (!c.status.ok() && !failure) failure = c.status.error();
            done += c.bytes;
        }
    }
    if (failure) return layerError(layer, *failure);
    const int64_t end = traceClockNs();
    {
        std::lock_guard lock(m_state->statsMutex);
        m_state->readBytes += pl.paddedBytes;
        m_state->readSeconds += (end - begin) * 1e-9;
    }
    emit(EventKind::End, stage, layer, iteration, begin, end, pl.paddedBytes);
    return verifyLayer(layer, dst);
}

Status Pipeline::verifyLayer(int layer, const std::byte* data)
{
    if (m_options.verify == Verify::Off) return {};
    std::atomic<bool>& seen = m_verified[static_cast<size_t>(layer)];
    if (m_options.verify == Verify::First && seen.load(std::memory_order_relaxed)) return {};
    DL_TRY(verifyPackLayer(m_pack, layer, data));
    seen.store(true, std::memory_order_relaxed);
    return {};
}

void Pipeline::failStages(const Error& e)
{
    ReadState& s = *m_state;
    {
        std::lock_guard lock(s.failureMutex);
        if (!s.failure) s.failure = e;
    }
    s.wakeAll();
}

Error Pipeline::stageFailure() const
{
    std::lock_guard lock(m_state->failureMutex);
    if (m_state->failure && !m_cancel) return *m_state->failure;
    return makeError(ErrorCode::Cancelled, "run cancelled");
}

void Pipeline::startStages()
{
    ReadState& s = *m_state;
    {
        std::lock_guard lock(s.failureMutex);
        s.failure.reset();
    }
    s.stop = false;
    s.hostRing.reset();
    s.deviceRing.reset();
    s.copyQueue.reset();
    s.computeQueue.reset();
    s.barrier.reset(3);
    s.pump = {};
    m_computeSeq = 0;
    if (m_options.arch == Arch::Sequential || m_streamed.empty() || m_inlineReads) {
        m_running = true;
        return;
    }
    s.reader = std::thread([this] { readerLoop(); });
    if (m_options.arch == Arch::Async || m_options.arch == Arch::Sync) s.copier = std::thread([this] { copyLoop(); });
    m_running = true;
}

void Pipeline::stopStages()
{
    if (!m_state) return;
    ReadState& s = *m_state;
    s.wakeAll();
    if (s.reader.joinable()) s.reader.join();
    if (s.copier.joinable()) s.copier.join();
    // Reads still in flight write into the staging: drain them before anything is reused or freed.
    std::vector<ReadCompletion> drop;
    while (m_reader->inFlight() > 0) {
        drop.clear();
        if (!m_reader->reap(drop, true).ok()) break;
    }
    m_running = false;
}

void Pipeline::waitForReadAhead()
{
    if (!m_running || !m_state || m_streamed.empty()) return; // no stage works between runs
    ReadState& s = *m_state;
    if (m_inlineReads) {
        while (!s.stop && m_reader->inFlight() > 0)
            if (!pumpReads(false, true, false)) return;
        return;
    }
    const Arch arch = m_options.arch;
    if ((arch != Arch::Async && arch != Arch::TwoStage && arch != Arch::Sync) || !s.reader.joinable()) return;
    // Settled: every stage thread blocked on what only the kernel stage frees — the reader on ring room (sync: at
    // the cycle's barrier), async's copy stage on device-ring room or an empty queue — and nothing changed in any of
    // them between two looks, so that they were all blocked at once.
    auto look = [&](uint64_t& changes) {
        const auto [hostBlocked, hostChanges] = s.hostRing.waiterState();
        const auto [deviceBlocked, deviceChanges] = s.deviceRing.waiterState();
        const auto [queueBlocked, queueChanges] = s.copyQueue.waiterState();
        const auto [atBarrier, arrivals] = s.barrier.waiterState();
        changes = hostChanges + deviceChanges + queueChanges + arrivals;
        if (arch == Arch::Sync) return atBarrier == 2; // the reader and the copy stage; the kernel stage is not there
        if (arch == Arch::Async) return hostBlocked && (deviceBlocked || queueBlocked);
        return hostBlocked;
    };
    for (;;) {
        if (s.stop) return;
        uint64_t first = 0, second = 0;
        const bool settled = look(first);
        if (settled && look(second) && first == second) return;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
}

void Pipeline::readerLoop()
{
    ReadState& s = *m_state;
    const bool sync = m_options.arch == Arch::Sync;
    while (!s.stop) {
        // Sync: this cycle's layer is published, arrive before the next. Cycle 0 starts at once: it has nothing for
        // the copy and kernel stages.
        if (sync && s.pump.syncArrivePending) {
            bool waited = false;
            const int64_t t0 = traceClockNs();
            if (!s.barrier.arriveAndWait(&waited)) break;
            if (waited) stall(Stage::Read, -1, 0, t0);
            s.pump.syncArrivePending = false;
        }
        if (!pumpReads(true, true)) return;
    }
}

bool Pipeline::pumpReads(bool threaded, bool mayWait, bool mayStart)
{
    ReadState& s = *m_state;
    ReadPump& r = s.pump;
    const bool sync = m_options.arch == Arch::Sync;
    const Stage stage = Stage::Read;
    const size_t count = m_streamed.size();
    const uint64_t queueBytes = static_cast<uint64_t>(m_reader->queueDepth()) * m_options.chunkBytes;
    auto fail = [&](const Item& item, const Error& e) { failStages(layerError(item.layer, e)); };
    // Take ring room for the next layers: without waiting while there is anything else to do (reads in flight,
    // whose completions are what frees room downstream), and only as far ahead as the queue can use. Sync reads one
    // layer per cycle. Inline, the kernel stage itself frees the room: it never waits for it.
    bool progressed = false;
    while (mayStart && (sync ? r.pending.empty() : r.unsubmitted < queueBytes)) {
        const PackLayer& next = m_pack.layers[m_streamed[r.nextSeq % count]];
        std::optional<size_t> offset;
        if (!threaded || m_reader->inFlight() > 0 || r.unsubmitted > 0 || progressed) {
            offset = s.hostRing.tryAcquire(next.paddedBytes);
        } else {
            bool waited = false;
            const int64_t t0 = traceClockNs();
            offset = s.hostRing.acquire(next.paddedBytes, &waited);
            if (!offset) return false; // stopped
            if (waited) stall(stage, next.index, static_cast<int>(r.nextSeq / count), t0);
        }
        if (!offset) break;
        Pending p;
        p.item.seq = r.nextSeq;
        p.item.layer = next.index;
        p.item.iteration = static_cast<int>(r.nextSeq / count);
        p.item.offset = *offset;
        p.begin = traceClockNs();
        emit(EventKind::Begin, stage, p.item.layer, p.item.iteration, p.begin, p.begin);
        r.pending.push_back(std::move(p));
        ++r.nextSeq;
        r.unsubmitted += next.paddedBytes;
        progressed = true;
    }
    // Submit while the queue has room: a request covers a chunk of one layer, or several whole small layers that lie
    // back to back both in the pack and in the ring (one request instead of many: on some systems each request costs
    // CPU time far beyond its bytes).
    while (mayStart && r.unsubmitted > 0 && m_reader->inFlight() < m_reader->queueDepth()) {
        auto it = std::find_if(r.pending.begin(), r.pending.end(),
            [&](const Pending& p) { return p.submitted < m_pack.layers[p.item.layer].paddedBytes; });
        const PackLayer& pl = m_pack.layers[it->item.layer];
        const uint64_t fileAt = pl.offset + it->submitted;
        const size_t ringAt = it->item.offset + it->submitted;
        uint64_t n = std::min<uint64_t>(m_options.chunkBytes, pl.paddedBytes - it->submitted);
        std::vector<ReadPart> parts { { it->item.seq, n } };
        it->submitted += n;
        if (!sync && it->submitted == pl.paddedBytes)
            for (auto nx = std::next(it); nx != r.pending.end(); ++nx) {
                const PackLayer& q = m_pack.layers[nx->item.layer];
                if (q.offset != fileAt + n || nx->item.offset != ringAt + n || n + q.paddedBytes > m_options.chunkBytes)
                    break;
                parts.push_back({ nx->item.seq, q.paddedBytes });
                nx->submitted = q.paddedBytes;
                n += q.paddedBytes;
            }
        if (m_reader->inFlight() == 0) r.busySince = traceClockNs();
        auto st = m_reader->submit(ReadRequest { fileAt, n, m_host.data() + ringAt, r.nextTag });
        if (!st.ok()) {
            fail(it->item, st.error());
            return false;
        }
        r.requests.emplace(r.nextTag++, std::move(parts));
        r.unsubmitted -= n;
        progressed = true;
    }
    // One system call for the batch, before anything else (inline, the kernels run next).
    if (progressed) {
        auto st = m_reader->flush();
        if (!st.ok()) {
            fail(r.pending.front().item, st.error());
            return false;
        }
    }
    if (m_reader->inFlight() == 0) return true;
    r.completions.clear();
    // Wait for a completion only when nothing else could be started.
    auto st = m_reader->reap(r.completions, mayWait && !progressed);
    if (!st.ok()) {
        fail(r.pending.front().item, st.error());
        return false;
    }
    if (m_reader->inFlight() == 0) {
        std::lock_guard lock(s.statsMutex);
        s.readSeconds += (traceClockNs() - r.busySince) * 1e-9;
    }
    for (const auto& c : r.completions) {
        auto req = r.requests.find(c.tag);
        if (req == r.requests.end()) continue;
        // A completion is all of its request or, when it failed, says so for every layer the request covers.
        for (const ReadPart& part : req->second)
            for (auto& p : r.pending)
                if (p.item.seq == part.seq) {
                    p.done += c.status.ok() ? part.bytes : 0;
                    if (!c.status.ok() && !p.item.failed) {
                        p.item.failed = true;
                        p.item.error = c.status.error();
                    }
                }
        r.requests.erase(req);
        std::lock_guard lock(s.statsMutex);
        s.readBytes += c.bytes;
    }
    // Publish finished layers in order.
    while (!r.pending.empty()) {
        Pending& p = r.pending.front();
        const PackLayer& pl = m_pack.layers[p.item.layer];
        if (!p.item.failed && p.done < pl.paddedBytes) break;
        if (p.item.failed) {
            // Let the other reads land before the failure is reported (their buffers must stay put).
            std::vector<ReadCompletion> rest;
            while (m_reader->inFlight() > 0 && m_reader->reap(rest, true).ok()) { }
            fail(p.item, p.item.error);
            return false;
        }
        const int64_t end = traceClockNs();
        emit(EventKind::End, stage, p.item.layer, p.item.iteration, p.begin, end, pl.paddedBytes);
        auto v = verifyLayer(p.item.layer, m_host.data() + p.item.offset);
        if (!v.ok()) {
            std::vector<ReadCompletion> rest;
            while (m_reader->inFlight() > 0 && m_reader->reap(rest, true).ok()) { }
            fail(p.item, v.error());
            return false;
        }
        (sync || m_options.arch == Arch::Async ? s.copyQueue : s.computeQueue).push(p.item);
        r.pending.pop_front();
        if (sync) r.syncArrivePending = true;
    }
    return true;
}

std::optional<Pipeline::Item> Pipeline::nextInline(int layer, int iteration)
{
    ReadState& s = *m_state;
    // Reap what has landed and fill any room first, without waiting.
    if (!pumpReads(false, false)) return std::nullopt;
    if (auto item = s.computeQueue.tryPop()) return item;
    const int64_t t0 = traceClockNs();
    // The reads may wait for ring room that only completed kernels free: free it, and start those reads.
    if (!m_launched.empty()) {
        if (auto st = retireKernels(true); !st.ok()) {
            failStages(st.error());
            return std::nullopt;
        }
        if (!pumpReads(false, false)) return std::nullopt;
        if (auto item = s.computeQueue.tryPop()) {
            stall(Stage::Kernel, layer, iteration, t0);
            return item;
        }
    }
    for (;;) {
        if (m_cancel || s.stop) return std::nullopt; // run() reports the failure, else Cancelled
        if (m_reader->inFlight() == 0 && s.pump.unsubmitted == 0 && s.pump.pending.empty()) {
            // Nothing is being read and nothing could be: the ring cannot hold the layer (setup rules that out).
            failStages(makeError(ErrorCode::Internal,
                "pipeline out of step: layer " + std::to_string(layer) + " cannot be read into the staging"));
            return std::nullopt;
        }
        if (!pumpReads(false, true)) return std::nullopt;
        if (auto item = s.computeQueue.tryPop()) {
            stall(Stage::Kernel, layer, iteration, t0);
            return item;
        }
    }
}

void Pipeline::copyLoop()
{
    ReadState& s = *m_state;
    const bool sync = m_options.arch == Arch::Sync;
    if (sync) {
        // Cycle 0: the first layer is still being read.
        if (!s.barrier.arriveAndWait()) return;
    }
    while (!s.stop) {
        bool waited = false;
        int64_t t0 = traceClockNs();
        auto item = s.copyQueue.pop(&waited);
        if (!item) return;
        if (waited) stall(Stage::Copy, item->layer, item->iteration, t0);
        const PackLayer& pl = m_pack.layers[item->layer];
        t0 = traceClockNs();
        auto offset = s.deviceRing.acquire(pl.boundPadded(), &waited);
        if (!offset) return;
        if (waited) stall(Stage::Copy, item->layer, item->iteration, t0);
        auto st = copyToKernel(item->layer, item->iteration, m_host.data() + item->offset, m_device.data() + *offset);
        if (!st.ok()) {
            failStages(layerError(item->layer, st.error()));
            return;
        }
        s.hostRing.release();
        item->offset = *offset;
        s.computeQueue.push(std::move(*item));
        if (sync) {
            t0 = traceClockNs();
            if (!s.barrier.arriveAndWait(&waited)) return;
            if (waited) stall(Stage::Copy, -1, 0, t0);
        }
    }
}

Status Pipeline::copyToKernel(int layer, int iteration, const std::byte* src, std::byte* dst)
{
    const PackLayer& pl = m_pack.layers[layer];
    const int64_t launched = traceClockNs();
    emit(EventKind::Begin, Stage::Copy, layer, iteration, launched, launched);
    int64_t begin = launched, end = launched;
    if (pl.widens() && m_backend.deviceIsHost()) {
        // Widening is the host's work where the device is host memory. The kernel stage (two-stage) widens with the
        // kernels' threads, idle meanwhile; the copy stage keeps to its own thread, since the kernels run beside it.
        widenPackLayer(m_pack, static_cast<size_t>(layer), src, dst, m_options.arch == Arch::TwoStage);
        end = traceClockNs();
    } else if (pl.widens()) {
        // Elsewhere float16 goes to the device as stored (half the bytes over the bus) and the device widens it, on the
        // copy stream: from the half staging it was copied to, or (two-stage) from the mapped memory it was read into.
        DL_ASSIGN(auto first, m_copyStream->record());
        const std::byte* stored = src;
        if (m_options.arch != Arch::TwoStage) {
            DL_TRY(m_copyStream->copy(m_halfStaging.data(), src, pl.paddedBytes));
            stored = m_halfStaging.data();
        }
        DL_TRY(widenOnDevice(layer, stored, dst));
        DL_ASSIGN(auto last, m_copyStream->record());
        DL_TRY(last->wait());
        begin = first->timeNs();
        end = last->timeNs();
    } else {
        // On the copy stream; the stage waits for it, so that the region read from is free once this returns and the
        // kernels that read `dst` start after it.
        DL_ASSIGN(auto first, m_copyStream->record());
        DL_TRY(m_copyStream->copy(dst, src, pl.paddedBytes));
        DL_ASSIGN(auto last, m_copyStream->record());
        DL_TRY(last->wait());
        begin = first->timeNs();
        end = last->timeNs();
    }
    emit(EventKind::End, Stage::Copy, layer, iteration, begin, end, pl.boundPadded());
    std::lock_guard lock(m_state->statsMutex);
    m_state->copySeconds += (end - begin) * 1e-9;
    return {};
}

Status Pipeline::runLayer(int layer, int iteration, StagingRing* ring)
{
    const auto& lp = m_exec.layers()[layer];
    Stream& compute = m_backend.computeStream();
    Launched k;
    k.layer = layer;
    k.iteration = iteration;
    k.ring = ring;
    const int64_t launched = traceClockNs();
    emit(EventKind::Begin, Stage::Kernel, layer, iteration, launched, launched);
    auto begin = compute.record();
    if (!begin.ok()) return layerError(layer, begin.error());
    k.begin = std::move(*begin);
    auto st = m_exec.runNodes(lp.nodeBegin, lp.nodeEnd);
    auto end = compute.record();
    if (!st.ok()) return st.error().code == ErrorCode::Cancelled ? st.error() : layerError(layer, st.error());
    if (!end.ok()) return layerError(layer, end.error());
    k.end = std::move(*end);
    m_launched.push_back(std::move(k));
    return {};
}

Status Pipeline::retireKernels(bool wait)
{
    while (!m_launched.empty()) {
        Launched& k = m_launched.front();
        if (!k.end->query()) {
            if (!wait) break;
            auto st = k.end->wait();
            if (!st.ok()) return layerError(k.layer, st.error());
        }
        emit(EventKind::End, Stage::Kernel, k.layer, k.iteration, k.begin->timeNs(), k.end->timeNs());
        if (k.ring) k.ring->release();
        m_launched.pop_front();
    }
    return {};
}

void Pipeline::dropLaunched()
{
    // A failed or cancelled run: let what was enqueued finish before its buffers are reused; the rings are reset when
    // the stages restart.
    (void)m_backend.computeStream().synchronize();
    m_launched.clear();
}

Result<std::vector<Tensor>> Pipeline::run(const std::vector<Tensor>& inputs)
{
    // A stop the owner asked for before this run began still holds (setStopToken); a cancel() alone does not.
    m_cancel = m_stopToken && m_stopToken->load();
    DL_TRY(m_exec.beginRun(inputs));
    const int iteration = m_iteration++;
    // A cancel() that came between runs (or after the last layer of one) stopped the stages: start them afresh.
    if (m_running && m_state->stop) stopStages();
    if (!m_running) startStages();
    ReadState& s = *m_state;
    const Arch arch = m_options.arch;
    auto failed = [&](Error e) -> Result<std::vector<Tensor>> {
        dropLaunched();
        stopStages();
        (void)m_exec.finishRun();
        if (m_cancel) e = makeError(ErrorCode::Cancelled, "run cancelled");
        return e;
    };
    if (arch == Arch::Sync && m_computeSeq == 0 && !m_streamed.empty()) {
        // Cycles 0 and 1 have no layer for the kernel stage.
        for (int c = 0; c < 2; ++c)
            if (!s.barrier.arriveAndWait()) return failed(stageFailure());
    }
    if (m_streamed.empty() && m_exec.capturable()) {
        // Every weight stays where it is: the whole inference as one captured launch (traced as one kernel span).
        Launched k;
        k.layer = -1;
        k.iteration = iteration;
        auto begin = m_backend.computeStream().record();
        auto st = begin.ok() ? m_exec.runAllNodes() : Status(begin.error());
        auto end = m_backend.computeStream().record();
        if (st.ok() && !end.ok()) st = end.error();
        if (!st.ok()) return failed(st.error());
        k.begin = std::move(*begin);
        k.end = std::move(*end);
        m_launched.push_back(std::move(k));
    }
    for (size_t l = 0; l < m_pack.layers.size() && !(m_streamed.empty() && m_exec.capturable()); ++l) {
        const int layer = static_cast<int>(l);
        if (m_cancel) return failed(makeError(ErrorCode::Cancelled, "run cancelled"));
        const bool streamed = !m_isResident[l] && m_pack.layers[l].paddedBytes > 0;
        if (!streamed) {
            auto st = runLayer(layer, iteration, nullptr);
            if (st.ok()) st = retireKernels(false);
            if (!st.ok()) return failed(st.error());
            continue;
        }
        if (arch == Arch::Sequential) {
            // One buffer each side: the layer's kernels complete before the next read lands.
            auto st = retireKernels(true);
            if (st.ok()) st = readWhole(layer, m_host.data(), iteration, Stage::Read);
            if (st.ok()) st = copyToKernel(layer, iteration, m_host.data(), m_device.data());
            if (!st.ok()) return failed(st.error());
            m_exec.bindLayer(l, m_device.data());
            st = runLayer(layer, iteration, nullptr);
            m_exec.unbindLayer(l);
            if (st.ok()) st = retireKernels(true);
            if (!st.ok()) return failed(st.error());
            continue;
        }
        std::optional<Item> item;
        if (m_inlineReads) {
            item = nextInline(layer, iteration);
        } else {
            bool waited = false;
            const int64_t t0 = traceClockNs();
            item = s.computeQueue.tryPop();
            if (!item) {
                // The stage that fills the queue may need room only completed kernels free.
                auto st = retireKernels(true);
                if (!st.ok()) return failed(st.error());
                item = s.computeQueue.pop(&waited);
            }
            if (waited) stall(Stage::Kernel, layer, iteration, t0);
        }
        if (!item) return failed(stageFailure());
        if (item->layer != layer)
            return failed(makeError(ErrorCode::Internal,
                "pipeline out of step: layer " + std::to_string(item->layer) + " arrived for layer "
                    + std::to_string(layer)));
        const bool fromDevice = arch == Arch::Async || arch == Arch::Sync;
        if (!fromDevice && m_pack.layers[l].widens()) {
            // Two-stage has no copy stage: the kernel stage widens the layer, as the copy stage would, before it runs
            // (after the kernels that read the widened buffer last).
            auto st = retireKernels(true);
            if (st.ok()) st = copyToKernel(layer, iteration, m_host.data() + item->offset, m_device.data());
            if (!st.ok()) return failed(st.error());
            m_exec.bindLayer(l, m_device.data());
        } else {
            m_exec.bindLayer(l, (fromDevice ? m_device.data() : m_host.data()) + item->offset);
        }
        // The ring region is released when the kernels that read it have completed, not when they were launched.
        auto st = runLayer(layer, iteration, fromDevice ? &s.deviceRing : &s.hostRing);
        m_exec.unbindLayer(l);
        ++m_computeSeq;
        // Sync's cycle ends when the layer's kernels have: the next cycle's copy reuses the buffer.
        if (st.ok()) st = retireKernels(arch == Arch::Sync);
        if (!st.ok()) return failed(st.error());
        // The room this layer held goes to the next reads at once (after the last layer: the next run's first ones).
        if (m_inlineReads && !pumpReads(false, false)) return failed(stageFailure());
        if (arch == Arch::Sync) {
            bool waited = false;
            const int64_t t1 = traceClockNs();
            if (!s.barrier.arriveAndWait(&waited)) return failed(stageFailure());
            if (waited) stall(Stage::Kernel, layer, iteration, t1);
        }
    }
    if (auto st = retireKernels(true); !st.ok()) return failed(st.error());
    auto out = m_exec.finishRun();
    if (!out.ok()) return failed(out.error());
    {
        std::lock_guard lock(s.statsMutex);
        m_stats.runs += 1; // the rest are running totals since resetStats()
        m_stats.readBytes = s.readBytes;
        m_stats.readSeconds = s.readSeconds;
        m_stats.copySeconds = s.copySeconds;
        for (int k = 0; k < 4; ++k)
            m_stats.stallSeconds[k] = s.stallSeconds[k];
    }
    return out;
}

void Pipeline::resetStats()
{
    std::lock_guard lock(m_state->statsMutex);
    m_state->readBytes = 0;
    m_state->readSeconds = 0;
    m_state->copySeconds = 0;
    for (double& s : m_state->stallSeconds)
        s = 0;
    m_stats = {};
}

void Pipeline::cancel()
{
    m_cancel = true;
    m_exec.cancel();
    if (m_state) m_state->wakeAll();
}

} // namespace dl
