// The ONNX importer on models built here with the ONNX protobuf classes: weights in Constant nodes, nodes out of
// order, fp16 weights, dynamic dimensions, and malformed files.

#include "model/importer.h"
#include "runtime/executor.h"

#include <onnx/onnx_pb.h>

#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using namespace dl;

namespace {

onnx::TensorProto floatTensor(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v)
{
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims)
        t.add_dims(d);
    for (float x : v)
        t.add_float_data(x);
    return t;
}

void addInput(onnx::GraphProto* g, const std::string& name, const std::vector<std::string>& dims)
{
    auto* in = g->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (const auto& d : dims) {
        auto* dim = tt->mutable_shape()->add_dim();
        if (!d.empty() && std::isdigit(static_cast<unsigned char>(d[0])))
            dim->set_dim_value(std::stoll(d));
        else
            dim->set_dim_param(d);
    }
}

onnx::NodeProto* addNode(
    onnx::GraphProto* g, const std::string& op, std::vector<std::string> in, std::vector<std::string> out)
{
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(op + "_" + out[0]);
    for (auto& s : in)
        n->add_input(s);
    for (auto& s : out)
        n->add_output(s);
    return n;
}

onnx::ModelProto baseModel()
{
    onnx::ModelProto m;
    m.set_ir_version(8);
    m.set_producer_name("test");
    auto* op = m.add_opset_import();
    op->set_domain("");
    op->set_version(13);
    return m;
}

Graph importProto(const onnx::ModelProto& m)
{
    std::string bytes;
    m.SerializeToString(&bytes);
    auto g = importOnnxBytes(bytes.data(), bytes.size(), "built.onnx");
    if (!g.ok()) qFatal("import failed: %s", g.error().message.c_str());
    return std::move(g).value();
}

std::vector<float> runOnce(const Graph& g, const Shape& inShape, const std::vector<float>& x)
{
    auto exec = Executor::create(g, { { g.inputs[0].name, inShape } });
    if (!exec.ok()) qFatal("plan failed: %s", exec.error().message.c_str());
    Tensor in(DType::F32, inShape);
    std::copy(x.begin(), x.end(), in.ptr<float>());
    auto out = (*exec)->run({ in });
    if (!out.ok()) qFatal("run failed: %s", out.error().message.c_str());
    auto v = (*out)[0].values<float>();
    return { v.begin(), v.end() };
}

} // namespace

class TestOnnxImport : public QObject
{
    Q_OBJECT

private slots:
    void constantNodesBecomeWeights()
    {
        // y = x * c + d, where c and d live in Constant nodes (the PaddleOCR way).
        auto m = baseModel();
        auto* g = m.mutable_graph();
        addInput(g, "x", { "1", "3" });
        auto* c = addNode(g, "Constant", {}, { "c" });
        auto* a = c->add_attribute();
        a->set_name("value");
        a->set_type(onnx::AttributeProto::TENSOR);
        *a->mutable_t() = floatTensor("c", { 3 }, { 2, 3, 4 });
        auto* d = addNode(g, "Constant", {}, { "d" });
        auto* b = d->add_attribute();
        b->set_name("value_floats");
        b->set_type(onnx::AttributeProto::FLOATS);
        b->add_floats(1);
        b->add_floats(1);
        b->add_floats(1);
        addNode(g, "Mul", { "x", "c" }, { "xc" });
        addNode(g, "Add", { "xc", "d" }, { "y" });
        g->add_output()->set_name("y");
        Graph graph = importProto(m);
        QCOMPARE(graph.nodes.size(), size_t(2)); // the Constant nodes are gone
        QVERIFY(graph.isWeight("c"));
        QVERIFY(graph.isWeight("d"));
        QCOMPARE(graph.weightBytes(), size_t(24));
        const auto y = runOnce(graph, { 1, 3 }, { 1, 2, 3 });
        QCOMPARE(y, (std::vector<float> { 3, 7, 13 }));
    }

    void unsortedNodesAreSorted()
    {
        auto m = baseModel();
        auto* g = m.mutable_graph();
        addInput(g, "x", { "2" });
        // Declared in reverse order of execution: z = relu(neg(x)).
        addNode(g, "Relu", { "n" }, { "z" });
        addNode(g, "Neg", { "x" }, { "n" });
        g->add_output()->set_name("z");
        Graph graph = importProto(m);
        QCOMPARE(graph.nodes[0].opType, std::string("Neg"));
        QCOMPARE(graph.nodes[1].opType, std::string("Relu"));
        QCOMPARE(runOnce(graph, { 2 }, { -1, 2 }), (std::vector<float> { 1, 0 }));
    }

