// The planner: its predicted weight memory against the ledger of real pipelines on a real model, its simulator
// against the closed forms of simple cases, the optimizer's budgets and frontier, the fit of the disk model, and the
// configuration file's checks.

#include "core/random.h"
#include "model/importer.h"
#include "pack/layerpack.h"
#include "pipeline/pipeline.h"
#include "plan/config.h"
#include "plan/planner.h"
#include "runtime/executor.h"

#include <QTemporaryDir>
#include <QTest>

#include <numeric>

using namespace dl;
using namespace dl::plan;

namespace {

CostModel uniform(int layers, uint64_t bytes, double kernelMs, double bytesPerMs, double requestMs = 0)
{
    CostModel m;
    for (int i = 0; i < layers; ++i)
        m.layers.push_back({ "l" + std::to_string(i), bytes, kernelMs, 0.0 });
    m.diskBytesPerMs = bytesPerMs;
    m.requestMs = requestMs;
    m.copyBytesPerMs = 10 * bytesPerMs;
    return m;
}

Prediction predict(const CostModel& m, Arch arch, uint64_t staging = 0, std::vector<int> resident = {})
{
    Configuration c;
    c.arch = arch;
    c.stagingBytes = staging;
    c.resident = std::move(resident);
    auto p = simulate(m, c);
    if (!p.ok()) qFatal("%s", p.error().message.c_str());
    return *p;
}

} // namespace

class TestPlan : public QObject
{
    Q_OBJECT

private slots:
    void predictedWeightsAreTheLedgers_data()
    {
        QTest::addColumn<int>("precision");
        QTest::newRow("fp32") << static_cast<int>(Precision::F32);
        QTest::newRow("fp16") << static_cast<int>(Precision::F16);
    }

    // The weight memory the planner predicts is, byte for byte, what the ledger of a real pipeline holds, for packs of
    // either precision (an fp16 pack's layers held widened where the kernels read them).
    void predictedWeightsAreTheLedgers()
    {
        QFETCH(int, precision);
        const auto half = static_cast<Precision>(precision);
        QTemporaryDir dir(QStringLiteral(DL_TEST_TMP "/plan-XXXXXX")); // the build tree: a real disk
        auto g = importModel(DL_SOURCE_DIR "/resources/models/darknet/yolov3-tiny.cfg");
        QVERIFY(g.ok());
        ExecutorOptions eo;
        eo.threads = 2;
        auto exec = Executor::create(*g, {}, eo);
        QVERIFY2(exec.ok(), exec.ok() ? "" : exec.error().message.c_str());
        const std::string packPath = dir.filePath(QStringLiteral("tiny.dlpack")).toStdString();
        PackSource src;
        src.modelPath = "yolov3-tiny.cfg";
        src.modelSha256 = "test";
        src.layoutTag = packLayoutTag(half);
        src.precision = half;
        QVERIFY(writeLayerPack(packPath, **exec, src).ok());
        (*exec)->releaseWeights();
        auto pack = readLayerPack(packPath);
        QVERIFY(pack.ok());

        CostModel m;
        for (const auto& l : pack->layers)
            m.layers.push_back({ l.name, l.paddedBytes, 1.0, 0.0, l.widens() ? l.boundPadded() : 0 });
        QCOMPARE(m.widens(), half == Precision::F16);
        m.diskBytesPerMs = 1e6;
        m.pinnedBytes = (*exec)->pinnedWeightBytes();
        std::vector<int> everyThird;
        for (size_t l = 0; l < pack->layers.size(); l += 3)
            everyThird.push_back(static_cast<int>(l));
        const uint64_t largest = pack->largestLayer();
        int checked = 0;
        for (Arch arch : { Arch::Preload, Arch::Sequential, Arch::Sync, Arch::Async, Arch::TwoStage })
            for (uint64_t staging : { uint64_t(0), largest * 3 + 5 })
                for (const auto& resident : { std::vector<int> {}, everyThird }) {
                    if (arch == Arch::Preload && (staging || !resident.empty())) continue;
                    PipelineOptions o;
                    o.arch = arch;
                    o.stagingBytes = staging;
                    o.resident = resident;
                    MemoryLedger ledger;
                    auto reader = openFileReader(packPath);
                    QVERIFY(reader.ok());
                    auto p = Pipeline::create(**exec, *pack, std::move(reader).value(), o, &ledger);
                    QVERIFY2(p.ok(), p.ok() ? "" : p.error().message.c_str());
                    QVERIFY((*p)->run({ seededTensor(DType::F32, { 1, 3, 416, 416 }, 1) }).ok());
                    const Prediction pr = predict(m, arch, staging, resident);
                    const uint64_t measured = ledger.peak(MemTag::ResidentWeights) + ledger.peak(MemTag::Staging);
                    if (pr.weightsPeak != measured)
                        QFAIL(qPrintable(QStringLiteral("%1, staging %2, %3 resident: predicted %4, ledger %5")
                                             .arg(archName(arch))
                                             .arg(staging)
                                             .arg(resident.size())
                                             .arg(pr.weightsPeak)
                                             .arg(measured)));
                    QCOMPARE(pr.stagingBytes, static_cast<uint64_t>((*p)->stagingBytes()));
                    ++checked;
                }
        QCOMPARE(checked, 17);
    }

