// What the CUDA backend can tell without a GPU: the cuDNN it loaded is the one it was built against, of a major
// version the legacy API serves (8 for JetPack 5, 9 here); statuses are named by enum; probing the device never
// aborts — on a machine without a driver it says why, naming the CUDA error; and its convolution descriptors (cuDNN
// needs no device for them) give every convolution of real models the output shape the CPU backend plans.

#include "backend/cuda/cudabackend.h"
#include "backend/cuda/cudaops.h"
#include "backend/cuda/cudaprobe.h"
#include "model/importer.h"
#include "opcases.h"
#include "runtime/executor.h"

#include <QFile>
#include <QTest>

#include <cstdlib>
#include <map>

using namespace dl;
using namespace dl::cuda;

namespace {

// What the executor asked a backend for when it planned `np`: the node with its inputs' types, shapes and constants.
KernelRequest requestOf(const Executor& exec, const NodePlan& np)
{
    KernelRequest r { exec.graph().nodes[np.node], {}, exec.graph().opset };
    for (int id : np.inputs) {
        if (id < 0) {
            r.inputs.emplace_back();
            continue;
        }
        const ValuePlan& v = exec.values()[id];
        r.inputs.push_back(ValueDesc { v.dtype, v.shape, v.constant ? &exec.buffer(id) : nullptr });
    }
    return r;
}

} // namespace

