// The Darknet importer: every .cfg of the project and of Debian's darknet package either imports into a sound
// graph or fails with a clear message; parameter counts match Darknet's .weights files; .weights files load
// float for float; and small networks compute what Darknet's own loops compute.

#include "darknettestutil.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

using namespace dl;
using namespace dltest;

namespace {

const QString kSharedCfgs = QStringLiteral(DL_SOURCE_DIR "/resources/models/darknet");
const QString kDebianCfgs = QStringLiteral("/usr/share/darknet/cfg");

// Files of Debian's 2018 set that the importer refuses, and the words its message must contain (none today:
// the recurrent, tree-softmax and reorg-extra networks were the last).
const std::map<std::string, std::vector<std::string>> kRefused = {};

// Networks run once with generated weights, whose outputs must be finite: the small ones, and the deep targets
// (YOLOv4: 162 layers with mish; ResNet-152: 50 shortcuts) where activations could blow up.
const std::set<std::string> kRunnable
    = { "yolov3-tiny.cfg", "yolov4-tiny.cfg", "yolov2-tiny.cfg", "yolov2-tiny-voc.cfg", "tiny.cfg", "darknet.cfg",
          "cifar.cfg", "cifar.test.cfg", "writing.cfg", "alexnet.cfg", "darknet19.cfg", "extraction.conv.cfg",
          "resnet50.cfg", "yolov1-tiny.cfg", "yolov4.cfg", "resnet152.cfg", "rnn.cfg", "rnn.train.cfg", "gru.cfg" };

} // namespace

class TestDarknet : public QObject
{
    Q_OBJECT

private slots:
    void importsEveryCfg_data();
    void importsEveryCfg();
    void yolov4Parameters();
    void detectorOutputs();
    void maxpoolPadsLikeDarknet();
    void syntaxErrorsNameTheLine_data();
    void syntaxErrorsNameTheLine();
    void aWeightLimitRefusesLargerNetworks();
    void weightsFileLoadsExactly();
    void weightsFileOfWrongSize();
    void oldAndTransposedWeightFiles();
    void seededWeightsAreDeterministic();
    void progressCanCancel();

private:
    QTemporaryDir m_tmp;
    std::string tmp(const char* name) const { return str(m_tmp.filePath(QString::fromUtf8(name))); }
};

void TestDarknet::importsEveryCfg_data()
{
    QTest::addColumn<QString>("path");
    int found = 0;
    const std::pair<QString, QString> dirs[]
        = { { QStringLiteral("shared"), kSharedCfgs }, { QStringLiteral("debian"), kDebianCfgs } };
    for (const auto& [tag, dir] : dirs) {
        const QStringList files = QDir(dir).entryList({ QStringLiteral("*.cfg") }, QDir::Files, QDir::Name);
        for (const QString& f : files) {
            const QString path = dir + QLatin1Char('/') + f;
            QTest::newRow(qPrintable(tag + QLatin1Char('/') + f)) << path;
            ++found;
        }
    }
    if (found == 0) QTest::newRow("none") << QString();
}

