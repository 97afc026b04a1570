// Float16: the bulk conversions against the scalar ones, every half value; a float16 graph computed in float32 and
// widened at its edges; fp16 packs (weights float16 cannot hold stay float32, fp32 and fp16 packs of one model side by
// side, a damaged precision field refused); the precision in configurations and run reports.

#include "core/crc32c.h"
#include "core/half.h"
#include "core/random.h"
#include "core/tensor.h"
#include "enginetestutil.h"
#include "io/weightreader.h"
#include "memory/ledger.h"
#include "model/precision.h"
#include "pack/layerpack.h"
#include "pack/packcache.h"
#include "pipeline/pipeline.h"
#include "plan/budget.h"
#include "plan/config.h"
#include "plan/profiles.h"
#include "runtime/executor.h"
#include "session/runreport.h"

#include <QTemporaryDir>
#include <QTest>

// PackLayer has a member named `slots`, which Qt's keyword macro would erase.
#undef slots

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>

using namespace dl;
using dltest::node;

namespace {

Tensor floats(const Shape& shape, const std::vector<float>& v)
{
    Tensor t(DType::F32, shape);
    std::memcpy(t.data(), v.data(), v.size() * sizeof(float));
    return t;
}

ValueInfo value(const std::string& name, DType dt, const std::vector<int64_t>& dims)
{
    ValueInfo v;
    v.name = name;
    v.dtype = dt;
    v.hasShape = true;
    for (int64_t d : dims)
        v.dims.push_back(Dim { d, {} });
    return v;
}

// x [1,8] → MatMul w0 → Relu → MatMul w1 → y: two layers. `w1Scale` scales the second weight (1e6: beyond float16).
Graph twoLayers(float w1Scale)
{
    Graph g;
    g.name = "two-layers";
    g.format = "onnx";
    g.opset = 17;
    g.inputs.push_back(value("x", DType::F32, { 1, 8 }));
    g.outputs.push_back(value("y", DType::F32, { 1, 8 }));
    Tensor w0 = seededTensor(DType::F32, { 8, 8 }, 3);
    Tensor w1 = seededTensor(DType::F32, { 8, 8 }, 4);
    for (int64_t i = 0; i < w1.numel(); ++i)
        w1.ptr<float>()[i] *= w1Scale;
    g.weights["w0"] = w0;
    g.weights["w1"] = w1;
    g.nodes.push_back(node("MatMul", { "x", "w0" }, { "h" }));
    g.nodes.push_back(node("Relu", { "h" }, { "r" }));
    g.nodes.push_back(node("MatMul", { "r", "w1" }, { "y" }));
    return g;
}

// Writes an fp16 pack of `exec` (weights not released) at `path` and reads its table back.
PackInfo halfPack(const Executor& exec, const std::string& path)
{
    PackSource src;
    src.modelPath = "two-layers";
    src.modelSha256 = "test";
    src.inputShapes = { { "x", { 1, 8 } } };
    src.precision = Precision::F16;
    src.layoutTag = packLayoutTag(Precision::F16);
    if (auto st = writeLayerPack(path, exec, src); !st.ok()) qFatal("%s", st.error().message.c_str());
    auto pack = readLayerPack(path);
    if (!pack.ok()) qFatal("%s", pack.error().message.c_str());
    return std::move(pack).value();
}

double normalisedError(const Tensor& got, const Tensor& want)
{
    const auto a = got.toDouble(), b = want.toDouble();
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

} // namespace

class TestPrecision : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir { DL_TEST_TMP "/precision-XXXXXX" };

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // widenHalf (F16C where there is one) gives halfToFloat's bits for every half, at every alignment and length.
    void widenEveryHalf()
    {
        std::vector<uint16_t> all(65536);
        for (size_t i = 0; i < all.size(); ++i)
            all[i] = static_cast<uint16_t>(i);
        std::vector<float> out(all.size() + 16);
        for (size_t shift : { size_t(0), size_t(1), size_t(5) }) {
            widenHalf(all.data(), out.data() + shift, all.size());
            for (size_t i = 0; i < all.size(); ++i) {
                const float want = halfToFloat(all[i]);
                const float got = out[shift + i];
                if (std::isnan(want) ? !std::isnan(got) : std::bit_cast<uint32_t>(got) != std::bit_cast<uint32_t>(want))
                    QFAIL(qPrintable(QStringLiteral("half 0x%1 widened to %2, expected %3 (shift %4)")
                                         .arg(i, 4, 16, QLatin1Char('0'))
                                         .arg(double(got))
                                         .arg(double(want))
                                         .arg(shift)));
            }
        }
        // Short runs: only the scalar head and tail.
        widenHalf(all.data() + 15360, out.data() + 3, 7); // 15360 = 0x3c00, 1.0
        QCOMPARE(out[3], 1.0f);
#if defined(__x86_64__)
        if (__builtin_cpu_supports("f16c")) QCOMPARE(std::string(widenHalfPath()), std::string("f16c"));
#endif
    }

