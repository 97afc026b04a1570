// Sub-layer splitting: the cut graph's shape (pieces within the size, whole channel blocks, a Concat under the
// original output name, the whole weights dropped), what is never cut, and outputs that agree with the uncut model
// on real models (Conv in YOLOv4-tiny, MatMul in PaddleOCR rec) and on every Gemm / MatMul form.

#include "backend/cpu/kernel.h"
#include "core/random.h"
#include "enginetestutil.h"
#include "model/importer.h"
#include "model/split.h"
#include "runtime/executor.h"

#include <QFile>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

using namespace dl;
using dltest::modelCache;
using dltest::node;

namespace {

ValueInfo value(const std::string& name, const Shape& shape)
{
    ValueInfo v;
    v.name = name;
    v.dtype = DType::F32;
    v.hasShape = !shape.empty();
    for (int64_t d : shape)
        v.dims.push_back({ d, {} });
    return v;
}

// Every Gemm / MatMul form the splitter handles, one after another, on 192 outputs (three 64-column blocks) each:
// Gemm transB=0 with a [192] bias, Gemm transB=1 with a [1,192] bias and alpha/beta, Gemm with a scalar bias, and
// MatMul on a 3-D input.
Graph linearForms()
{
    Graph g;
    g.name = "linear";
    g.format = "onnx";
    g.opset = 13;
    g.inputs.push_back(value("x", { 2, 48 }));
    g.weights["b0"] = seededTensor(DType::F32, { 48, 192 }, 1);
    g.weights["c0"] = seededTensor(DType::F32, { 192 }, 2);
    g.nodes.push_back(node("Gemm", { "x", "b0", "c0" }, { "y0" }));
    g.weights["b1"] = seededTensor(DType::F32, { 192, 192 }, 3);
    g.weights["c1"] = seededTensor(DType::F32, { 1, 192 }, 4);
    Node gemm1 = node("Gemm", { "y0", "b1", "c1" }, { "y1" });
    gemm1.attrs["transB"] = attrInt(1);
    gemm1.attrs["alpha"] = attrFloat(0.5f);
    gemm1.attrs["beta"] = attrFloat(0.5f);
    g.nodes.push_back(gemm1);
    g.weights["b2"] = seededTensor(DType::F32, { 192, 192 }, 5);
    g.weights["c2"] = seededTensor(DType::F32, { 1 }, 6);
    g.nodes.push_back(node("Gemm", { "y1", "b2", "c2" }, { "y2" }));
    g.weights["shape"] = Tensor(DType::I64, { 3 });
    auto* s = g.weights["shape"].ptr<int64_t>();
    s[0] = 2;
    s[1] = 2;
    s[2] = 96;
    g.nodes.push_back(node("Reshape", { "y2", "shape" }, { "r" }));
    g.weights["b3"] = seededTensor(DType::F32, { 96, 192 }, 7);
    g.nodes.push_back(node("MatMul", { "r", "b3" }, { "y" }));
    g.outputs.push_back(value("y", {}));
    return g;
}

Graph convForms()
{
    Graph g;
    g.name = "convs";
    g.format = "onnx";
    g.opset = 13;
    g.inputs.push_back(value("x", { 1, 32, 9, 9 }));
    g.weights["wg"] = seededTensor(DType::F32, { 256, 16, 3, 3 }, 1); // group 2: never cut
    Node grouped = node("Conv", { "x", "wg" }, { "g" });
    grouped.attrs["group"] = attrInt(2);
    g.nodes.push_back(grouped);
    g.weights["w"] = seededTensor(DType::F32, { 160, 256, 1, 1 }, 2); // 160 channels: pieces of 64, 64 and 32
    g.weights["b"] = seededTensor(DType::F32, { 160 }, 3);
    g.nodes.push_back(node("Conv", { "g", "w", "b" }, { "y" }));
    g.outputs.push_back(value("y", {}));
    return g;
}

std::unique_ptr<Executor> plan(const Graph& g, const std::map<std::string, Shape>& shapes, size_t split)
{
    ExecutorOptions eo;
    eo.threads = 2;
    eo.splitBytes = split;
    auto e = Executor::create(g, shapes, eo);
    if (!e.ok()) qFatal("%s", e.error().message.c_str());
    return std::move(e).value();
}

std::vector<Tensor> runOnce(Executor& e)
{
    std::vector<Tensor> inputs;
    uint64_t seed = 11;
    for (const auto& in : e.graph().inputs) {
        const auto& v = e.values()[e.valueId(in.name)];
        inputs.push_back(seededTensor(v.dtype, v.shape, seed++));
    }
    auto out = e.run(inputs);
    if (!out.ok()) qFatal("%s", out.error().message.c_str());
    std::vector<Tensor> kept;
    for (const auto& t : *out)
        kept.push_back(t.clone());
    return kept;
}

// The cut changes which kernels run (narrower ones may pick another oneDNN implementation and so another
// summation order), not the arithmetic: outputs agree to float rounding, relative to each output's magnitude.
void expectClose(const std::vector<Tensor>& want, const std::vector<Tensor>& got, double relTol)
{
    QCOMPARE(got.size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) {
        QCOMPARE(got[k].shape(), want[k].shape());
        const float* a = want[k].ptr<float>();
        const float* b = got[k].ptr<float>();
        double scale = 0, worst = 0;
        for (int64_t i = 0; i < want[k].numel(); ++i) {
            scale = std::max(scale, std::fabs(double(a[i])));
            worst = std::max(worst, std::fabs(double(a[i]) - double(b[i])));
        }
        QVERIFY2(worst <= relTol * std::max(scale, 1e-6),
            qPrintable(QStringLiteral("output %1: max |diff| %2 against max |y| %3").arg(k).arg(worst).arg(scale)));
    }
}

size_t count(const Graph& g, const std::string& op)
{
    return static_cast<size_t>(
        std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.opType == op; }));
}