void TestDarknet::importsEveryCfg()
{
    QFETCH(QString, path);
    if (path.isEmpty()) QSKIP("no Darknet cfgs found");
    const std::string name = str(QFileInfo(path).fileName());
    auto r = importDarknet(str(path));
    auto refused = kRefused.find(name);
    if (refused != kRefused.end()) {
        QVERIFY2(!r.ok(), "expected the importer to refuse this file");
        QCOMPARE(r.error().code, ErrorCode::Unsupported);
        for (const auto& words : refused->second)
            QVERIFY2(contains(r.error().message, words), r.error().message.c_str());
        return;
    }
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    const Graph& g = r.value();
    QCOMPARE(g.format, std::string("darknet"));
    QCOMPARE(g.opset, int64_t(13));
    QCOMPARE(g.inputs.size(), size_t(1));
    QCOMPARE(g.inputs[0].name, std::string("data"));
    QCOMPARE(g.inputs[0].dtype, DType::F32);
    QVERIFY(!g.outputs.empty());
    QVERIFY(!g.nodes.empty());

    // Sorted, single assignment, named after Darknet layers ("conv_12", "maxpool_3_...").
    std::set<std::string> available = { "data" };
    for (const auto& [w, t] : g.weights) {
        available.insert(w);
        QVERIFY2(t.valid(), w.c_str());
    }
    std::set<std::string> names;
    for (const auto& n : g.nodes) {
        QVERIFY2(names.insert(n.name).second, n.name.c_str());
        const auto digit = n.name.find_first_of("0123456789");
        QVERIFY2(digit != std::string::npos && digit > 0 && n.name[digit - 1] == '_', n.name.c_str());
        for (const auto& in : n.inputs)
            QVERIFY2(in.empty() || available.count(in), (n.name + " reads " + in + " before it exists").c_str());
        for (const auto& out : n.outputs)
            QVERIFY2(available.insert(out).second, (out + " is assigned twice").c_str());
    }
    for (const auto& out : g.outputs)
        QVERIFY2(available.count(out.name), out.name.c_str());

    // Shapes: the executor's inference must agree with the shapes the importer declares.
    auto ex = Executor::create(g, {});
    QVERIFY2(ex.ok(), ex.ok() ? "" : ex.error().message.c_str());
    for (const auto& out : g.outputs) {
        const int id = (*ex)->valueId(out.name);
        QVERIFY(id >= 0);
        QCOMPARE(shapeToString((*ex)->values()[static_cast<size_t>(id)].shape), shapeToString(declaredShape(out)));
    }
    if (!kRunnable.count(name)) return;
    auto y = (*ex)->run({ patternInput(declaredShape(g.inputs[0])) });
    QVERIFY2(y.ok(), y.ok() ? "" : y.error().message.c_str());
    for (const Tensor& t : *y)
        for (float v : t.values<float>())
            QVERIFY2(std::isfinite(v), "non-finite output");
}

void TestDarknet::yolov4Parameters()
{
    const std::string path = str(kSharedCfgs) + "/yolov4.cfg";
    if (!QFileInfo::exists(QString::fromStdString(path))) QSKIP("yolov4.cfg not found");
    auto r = importDarknet(path);
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    // 64,429,405 float32 values: the 257,717,640-byte yolov4.weights less its 20-byte header, 245.78 MiB.
    QCOMPARE(parameterBytes(*r), size_t(257717620));
    // Everything else is the two Resize scale vectors.
    QCOMPARE(r->weightBytes(), size_t(257717620 + 32));
    QCOMPARE(std::round(static_cast<double>(r->weightBytes()) / (1024 * 1024) * 10) / 10, 245.8);

    // yolov3's: the 248,007,048-byte yolov3.weights less its header.
    auto v3 = importDarknet(str(kSharedCfgs) + "/yolov3.cfg");
    QVERIFY(v3.ok());
    QCOMPARE(parameterBytes(*v3), size_t(248007028));
}

void TestDarknet::detectorOutputs()
{
    auto r = importDarknet(str(kSharedCfgs) + "/yolov4.cfg");
    if (!r.ok()) QSKIP("yolov4.cfg not importable here");
    // The yolo layers' inputs, largest stride first as in the cfg: layers 138, 149, 160.
    QCOMPARE(r->outputs.size(), size_t(3));
    QCOMPARE(r->outputs[0].name, std::string("conv_138"));
    QCOMPARE(shapeToString(declaredShape(r->outputs[0])), std::string("1x255x76x76"));
    QCOMPARE(r->outputs[1].name, std::string("conv_149"));
    QCOMPARE(shapeToString(declaredShape(r->outputs[1])), std::string("1x255x38x38"));
    QCOMPARE(r->outputs[2].name, std::string("conv_160"));
    QCOMPARE(shapeToString(declaredShape(r->outputs[2])), std::string("1x255x19x19"));
    QCOMPARE(shapeToString(declaredShape(r->inputs[0])), std::string("1x3x608x608"));

    // A classifier's output is its last layer's (the softmax, the cost layer passing it on).
    auto alex = importDarknet(str(kSharedCfgs) + "/alexnet.cfg");
    QVERIFY(alex.ok());
    QCOMPARE(alex->outputs.size(), size_t(1));
    QCOMPARE(alex->outputs[0].name, std::string("softmax_13"));
    QCOMPARE(shapeToString(declaredShape(alex->outputs[0])), std::string("1x1000"));
}