    // Widening within one buffer, from the end back, gives what widening into another does, wherever the floats
    // start at or after the halves.
    void widenInPlace()
    {
        Tensor r = seededTensor(DType::F32, { 1001 }, 11);
        std::vector<uint16_t> halves(1001);
        narrowToHalf(r.ptr<float>(), halves.data(), halves.size());
        std::vector<float> want(halves.size());
        widenHalf(halves.data(), want.data(), halves.size());
        for (size_t from : { size_t(0), size_t(6), size_t(64) })
            for (size_t to : { from, from + 2, from + 100, from + 2002 }) {
                std::vector<std::byte> buffer(to + 4 * halves.size() + 16);
                std::memcpy(buffer.data() + from, halves.data(), 2 * halves.size());
                widenHalfInPlace(buffer.data(), from, to, halves.size());
                QVERIFY2(std::memcmp(buffer.data() + to, want.data(), 4 * want.size()) == 0,
                    qPrintable(QStringLiteral("from %1 to %2").arg(from).arg(to)));
            }
    }

    // narrowToHalf rounds as floatToHalf does: ties to even, overflow to infinity, subnormals, NaN kept.
    void narrowLikeTheScalar()
    {
        std::vector<float> v = { 0.0f, -0.0f, 1.0f, 65504.0f, 65519.0f, 65520.0f, -1e9f, 5.96e-8f, 2.98e-8f, 1e-10f,
            1.0009765625f, 1.00048828125f, 1.00146484375f, std::nanf(""), INFINITY, -INFINITY, 3.14159f };
        Tensor r = seededTensor(DType::F32, { 1000 }, 9);
        for (int64_t i = 0; i < r.numel(); ++i)
            v.push_back(r.ptr<float>()[i] * 1000.0f);
        std::vector<uint16_t> out(v.size());
        narrowToHalf(v.data(), out.data(), v.size());
        for (size_t i = 0; i < v.size(); ++i) {
            const uint16_t want = floatToHalf(v[i]);
            if (std::isnan(v[i]))
                QVERIFY((out[i] & 0x7c00u) == 0x7c00u && (out[i] & 0x3ffu) != 0);
            else if (out[i] != want)
                QFAIL(qPrintable(QStringLiteral("%1 narrowed to 0x%2, expected 0x%3")
                                     .arg(double(v[i]))
                                     .arg(out[i], 4, 16)
                                     .arg(want, 4, 16)));
        }
        QCOMPARE(floatToHalf(65520.0f), uint16_t(0x7c00));
        const float in[] = { 1.0f, 65519.0f, -65519.0f, INFINITY };
        QVERIFY(fitsHalf(in, 4));
        const float over[] = { 1.0f, 65520.0f };
        QVERIFY(!fitsHalf(over, 2));
    }

