// What the CUDA backend can tell without a GPU: the cuDNN it loaded is the one it was built against, of a major
// version the legacy API serves (8 for JetPack 5, 9 here); statuses are named by enum; probing the device never
// aborts — on a machine without a driver it says why, naming the CUDA error; and its convolution descriptors (cuDNN
// needs no device for them) give every convolution of real models the output shape the CPU backend plans.

#include "backend/cuda/cudabackend.h"
#include "backend/cuda/cudaprobe.h"
#include "model/importer.h"
#include "runtime/executor.h"

#include <QTest>

using namespace dl;
using namespace dl::cuda;

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
                    QCOMPARE(d->key.math, std::string(dtype == DType::F16 ? "tensor_op" : "default"));
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