// The widths (output columns) of the weights of a planned graph's nodes of type `op`.
std::set<int64_t> columnsOf(const Executor& e, const std::string& op)
{
    std::set<int64_t> widths;
    for (const Node& n : e.graph().nodes)
        if (n.opType == op) {
            const Tensor& w = e.graph().weights.at(n.inputs[1]);
            widths.insert(n.attrInt("transB", 0) ? w.dim(0) : w.dim(1));
        }
    return widths;
}

// Packed weight bytes over every layer: what a pack holds and a streamed run reads.
size_t packedBytes(const Executor& e)
{
    size_t sum = 0;
    for (const auto& l : e.layers())
        sum += l.blobBytes;
    return sum;
}

} // namespace

class TestSplit : public QObject
{
    Q_OBJECT

private slots:
    void cutsConvIntoChannelBlocks()
    {
        Graph g = convForms();
        const size_t perChannel = (256 + 1) * sizeof(float);
        auto e = plan(g, {}, 64 * perChannel + 100); // room for one block of 64 channels, not two
        QCOMPARE(e->split().layersSplit, size_t(1));
        QCOMPARE(e->split().pieces, size_t(3));
        const Graph& cut = e->graph();
        QCOMPARE(count(cut, "Concat"), size_t(1));
        std::vector<int64_t> widths;
        for (const Node& n : cut.nodes)
            if (n.opType == "Conv" && n.attrInt("group", 1) == 1) {
                widths.push_back(cut.weights.at(n.inputs[1]).dim(0));
                QCOMPARE(cut.weights.at(n.inputs[2]).dim(0), widths.back());
            }
        QCOMPARE(widths, (std::vector<int64_t> { 64, 64, 32 }));
        // The Concat produces the original output; the whole weight and bias are gone, the grouped Conv's stays.
        QCOMPARE(cut.nodes.back().opType, std::string("Concat"));
        QCOMPARE(cut.nodes.back().outputs[0], std::string("y"));
        QVERIFY(!cut.weights.count("w") && !cut.weights.count("b") && cut.weights.count("wg"));
        // Each piece is a layer of its own.
        QCOMPARE(e->layers().size(), size_t(4));
        expectClose(runOnce(*plan(g, {}, 0)), runOnce(*e), 1e-5);
    }