    // A graph that computes in float16 runs in float32, its float16 input and output keeping their types.
    void halfGraphRunsWidened()
    {
        Graph g;
        g.name = "half";
        g.opset = 17;
        g.inputs.push_back(value("x", DType::F16, { 1, 4 }));
        g.outputs.push_back(value("y", DType::F16, { 1, 4 }));
        g.outputs.push_back(value("z", DType::F32, { 1, 4 }));
        g.weights["w"] = floats({ 1, 4 }, { 0.5f, -2.0f, 3.0f, 0.25f });
        g.halfWeights = 1;
        Node cast = node("Cast", { "m" }, { "m16" });
        cast.attrs["to"] = attrInt(static_cast<int64_t>(DType::F16));
        Node back = node("Cast", { "m16" }, { "z" });
        back.attrs["to"] = attrInt(static_cast<int64_t>(DType::F32));
        g.nodes = { node("Mul", { "x", "w" }, { "m" }), cast, node("Relu", { "m16" }, { "y" }), back };

        auto exec = Executor::create(g, { { "x", { 1, 4 } } });
        QVERIFY2(exec.ok(), exec.ok() ? "" : exec.error().message.c_str());
        const PrecisionSummary& p = (*exec)->precision();
        QCOMPARE(p.halfInputs, size_t(1));
        QCOMPARE(p.halfOutputs, size_t(1));
        QCOMPARE(p.retargeted, size_t(1));
        QVERIFY(p.widened());
        // Every value inside is float32; the input and output keep float16.
        for (const ValuePlan& v : (*exec)->values()) {
            if (v.name == "x" || v.name == "y")
                QCOMPARE(v.dtype, DType::F16);
            else if (!v.constant)
                QVERIFY2(v.dtype == DType::F32, v.name.c_str());
        }
        Tensor x = floats({ 1, 4 }, { 2.0f, 1.0f, -1.0f, 1000.5f }).cast(DType::F16);
        auto out = (*exec)->run({ x });
        QVERIFY2(out.ok(), out.ok() ? "" : out.error().message.c_str());
        QCOMPARE((*out)[0].dtype(), DType::F16);
        QCOMPARE((*out)[1].dtype(), DType::F32);
        const auto y = (*out)[0].toDouble();
        const auto z = (*out)[1].toDouble();
        QCOMPARE(y, (std::vector<double> { 1.0, 0.0, 0.0, 250.125 }));
        // z is the product in float32: the float16 Cast inside no longer rounds (1000.5 * 0.25 is exact either way).
        QCOMPARE(z, (std::vector<double> { 1.0, -2.0, -3.0, 250.125 }));

        // A float16 constant made by ConstantOfShape is made float32, and a float16 Constant (a weight) counts.
        Graph c;
        c.opset = 17;
        c.inputs.push_back(value("x", DType::F32, { 2 }));
        c.outputs.push_back(value("s", DType::F16, { 2 }));
        c.weights["shape"] = Tensor(DType::I64, { 1 });
        c.weights["shape"].ptr<int64_t>()[0] = 2;
        Node fill = node("ConstantOfShape", { "shape" }, { "k" });
        Attribute v;
        v.kind = Attribute::Kind::Tensor;
        v.t = floats({ 1 }, { 1.5f }).cast(DType::F16);
        fill.attrs["value"] = v;
        Node toHalf = node("Cast", { "x" }, { "xh" });
        toHalf.attrs["to"] = attrInt(static_cast<int64_t>(DType::F16));
        c.nodes = { fill, toHalf, node("Add", { "xh", "k" }, { "s" }) };
        auto ce = Executor::create(c, { { "x", { 2 } } });
        QVERIFY2(ce.ok(), ce.ok() ? "" : ce.error().message.c_str());
        QCOMPARE((*ce)->precision().retargeted, size_t(2)); // the Cast and the ConstantOfShape
        auto cout = (*ce)->run({ floats({ 2 }, { 1.0f, -3.0f }) });
        QVERIFY2(cout.ok(), cout.ok() ? "" : cout.error().message.c_str());
        QCOMPARE((*cout)[0].dtype(), DType::F16);
        QCOMPARE((*cout)[0].toDouble(), (std::vector<double> { 2.5, -1.5 }));

        // A float32 graph is left as it was.
        Graph plain = twoLayers(1.0f);
        const size_t nodes = plain.nodes.size();
        QVERIFY(!widenHalfCompute(plain).widened());
        QCOMPARE(plain.nodes.size(), nodes);
    }