    void simulatorMatchesClosedForms()
    {
        // 10 layers of one 4 KiB block each, kernels of 2 ms; a disk of 4096 bytes/ms: each read 1 ms, each copy 0.1.
        const CostModel m = uniform(10, 4096, 2.0, 4096.0);
        QCOMPARE(predict(m, Arch::Preload).latencyMs, 20.0);
        // Sequential: read, copy, kernel, one after the other.
        QVERIFY(qAbs(predict(m, Arch::Sequential).latencyMs - 10 * (1.0 + 0.1 + 2.0)) < 1e-9);
        // Two-stage, a ring of one layer: the next read waits for the kernels to free it, so nothing overlaps.
        QVERIFY(qAbs(predict(m, Arch::TwoStage).latencyMs - 30.0) < 1e-9);
        // A ring of two: reads hide behind the kernels, the steady state is the kernels alone.
        const Prediction two = predict(m, Arch::TwoStage, 8192);
        QVERIFY2(qAbs(two.latencyMs - 20.0) < 1e-9, qPrintable(QString::number(two.latencyMs)));
        QVERIFY(two.stallMs < 1e-9);
        // Read-bound (reads of 5 ms, kernels of 2): the disk sets the pace, busy all along.
        const CostModel slow = uniform(10, 4096, 2.0, 4096.0 / 5, 0.5);
        const Prediction bound = predict(slow, Arch::TwoStage, 4 * 4096);
        QVERIFY2(qAbs(bound.latencyMs - 50.0) < 1e-6, qPrintable(QString::number(bound.latencyMs)));
        QVERIFY(bound.stallMs > 25);
        // Resident layers read nothing: with all but one resident only that one streams.
        std::vector<int> nine(9);
        std::iota(nine.begin(), nine.end(), 0);
        const Prediction mostly = predict(slow, Arch::TwoStage, 0, nine);
        QCOMPARE(mostly.streamedBytes, uint64_t(4096));
        QCOMPARE(mostly.weightsPeak, uint64_t(10 * 4096));
        // Async: a copy stage between two rings; the copies are short, so the kernels set the pace.
        const Prediction async = predict(m, Arch::Async, 8192);
        QVERIFY2(qAbs(async.latencyMs - 20.0) < 1e-6, qPrintable(QString::number(async.latencyMs)));
        QCOMPARE(async.stagingBytes, uint64_t(2 * 8192));
        // Sync: a cycle per layer as long as its slowest stage (kernels of 2 ms, or reads of 5.5 after an idle disk).
        QVERIFY(qAbs(predict(m, Arch::Sync).latencyMs - 20.0) < 1e-9);
        QVERIFY(qAbs(predict(slow, Arch::Sync).latencyMs - 10 * 5.5) < 1e-9);
        // A ring below the largest layer is refused, as the pipeline refuses it.
        Configuration bad;
        bad.stagingBytes = 10;
        bad.resident = {};
        auto r = simulate(uniform(2, 8192, 1, 1), bad);
        QVERIFY(!r.ok());
        QVERIFY(r.error().message.find("cannot hold the largest streamed layer") != std::string::npos);

        // An fp16 pack: each layer reads 4096 bytes and widens into 8192 in 0.5 ms. Two-stage widens in its kernel
        // stage: with reads hidden, each layer costs its widening on top of its kernels; async widens in its copy
        // stage, beside the kernels, which still set the pace.
        CostModel half = uniform(10, 4096, 2.0, 4096.0);
        for (LayerCost& l : half.layers) {
            l.boundBytes = 8192;
            l.copyMs = 0.5;
        }
        const Prediction widened = predict(half, Arch::TwoStage, 8192);
        QVERIFY2(qAbs(widened.latencyMs - 10 * 2.5) < 1e-9, qPrintable(QString::number(widened.latencyMs)));
        QCOMPARE(widened.stagingBytes, uint64_t(8192 + 8192)); // the ring, and one widened layer
        QCOMPARE(widened.streamedBytes, uint64_t(10 * 4096));
        const Prediction asyncHalf = predict(half, Arch::Async, 8192);
        QVERIFY2(qAbs(asyncHalf.latencyMs - 20.0) < 1e-6, qPrintable(QString::number(asyncHalf.latencyMs)));
        QCOMPARE(asyncHalf.stagingBytes, uint64_t(8192 + 2 * 8192)); // the host ring, and a device ring of twice it
        // Resident layers are held widened.
        QCOMPARE(predict(half, Arch::TwoStage, 0, nine).weightsPeak, uint64_t(9 * 8192 + 4096 + 8192));
        QCOMPARE(half.weightBytes(), uint64_t(10 * 8192));
        QCOMPARE(half.readBytes(), uint64_t(10 * 4096));
    }

