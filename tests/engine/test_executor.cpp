// Layer grouping, model summaries and the executor's contract, on graphs built directly in the IR.

#include "core/random.h"
#include "enginetestutil.h"
#include "model/layering.h"
#include "runtime/executor.h"
#include "runtime/modelinfo.h"

#include <QTest>

#include <atomic>
#include <thread>

using namespace dl;
using dltest::node;

namespace {

Attribute ints(std::vector<int64_t> v)
{
    Attribute a;
    a.kind = Attribute::Kind::Ints;
    a.ints = std::move(v);
    return a;
}

// conv(3→8) → relu → conv(8→8) → add(bias-free residual) → maxpool, with seeded weights.
Graph smallCnn(int channels = 8, int blocks = 2)
{
    Graph g;
    g.name = "small";
    g.format = "onnx";
    g.opset = 13;
    ValueInfo in;
    in.name = "x";
    in.dtype = DType::F32;
    in.hasShape = true;
    in.dims = { { 1, {} }, { 3, {} }, { -1, "h" }, { -1, "w" } };
    g.inputs.push_back(in);
    std::string cur = "x";
    int c = 3;
    for (int b = 0; b < blocks; ++b) {
        const std::string w = "w" + std::to_string(b);
        g.weights[w] = seededTensor(DType::F32, { channels, c, 3, 3 }, 7 + b);
        Node conv = node("Conv", { cur, w }, { "conv" + std::to_string(b) });
        conv.attrs["pads"] = ints({ 1, 1, 1, 1 });
        g.nodes.push_back(conv);
        g.nodes.push_back(node("Relu", { conv.outputs[0] }, { "relu" + std::to_string(b) }));
        cur = "relu" + std::to_string(b);
        c = channels;
    }
    Node pool = node("MaxPool", { cur }, { "y" });
    pool.attrs["kernel_shape"] = ints({ 2, 2 });
    pool.attrs["strides"] = ints({ 2, 2 });
    g.nodes.push_back(pool);
    ValueInfo out;
    out.name = "y";
    g.outputs.push_back(out);
    return g;
}

} // namespace

class TestExecutor : public QObject
{
    Q_OBJECT

private slots:
    void layersGroupWeightBearingNodesWithFollowers()
    {
        Graph g = smallCnn();
        auto layers = groupLayers(g);
        QCOMPARE(layers.size(), size_t(2));
        QCOMPARE(layers[0].nodes, (std::vector<size_t> { 0, 1 })); // conv0 + relu0
        QCOMPARE(layers[1].nodes, (std::vector<size_t> { 2, 3, 4 })); // conv1 + relu1 + pool
        QCOMPARE(layers[0].weightBytes, size_t(8 * 3 * 9 * 4));
        QCOMPARE(layers[1].weightBytes, size_t(8 * 8 * 9 * 4));
    }

    void summaryHasShapesFlopsAndTotals()
    {
        Graph g = smallCnn();
        auto s = summarizeModel(g, { { "x", { 1, 3, 16, 20 } } });
        QVERIFY2(s.ok(), s.ok() ? "" : s.error().message.c_str());
        size_t sum = 0;
        for (const auto& l : s->layers)
            sum += l.weightBytes;
        QCOMPARE(sum, s->weightBytes);
        QCOMPARE(s->layers.back().outputShape, (Shape { 1, 8, 8, 10 }));
        // conv0: 2 * (8*16*20) outputs * (3*9) MACs, at least (fusion may fold the Relu into it).
        QVERIFY(s->layers[0].flops >= 2.0 * 8 * 16 * 20 * 27);
        QCOMPARE(s->outputs[0].shape, (Shape { 1, 8, 8, 10 }));
    }

    void wrongInputsAreRefused()
    {
        Graph g = smallCnn();
        auto exec = Executor::create(g, { { "x", { 1, 3, 8, 8 } } });
        QVERIFY(exec.ok());
        auto none = (*exec)->run({});
        QVERIFY(!none.ok());
        auto shape = (*exec)->run({ Tensor(DType::F32, { 1, 3, 8, 9 }) });
        QVERIFY(!shape.ok());
        QVERIFY(shape.error().message.find("1x3x8x8") != std::string::npos);
        auto type = (*exec)->run({ Tensor(DType::I64, { 1, 3, 8, 8 }) });
        QVERIFY(!type.ok());
        QVERIFY(type.error().message.find("float32") != std::string::npos);
        auto unknown = Executor::create(g, { { "nope", { 1 } } });
        QVERIFY(!unknown.ok());
        QVERIFY(unknown.error().message.find("'nope'") != std::string::npos);
    }

    void runsAreRepeatable()
    {
        Graph g = smallCnn();
        auto exec = Executor::create(g, { { "x", { 1, 3, 12, 12 } } });
        QVERIFY(exec.ok());
        Tensor x = seededTensor(DType::F32, { 1, 3, 12, 12 }, 3);
        auto a = (*exec)->run({ x });
        QVERIFY(a.ok());
        Tensor first = (*a)[0].clone();
        auto b = (*exec)->run({ x });
        QVERIFY(b.ok());
        QCOMPARE(std::memcmp(first.data(), (*b)[0].data(), first.bytes()), 0);
        // And differ for another input: the output depends on it.
        auto c = (*exec)->run({ seededTensor(DType::F32, { 1, 3, 12, 12 }, 4) });
        QVERIFY(c.ok());
        QVERIFY(std::memcmp(first.data(), (*c)[0].data(), first.bytes()) != 0);
    }

    void cancelStopsARun()
    {
        // A deep, wide graph takes long enough that a cancel lands mid-run.
        Graph g = smallCnn(64, 60);
        auto exec = Executor::create(g, { { "x", { 1, 3, 128, 128 } } });
        QVERIFY(exec.ok());
        Executor* e = exec->get();
        Tensor x = seededTensor(DType::F32, { 1, 3, 128, 128 }, 1);
        Result<std::vector<Tensor>> r = Error {};
        std::atomic<bool> done { false };
        std::thread t([&] {
            r = e->run({ x });
            done = true;
        });
        // run() clears an earlier cancel as it begins, and on a busy machine the thread may not have begun within
        // any fixed wait: ask again every millisecond until the run returns. The run takes seconds (tens of GFLOPs),
        // so a cancel that works ends it long before it could finish.
        while (!done) {
            e->cancel();
            QTest::qWait(1);
        }
        t.join();
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, ErrorCode::Cancelled);
    }
};

QTEST_GUILESS_MAIN(TestExecutor)
#include "test_executor.moc"