void TestDarknet::maxpoolPadsLikeDarknet()
{
    auto r = importDarknet(str(kSharedCfgs) + "/yolov3-tiny.cfg");
    if (!r.ok()) QSKIP("yolov3-tiny.cfg not importable here");
    // Layer 11: size=2 stride=1 on 13x13 keeps 13x13: no padding before, one cell after.
    const Node* pool = nullptr;
    for (const auto& n : r->nodes)
        if (n.name == "maxpool_11") pool = &n;
    QVERIFY(pool);
    QCOMPARE(pool->opType, std::string("MaxPool"));
    QCOMPARE(pool->attrInts("pads"), (std::vector<int64_t> { 0, 0, 1, 1 }));
    QCOMPARE(pool->attrInts("strides"), (std::vector<int64_t> { 1, 1 }));
}

void TestDarknet::syntaxErrorsNameTheLine_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected");
    const QString head = QStringLiteral("[net]\nwidth=32\nheight=32\nchannels=3\n\n");
    QTest::newRow("no equals") << head + QStringLiteral("[convolutional]\nfilters 16\n")
                               << QStringLiteral("bad.cfg:7: expected key=value");
    QTest::newRow("unknown type") << head + QStringLiteral("[convolutional]\nfilters=4\n\n[frobnicate]\nx=1\n")
                                  << QStringLiteral("bad.cfg:9: unknown layer type [frobnicate]");
    QTest::newRow("not a number") << head + QStringLiteral("[convolutional]\nsize=3\nfilters=abc\n")
                                  << QStringLiteral("bad.cfg:8: [convolutional] 'filters' expects an integer");
    QTest::newRow("beyond 32 bits") << head + QStringLiteral("[convolutional]\nsize=3\nfilters=4294967296\n")
                                    << QStringLiteral(
                                           "bad.cfg:8: [convolutional] 'filters' expects an integer within 32 bits");
    QTest::newRow("window past any image") << head + QStringLiteral("[convolutional]\nfilters=4\nsize=2000000000\n")
                                           << QStringLiteral("size, dilation and padding must be at most 65536");
    QTest::newRow("an output past any memory")
        << head + QStringLiteral("[convolutional]\nfilters=4\n\n[upsample]\nstride=65536\n")
        << QStringLiteral("bad.cfg:9: [upsample] its output of shape 1x4x2097152x2097152 is past 68719476736 values");
    QTest::newRow("unknown activation") << head + QStringLiteral("[convolutional]\nfilters=4\nactivation=sparkle\n")
                                        << QStringLiteral("bad.cfg:8: [convolutional] unknown activation 'sparkle'");
    QTest::newRow("route out of range") << head + QStringLiteral("[convolutional]\nfilters=4\n[route]\nlayers=-5\n")
                                        << QStringLiteral("bad.cfg:9: [route] layer -5 does not name an earlier layer");
    QTest::newRow("unclosed header") << head + QStringLiteral("[convolutional\n")
                                     << QStringLiteral("bad.cfg:6: section header");
    QTest::newRow("no net") << QStringLiteral("# comment\n[convolutional]\nfilters=4\n")
                            << QStringLiteral("bad.cfg:2: the first section must be [net]");
    QTest::newRow("option first") << QStringLiteral("width=3\n[net]\n")
                                  << QStringLiteral("bad.cfg:1: option 'width' comes before any [section]");
}

// ImportOptions::maxWeightBytes: a network declaring more is refused naming the layer that passes the limit (and
// nothing is allocated); within it, the same network imports.
void TestDarknet::aWeightLimitRefusesLargerNetworks()
{
    QTemporaryDir dir;
    const std::string path = (dir.path() + "/limit.cfg").toStdString();
    {
        std::ofstream f(path);
        f << "[net]\nwidth=32\nheight=32\nchannels=3\n\n[convolutional]\nfilters=16\nsize=3\n\n"
             "[convolutional]\nfilters=64\nsize=3\n";
    }
    ImportOptions o;
    o.maxWeightBytes = 4096; // the first layer's 16 x 3 x 3 x 3 floats fit, the second's 64 x 16 x 3 x 3 do not
    auto refused = importDarknet(path, o);
    QVERIFY(!refused.ok());
    QVERIFY2(refused.error().message.find("limit.cfg:10") != std::string::npos
            && refused.error().message.find("past 4096 bytes") != std::string::npos,
        refused.error().message.c_str());
    o.maxWeightBytes = 64 << 10;
    QVERIFY(importDarknet(path, o).ok());
}