    void optimizerKeepsWithinBudgetAndTheFrontierOnlyImproves()
    {
        // 500 layers of mixed sizes and costs: read-heavy and compute-heavy stretches.
        CostModel m;
        for (int i = 0; i < 500; ++i) {
            const uint64_t bytes = uint64_t(4096) * (1 + (i * 37) % 97);
            const double kernel = 0.05 + 0.01 * ((i * 13) % 29);
            m.layers.push_back({ "l" + std::to_string(i), i % 50 == 7 ? 0 : bytes, kernel, 0.0 });
        }
        m.diskBytesPerMs = 1.5e6;
        m.requestMs = 0.05;
        m.copyBytesPerMs = 8e6;
        m.pinnedBytes = 12288;
        for (Arch arch : { Arch::TwoStage, Arch::Async, Arch::Sync, Arch::Sequential }) {
            auto f = frontier(m, arch, 50);
            QVERIFY2(f.ok(), f.ok() ? "" : f.error().message.c_str());
            QCOMPARE(f->size(), size_t(50));
            QCOMPARE(f->front().budgetBytes, minimumBudget(m, arch));
            QCOMPARE(f->back().budgetBytes, m.pinnedBytes + m.weightBytes());
            for (size_t k = 0; k < f->size(); ++k) {
                const Choice& c = (*f)[k];
                QVERIFY(c.prediction.weightsPeak <= c.budgetBytes);
                QVERIFY(c.prediction.latencyMs >= c.lowerBoundMs - 1e-6);
                if (k) QVERIFY(c.prediction.latencyMs <= (*f)[k - 1].prediction.latencyMs + 1e-9);
                // What optimize() chose is what the simulator says of it.
                auto again = simulate(m, c.config);
                QVERIFY(again.ok());
                QCOMPARE(again->latencyMs, c.prediction.latencyMs);
            }
            // The whole model resident costs the kernels alone.
            QVERIFY2(qAbs(f->back().prediction.latencyMs - m.kernelMs()) < 1e-6,
                qPrintable(QStringLiteral("%1: %2 ms with %3 resident, kernels %4 ms")
                               .arg(archName(arch))
                               .arg(f->back().prediction.latencyMs)
                               .arg(f->back().config.resident.size())
                               .arg(m.kernelMs())));
        }
        auto below = optimize(m, Arch::TwoStage, minimumBudget(m, Arch::TwoStage) - 1);
        QVERIFY(!below.ok());
        QVERIFY(below.error().message.find("below the minimum of " + std::to_string(minimumBudget(m, Arch::TwoStage)))
            != std::string::npos);
        QVERIFY(!optimize(m, Arch::Preload, m.weightBytes()).ok());
        QVERIFY(optimize(m, Arch::Preload, m.weightBytes() + m.pinnedBytes).ok());
    }