class TestCudaLibrary : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void cudnnIsTheOneBuiltAgainst()
    {
        const int major = cudnnLoadedMajor();
        QVERIFY2(major == 8 || major == 9, qPrintable(QString::number(major)));
        // The same major version at run time as at build time (a cuDNN 8 library under a cuDNN 9 build would break
        // the legacy API's ABI).
        QCOMPARE(QString::fromStdString(cudnnLoadedVersion()).section(QLatin1Char('.'), 0, 0),
            QString::fromStdString(cudnnBuiltVersion()).section(QLatin1Char('.'), 0, 0));
        QVERIFY(!cudnnBadParamText().empty());
        QVERIFY2(cudnnBadParamText().find("BAD_PARAM") != std::string::npos, cudnnBadParamText().c_str());
    }

    void probingNeverAborts()
    {
        const DeviceProbe p = probeDevice();
        QVERIFY(p.runtimeVersion >= 11000); // CUDA 11.4 (JetPack 5) or later
        if (p.usable) {
            QVERIFY(p.count > 0);
            QVERIFY(!p.name.empty());
            QVERIFY(p.major >= 7);
            QVERIFY(p.memoryBytes > 0);
        } else {
            QVERIFY2(!p.reason.empty(), "an unusable device must say why");
            QCOMPARE(p.count, 0);
            qInfo("no usable CUDA device: %s", p.reason.c_str());
        }
        // A second probe after a failed one gives the same answer (the runtime's error was cleared).
        const DeviceProbe again = probeDevice();
        QCOMPARE(again.usable, p.usable);
        QCOMPARE(again.reason, p.reason);
    }

    // Every convolution the CPU backend plans for YOLOv4-tiny and YOLOv3-tiny (fused, with their activations), as
    // cuDNN describes it: the same output shape, and a key that parses back to itself.
    void descriptorsGiveThePlannedShapes()
    {
        size_t convs = 0;
        for (const char* name : { "yolov4-tiny", "yolov3-tiny" }) {
            auto g = importModel(std::string(DL_SOURCE_DIR) + "/resources/models/darknet/" + name + ".cfg");
            QVERIFY(g.ok());
            auto exec = Executor::create(*g, {}, {});
            QVERIFY(exec.ok());
            for (const auto& np : (*exec)->nodes()) {
                const Node& node = (*exec)->graph().nodes[np.node];
                if (node.opType != "Conv") continue;
                const auto& v = (*exec)->values();
                for (DType dtype : { DType::F32, DType::F16 }) {
                    auto d = describeConv(node, v[np.inputs[0]].shape, v[np.inputs[1]].shape, dtype);
                    QVERIFY2(d.ok(), d.ok() ? "" : d.error().message.c_str());
                    QCOMPARE(d->output, v[np.outputs[0]].shape);
                    auto back = ConvKey::parse(d->key.text());
                    QVERIFY(back.ok() && back.value() == d->key);
                    QCOMPARE(d->key.math, std::string(dtype == DType::F16 ? "tensor_op" : "fma"));
                }
                QVERIFY2(checkConvActivation(node).ok(), node.describe().c_str());
                ++convs;
            }
        }
        QVERIFY(convs > 30);
    }

    // What the backend's convolution does not take is Unsupported (the op then falls back to the CPU), and malformed
    // shapes are Invalid, each naming the node.
    void descriptorsRefuseWhatTheyCannotDescribe()
    {
        Node conv;
        conv.opType = "Conv";
        conv.name = "c";
        const Shape x { 1, 8, 32, 32 }, w { 16, 8, 3, 3 };
        QVERIFY(describeConv(conv, x, w, DType::F32).ok());
        Node asym = conv;
        asym.attrs["pads"] = attrInts({ 0, 0, 1, 1 });
        auto r = describeConv(asym, x, w, DType::F32);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, ErrorCode::Unsupported);
        QVERIFY2(r.error().message.find("asymmetric") != std::string::npos, r.error().message.c_str());
        Node same = conv;
        same.attrs["auto_pad"] = attrString("SAME_UPPER");
        auto s = describeConv(same, x, w, DType::F32);
        QVERIFY(s.ok());
        QCOMPARE(s->output, (Shape { 1, 16, 32, 32 }));
        QCOMPARE(describeConv(conv, { 1, 8, 32 }, { 16, 8, 3 }, DType::F32).error().code, ErrorCode::Unsupported);
        QCOMPARE(describeConv(conv, x, w, DType::I64).error().code, ErrorCode::Unsupported);
        QCOMPARE(describeConv(conv, x, { 16, 3, 3, 3 }, DType::F32).error().code, ErrorCode::Invalid);
        Node strided = conv;
        strided.attrs["strides"] = attrInts({ 2, 2 });
        strided.attrs["group"] = attrInt(8);
        auto g = describeConv(strided, x, { 16, 1, 3, 3 }, DType::F32);
        QVERIFY(g.ok());
        QCOMPARE(g->output, (Shape { 1, 16, 15, 15 }));
        QCOMPARE(g->key.groups, int64_t(8));
        Node act = conv;
        act.attrs["_activation"] = attrString("Gelu");
        QCOMPARE(checkConvActivation(act).error().code, ErrorCode::Unsupported);
    }

    // What an fp16 pack asks of a convolution: float32 data computed in float16 on tensor cores (cuDNN's conversion
    // math), a key of its own in the algorithm cache; a transposed convolution is described as cuDNN's backward-data
    // one, its forward input being the node's output, and checked to give back the node's input.
    void halfComputeAndTransposedDescriptors()
    {
        Node conv;
        conv.opType = "Conv";
        conv.name = "c";
        const Shape x { 1, 8, 32, 32 }, w { 16, 8, 3, 3 };
        QCOMPARE(describeConv(conv, x, w, DType::F32).value().key.math, std::string("fma"));
        QCOMPARE(
            describeConv(conv, x, w, DType::F32, true).value().key.math, std::string("tensor_op_allow_conversion"));
        QCOMPARE(describeConv(conv, x, w, DType::F16).value().key.math, std::string("tensor_op"));
        QVERIFY(describeConv(conv, x, w, DType::F32, true).value().key.text()
            != describeConv(conv, x, w, DType::F32).value().key.text());

        Node up;
        up.opType = "ConvTranspose";
        up.name = "u";
        up.attrs["strides"] = attrInts({ 2, 2 });
        up.attrs["pads"] = attrInts({ 1, 1, 1, 1 });
        // 8 channels in, 2 groups of 3 out: weights 8 x 3 x 3 x 3; 9 x 11 → 2 (n - 1) - 2 + 3 (+ output_padding 1).
        auto d = describeConvTranspose(up, { 1, 8, 9, 11 }, { 8, 3, 3, 3 }, { 1, 6, 17, 21 }, DType::F32);
        QVERIFY(!d.ok()); // groups 1: 3 output channels, not 6
        QCOMPARE(d.error().code, ErrorCode::Invalid);
        up.attrs["group"] = attrInt(2);
        d = describeConvTranspose(up, { 1, 8, 9, 11 }, { 8, 3, 3, 3 }, { 1, 6, 17, 21 }, DType::F32, true);
        QVERIFY2(d.ok(), d.ok() ? "" : d.error().message.c_str());
        QVERIFY(d->key.transposed);
        QCOMPARE(d->key.input, (std::vector<int64_t> { 1, 6, 17, 21 }));
        QCOMPARE(d->key.math, std::string("tensor_op_allow_conversion"));
        QCOMPARE(d->output, (Shape { 1, 6, 17, 21 }));
        // output_padding 1: one row and column longer, which the forward convolution drops: the same input.
        QVERIFY(describeConvTranspose(up, { 1, 8, 9, 11 }, { 8, 3, 3, 3 }, { 1, 6, 18, 22 }, DType::F32).ok());
        // An output the forward convolution does not map back onto the input is refused.
        auto wrong = describeConvTranspose(up, { 1, 8, 9, 11 }, { 8, 3, 3, 3 }, { 1, 6, 21, 21 }, DType::F32);
        QVERIFY(!wrong.ok());
        QCOMPARE(wrong.error().code, ErrorCode::Unsupported);
        Node same = up;
        same.attrs["auto_pad"] = attrString("SAME_UPPER");
        QCOMPARE(
            describeConvTranspose(same, { 1, 8, 9, 11 }, { 8, 3, 3, 3 }, { 1, 6, 18, 22 }, DType::F32).error().code,
            ErrorCode::Unsupported);
    }

    // Which nodes of the benchmark networks the CUDA backend takes (its supports(), which needs no device), and
    // which fall back to the CPU (listed): every node of every benchmark network is the GPU's.
    void coverageOfTheBenchmarkNetworks()
    {
        const std::string darknet = std::string(DL_SOURCE_DIR) + "/resources/models/darknet/";
        const char* home = std::getenv("HOME");
        const std::string cache = std::getenv("DL_CACHE")
            ? std::getenv("DL_CACHE")
            : std::string(home ? home : "/root") + "/.cache/demand-layering";
        struct Case
        {
            std::string name, path;
            double least; // the share of nodes that must be the GPU's
        };
        std::vector<Case> cases = { { "YOLOv4-tiny", darknet + "yolov4-tiny.cfg", 1.0 },
            { "YOLOv4", darknet + "yolov4.cfg", 1.0 }, { "ResNet-152", darknet + "resnet152.cfg", 1.0 },
            { "DenseNet-201", darknet + "densenet201.cfg", 1.0 }, { "VGG-16", darknet + "vgg-16.cfg", 1.0 } };
        for (const char* onnx : { "ppocr_det", "ppocr_rec", "ppocr_cls", "isnet" })
            if (QFile::exists(QString::fromStdString(cache + "/models/" + onnx + ".onnx")))
                cases.push_back({ onnx, cache + "/models/" + onnx + ".onnx", 1.0 });
        auto cpu = makeCpuBackend(2);
        CudaContext ctx;
        ctx.cpu = cpu.get();
        for (const Case& c : cases) {
            auto g = importModel(c.path);
            QVERIFY2(g.ok(), c.path.c_str());
            std::map<std::string, Shape> shapes;
            if (c.name == "ppocr_det") shapes["x"] = { 1, 3, 320, 320 };
            if (c.name == "ppocr_rec") shapes["x"] = { 1, 3, 48, 320 };
            if (c.name == "ppocr_cls") shapes["x"] = { 1, 3, 48, 192 };
            auto exec = Executor::create(*g, shapes, {});
            QVERIFY2(exec.ok(), exec.ok() ? "" : exec.error().message.c_str());
            size_t onGpu = 0, convs = 0, convsOnGpu = 0;
            std::map<std::string, std::pair<size_t, std::string>> fallbacks; // op → count, a reason
            for (const auto& np : (*exec)->nodes()) {
                const Node& node = (*exec)->graph().nodes[np.node];
                const KernelRequest r = requestOf(**exec, np);
                const Status st = supportsNode(r, ctx);
                const bool conv = node.opType == "Conv";
                convs += conv;
                if (st.ok()) {
                    ++onGpu;
                    convsOnGpu += conv;
                } else {
                    QCOMPARE(st.error().code, ErrorCode::Unsupported);
                    auto& f = fallbacks[node.opType];
                    if (f.first++ == 0) f.second = st.error().message;
                }
            }
            std::string list;
            for (const auto& [op, f] : fallbacks)
                list += "\n    " + op + " x" + std::to_string(f.first) + ": " + f.second;
            const size_t nodes = (*exec)->nodes().size();
            qInfo("%s: %zu of %zu nodes on the GPU (%zu of %zu convolutions)%s", c.name.c_str(), onGpu, nodes,
                convsOnGpu, convs, list.empty() ? "" : (", on the CPU:" + list).c_str());
            if (c.path.ends_with(".cfg")) QCOMPARE(convsOnGpu, convs);
            QVERIFY2(double(onGpu) >= c.least * double(nodes), c.name.c_str());
        }
    }

    // Every case of the op comparison (opcases.h) plans on the CPU backend, and the CUDA backend takes its op: on a GPU
    // the comparison is of kernels, not of fallbacks.
    void everyOpCaseIsTheGpus()
    {
        auto cpu = makeCpuBackend(2);
        CudaContext ctx;
        ctx.cpu = cpu.get();
        const auto cases = dltest::cudaOpCases();
        QVERIFY(cases.size() > 30);
        qInfo("%zu op cases", cases.size());
        for (const auto& c : cases) {
            auto exec = Executor::create(c.graph, {}, {});
            QVERIFY2(exec.ok(), (c.name + ": " + (exec.ok() ? "" : exec.error().message)).c_str());
            size_t found = 0;
            for (const auto& np : (*exec)->nodes()) {
                const Node& node = (*exec)->graph().nodes[np.node];
                const KernelRequest r = requestOf(**exec, np);
                const Status st = supportsNode(r, ctx);
                QVERIFY2(st.ok(), (c.name + ": " + (st.ok() ? "" : st.error().message)).c_str());
                found += node.opType == c.op;
            }
            QVERIFY2(found == 1, c.name.c_str());
        }
    }

    // cuBLAS is loaded when the backend starts, not linked (it would map half a gigabyte into every dlayer): it loads
    // here, once, with every function the backend calls.
    void cublasLoadsAtRunTime()
    {
        std::string why;
        const CublasApi* api = loadCublas(&why);
        QVERIFY2(api, why.c_str());
        QVERIFY(api->create && api->destroy && api->setStream && api->sgemm && api->statusName);
        QCOMPARE(loadCublas(nullptr), api);
        QCOMPARE(
            std::string(api->statusName(CUBLAS_STATUS_NOT_INITIALIZED)), std::string("CUBLAS_STATUS_NOT_INITIALIZED"));
    }

    // Without a usable device the backend is not made, and says why, naming the CUDA error.
    void theBackendSaysWhyItCannotStart()
    {
        const DeviceProbe p = probeDevice();
        if (p.usable) QSKIP("a usable device is here: test_cuda_device covers the backend");
        auto b = makeCudaBackend(2);
        QVERIFY(!b.ok());
        QCOMPARE(b.error().code, ErrorCode::Unsupported);
        QVERIFY2(b.error().message.find(p.reason) != std::string::npos, b.error().message.c_str());
    }
};

QTEST_GUILESS_MAIN(TestCudaLibrary)
#include "test_cuda_library.moc"
