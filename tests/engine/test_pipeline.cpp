// Demand layering end to end on real models: layer packs (and every way one can be bad), the five architectures
// giving bit-identical outputs across staging sizes and resident sets (whole layers and layers cut into sub-layers),
// read errors naming the layer, recovery after a failure, cancellation within one layer, and the budget rule.

#include "core/crc32c.h"
#include "core/largepages.h"
#include "core/random.h"
#include "core/sha256.h"
#include "enginetestutil.h"
#include "io/weightreader.h"
#include "memory/ledger.h"
#include "model/importer.h"
#include "pack/layerpack.h"
#include "pipeline/pipeline.h"
#include "plan/budget.h"
#include "runtime/executor.h"
#include "trace/trace.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>
#include <fstream>
#include <thread>

using namespace dl;
using dltest::modelCache;

namespace {

const Arch kStreaming[] = { Arch::Sequential, Arch::Sync, Arch::Async, Arch::TwoStage };
const Arch kAll[] = { Arch::Preload, Arch::Sequential, Arch::Sync, Arch::Async, Arch::TwoStage };

// An architecture with where its reads are made: two-stage runs both with inline reads and with a reader thread.
struct Mode
{
    Arch arch;
    bool readThread = false;
    QString name() const
    {
        return QString::fromLatin1(archName(arch)) + (readThread ? QStringLiteral(" (read thread)") : QString());
    }
};
const Mode kStreamingModes[]
    = { { Arch::Sequential }, { Arch::Sync }, { Arch::Async }, { Arch::TwoStage }, { Arch::TwoStage, true } };
const Mode kAllModes[] = { { Arch::Preload }, { Arch::Sequential }, { Arch::Sync }, { Arch::Async }, { Arch::TwoStage },
    { Arch::TwoStage, true } };

// A planned model whose weights live only in its pack, with the in-memory executor's outputs as the reference.
struct Model
{
    std::unique_ptr<Executor> exec;
    std::vector<Tensor> inputs;
    std::vector<std::string> reference; // sha256 per output, from the executor before streaming
    std::string packPath;
    PackInfo pack;
};

std::vector<std::string> digests(const std::vector<Tensor>& outs)
{
    std::vector<std::string> d;
    for (const auto& t : outs)
        d.push_back(Sha256::hexOf(t.data(), t.bytes()));
    return d;
}

std::unique_ptr<Model> prepare(const std::string& path, const std::map<std::string, Shape>& shapes, const QString& dir,
    size_t split = 0, Precision precision = Precision::F32)
{
    auto g = importModel(path);
    if (!g.ok()) qFatal("%s", g.error().message.c_str());
    ExecutorOptions eo;
    eo.threads = 2;
    eo.splitBytes = split;
    auto exec = Executor::create(*g, shapes, eo);
    if (!exec.ok()) qFatal("%s", exec.error().message.c_str());
    auto m = std::make_unique<Model>();
    m->exec = std::move(exec).value();
    uint64_t seed = 7;
    for (const auto& in : m->exec->graph().inputs) {
        const auto& v = m->exec->values()[m->exec->valueId(in.name)];
        m->inputs.push_back(seededTensor(v.dtype, v.shape, seed++));
    }
    auto out = m->exec->run(m->inputs);
    if (!out.ok()) qFatal("%s", out.error().message.c_str());
    m->reference = digests(*out);
    m->packPath = (dir + "/" + QFileInfo(QString::fromStdString(path)).completeBaseName()
        + (split ? QStringLiteral("-split%1").arg(split) : QString())
        + (precision == Precision::F16 ? QStringLiteral("-fp16") : QString()) + ".dlpack")
                      .toStdString();
    PackSource src;
    src.modelPath = path;
    src.modelSha256 = "test";
    src.inputShapes = shapes;
    src.layoutTag = packLayoutTag(precision);
    src.splitBytes = split;
    src.precision = precision;
    auto st = writeLayerPack(m->packPath, *m->exec, src);
    if (!st.ok()) qFatal("%s", st.error().message.c_str());
    m->exec->releaseWeights();
    auto info = readLayerPack(m->packPath);
    if (!info.ok()) qFatal("%s", info.error().message.c_str());
    m->pack = std::move(info).value();
    return m;
}

std::unique_ptr<WeightReader> fileReader(const std::string& path, FaultPlan plan = {})
{
    auto r = openFileReader(path);
    if (!r.ok()) qFatal("%s", r.error().message.c_str());
    if (plan.failRead < 0 && plan.corruptOffset < 0 && plan.delayUs == 0 && plan.failSubmit < 0)
        return std::move(r).value();
    return faultInjectingReader(std::move(r).value(), plan);
}

void overwrite(const std::string& path, uint64_t offset, const void* data, size_t n)
{
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
}

std::string copyFile(const std::string& from, const std::string& to)
{
    QFile::remove(QString::fromStdString(to));
    QFile::copy(QString::fromStdString(from), QString::fromStdString(to));
    return to;
}

} // namespace