    // Calibration recovers the read factor a pipelined run was made with, from its latency and its kernel times
    // (kernels that ran faster than the profile's are drift, not contention), leaves it at 1 when the reads were
    // hidden, and refuses runs that cannot tell it.
    void calibrationFitsTheReadFactorOfAPipelinedRun()
    {
        // Varied layers: kernels 1..4 ms, 1..3 blocks of 4 KiB, a disk of 4096 bytes/ms with 0.2 ms per request.
        CostModel profile;
        for (int i = 0; i < 24; ++i)
            profile.layers.push_back({ "l" + std::to_string(i), uint64_t(4096 * (1 + i % 3)), 1.0 + i % 4, 0.0 });
        profile.diskBytesPerMs = 4096;
        profile.requestMs = 0.2;
        // The truth: the same kernels 10 % faster on the day of the run, and reads beside them at 0.6 of the disk.
        CostModel truth = profile;
        for (auto& l : truth.layers)
            l.kernelMs *= 0.9;
        truth.contention.readFactor = 0.6;
        auto runOf = [&](const Configuration& c) {
            CalibrationRun run;
            run.config = c;
            auto p = simulate(truth, c);
            if (!p.ok()) qFatal("%s", p.error().message.c_str());
            run.latencyMs = p->latencyMs;
            for (const auto& l : truth.layers)
                run.kernelMs.push_back(l.kernelMs);
            return run;
        };
        Configuration ring2;
        ring2.stagingBytes = 2 * 3 * 4096; // read-bound at 0.6: the factor shows in the latency
        for (Arch arch : { Arch::TwoStage, Arch::Async, Arch::Sync }) {
            ring2.arch = arch;
            CalibrationRun exact = runOf(ring2);
            exact.toleranceFraction = 0; // a measurement without noise
            auto c = calibrate(profile, exact);
            QVERIFY2(c.ok(), c.ok() ? "" : c.error().message.c_str());
            QVERIFY2(
                qAbs(c->contention.readFactor - 0.6) < 0.01, qPrintable(QString::number(c->contention.readFactor)));
            QVERIFY(qAbs(c->fittedMs - runOf(ring2).latencyMs) < 2e-3 * c->fittedMs);
            // With a noise allowance of 5 %, the factor nearest 1 that fits within it: latency 5 % short of the
            // measured one, a factor between the truth and 1.
            CalibrationRun noisy = runOf(ring2);
            noisy.toleranceFraction = 0.05;
            auto n = calibrate(profile, noisy);
            QVERIFY(n.ok());
            QVERIFY2(n->contention.readFactor > 0.6 && n->contention.readFactor < 0.7,
                qPrintable(QString::number(n->contention.readFactor)));
            QVERIFY(qAbs(n->fittedMs - 0.95 * noisy.latencyMs) < 2e-3 * noisy.latencyMs);
            QVERIFY(c->uncalibratedMs < c->fittedMs);
            // Calibrated, the profile predicts another configuration of the truth within its kernels' drift.
            CostModel calibrated = profile;
            calibrated.contention = c->contention;
            Configuration other = ring2;
            other.stagingBytes = arch == Arch::Sync ? 0 : 5 * 4096;
            other.resident = { 2, 5, 8, 11 };
            const double want = predict(truth, arch, other.stagingBytes, other.resident).latencyMs;
            const double got = predict(calibrated, arch, other.stagingBytes, other.resident).latencyMs;
            QVERIFY2(qAbs(got - want) / want < 0.12, qPrintable(QStringLiteral("%1 vs %2").arg(got).arg(want)));
        }
        // Hidden reads (a fast disk, a deep ring): any factor near 1 fits, so it stays 1.
        CostModel fast = truth;
        fast.diskBytesPerMs = 40960;
        fast.contention.readFactor = 0.9;
        Configuration deep;
        deep.stagingBytes = 12 * 3 * 4096;
        auto p = simulate(fast, deep);
        QVERIFY(p.ok());
        CalibrationRun hidden;
        hidden.config = deep;
        hidden.latencyMs = p->latencyMs;
        for (const auto& l : fast.layers)
            hidden.kernelMs.push_back(l.kernelMs);
        CostModel fastProfile = profile;
        fastProfile.diskBytesPerMs = 40960;
        auto h = calibrate(fastProfile, hidden);
        QVERIFY(h.ok());
        QCOMPARE(h->contention.readFactor, 1.0);
        // A run faster than its own kernels allow (a median below their means): no factor fits, and it stays 1
        // rather than going to the end of the range.
        CalibrationRun tooFast = hidden;
        tooFast.latencyMs *= 0.9;
        auto f = calibrate(fastProfile, tooFast);
        QVERIFY(f.ok());
        QCOMPARE(f->contention.readFactor, 1.0);
        // Refusals: a sequential run, another layer count, a run with every layer resident.
        CalibrationRun seq = runOf(ring2);
        seq.config.arch = Arch::Sequential;
        auto r = calibrate(profile, seq);
        QVERIFY(!r.ok() && r.error().message.find("never run beside its kernels") != std::string::npos);
        CalibrationRun fewer = runOf(ring2);
        fewer.kernelMs.pop_back();
        r = calibrate(profile, fewer);
        QVERIFY(!r.ok() && r.error().message.find("not of the same model") != std::string::npos);
        Configuration all;
        for (int i = 0; i < 24; ++i)
            all.resident.push_back(i);
        r = calibrate(profile, runOf(all));
        QVERIFY(!r.ok() && r.error().message.find("streamed nothing") != std::string::npos);
    }