    // An fp16 pack stores float16 where float16 holds the weights and keeps float32 where it does not; the pipeline
    // widens the first and reads the second as it is, in every architecture.
    void fp16PackKeepsWhatHalfCannotHold()
    {
        const Graph g = twoLayers(1e6f);
        auto exec = Executor::create(g, { { "x", { 1, 8 } } });
        QVERIFY(exec.ok());
        const Tensor x = seededTensor(DType::F32, { 1, 8 }, 5);
        auto ref = (*exec)->run({ x });
        QVERIFY(ref.ok());
        const Tensor want = (*ref)[0].clone();
        QCOMPARE((*exec)->layers().size(), size_t(2));

        const std::string path = (m_dir.path() + QStringLiteral("/two.dlpack")).toStdString();
        const PackInfo pack = halfPack(**exec, path);
        QCOMPARE(pack.version, kLayerPackVersion);
        QCOMPARE(pack.source.precision, Precision::F16);
        QVERIFY(pack.layers[0].widens());
        QCOMPARE(pack.layers[0].slots[0].stored, DType::F16);
        QVERIFY(!pack.layers[1].widens()); // 1e6 is beyond float16: kept float32
        QCOMPARE(pack.layers[1].slots[0].stored, DType::F32);
        QVERIFY(checkPackMatches(pack, **exec).ok());
        (*exec)->releaseWeights();

        for (Arch a : { Arch::Preload, Arch::Sequential, Arch::Sync, Arch::Async, Arch::TwoStage }) {
            PipelineOptions o;
            o.arch = a;
            auto reader = openFileReader(path);
            QVERIFY(reader.ok());
            MemoryLedger ledger;
            auto p = Pipeline::create(**exec, pack, std::move(reader).value(), o, &ledger);
            QVERIFY2(p.ok(), p.ok() ? "" : p.error().message.c_str());
            auto out = (*p)->run({ x });
            QVERIFY2(out.ok(), out.ok() ? "" : out.error().message.c_str());
            const double err = normalisedError((*out)[0], want);
            QVERIFY2(err < 1e-3, qPrintable(QStringLiteral("%1: error %2").arg(QLatin1String(archName(a))).arg(err)));
            QVERIFY(std::isfinite((*out)[0].toDouble()[0]));
            // What the kernels read is float32: the resident and staging bytes the ledger holds cover it.
            if (a == Arch::Preload)
                QCOMPARE((*p)->residentBytes(),
                    pack.layers[0].boundPadded() + pack.layers[1].boundPadded() + (*exec)->pinnedWeightBytes());
            QCOMPARE(ledger.peak(MemTag::ResidentWeights), (*p)->residentBytes());
        }
    }

    // fp32 and fp16 packs of one model have different plan keys and layout tags (so both live in the cache); the fp32
    // key is what it was before precisions existed, so existing caches stay valid.
    void packsOfBothPrecisionsLiveSideBySide()
    {
        PackSource s;
        s.modelSha256 = "abc";
        s.inputShapes = { { "x", { 1, 3 } } };
        s.layoutTag = packLayoutTag(Precision::F32);
        const std::string fp32 = planKey(s);
        QCOMPARE(packLayoutTag(Precision::F32), Executor::layoutTag());
        s.precision = Precision::F16;
        s.layoutTag = packLayoutTag(Precision::F16);
        QVERIFY(s.layoutTag.find("fp16") != std::string::npos);
        const std::string fp16 = planKey(s);
        QVERIFY(fp32 != fp16);
        QVERIFY(packCachePath("/c", fp32) != packCachePath("/c", fp16));
        QCOMPARE(parsePrecision("fp16"), std::optional<Precision>(Precision::F16));
        QVERIFY(!parsePrecision("half"));

        Graph g = twoLayers(1.0f);
        QCOMPARE(defaultPrecision(g), Precision::F32);
        g.halfWeights = 2;
        QCOMPARE(defaultPrecision(g), Precision::F16);
    }