void TestDarknet::syntaxErrorsNameTheLine()
{
    QFETCH(QString, text);
    QFETCH(QString, expected);
    const std::string path = tmp("bad.cfg");
    writeText(path, str(text));
    auto r = importDarknet(path);
    QVERIFY(!r.ok());
    QVERIFY2(contains(r.error().message, str(expected)), r.error().message.c_str());
}

namespace {

// Every kind of parameter block: conv with and without batch norm (and groups), connected with batch norm,
// locally connected, and a batchnorm layer.
const char* kTinyCfg = R"([net]
batch=64
width=6
height=6
channels=3

[convolutional]
batch_normalize=1
filters=4
size=3
stride=1
pad=1
activation=leaky

[convolutional]
filters=2
groups=2
size=1
activation=linear

[maxpool]
size=2
stride=2

[connected]
output=5
batch_normalize=1
activation=relu

[local]
filters=2
size=1
stride=1
activation=linear

[batchnorm]
)";

// Parameter blocks of kTinyCfg in file order: name and element count.
const std::vector<std::pair<std::string, size_t>> kTinyBlocks = {
    { "conv_0.bias", 4 },
    { "conv_0.bn_scale", 4 },
    { "conv_0.bn_mean", 4 },
    { "conv_0.bn_var", 4 },
    { "conv_0.weight", 4 * 3 * 3 * 3 },
    { "conv_1.bias", 2 },
    { "conv_1.weight", 2 * 2 },
    { "connected_3.bias", 5 },
    { "connected_3.weight", 5 * 2 * 3 * 3 },
    { "connected_3.bn_scale", 5 },
    { "connected_3.bn_mean", 5 },
    { "connected_3.bn_var", 5 },
    { "local_4.bias", 2 },
    { "local_4.weight", 2 * 5 },
    { "batchnorm_5.scale", 2 },
    { "batchnorm_5.mean", 2 },
    { "batchnorm_5.var", 2 },
};

size_t tinyCount()
{
    size_t n = 0;
    for (const auto& [name, count] : kTinyBlocks)
        n += count;
    return n;
}

std::vector<float> tinyValues()
{
    std::vector<float> v(tinyCount());
    for (size_t i = 0; i < v.size(); ++i)
        v[i] = 0.25f + static_cast<float>(i) * 0.001f;
    return v;
}

} // namespace

void TestDarknet::weightsFileLoadsExactly()
{
    const std::string cfg = tmp("tiny.cfg");
    const std::string weights = tmp("tiny.weights");
    writeText(cfg, kTinyCfg);
    const std::vector<float> values = tinyValues();
    writeWeights(weights, values);
    ImportOptions opt;
    opt.darknetWeights = weights;
    auto r = importDarknet(cfg, opt);
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    size_t offset = 0;
    for (const auto& [name, count] : kTinyBlocks) {
        QVERIFY2(r->isWeight(name), name.c_str());
        const Tensor& t = r->weights.at(name);
        QCOMPARE(static_cast<size_t>(t.numel()), count);
        QCOMPARE(t.dtype(), DType::F32);
        QVERIFY2(std::memcmp(t.data(), values.data() + offset, count * 4) == 0, name.c_str());
        offset += count;
    }
    QCOMPARE(parameterBytes(*r) - 2 * 4, values.size() * 4); // less the batchnorm layer's zero bias
    QCOMPARE(shapeToString(r->weights.at("conv_0.weight").shape()), std::string("4x3x3x3"));
    QCOMPARE(shapeToString(r->weights.at("conv_1.weight").shape()), std::string("2x2x1x1"));
    QCOMPARE(shapeToString(r->weights.at("connected_3.weight").shape()), std::string("5x18"));
    QCOMPARE(shapeToString(r->outputs.empty() ? Shape {} : declaredShape(r->outputs[0])), std::string("1x2x1x1"));

    auto ex = Executor::create(*r, {});
    QVERIFY2(ex.ok(), ex.ok() ? "" : ex.error().message.c_str());
    auto y = (*ex)->run({ patternInput({ 1, 3, 6, 6 }) });
    QVERIFY2(y.ok(), y.ok() ? "" : y.error().message.c_str());
}