    // Two profiles of one model, recorded at different speeds of the machine: the layers neither split cuts say by how
    // much, and scaling by it leaves only what the split itself costs.
    void kernelSpeedRatioComparesTheLayersBothProfilesShare()
    {
        CostModel whole, split;
        whole.layers = { { "a", 4096, 10.0, 0 }, { "b", 8192, 20.0, 0 }, { "big", 65536, 30.0, 0 } };
        // The split profile ran 20 % slower; "big" is cut in two, whose pieces cost 10 % more than the whole layer.
        split.layers = { { "a", 4096, 12.0, 0 }, { "b", 8192, 24.0, 0 }, { "big.0", 32768, 1.2 * 16.5, 0 },
            { "big.1", 32768, 1.2 * 16.5, 0 }, { "big.concat", 0, 0.0, 0 } };
        split.contention.kernelMsPerMB = 0.6;
        const double r = kernelSpeedRatio(whole, split);
        QVERIFY2(qAbs(r - 1.2) < 1e-12, qPrintable(QString::number(r)));
        QVERIFY(qAbs(kernelSpeedRatio(split, whole) - 1 / 1.2) < 1e-12);
        scaleKernels(split, 1 / r);
        QVERIFY(qAbs(split.kernelMs() - (30.0 + 33.0)) < 1e-9); // a and b as in whole; big +10 %
        QVERIFY(qAbs(split.contention.kernelMsPerMB - 0.5) < 1e-12);
        // One shared layer is enough when it holds a tenth of both profiles' kernels ("a": a sixth of whole's, a fifth
        // of this one's); nothing shared, or too small a share of either (a tenth of a percent), gives no scaling.
        CostModel some;
        some.layers = { { "a", 4096, 5.0, 0 }, { "x", 4096, 20.0, 0 } };
        QVERIFY(qAbs(kernelSpeedRatio(whole, some) - 0.5) < 1e-12);
        QCOMPARE(kernelSpeedRatio(whole, CostModel {}), 1.0);
        CostModel tiny;
        tiny.layers = { { "a", 4096, 0.1, 0 }, { "rest", 65536, 99.0, 0 } };
        QCOMPARE(kernelSpeedRatio(whole, tiny), 1.0);
    }