    // The pieces run one after another on one input, so each after the first reads the blocked copy of that input
    // its predecessor laid out, but only when the predecessor ran right before it in the same inference.
    void piecesShareTheirInputsLayoutOnlyWhenRunInTurn()
    {
        Graph g = convForms();
        const size_t perChannel = (256 + 1) * sizeof(float);
        ExecutorOptions eo;
        eo.threads = 2;
        eo.splitBytes = 64 * perChannel + 100;
        eo.arena = false; // every value keeps its own buffer, to read a piece's output after the run
        auto made = Executor::create(g, {}, eo);
        QVERIFY2(made.ok(), made.ok() ? "" : made.error().message.c_str());
        Executor& e = **made;
        QCOMPARE(e.nodes().size(), size_t(5)); // grouped conv, three pieces, the Concat
        // Sharing is there to share where the pieces lay their input out anew: oneDNN does on x86 (a blocked
        // layout); on aarch64 it reads the plain one, and each piece reads the input itself.
        const bool relaid = e.nodes()[2].kernel->relaysSource();
#if defined(__x86_64__)
        QVERIFY(relaid);
#endif
        if (!relaid) qInfo("the pieces read the plain layout here: nothing to share");
        QVERIFY(!e.nodes()[1].sharesSource);
        QCOMPARE(e.nodes()[2].sharesSource, relaid);
        QCOMPARE(e.nodes()[3].sharesSource, relaid);
        const int x = e.valueId("x"), piece1 = e.valueId(e.graph().nodes[2].outputs[0]);
        QVERIFY(x >= 0 && piece1 >= 0);
        const Tensor a = seededTensor(DType::F32, e.values()[x].shape, 21);
        const Tensor b = seededTensor(DType::F32, e.values()[x].shape, 22);
        // In turn: the same outputs as whole layers, on two inputs one after the other.
        auto whole = plan(g, {}, 0);
        for (const Tensor* in : { &a, &b }) {
            auto want = whole->run({ *in });
            QVERIFY(want.ok());
            std::vector<Tensor> kept { (*want)[0].clone() };
            auto got = e.run({ *in });
            QVERIFY(got.ok());
            expectClose(kept, { (*got)[0].clone() }, 1e-5);
        }
        const Tensor wantPiece1 = e.buffer(piece1).clone(); // input b, in turn
        // Out of turn: after a run on a, run on b without piece 0. Piece 1 must lay b's input out itself (the scratch
        // holds the grouped conv's blocked copy of x then, not its output's).
        QVERIFY(e.run({ a }).ok());
        QVERIFY(e.beginRun({ b }).ok());
        QVERIFY(e.runNodes(0, 1).ok());
        QVERIFY(e.runNodes(2, 3).ok());
        (void)e.finishRun();
        const Tensor& gotPiece1 = e.buffer(piece1);
        QCOMPARE(gotPiece1.bytes(), wantPiece1.bytes());
        QVERIFY(std::memcmp(gotPiece1.data(), wantPiece1.data(), wantPiece1.bytes()) == 0);
    }

    void leavesSmallAndUncuttableLayersWhole()
    {
        Graph g = convForms();
        auto whole = plan(g, {}, 1 << 30);
        QCOMPARE(whole->split().layersSplit, size_t(0));
        QCOMPARE(count(whole->graph(), "Concat"), size_t(0));
        // Below one block: cut into blocks of 64 anyway, never finer; the grouped Conv stays whole.
        auto finest = plan(g, {}, 1);
        QCOMPARE(finest->split().pieces, size_t(3));
        QCOMPARE(count(finest->graph(), "Conv"), size_t(4));
    }