    void cycleIsRefusedWithTheNodeNamed()
    {
        auto m = baseModel();
        auto* g = m.mutable_graph();
        addInput(g, "x", { "2" });
        addNode(g, "Add", { "x", "b" }, { "a" });
        addNode(g, "Relu", { "a" }, { "b" });
        g->add_output()->set_name("b");
        std::string bytes;
        m.SerializeToString(&bytes);
        auto r = importOnnxBytes(bytes.data(), bytes.size(), "cycle.onnx");
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("cycle") != std::string::npos, r.error().message.c_str());
    }

    void fp16WeightsAreWidened()
    {
        auto m = baseModel();
        auto* g = m.mutable_graph();
        addInput(g, "x", { "3" });
        onnx::TensorProto w;
        w.set_name("w");
        w.set_data_type(onnx::TensorProto::FLOAT16);
        w.add_dims(3);
        for (float v : { 0.5f, -2.0f, 1024.0f })
            w.add_int32_data(floatToHalf(v));
        *g->add_initializer() = w;
        addNode(g, "Add", { "x", "w" }, { "y" });
        g->add_output()->set_name("y");
        Graph graph = importProto(m);
        QCOMPARE(graph.weights.at("w").dtype(), DType::F32);
        QCOMPARE(runOnce(graph, { 3 }, { 1, 1, 1 }), (std::vector<float> { 1.5f, -1.0f, 1025.0f }));
    }

    void dynamicDimensionsAreBoundAtPlanTime()
    {
        auto m = baseModel();
        auto* g = m.mutable_graph();
        addInput(g, "x", { "batch", "3", "height" });
        addNode(g, "Relu", { "x" }, { "y" });
        g->add_output()->set_name("y");
        Graph graph = importProto(m);
        QCOMPARE(graph.inputs[0].dims[2].param, std::string("height"));
        // Unbound non-batch dimension: a clear error that names it.
        auto missing = resolveInputShapes(graph, {});
        QVERIFY(!missing.ok());
        QVERIFY(missing.error().message.find("height") != std::string::npos);
        for (int64_t h : { 5, 9 }) {
            auto exec = Executor::create(graph, { { "x", { 2, 3, h } } });
            QVERIFY2(exec.ok(), exec.ok() ? "" : exec.error().message.c_str());
            QCOMPARE((*exec)->values()[(*exec)->valueId("y")].shape, (Shape { 2, 3, h }));
        }
        // A fixed dimension cannot be overridden.
        auto wrong = Executor::create(graph, { { "x", { 1, 4, 5 } } });
        QVERIFY(!wrong.ok());
        QVERIFY(wrong.error().message.find("fixed at 3") != std::string::npos);
    }

    void shapeArithmeticIsFolded()
    {
        // Reshape(x, Concat(Shape(x)[0], -1)): the target shape is computed from shapes only, so planning folds it.
        auto m = baseModel();
        auto* g = m.mutable_graph();
        addInput(g, "x", { "N", "2", "3" });
        addNode(g, "Shape", { "x" }, { "s" });
        onnx::TensorProto idx;
        idx.set_name("i0");
        idx.set_data_type(onnx::TensorProto::INT64);
        idx.add_dims(1);
        idx.add_int64_data(0);
        *g->add_initializer() = idx;
        onnx::TensorProto minus;
        minus.set_name("m1");
        minus.set_data_type(onnx::TensorProto::INT64);
        minus.add_dims(1);
        minus.add_int64_data(-1);
        *g->add_initializer() = minus;
        addNode(g, "Gather", { "s", "i0" }, { "n" });
        auto* cat = addNode(g, "Concat", { "n", "m1" }, { "target" });
        auto* ax = cat->add_attribute();
        ax->set_name("axis");
        ax->set_type(onnx::AttributeProto::INT);
        ax->set_i(0);
        addNode(g, "Reshape", { "x", "target" }, { "y" });
        g->add_output()->set_name("y");
        Graph graph = importProto(m);
        auto exec = Executor::create(graph, { { "x", { 4, 2, 3 } } });
        QVERIFY2(exec.ok(), exec.ok() ? "" : exec.error().message.c_str());
        QCOMPARE((*exec)->values()[(*exec)->valueId("y")].shape, (Shape { 4, 6 }));
        QCOMPARE((*exec)->nodes().size(), size_t(1)); // only the Reshape runs per inference
    }

    void malformedFilesGiveClearErrors()
    {
        const char junk[] = "\x08\x96\x01this is not onnx at all";
        auto r = importOnnxBytes(junk, sizeof junk, "junk.onnx");
        QVERIFY(!r.ok());
        QVERIFY(r.error().message.find("junk.onnx") != std::string::npos);
        auto e = importOnnxBytes("", 0, "empty.onnx");
        QVERIFY(!e.ok());
        QVERIFY(e.error().message.find("empty") != std::string::npos);
        auto missing = importModel("/nonexistent/file.onnx");
        QVERIFY(!missing.ok());
        QCOMPARE(missing.error().code, ErrorCode::Io);
        auto ext = importModel("model.tflite");
        QVERIFY(!ext.ok());
        QVERIFY(ext.error().message.find("unknown model format") != std::string::npos);
    }

    void rawDataOfTheWrongSizeIsCorrupt()
    {
        auto m = baseModel();
        auto* g = m.mutable_graph();
        addInput(g, "x", { "4" });
        onnx::TensorProto w;
        w.set_name("w");
        w.set_data_type(onnx::TensorProto::FLOAT);
        w.add_dims(4);
        w.set_raw_data(std::string(12, '\0')); // 3 floats for 4
        *g->add_initializer() = w;
        addNode(g, "Add", { "x", "w" }, { "y" });
        g->add_output()->set_name("y");
        std::string bytes;
        m.SerializeToString(&bytes);
        auto r = importOnnxBytes(bytes.data(), bytes.size(), "short.onnx");
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, ErrorCode::Corrupt);
        QVERIFY2(r.error().message.find("'w'") != std::string::npos, r.error().message.c_str());
    }

    void tensorProtoRoundTrip()
    {
        QTemporaryDir dir;
        Tensor t(DType::I64, { 2, 2 });
        for (int i = 0; i < 4; ++i)
            t.ptr<int64_t>()[i] = i * 1000000000000ll;
        const std::string path = (dir.path() + QStringLiteral("/t.pb")).toStdString();
        QVERIFY(writeTensorProtoFile(path, t, "tensor").ok());
        std::string name;
        auto back = readTensorProtoFile(path, &name);
        QVERIFY(back.ok());
        QCOMPARE(name, std::string("tensor"));
        QCOMPARE(back->shape(), t.shape());
        QCOMPARE(back->toInt64(), t.toInt64());
    }
};

QTEST_APPLESS_MAIN(TestOnnxImport)
#include "test_onnx_import.moc"