    // The kernels' slowdown comes from a paired run's overhead less its stalls, per MB it streamed, at the
    // profile's speed; the slowed model then predicts a run that streams half as much; noise below the stalls is 0.
    void kernelCalibrationFitsThePairedOverhead()
    {
        CostModel profile;
        for (int i = 0; i < 24; ++i)
            profile.layers.push_back({ "l" + std::to_string(i), uint64_t(4096 * (1 + i % 3)), 1.0 + i % 4, 0.0 });
        profile.diskBytesPerMs = 409600; // fast: the reads hide behind the kernels
        profile.requestMs = 0.01;
        Configuration deep;
        deep.stagingBytes = 12 * 3 * 4096;
        uint64_t streamed = 0;
        for (const auto& l : profile.layers)
            streamed += l.bytes;
        // Measured: 9 % over the twin (at twice the profile's speed), 1 % of it the kernels' wait.
        PairedRun run { deep, 0.09, profile.kernelMs() / 2, 0.01 * profile.kernelMs() / 2 };
        for (Arch arch : { Arch::TwoStage, Arch::Async, Arch::Sync }) {
            run.config.arch = arch;
            auto k = calibrateKernels(profile, run);
            QVERIFY2(k.ok(), k.ok() ? "" : k.error().message.c_str());
            QCOMPARE(k->streamedBytes, streamed);
            QVERIFY(qAbs(k->slowdownFraction - 0.08) < 1e-9);
            const double perMB = 0.08 * profile.kernelMs() / (static_cast<double>(streamed) / 1e6);
            QVERIFY(qAbs(k->kernelMsPerMB - perMB) < 1e-9 * perMB);
        }
        run.config.arch = Arch::TwoStage;
        CostModel slowed = profile;
        slowed.contention.kernelMsPerMB = calibrateKernels(profile, run)->kernelMsPerMB;
        const double plain = predict(profile, Arch::TwoStage, deep.stagingBytes, {}).latencyMs;
        const double same = predict(slowed, Arch::TwoStage, deep.stagingBytes, {}).latencyMs;
        QVERIFY2(qAbs(same - 1.08 * plain) < 0.01 * plain, qPrintable(QStringLiteral("%1 vs %2").arg(same).arg(plain)));
        // Half the layers resident: the kernels pay for what is still read, and no more.
        std::vector<int> half;
        uint64_t left = streamed;
        for (int i = 0; i < 24; i += 2) {
            half.push_back(i);
            left -= profile.layers[static_cast<size_t>(i)].bytes;
        }
        const double halfPlain = predict(profile, Arch::TwoStage, deep.stagingBytes, half).latencyMs;
        const double halfSlowed = predict(slowed, Arch::TwoStage, deep.stagingBytes, half).latencyMs;
        const double want = 0.08 * static_cast<double>(left) / static_cast<double>(streamed);
        QVERIFY2(qAbs(halfSlowed / halfPlain - 1 - want) < 0.01,
            qPrintable(QStringLiteral("%1 vs %2").arg(halfSlowed / halfPlain - 1).arg(want)));
        // Preload and sequential read nothing beside their kernels: unchanged.
        QCOMPARE(predict(slowed, Arch::Preload, 0, {}).latencyMs, predict(profile, Arch::Preload, 0, {}).latencyMs);
        QCOMPARE(
            predict(slowed, Arch::Sequential, 0, {}).latencyMs, predict(profile, Arch::Sequential, 0, {}).latencyMs);
        // An overhead the kernels' wait explains, or less (noise): no slowdown.
        PairedRun noise = run;
        noise.overheadFraction = 0.005;
        QCOMPARE(calibrateKernels(profile, noise)->kernelMsPerMB, 0.0);
        // Refusals: a sequential run, a run with every layer resident, no twin.
        PairedRun seq = run;
        seq.config.arch = Arch::Sequential;
        auto r = calibrateKernels(profile, seq);
        QVERIFY(!r.ok() && r.error().message.find("never run beside its kernels") != std::string::npos);
        PairedRun all = run;
        for (int i = 0; i < 24; ++i)
            all.config.resident.push_back(i);
        r = calibrateKernels(profile, all);
        QVERIFY(!r.ok() && r.error().message.find("streamed nothing") != std::string::npos);
        PairedRun alone = run;
        alone.twinMs = 0;
        QVERIFY(!calibrateKernels(profile, alone).ok());
    }