void TestDarknet::weightsFileOfWrongSize()
{
    const std::string cfg = tmp("tiny.cfg");
    const std::string weights = tmp("short.weights");
    writeText(cfg, kTinyCfg);
    std::vector<float> values = tinyValues();
    const size_t expected = 20 + 4 * values.size();
    for (int delta : { -1, +1 }) {
        std::vector<float> v = values;
        if (delta < 0)
            v.pop_back();
        else
            v.push_back(1.0f);
        writeWeights(weights, v);
        ImportOptions opt;
        opt.darknetWeights = weights;
        auto r = importDarknet(cfg, opt);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, ErrorCode::Corrupt);
        const std::string& msg = r.error().message;
        QVERIFY2(contains(msg, std::to_string(expected) + " bytes"), msg.c_str());
        QVERIFY2(contains(msg, "is " + std::to_string(expected + 4 * delta) + " bytes"), msg.c_str());
        QVERIFY2(contains(msg, "tiny.cfg"), msg.c_str());
    }
    ImportOptions missing;
    missing.darknetWeights = tmp("nonexistent.weights");
    auto r = importDarknet(cfg, missing);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, ErrorCode::Io);
}

void TestDarknet::oldAndTransposedWeightFiles()
{
    const std::string cfg = tmp("tiny.cfg");
    writeText(cfg, kTinyCfg);
    const std::vector<float> values = tinyValues();

    // Version 0.1 stores `seen` in 4 bytes.
    const std::string old = tmp("old.weights");
    writeWeights(old, values, 0, 1);
    ImportOptions opt;
    opt.darknetWeights = old;
    auto r = importDarknet(cfg, opt);
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    QCOMPARE(r->weights.at("conv_0.weight").ptr<float>()[0], values[16]);

    // A major version above 1000 marks connected weights stored inputs x outputs.
    const std::string flipped = tmp("flipped.weights");
    writeWeights(flipped, values, 1001, 0);
    opt.darknetWeights = flipped;
    auto t = importDarknet(cfg, opt);
    QVERIFY2(t.ok(), t.ok() ? "" : t.error().message.c_str());
    size_t offset = 0;
    for (const auto& [name, count] : kTinyBlocks) {
        if (name == "connected_3.weight") break;
        offset += count;
    }
    const float* w = t->weights.at("connected_3.weight").ptr<float>();
    for (int o = 0; o < 5; ++o)
        for (int i = 0; i < 18; ++i)
            QCOMPARE(w[o * 18 + i], values[offset + static_cast<size_t>(i * 5 + o)]);
}

void TestDarknet::seededWeightsAreDeterministic()
{
    const std::string cfg = tmp("tiny.cfg");
    writeText(cfg, kTinyCfg);
    auto a = importDarknet(cfg);
    auto b = importDarknet(cfg);
    ImportOptions other;
    other.seed = 42;
    auto c = importDarknet(cfg, other);
    QVERIFY(a.ok() && b.ok() && c.ok());
    for (const auto& [name, count] : kTinyBlocks) {
        const Tensor& ta = a->weights.at(name);
        QVERIFY2(std::memcmp(ta.data(), b->weights.at(name).data(), ta.bytes()) == 0, name.c_str());
        QVERIFY2(std::memcmp(ta.data(), c->weights.at(name).data(), ta.bytes()) != 0, name.c_str());
    }
    // Pinned values: the generator is our own splitmix64, so they are the same on every machine.
    const float* w = a->weights.at("conv_0.weight").ptr<float>();
    uint32_t bits[3];
    std::memcpy(bits, w, sizeof(bits));
    QCOMPARE(
        QString::asprintf("%08x %08x %08x", bits[0], bits[1], bits[2]), QStringLiteral("bee500a8 3d208878 3ecb9649"));
    // He-uniform: |w| <= sqrt(6 / fanIn), BN statistics near identity.
    const double bound = std::sqrt(6.0 / 27.0);
    for (float v : a->weights.at("conv_0.weight").values<float>())
        QVERIFY(std::fabs(v) <= bound);
    for (float v : a->weights.at("conv_0.bn_var").values<float>())
        QVERIFY(v >= 0.9f && v <= 1.1f);
}

void TestDarknet::progressCanCancel()
{
    const std::string cfg = tmp("tiny.cfg");
    writeText(cfg, kTinyCfg);
    ImportOptions opt;
    int calls = 0;
    opt.progress = [&](double f) {
        ++calls;
        return f < 0.5;
    };
    auto r = importDarknet(cfg, opt);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, ErrorCode::Cancelled);
    QVERIFY(calls >= 2);
}

QTEST_APPLESS_MAIN(TestDarknet)
#include "test_darknet.moc"