    // A table whose slot claims a stored type it cannot be widened from is refused as corrupt, even with its checksums
    // made to match.
    void damagedPrecisionIsRefused()
    {
        const Graph g = twoLayers(1.0f);
        auto exec = Executor::create(g, { { "x", { 1, 8 } } });
        QVERIFY(exec.ok());
        const std::string path = (m_dir.path() + QStringLiteral("/damaged.dlpack")).toStdString();
        halfPack(**exec, path);
        // Rewrite a slot's "stored":10 (float16) as "stored":11 (float64) with the table's and the header's CRCs made
        // to match, as a tool that wrote a bad table would: the reader refuses the slot, not the checksum.
        char header[56];
        std::ifstream(path, std::ios::binary).read(header, sizeof header);
        uint64_t tableBytes = 0;
        std::memcpy(&tableBytes, header + 24, 8);
        std::string text(tableBytes, '\0');
        {
            std::ifstream in(path, std::ios::binary);
            in.seekg(4096);
            in.read(text.data(), static_cast<std::streamsize>(text.size()));
        }
        const size_t at = text.find("\"stored\":10");
        QVERIFY(at != std::string::npos);
        text[at + 10] = '1';
        const uint32_t tableCrc = crc32c(text.data(), text.size());
        std::memcpy(header + 48, &tableCrc, 4);
        const uint32_t headerCrc = crc32c(header, 52);
        std::memcpy(header + 52, &headerCrc, 4);
        {
            std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(0);
            f.write(header, sizeof header);
            f.seekp(4096);
            f.write(text.data(), static_cast<std::streamsize>(text.size()));
        }
        auto bad = readLayerPack(path);
        QVERIFY(!bad.ok());
        QCOMPARE(bad.error().code, ErrorCode::Corrupt);
        QVERIFY2(
            bad.error().message.find("type or size is inconsistent") != std::string::npos, bad.error().message.c_str());
        QVERIFY(bad.error().message.find("re-pack") != std::string::npos);
    }

    // Configurations carry the precision: fp32 ones stay version 1 (every build reads them), fp16 ones are version 2.
    void configurationsCarryThePrecision()
    {
        plan::RunConfig c;
        c.modelHash = "abc";
        c.layers = 4;
        c.precision = Precision::F16;
        const std::string text = plan::configToJson(c);
        QVERIFY(text.find("\"version\": 2") != std::string::npos);
        auto back = plan::configFromJson(text);
        QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
        QCOMPARE(back->precision, Precision::F16);
        c.precision = Precision::F32;
        const std::string plain = plan::configToJson(c);
        QVERIFY(plain.find("\"version\": 1") != std::string::npos);
        QCOMPARE(plan::configFromJson(plain)->precision, Precision::F32);
        // A version 1 document from before precisions: fp32.
        std::string old = plain;
        old.erase(old.find("  \"precision\": \"fp32\",\n"), std::strlen("  \"precision\": \"fp32\",\n"));
        auto oldBack = plan::configFromJson(old);
        QVERIFY2(oldBack.ok(), oldBack.ok() ? "" : oldBack.error().message.c_str());
        QCOMPARE(oldBack->precision, Precision::F32);
        std::string wrong = plain;
        wrong.replace(wrong.find("\"fp32\""), 6, "\"fp8\"");
        auto refused = plan::configFromJson(wrong);
        QVERIFY(!refused.ok());
        QVERIFY(refused.error().message.find("precision") != std::string::npos);
    }