    void diskModelIsFittedFromReadTimes()
    {
        std::vector<ProfiledLayer> layers;
        for (int i = 0; i < 20; ++i) {
            const uint64_t bytes = uint64_t(4096) * (1 + i * 7);
            layers.push_back({ "l" + std::to_string(i), bytes, 0.2 + static_cast<double>(bytes) / 2e6, 0.01, 1.0 });
        }
        layers.push_back({ "weightless", 0, 0.0, 0.0, 0.5 });
        auto m = costModelFromProfile(layers, 4096, 100, 200);
        QVERIFY(m.ok());
        QVERIFY(qAbs(m->diskBytesPerMs - 2e6) / 2e6 < 1e-9);
        QVERIFY(qAbs(m->requestMs - 0.2) < 1e-9);
        QCOMPARE(m->layers.size(), size_t(21));
        QCOMPARE(m->pinnedBytes, uint64_t(4096));
        QVERIFY(!costModelFromProfile({ { "resident", 4096, 0.0, 0.0, 1.0 } }, 0, 0, 0).ok());
    }

    void configurationsRoundTripAndRefuseBadFiles()
    {
        RunConfig c;
        c.modelHash = "abc123";
        c.modelName = "yolov4.cfg";
        c.layers = 12;
        c.arch = Arch::Async;
        c.splitBytes = 4096;
        c.stagingBytes = 8192;
        c.resident = { 1, 5, 7 };
        c.budgetBytes = 65536;
        c.predictedLatencyMs = 12.5;
        c.predictedWeightsBytes = 60000;
        c.predictedPeakBytes = 90000;
        c.lowerBoundMs = 11.0;
        c.madeBy = "dlayer plan";
        c.madeAt = "2026-12-01T00:00:00Z";
        c.profile = "run 3";
        auto back = configFromJson(configToJson(c));
        QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
        QCOMPARE(configToJson(*back), configToJson(c));
        auto refused = [](const std::string& text, const char* needle) {
            auto r = configFromJson(text);
            QVERIFY(!r.ok());
            QVERIFY2(r.error().message.find(needle) != std::string::npos, r.error().message.c_str());
        };
        std::string text = configToJson(c);
        auto edited = [&](const std::string& from, const std::string& to) {
            std::string t = text;
            const auto at = t.find(from);
            if (at == std::string::npos) qFatal("no '%s' in the configuration", from.c_str());
            return t.replace(at, from.size(), to);
        };
        refused("{", "not a JSON document");
        refused("{}", "not a dlayer configuration");
        refused(edited("\"version\": 1", "\"version\": 3"), "version 3");
        refused(edited("\"arch\": \"async\"", "\"arch\": \"warp\""), "arch: unknown architecture 'warp'");
        refused(edited("\"staging_bytes\": 8192", "\"staging_bytes\": -1"), "staging_bytes: expected");
        refused(edited("\"backend\": \"cpu\"", "\"backend\": \"tpu\""), "backend: 'tpu'");
        refused(edited("\"hash\": \"abc123\"", "\"hash\": 5"), "model.hash: expected a string");
        refused(edited("7\n", "70\n"), "resident_layers[2]");
        QVERIFY(!readConfigFile("/nonexistent/config.json").ok());
    }
};

QTEST_GUILESS_MAIN(TestPlan)
#include "test_plan.moc"