    void cutsEveryGemmAndMatMulForm()
    {
        Graph g = linearForms();
        auto whole = plan(g, {}, 0);
        // Room for 64 columns of the smallest weight (K 48, and a bias column): that node is cut into its three
        // 64-column blocks. The others' blocks of 64 are above the split, so they are cut in blocks of 32 (the MatMul,
        // K 96) or 16 (the Gemms of K 192).
        auto cut = plan(g, {}, 64 * 49 * sizeof(float) + 100);
        QCOMPARE(cut->split().layersSplit, size_t(4));
        QCOMPARE(cut->split().pieces, size_t(3 + 12 + 12 + 6));
        QCOMPARE(count(cut->graph(), "Concat"), size_t(4));
        QCOMPARE(count(cut->graph(), "Gemm"), size_t(3 + 12 + 12));
        QCOMPARE(columnsOf(*cut, "Gemm"), (std::set<int64_t> { 16, 64 }));
        QCOMPARE(columnsOf(*cut, "MatMul"), std::set<int64_t> { 32 });
        // The scalar bias is shared by the pieces, the per-column ones are sliced.
        QVERIFY(cut->graph().weights.count("c2"));
        QVERIFY(!cut->graph().weights.count("c0") && !cut->graph().weights.count("c1"));
        expectClose(runOnce(*whole), runOnce(*cut), 1e-5);
        // Below one block of 16, a piece is still 16 columns.
        auto finest = plan(g, {}, 1);
        QCOMPARE(finest->split().pieces, size_t(4 * 12));
        QCOMPARE(columnsOf(*finest, "Gemm"), std::set<int64_t> { 16 });
        // Narrow pieces are packed without the padding of the kernels' 64-column blocks: together they hold what the
        // whole weights hold (but the scalar bias, which each piece keeps a copy of).
        QVERIFY2(packedBytes(*finest) <= packedBytes(*whole) + 12 * 64,
            qPrintable(QStringLiteral("%1 > %2").arg(packedBytes(*finest)).arg(packedBytes(*whole))));
        expectClose(runOnce(*whole), runOnce(*finest), 1e-5);
    }

    void realModelsAgreeWithTheirWholeLayers_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<qulonglong>("split");
        QTest::newRow("yolov4-tiny 256K") << QStringLiteral("yolov4-tiny") << qulonglong(256 << 10);
        QTest::newRow("yolov4-tiny 64K") << QStringLiteral("yolov4-tiny") << qulonglong(64 << 10);
        QTest::newRow("ppocr_rec 64K") << QStringLiteral("ppocr_rec") << qulonglong(64 << 10);
    }

    void realModelsAgreeWithTheirWholeLayers()
    {
        QFETCH(QString, model);
        QFETCH(qulonglong, split);
        std::string path;
        std::map<std::string, Shape> shapes;
        if (model == QLatin1String("yolov4-tiny")) {
            path = std::string(DL_SOURCE_DIR) + "/resources/models/darknet/yolov4-tiny.cfg";
        } else {
            path = modelCache() + "/models/" + model.toStdString() + ".onnx";
            if (!QFile::exists(QString::fromStdString(path)))
                QSKIP("the PaddleOCR models are not in the model cache (scripts/fetch-models.sh)");
            shapes["x"] = { 1, 3, 48, 320 };
        }
        auto g = importModel(path);
        QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
        auto whole = plan(*g, shapes, 0);
        auto cut = plan(*g, shapes, split);
        QVERIFY(cut->split().layersSplit > 0);
        QCOMPARE(cut->layers().size(), whole->layers().size() + cut->split().pieces - cut->split().layersSplit);
        // The largest layer shrinks, and the pieces' packed weights add up to the whole layers' (a piece that the
        // kernels pad to their block would add to what has to be read).
        size_t largestWhole = 0, largestCut = 0;
        for (const auto& l : whole->layers())
            largestWhole = std::max(largestWhole, l.blobBytes);
        for (const auto& l : cut->layers())
            largestCut = std::max(largestCut, l.blobBytes);
        const size_t sumWhole = packedBytes(*whole), sumCut = packedBytes(*cut);
        QVERIFY2(largestCut < largestWhole, qPrintable(QStringLiteral("%1 >= %2").arg(largestCut).arg(largestWhole)));
        QVERIFY2(sumCut <= sumWhole + sumWhole / 200, qPrintable(QStringLiteral("%1 > %2").arg(sumCut).arg(sumWhole)));
        QCOMPARE(cut->graph().outputs.size(), whole->graph().outputs.size());
        expectClose(runOnce(*whole), runOnce(*cut), 1e-4);
    }
};

QTEST_GUILESS_MAIN(TestSplit)
#include "test_split.moc"