    // Runs of fp16 packs are never an fp32 plan's profile, nor calibrate one: they read other bytes and widen them.
    void profilesAreFp32PacksRuns()
    {
        using plan::RecordedRun;
        std::vector<RecordedRun> runs = {
            { 1, "m", "sequential", "h", "c", true, 0, "fp32" },
            { 2, "m", "two-stage", "h", "c", true, 0, "fp32" },
            { 3, "m", "sequential", "h", "c", true, 0, "fp16" }, // newest sequential run, but of an fp16 pack
            { 4, "m", "async", "h", "c", true, 0, "fp16" },
        };
        QCOMPARE(plan::chooseProfiles(runs, "m"), (std::vector<int64_t> { 1 }));
        QCOMPARE(plan::calibrationCandidates(runs, runs[0]), (std::vector<int64_t> { 2 }));
        runs[0].precision = "fp16";
        runs[1].precision = "fp16";
        QVERIFY(plan::chooseProfiles(runs, "m").empty());
    }

    // The report says how the weights were stored and what the kernels computed in, and reads back.
    void reportCarriesThePrecision()
    {
        RunReport r;
        r.arch = "two-stage";
        r.precision.weights = "fp16";
        r.precision.modelHalf = true;
        r.precision.layersWidened = 12;
        r.precision.storedBytes = 1000;
        r.precision.boundBytes = 2000;
        r.precision.widenPath = "f16c";
        r.precision.computeWhy = "because";
        auto back = reportFromJson(reportToJson(r));
        QVERIFY(back.ok());
        QCOMPARE(back->precision.weights, std::string("fp16"));
        QCOMPARE(back->precision.compute, std::string("fp32"));
        QVERIFY(back->precision.modelHalf);
        QCOMPARE(back->precision.layersWidened, size_t(12));
        QCOMPARE(back->precision.boundBytes, uint64_t(2000));
        QCOMPARE(back->precision.widenPath, std::string("f16c"));
        auto wrong = reportFromJson(R"({"schema":1,"precision":{"weights":16}})");
        QVERIFY(!wrong.ok());
        QVERIFY(wrong.error().message.find("precision.weights") != std::string::npos);
    }

    // The budget rule with an fp16 pack counts resident layers widened and the staging on both sides, and what it
    // allocates is what it predicted.
    void budgetRuleCountsWidenedBytes()
    {
        const Graph g = twoLayers(1.0f);
        auto exec = Executor::create(g, { { "x", { 1, 8 } } });
        QVERIFY(exec.ok());
        const std::string path = (m_dir.path() + QStringLiteral("/budget.dlpack")).toStdString();
        const PackInfo pack = halfPack(**exec, path);
        (*exec)->releaseWeights();
        const uint64_t stored = pack.largestLayer(), bound = pack.layers[0].boundPadded();
        QCOMPARE(stagingBuffers(Arch::TwoStage, stored, stored, bound).total(), stored + bound);
        QCOMPARE(stagingBuffers(Arch::Async, stored, stored, bound).total(), 3 * stored);
        QCOMPARE(stagingBuffers(Arch::Sync, 0, stored, bound).total(), 2 * stored + 2 * std::max(stored, bound));
        for (Arch a : { Arch::Sequential, Arch::Sync, Arch::Async, Arch::TwoStage }) {
            const size_t minimum = minimumWeightMemory(pack, a);
            QVERIFY(!optionsForBudget(pack, a, minimum - 1).ok());
            for (size_t budget : { minimum, minimum * 3 }) {
                auto o = optionsForBudget(pack, a, budget);
                QVERIFY2(o.ok(), o.ok() ? "" : o.error().message.c_str());
                auto reader = openFileReader(path);
                QVERIFY(reader.ok());
                auto p = Pipeline::create(**exec, pack, std::move(reader).value(), *o);
                QVERIFY2(p.ok(), p.ok() ? "" : p.error().message.c_str());
                const size_t held = (*p)->stagingBytes() + (*p)->residentBytes() - (*exec)->pinnedWeightBytes();
                QVERIFY2(held <= budget,
                    qPrintable(QStringLiteral("%1: %2 held, budget %3")
                                   .arg(QLatin1String(archName(a)))
                                   .arg(held)
                                   .arg(budget)));
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestPrecision)
#include "test_precision.moc"