class TestPipeline : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir { DL_TEST_TMP "/pipeline-XXXXXX" }; // the build tree, a real disk: O_DIRECT applies
    std::map<std::string, std::unique_ptr<Model>> m_models;

    Model& model(const std::string& name)
    {
        auto it = m_models.find(name);
        if (it != m_models.end()) return *it->second;
        std::string path;
        std::map<std::string, Shape> shapes;
        // "NAME split": the model with its layers cut into sub-layers of at most 256 KiB; "NAME fp16": its pack stores
        // the weights in float16.
        const bool half = name.ends_with(" fp16");
        const std::string unhalved = half ? name.substr(0, name.size() - 5) : name;
        const bool split = unhalved.ends_with(" split");
        const std::string base = split ? unhalved.substr(0, unhalved.size() - 6) : unhalved;
        if (base == "yolov4-tiny" || base == "yolov3-tiny")
            path = std::string(DL_SOURCE_DIR) + "/resources/models/darknet/" + base + ".cfg";
        else {
            path = modelCache() + "/models/" + base + ".onnx";
            if (base == "ppocr_det") shapes["x"] = { 1, 3, 320, 320 };
            if (base == "ppocr_rec") shapes["x"] = { 1, 3, 48, 320 };
            if (base == "ppocr_cls") shapes["x"] = { 1, 3, 48, 192 };
        }
        auto m = prepare(path, shapes, m_dir.path(), split ? 256 << 10 : 0, half ? Precision::F16 : Precision::F32);
        return *(m_models[name] = std::move(m));
    }

    static bool haveOnnx(const std::string& name)
    {
        return QFile::exists(QString::fromStdString(modelCache() + "/models/" + name + ".onnx"));
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void packMatchesPlan()
    {
        Model& m = model("yolov4-tiny");
        QCOMPARE(m.pack.layers.size(), m.exec->layers().size());
        QVERIFY(checkPackMatches(m.pack, *m.exec).ok());
        QCOMPARE(m.pack.fileBytes % kPackAlignment, uint64_t(0));
        uint64_t streamed = 0;
        for (const auto& l : m.pack.layers) {
            QCOMPARE(l.offset % kPackAlignment, uint64_t(0));
            streamed += l.bytes;
        }
        // Every weight the kernels read is either in a layer blob or pinned by the plan.
        QVERIFY(streamed > 0);
        QVERIFY(m.exec->pinnedWeightBytes() < streamed / 100);
        QVERIFY(isLayerPack(m.packPath));
        QVERIFY(!isLayerPack(std::string(DL_SOURCE_DIR) + "/resources/models/darknet/yolov4-tiny.cfg"));
    }

    void identicalOutputs_data()
    {
        QTest::addColumn<QString>("name");
        QTest::newRow("yolov4-tiny") << "yolov4-tiny";
        QTest::newRow("yolov3-tiny") << "yolov3-tiny";
        QTest::newRow("yolov4-tiny split") << "yolov4-tiny split";
        for (const char* n : { "ppocr_det", "ppocr_rec", "ppocr_cls", "ppocr_rec split" })
            QTest::newRow(n) << n;
        // fp16 packs: every architecture gives the bytes preload gives from the same pack (identicalOutputs sets the
        // reference from preload's first run, since the weights the kernels read are the pack's, rounded).
        for (const char* n : { "yolov4-tiny fp16", "yolov4-tiny split fp16", "ppocr_rec fp16" })
            QTest::newRow(n) << n;
    }

    // Every architecture, at the smallest and at larger staging, with and without resident layers, gives the same
    // bytes as the in-memory executor.
    void identicalOutputs()
    {
        QFETCH(QString, name);
        if (name.startsWith(QLatin1String("ppocr")) && !haveOnnx(name.section(QLatin1Char(' '), 0, 0).toStdString()))
            QSKIP("the PaddleOCR models are not in the model cache (scripts/fetch-models.sh)");
        Model& m = model(name.toStdString());
        if (name.contains(QLatin1String(" split"))) QVERIFY(m.exec->split().layersSplit > 0);
        const bool half = name.endsWith(QLatin1String(" fp16"));
        std::vector<std::string> reference = m.reference;
        if (half) {
            size_t widens = 0;
            for (const auto& l : m.pack.layers)
                widens += l.widens() ? 1 : 0;
            QVERIFY2(widens > m.pack.layers.size() / 2, "most layers of an fp16 pack store float16 weights");
            QVERIFY(m.pack.weightBytes() < m.pack.boundWeightBytes() * 6 / 10);
            PipelineOptions o;
            o.arch = Arch::Preload;
            auto p = Pipeline::create(*m.exec, m.pack, fileReader(m.packPath), o);
            QVERIFY2(p.ok(), p.ok() ? "" : p.error().message.c_str());
            auto out = (*p)->run(m.inputs);
            QVERIFY2(out.ok(), out.ok() ? "" : out.error().message.c_str());
            reference = digests(*out);
            QVERIFY2(reference != m.reference, "float16 weights change the outputs");
        }
        const size_t largest = m.pack.largestLayer();
        std::vector<int> everyThird;
        for (size_t l = 0; l < m.pack.layers.size(); l += 3)
            everyThird.push_back(static_cast<int>(l));
        int configs = 0;
        for (Mode md : kAllModes)
            for (size_t staging : { size_t(0), largest + 3 * kPackAlignment, 5 * largest / 2 })
                for (const auto& resident : { std::vector<int> {}, everyThird }) {
                    const Arch arch = md.arch;
                    if (arch == Arch::Preload && (staging || !resident.empty())) continue;
                    PipelineOptions o;
                    o.arch = arch;
                    o.readThread = md.readThread;
                    o.stagingBytes = staging;
                    o.resident = resident;
                    o.chunkBytes = 64 << 10; // several reads per layer, several in flight
                    MemoryLedger ledger;
                    auto reader = fileReader(m.packPath);
                    const bool asynchronous = reader->asynchronous();
                    auto p = Pipeline::create(*m.exec, m.pack, std::move(reader), o, &ledger);
                    QVERIFY2(p.ok(), p.ok() ? "" : p.error().message.c_str());
                    QCOMPARE((*p)->inlineReads(), arch == Arch::TwoStage && !md.readThread && asynchronous);
                    for (int run = 0; run < 2; ++run) {
                        auto out = (*p)->run(m.inputs);
                        QVERIFY2(out.ok(), out.ok() ? "" : out.error().message.c_str());
                        if (digests(*out) != reference)
                            QFAIL(qPrintable(QStringLiteral("%1: %2, staging %3, %4 resident, run %5 differs")
                                                 .arg(name, md.name())
                                                 .arg(staging)
                                                 .arg(resident.size())
                                                 .arg(run)));
                    }
                    // The ledger holds what the pipeline says it allocated.
                    QCOMPARE(ledger.peak(MemTag::Staging), (*p)->stagingBytes());
                    QCOMPARE(ledger.peak(MemTag::ResidentWeights), (*p)->residentBytes());
                    if (arch != Arch::Preload) QVERIFY((*p)->stats().readBytes > 0);
                    ++configs;
                }
        QVERIFY(configs >= 25);
    }

    void packErrors()
    {
        Model& m = model("yolov4-tiny");
        const std::string dir = m_dir.path().toStdString();
        auto expect = [](const Result<PackInfo>& r, ErrorCode code, const char* words) {
            QVERIFY(!r.ok());
            QCOMPARE(int(r.error().code), int(code));
            QVERIFY2(r.error().message.find(words) != std::string::npos, r.error().message.c_str());
        };
        // Not a pack at all.
        expect(readLayerPack(std::string(DL_SOURCE_DIR) + "/resources/models/darknet/yolov4-tiny.cfg"),
            ErrorCode::Invalid, "not a layer pack");
        expect(readLayerPack(dir + "/missing.dlpack"), ErrorCode::Io, "missing.dlpack");
        // Truncated: in the blobs, and inside the header.
        {
            const std::string p = copyFile(m.packPath, dir + "/short.dlpack");
            QVERIFY(QFile::resize(QString::fromStdString(p), static_cast<qint64>(m.pack.fileBytes / 2)));
            expect(readLayerPack(p), ErrorCode::Corrupt, "truncated");
            expect(readLayerPack(p), ErrorCode::Corrupt, "re-pack");
            QVERIFY(QFile::resize(QString::fromStdString(p), 20));
            expect(readLayerPack(p), ErrorCode::Corrupt, "truncated");
        }
        // A damaged header, a damaged table.
        {
            const std::string p = copyFile(m.packPath, dir + "/header.dlpack");
            const uint64_t big = 1;
            overwrite(p, 24, &big, sizeof big);
            expect(readLayerPack(p), ErrorCode::Corrupt, "header is damaged");
            const std::string q = copyFile(m.packPath, dir + "/table.dlpack");
            overwrite(q, kPackAlignment + 10, "X", 1);
            expect(readLayerPack(q), ErrorCode::Corrupt, "layer table is damaged");
        }
        // Another version (with a header CRC that matches, as a future engine would write it).
        {
            const std::string p = copyFile(m.packPath, dir + "/version.dlpack");
            char header[56];
            std::ifstream(p, std::ios::binary).read(header, sizeof header);
            const uint32_t v = kLayerPackVersion + 1;
            std::memcpy(header + 8, &v, 4);
            const uint32_t crc = crc32c(header, 52);
            std::memcpy(header + 52, &crc, 4);
            overwrite(p, 0, header, sizeof header);
            const std::string newer = "version " + std::to_string(kLayerPackVersion + 1);
            expect(readLayerPack(p), ErrorCode::Unsupported, newer.c_str());
        }
        // Made for another model, or from other weights: the key or the plan differs.
        {
            auto st = checkPackMatches(m.pack, *m.exec, "0000");
            QVERIFY(!st.ok());
            QVERIFY2(st.error().message.find("re-pack") != std::string::npos, st.error().message.c_str());
            Model& other = model("yolov3-tiny");
            st = checkPackMatches(other.pack, *m.exec);
            QVERIFY(!st.ok());
            QCOMPARE(int(st.error().code), int(ErrorCode::Corrupt));
            auto p = Pipeline::create(*m.exec, other.pack, fileReader(other.packPath), {});
            QVERIFY(!p.ok());
        }
        // A flipped byte in one layer's weights: every architecture names that layer.
        {
            size_t victim = m.pack.layers.size() / 2;
            while (m.pack.layers[victim].bytes == 0)
                ++victim;
            const std::string p = copyFile(m.packPath, dir + "/flipped.dlpack");
            char byte = 0;
            {
                std::ifstream f(p, std::ios::binary);
                f.seekg(static_cast<std::streamoff>(m.pack.layers[victim].offset + 100));
                f.read(&byte, 1);
            }
            byte = static_cast<char>(byte ^ 0x10);
            overwrite(p, m.pack.layers[victim].offset + 100, &byte, 1);
            auto info = readLayerPack(p);
            QVERIFY(info.ok()); // the table is fine; the blob is caught when read
            const std::string named = "layer " + std::to_string(victim) + " '" + m.pack.layers[victim].name + "'";
            for (Arch arch : kAll) {
                PipelineOptions o;
                o.arch = arch;
                auto pl = Pipeline::create(*m.exec, *info, fileReader(p), o);
                Error e;
                if (arch == Arch::Preload) {
                    QVERIFY(!pl.ok()); // preload reads everything at create()
                    e = pl.error();
                } else {
                    QVERIFY(pl.ok());
                    auto out = (*pl)->run(m.inputs);
                    QVERIFY(!out.ok());
                    e = out.error();
                }
                QCOMPARE(int(e.code), int(ErrorCode::Corrupt));
                QVERIFY2(e.message.find(named + ": pack checksum mismatch") != std::string::npos, e.message.c_str());
                QVERIFY2(e.message.find("re-pack") != std::string::npos, e.message.c_str());
            }
        }
    }

    // A read that fails mid-run fails the run naming the layer, without a hang; the next run starts over and works.
    void readErrorNamesLayerAndRecovers()
    {
        Model& m = model("yolov4-tiny");
        for (Mode md : kStreamingModes) {
            FaultPlan plan;
            plan.failRead = 7;
            PipelineOptions o;
            o.arch = md.arch;
            o.readThread = md.readThread;
            o.chunkBytes = 64 << 10;
            auto p = Pipeline::create(*m.exec, m.pack, fileReader(m.packPath, plan), o);
            QVERIFY(p.ok());
            auto out = (*p)->run(m.inputs);
            QVERIFY(!out.ok());
            QCOMPARE(int(out.error().code), int(ErrorCode::Io));
            QVERIFY2(out.error().message.rfind("layer ", 0) == 0, out.error().message.c_str());
            QVERIFY2(out.error().message.find("injected") != std::string::npos, out.error().message.c_str());
            for (int run = 0; run < 2; ++run) {
                out = (*p)->run(m.inputs);
                QVERIFY2(out.ok(), out.ok() ? "" : out.error().message.c_str());
                QVERIFY(digests(*out) == m.reference);
            }
        }
    }

    // waitForReadAhead() between runs: the stages read ahead of the next run (slowly, here) and then nothing more
    // until it starts, and the next runs' outputs stay the reference's. Bytes read are counted from the trace's read
    // spans as they end (the pipeline's stats are a snapshot at each run's end).
    void readAheadSettlesBetweenRuns()
    {
        Model& m = model("yolov4-tiny");
        for (Mode md : kStreamingModes) {
            FaultPlan plan;
            // Each read lands 10 ms late: the reads are the bottleneck by far, even beside other tests on a busy
            // machine, so that reading ahead outlasts the run's return.
            plan.delayUs = 10000;
            PipelineOptions o;
            o.arch = md.arch;
            o.readThread = md.readThread;
            o.chunkBytes = 64 << 10;
            size_t largest = 0;
            for (const auto& l : m.pack.layers)
                largest = std::max<size_t>(largest, l.paddedBytes);
            if (md.arch == Arch::Async || md.arch == Arch::TwoStage) o.stagingBytes = 4 * largest; // room to run ahead
            Tracer tracer;
            CollectingSink sink;
            tracer.addSink(&sink);
            auto p = Pipeline::create(*m.exec, m.pack, fileReader(m.packPath, plan), o, nullptr, &tracer);
            QVERIFY(p.ok());
            Pipeline& pl = **p;
            auto readBytes = [&] {
                uint64_t n = 0;
                for (const auto& e : sink.events())
                    if (e.stage == Stage::Read && e.kind == EventKind::End && e.iteration >= 0) n += e.bytes;
                return n;
            };
            const QString mode = QStringLiteral("%1%2").arg(archName(md.arch), md.readThread ? " (read thread)" : "");
            for (int run = 0; run < 2; ++run) {
                auto out = pl.run(m.inputs);
                QVERIFY2(out.ok(), out.ok() ? "" : out.error().message.c_str());
                QVERIFY(digests(*out) == m.reference);
                const uint64_t returned = readBytes();
                pl.waitForReadAhead();
                const uint64_t settled = readBytes();
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                QVERIFY2(readBytes() == settled, qPrintable(mode)); // nothing read after it returned
                if (md.arch == Arch::Sequential) QVERIFY2(settled == returned, qPrintable(mode));
                // Async and two-stage run ahead by more than the reads in flight when the run returned.
                if (md.arch == Arch::Async || (md.arch == Arch::TwoStage && !pl.inlineReads()))
                    QVERIFY2(settled > returned + 8 * o.chunkBytes,
                        qPrintable(QStringLiteral("%1: %2 then %3").arg(mode).arg(returned).arg(settled)));
            }
            tracer.removeSink(&sink);
        }
        // With every layer resident no stage works between runs: it returns at once.
        for (Arch arch : { Arch::Sync, Arch::Async, Arch::TwoStage }) {
            PipelineOptions o;
            o.arch = arch;
            for (size_t l = 0; l < m.pack.layers.size(); ++l)
                o.resident.push_back(static_cast<int>(l));
            auto p = Pipeline::create(*m.exec, m.pack, fileReader(m.packPath), o);
            QVERIFY(p.ok());
            auto out = (*p)->run(m.inputs);
            QVERIFY2(out.ok(), out.ok() ? "" : out.error().message.c_str());
            (*p)->waitForReadAhead();
            QVERIFY(digests(*out) == m.reference);
        }
    }

    // cancel() from another thread: the run returns Cancelled, and no kernel starts more than one layer later.
    void cancelWithinOneLayer()
    {
        Model& m = model("yolov4-tiny");
        for (Mode md : kStreamingModes) {
            FaultPlan plan;
            plan.delayUs = 3000; // slow reads: the run takes far longer than the cancel delay
            PipelineOptions o;
            o.arch = md.arch;
            o.readThread = md.readThread;
            o.chunkBytes = 64 << 10;
            Tracer tracer;
            CollectingSink sink;
            tracer.addSink(&sink);
            auto p = Pipeline::create(*m.exec, m.pack, fileReader(m.packPath, plan), o, nullptr, &tracer);
            QVERIFY(p.ok());
            std::atomic<int64_t> cancelledAt { 0 };
            const size_t before = sink.eventCount();
            std::thread canceller([&] {
                // run() clears an earlier cancel() as it begins: wait until it has begun (its first event), so that
                // a machine that is slow to start the run cannot make the cancel come too early and be lost.
                while (sink.eventCount() == before)
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                std::this_thread::sleep_for(std::chrono::milliseconds(30));
                cancelledAt = traceClockNs();
                (*p)->cancel();
            });
            auto out = (*p)->run(m.inputs);
            canceller.join();
            QVERIFY(!out.ok());
            QCOMPARE(int(out.error().code), int(ErrorCode::Cancelled));
            int kernelsAfter = 0;
            for (const auto& e : sink.events())
                if (e.stage == Stage::Kernel && e.kind == EventKind::Begin && e.beginNs > cancelledAt) ++kernelsAfter;
            QVERIFY2(kernelsAfter <= 1, qPrintable(QString::number(kernelsAfter)));
            tracer.removeSink(&sink);
            // And it runs again afterwards, from the first layer.
            auto again = (*p)->run(m.inputs);
            QVERIFY2(again.ok(), again.ok() ? "" : again.error().message.c_str());
            QVERIFY(digests(*again) == m.reference);
        }
    }

    // cancel() with no run in progress (a user's late click) does not fail the next run.
    void cancelWhileIdleIsHarmless()
    {
        Model& m = model("yolov3-tiny");
        for (Mode md : kStreamingModes) {
            PipelineOptions o;
            o.arch = md.arch;
            o.readThread = md.readThread;
            auto p = Pipeline::create(*m.exec, m.pack, fileReader(m.packPath), o);
            QVERIFY(p.ok());
            (*p)->cancel(); // before the first run
            for (int run = 0; run < 2; ++run) {
                auto out = (*p)->run(m.inputs);
                QVERIFY2(out.ok(),
                    qPrintable(md.name() + QStringLiteral(": ")
                        + QString::fromStdString(out.ok() ? "" : out.error().message)));
                QVERIFY(digests(*out) == m.reference);
                (*p)->cancel(); // after a run, with the next run's reads possibly in flight
            }
        }
    }

    // A stop token set between runs (the studio's Stop landing just before the next run) makes that run, and every
    // later one, return Cancelled without running a layer; cleared, the pipeline runs normally again.
    void aStopTokenSetBetweenRunsHolds()
    {
        Model& m = model("yolov3-tiny");
        for (Mode md : kStreamingModes) {
            PipelineOptions o;
            o.arch = md.arch;
            o.readThread = md.readThread;
            Tracer tracer;
            CollectingSink sink;
            tracer.addSink(&sink);
            auto p = Pipeline::create(*m.exec, m.pack, fileReader(m.packPath), o, nullptr, &tracer);
            QVERIFY(p.ok());
            std::atomic<bool> stop { false };
            (*p)->setStopToken(&stop);
            QVERIFY((*p)->run(m.inputs).ok());
            stop = true;
            (*p)->cancel(); // what the studio does; run() would clear it without the token
            tracer.flush();
            const size_t before = sink.eventCount();
            for (int run = 0; run < 2; ++run) {
                auto out = (*p)->run(m.inputs);
                QVERIFY(!out.ok());
                QCOMPARE(out.error().code, ErrorCode::Cancelled);
            }
            tracer.flush();
            size_t kernels = 0;
            const auto events = sink.events();
            for (size_t i = before; i < events.size(); ++i)
                if (events[i].stage == Stage::Kernel && events[i].kind == EventKind::End) ++kernels;
            QCOMPARE(kernels, size_t(0));
            stop = false;
            auto out = (*p)->run(m.inputs);
            QVERIFY2(out.ok(), qPrintable(md.name()));
            QVERIFY(digests(*out) == m.reference);
            tracer.removeSink(&sink);
        }
    }

    // Two-stage reads inline only where the reader is asynchronous: over pread (which reads inside reap()) it keeps a
    // reader thread, so that the reads still overlap the kernels; the outputs are the same either way.
    void inlineReadsNeedAnAsynchronousReader()
    {
        Model& m = model("yolov3-tiny");
        FileReaderOptions ro;
        ro.uring = false;
        auto pread = openFileReader(m.packPath, ro);
        QVERIFY(pread.ok());
        QVERIFY(!(*pread)->asynchronous());
        PipelineOptions o;
        o.arch = Arch::TwoStage;
        auto p = Pipeline::create(*m.exec, m.pack, std::move(pread).value(), o);
        QVERIFY2(p.ok(), p.ok() ? "" : p.error().message.c_str());
        QVERIFY(!(*p)->inlineReads());
        auto out = (*p)->run(m.inputs);
        QVERIFY2(out.ok(), out.ok() ? "" : out.error().message.c_str());
        QVERIFY(digests(*out) == m.reference);
        auto uring = openFileReader(m.packPath);
        QVERIFY(uring.ok());
        if (!(*uring)->asynchronous()) QSKIP("io_uring is not available here: every reader is synchronous");
        Tracer tracer;
        CollectingSink sink;
        tracer.addSink(&sink);
        auto q = Pipeline::create(*m.exec, m.pack, std::move(uring).value(), o, nullptr, &tracer);
        QVERIFY(q.ok());
        QVERIFY((*q)->inlineReads());
        // Inline, the kernel stage hands the room each layer frees to the next reads at once, so the reads of the next
        // run start before this one returns.
        int64_t secondStarts = 0;
        for (int run = 0; run < 2; ++run) {
            if (run == 1) secondStarts = traceClockNs();
            auto r = (*q)->run(m.inputs);
            QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
            QVERIFY(digests(*r) == m.reference);
        }
        tracer.removeSink(&sink);
        int early = 0;
        for (const auto& e : sink.events())
            if (e.stage == Stage::Read && e.kind == EventKind::Begin && e.iteration == 1 && e.beginNs < secondStarts)
                ++early;
        QVERIFY2(early >= 1, qPrintable(QString::number(early)));
    }

    void stagingAndResidentChecks()
    {
        Model& m = model("yolov4-tiny");
        PipelineOptions o;
        o.arch = Arch::TwoStage;
        o.stagingBytes = m.pack.largestLayer() / 2;
        auto p = Pipeline::create(*m.exec, m.pack, fileReader(m.packPath), o);
        QVERIFY(!p.ok());
        QVERIFY2(p.error().message.find(std::to_string(m.pack.largestLayer())) != std::string::npos,
            p.error().message.c_str());
        o.stagingBytes = 0;
        o.resident = { static_cast<int>(m.pack.layers.size()) };
        p = Pipeline::create(*m.exec, m.pack, fileReader(m.packPath), o);
        QVERIFY(!p.ok());
        QVERIFY2(p.error().message.find("does not exist") != std::string::npos, p.error().message.c_str());
    }

    // Verify::Always checks every read, First only a layer's first one, Off none: a byte changed on disk between
    // two runs is caught by Always only.
    void verifyModes()
    {
        Model& m = model("yolov3-tiny");
        const PackLayer* victim = nullptr;
        for (const auto& l : m.pack.layers)
            if (l.bytes > 64) victim = &l; // the last layer with weights: far from what the reader reads ahead
        QVERIFY(victim);
        for (Verify v : { Verify::Off, Verify::First, Verify::Always }) {
            const std::string path
                = copyFile(m.packPath, m_dir.filePath(QStringLiteral("verify.dlpack")).toStdString());
            PipelineOptions o;
            o.arch = Arch::TwoStage;
            o.verify = v;
            auto p = Pipeline::create(*m.exec, m.pack, fileReader(path), o);
            QVERIFY2(p.ok(), p.ok() ? "" : p.error().message.c_str());
            auto first = (*p)->run(m.inputs);
            QVERIFY(first.ok());
            QVERIFY(digests(*first) == m.reference);
            const unsigned char flip[4] = { 0x7f, 0x7f, 0x7f, 0x7f };
            overwrite(path, victim->offset + 16, flip, sizeof flip);
            auto second = (*p)->run(m.inputs);
            if (v == Verify::Always) {
                QVERIFY(!second.ok());
                QVERIFY2(second.error().message.find("'" + victim->name + "'") != std::string::npos
                        && second.error().message.find("checksum") != std::string::npos,
                    second.error().message.c_str());
            } else {
                QVERIFY2(second.ok(), second.ok() ? "" : second.error().message.c_str());
                QVERIFY(digests(*second) != m.reference);
            }
        }
        QCOMPARE(parseVerify("first"), std::optional<Verify>(Verify::First));
        QVERIFY(!parseVerify("sometimes"));
    }

    void budgetRule()
    {
        Model& m = model("yolov4-tiny");
        for (Arch arch : kStreaming) {
            const size_t minimum = minimumWeightMemory(m.pack, arch);
            auto below = optionsForBudget(m.pack, arch, minimum - 1);
            QVERIFY(!below.ok());
            QVERIFY2(below.error().message.find(std::to_string(minimum)) != std::string::npos,
                below.error().message.c_str());
            // A budget a quarter of the model above the minimum keeps layers resident and stays within the budget.
            const size_t budget = minimum + static_cast<size_t>(m.pack.weightBytes() / 4);
            auto o = optionsForBudget(m.pack, arch, budget);
            QVERIFY(o.ok());
            QVERIFY(!o->resident.empty());
            // FIFO rings get room for four of the largest streamed layers before anything is kept resident.
            if (arch == Arch::TwoStage || arch == Arch::Async) {
                auto roomy = optionsForBudget(m.pack, arch, 5 * minimum);
                QVERIFY(roomy.ok());
                std::vector<bool> kept(m.pack.layers.size(), false);
                for (int r : roomy->resident)
                    kept[static_cast<size_t>(r)] = true;
                size_t largest = 0;
                for (size_t l = 0; l < m.pack.layers.size(); ++l)
                    if (!kept[l]) largest = std::max<size_t>(largest, m.pack.layers[l].paddedBytes);
                QVERIFY2(roomy->stagingBytes >= 4 * largest,
                    qPrintable(QStringLiteral("%1 < 4 x %2").arg(roomy->stagingBytes).arg(largest)));
            }
            MemoryLedger ledger;
            auto p = Pipeline::create(*m.exec, m.pack, fileReader(m.packPath), *o, &ledger);
            QVERIFY2(p.ok(), p.ok() ? "" : p.error().message.c_str());
            const size_t weights = ledger.peak(MemTag::ResidentWeights) + ledger.peak(MemTag::Staging);
            QVERIFY2(weights <= budget + m.exec->pinnedWeightBytes(),
                qPrintable(QStringLiteral("%1 > %2").arg(weights).arg(budget)));
            auto out = (*p)->run(m.inputs);
            QVERIFY(out.ok());
            QVERIFY(digests(*out) == m.reference);
        }
        QVERIFY(!optionsForBudget(m.pack, Arch::Preload, m.pack.weightBytes() / 2).ok());
    }

    void budgetRuleSplit()
    {
        constexpr size_t MiB = 1 << 20;
        // FIFO rings: pieces for three per ring (two fit wherever the wrap falls), but for two rather than under 1 MiB.
        QCOMPARE(splitForBudget(Arch::TwoStage, 9006193), 2 * MiB); // YOLOv4 at 3.5 %: 3.0 MB a piece for three
        QCOMPARE(splitForBudget(Arch::TwoStage, 8028229), 2 * MiB); // ResNet-152
        QCOMPARE(splitForBudget(Arch::TwoStage, 2401912), 1 * MiB); // DenseNet-201: 0.8 MB for three, 1.2 for two
        QCOMPARE(splitForBudget(Arch::TwoStage, 1200000), MiB / 2); // under 2 MiB: two per ring
        QCOMPARE(splitForBudget(Arch::Async, 9006193), 1 * MiB); // two rings of 4.5 MB
        QCOMPARE(splitForBudget(Arch::TwoStage, 64 * MiB), 16 * MiB);
        // Sequential and sync hold one piece per buffer.
        QCOMPARE(splitForBudget(Arch::Sequential, 9006193), 4 * MiB);
        QCOMPARE(splitForBudget(Arch::Sync, 9006193), 2 * MiB);
        QCOMPARE(splitForBudget(Arch::Preload, 9006193), size_t(0));
        for (size_t budget = 64 << 10; budget < 512 * MiB; budget = budget * 5 / 4) {
            for (Arch arch : { Arch::TwoStage, Arch::Async }) {
                const size_t ring = budget / (arch == Arch::Async ? 2 : 1), s = splitForBudget(arch, budget);
                QVERIFY(s >= kPackAlignment && (s & (s - 1)) == 0);
                QVERIFY2(3 * s <= ring || (s <= MiB && 2 * s <= ring) || s == kPackAlignment,
                    qPrintable(QStringLiteral("%1: %2").arg(budget).arg(s)));
                QVERIFY(6 * s > ring); // not finer than three per ring needs
            }
        }
    }

    void budgetRuleHugePageRings()
    {
        // Forty layers of 256 KiB: four of them fit a ring in 1 MiB, which would sit on small pages. With large
        // pages on, a budget that holds a huge page per ring gives each ring one and keeps fewer layers resident.
        PackInfo pack;
        for (int i = 0; i < 40; ++i) {
            PackLayer l;
            l.index = i;
            l.offset = static_cast<uint64_t>(i) * (256 << 10);
            l.bytes = l.paddedBytes = 256 << 10;
            pack.layers.push_back(l);
        }
        const bool was = largePagesOn();
        for (Arch arch : { Arch::TwoStage, Arch::Async }) {
            const size_t rings = arch == Arch::Async ? 2 : 1;
            const size_t budget = rings * kLargePageBytes + (1 << 20);
            setLargePages(true);
            auto huge = optionsForBudget(pack, arch, budget);
            setLargePages(false);
            auto small = optionsForBudget(pack, arch, budget);
            QVERIFY(huge.ok() && small.ok());
            QVERIFY2(huge->stagingBytes >= kLargePageBytes, qPrintable(QString::number(huge->stagingBytes)));
            QVERIFY2(small->stagingBytes < kLargePageBytes, qPrintable(QString::number(small->stagingBytes)));
            QVERIFY(huge->resident.size() < small->resident.size());
            for (const auto* o : { &*huge, &*small })
                QVERIFY(o->stagingBytes * rings + o->resident.size() * (256 << 10) <= budget);
            // Below a huge page per ring the rule is as before.
            setLargePages(true);
            auto tight = optionsForBudget(pack, arch, rings * kLargePageBytes - (256 << 10));
            QVERIFY(tight.ok());
            QVERIFY(tight->stagingBytes < kLargePageBytes);
        }
        setLargePages(was);
    }
};

QTEST_GUILESS_MAIN(TestPipeline)
#include "test_pipeline.moc"
