// The Darknet importer: every .cfg of the project and of Debian's darknet package either imports into a sound
// graph or fails with a clear message; parameter counts match Darknet's .weights files; .weights files load
// float for float; and small networks compute what Darknet's own loops compute.

#include "model/importer.h"
#include "runtime/executor.h"

#include <QDir>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

using namespace dl;

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

std::string str(const QString& s)
{
    return s.toStdString();
}

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

void writeText(const std::string& path, const std::string& text)
{
    std::ofstream(path, std::ios::binary) << text;
}

// A Darknet .weights file: header, then the floats.
void writeWeights(const std::string& path, const std::vector<float>& values, int32_t major = 0, int32_t minor = 2)
{
    std::ofstream out(path, std::ios::binary);
    const int32_t version[3] = { major, minor, 0 };
    out.write(reinterpret_cast<const char*>(version), sizeof(version));
    if ((major * 10 + minor) >= 2 && major < 1000 && minor < 1000) {
        const uint64_t seen = 32013312;
        out.write(reinterpret_cast<const char*>(&seen), 8);
    } else {
        const int32_t seen = 32013312;
        out.write(reinterpret_cast<const char*>(&seen), 4);
    }
    out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
}

// Bytes of the parameters a .weights file holds: the inputs of Conv, Gemm, BatchNormalization and of the
// locally connected layers (MatMul and its bias), as opposed to the small shape and scale constants of
// Resize, Slice, Reshape...
size_t parameterBytes(const Graph& g)
{
    std::set<std::string> params;
    for (const auto& n : g.nodes) {
        const bool local = n.name.rfind("local_", 0) == 0 && (n.opType == "MatMul" || n.opType == "Add");
        if (n.opType == "Conv" || n.opType == "Gemm" || n.opType == "BatchNormalization" || local)
            for (const auto& in : n.inputs)
                if (g.isWeight(in)) params.insert(in);
    }
    size_t bytes = 0;
    for (const auto& p : params)
        bytes += g.weights.at(p).bytes();
    return bytes;
}

Tensor patternInput(const Shape& shape)
{
    Tensor t(DType::F32, shape);
    float* p = t.ptr<float>();
    for (int64_t i = 0; i < t.numel(); ++i)
        p[i] = 0.5f + 0.5f * std::sin(static_cast<float>(i) * 0.0137f);
    return t;
}

Shape declaredShape(const ValueInfo& v)
{
    Shape s;
    for (const auto& d : v.dims)
        s.push_back(d.value);
    return s;
}

// A feature map in Darknet's layout, for the reference loops below.
struct Map
{
    int c = 0, h = 0, w = 0;
    std::vector<float> v;
    Map() = default;
    Map(int c_, int h_, int w_)
        : c(c_)
        , h(h_)
        , w(w_)
        , v(static_cast<size_t>(c_ * h_ * w_), 0.0f)
    { }
    float& at(int k, int y, int x) { return v[static_cast<size_t>((k * h + y) * w + x)]; }
    float at(int k, int y, int x) const { return v[static_cast<size_t>((k * h + y) * w + x)]; }
};

// forward_maxpool_layer: windows start at -padding/2; cells outside the input are skipped.
Map dnMaxpool(const Map& in, int size, int stride, int padding)
{
    Map out(in.c, (in.h + padding - size) / stride + 1, (in.w + padding - size) / stride + 1);
    const int off = -padding / 2;
    for (int k = 0; k < out.c; ++k)
        for (int i = 0; i < out.h; ++i)
            for (int j = 0; j < out.w; ++j) {
                float m = -INFINITY;
                for (int n = 0; n < size; ++n)
                    for (int o = 0; o < size; ++o) {
                        const int y = off + i * stride + n, x = off + j * stride + o;
                        if (y >= 0 && y < in.h && x >= 0 && x < in.w) m = std::max(m, in.at(k, y, x));
                    }
                out.at(k, i, j) = m;
            }
    return out;
}

// reorg_cpu(..., forward = 0): out[in_index] = x[out_index], dimensions being the layer's input's.
Map dnReorg(const Map& in, int s)
{
    Map out(in.c * s * s, in.h / s, in.w / s);
    const int outC = in.c / (s * s);
    for (int k = 0; k < in.c; ++k)
        for (int j = 0; j < in.h; ++j)
            for (int i = 0; i < in.w; ++i) {
                const int inIndex = i + in.w * (j + in.h * k);
                const int c2 = k % outC, offset = k / outC;
                const int w2 = i * s + offset % s, h2 = j * s + offset / s;
                const int outIndex = w2 + in.w * s * (h2 + in.h * s * c2);
                out.v[static_cast<size_t>(inIndex)] = in.v[static_cast<size_t>(outIndex)];
            }
    return out;
}

// shortcut_cpu: the overlap of `add` (sampled every stride-th cell when larger) is added to `prev`.
Map dnShortcut(const Map& prev, const Map& add)
{
    Map out = prev;
    const int stride = std::max(1, add.w / prev.w);
    for (int k = 0; k < std::min(add.c, prev.c); ++k)
        for (int j = 0; j < std::min(add.h, prev.h); ++j)
            for (int i = 0; i < std::min(add.w, prev.w); ++i)
                out.at(k, j, i) += add.at(k, j * stride, i * stride);
    return out;
}

Map dnUpsample(const Map& in, int s)
{
    Map out(in.c, in.h * s, in.w * s);
    for (int k = 0; k < out.c; ++k)
        for (int y = 0; y < out.h; ++y)
            for (int x = 0; x < out.w; ++x)
                out.at(k, y, x) = in.at(k, y / s, x / s);
    return out;
}

Map channels(const Map& in, int from, int to)
{
    Map out(to - from, in.h, in.w);
    std::copy(in.v.begin() + from * in.h * in.w, in.v.begin() + to * in.h * in.w, out.v.begin());
    return out;
}

Map concat(const Map& a, const Map& b)
{
    Map out(a.c + b.c, a.h, a.w);
    std::copy(a.v.begin(), a.v.end(), out.v.begin());
    std::copy(b.v.begin(), b.v.end(), out.v.begin() + static_cast<std::ptrdiff_t>(a.v.size()));
    return out;
}

// One Darknet connected layer's parameters, in .weights order, and forward_connected_layer at inference.
struct Dense
{
    int in = 0, out = 0;
    bool bn = false;
    std::vector<float> bias, weight, scale, mean, var;

    // Small, distinct, hand-chosen-by-formula values; `k` makes each layer's differ.
    Dense(int in_, int out_, bool bn_, int k)
        : in(in_)
        , out(out_)
        , bn(bn_)
    {
        for (int o = 0; o < out; ++o) {
            bias.push_back(0.05f * static_cast<float>((o + k) % 5) - 0.1f);
            scale.push_back(0.9f + 0.1f * static_cast<float>((o + k) % 3));
            mean.push_back(0.02f * static_cast<float>((o * 3 + k) % 7) - 0.06f);
            var.push_back(0.6f + 0.2f * static_cast<float>((o + 2 * k) % 4));
            for (int i = 0; i < in; ++i)
                weight.push_back(0.1f * static_cast<float>((o * 7 + i * 3 + k * 5) % 11) - 0.5f);
        }
    }
    void append(std::vector<float>& file) const
    {
        file.insert(file.end(), bias.begin(), bias.end());
        file.insert(file.end(), weight.begin(), weight.end());
        if (!bn) return;
        file.insert(file.end(), scale.begin(), scale.end());
        file.insert(file.end(), mean.begin(), mean.end());
        file.insert(file.end(), var.begin(), var.end());
    }
    // Darknet's normalize_cpu divides by sqrt(var) + .000001.
    std::vector<float> operator()(const std::vector<float>& x, float (*act)(float)) const
    {
        std::vector<float> y(static_cast<size_t>(out));
        for (int o = 0; o < out; ++o) {
            double s = 0;
            for (int i = 0; i < in; ++i)
                s += double(weight[static_cast<size_t>(o * in + i)]) * x[static_cast<size_t>(i)];
            const auto u = static_cast<size_t>(o);
            if (bn) s = (s - mean[u]) / (std::sqrt(double(var[u])) + .000001) * scale[u];
            y[u] = act(static_cast<float>(s + bias[u]));
        }
        return y;
    }
};

float linearAct(float x)
{
    return x;
}
float leakyAct(float x)
{
    return x > 0 ? x : 0.1f * x;
}
float logisticAct(float x)
{
    return 1.0f / (1.0f + std::exp(-x));
}

// forward_gru_layer for one step from a zero state (wr and ur only touch the state, and are unused then).
std::vector<float> dnGru(
    const std::vector<float>& x, const Dense& wz, const Dense& wh, const Dense& uz, const Dense& uh, bool tanhH)
{
    const std::vector<float> zero(static_cast<size_t>(wz.in), 0.0f);
    const auto a = uz(x, linearAct), b = wz(zero, linearAct), c = uh(x, linearAct), d = wh(zero, linearAct);
    std::vector<float> out(a.size());
    for (size_t k = 0; k < a.size(); ++k) {
        const float z = logisticAct(a[k] + b[k]);
        const float h = tanhH ? std::tanh(c[k] + d[k]) : logisticAct(c[k] + d[k]);
        out[k] = z * 0.0f + (1 - z) * h;
    }
    return out;
}

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
    void weightsFileLoadsExactly();
    void weightsFileOfWrongSize();
    void oldAndTransposedWeightFiles();
    void seededWeightsAreDeterministic();
    void dataMovementMatchesDarknet();
    void recurrentMatchesDarknet();
    void treeSoftmaxAndReorgExtra();
    void crnnMatchesDarknet();
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

void TestDarknet::dataMovementMatchesDarknet()
{
    // Weight-free layers, checked exactly against Darknet's own loops (rewritten above from its semantics).
    const char* text = R"([net]
width=6
height=6
channels=8

[maxpool]
size=2
stride=1

[maxpool]
size=3
stride=2

[route]
layers=0
groups=2
group_id=1

[reorg]
stride=2

[shortcut]
from=0
activation=linear

[upsample]
stride=2

[route]
layers=-1,0

[avgpool]

[softmax]
groups=4
)";
    const std::string cfg = tmp("moves.cfg");
    writeText(cfg, text);
    auto r = importDarknet(cfg);
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    Graph g = std::move(r.value());
    const std::vector<std::string> layers
        = { "maxpool_0", "maxpool_1", "route_2", "reorg_3", "shortcut_4", "upsample_5", "route_6", "avgpool_7" };
    for (const auto& name : layers) {
        ValueInfo vi;
        vi.name = name;
        vi.dtype = DType::F32;
        g.outputs.push_back(vi);
    }
    auto ex = Executor::create(g, {});
    QVERIFY2(ex.ok(), ex.ok() ? "" : ex.error().message.c_str());
    Tensor x(DType::F32, { 1, 8, 6, 6 });
    Map in(8, 6, 6);
    for (size_t i = 0; i < in.v.size(); ++i)
        in.v[i] = x.ptr<float>()[i] = static_cast<float>((i * 7919) % 101) * 0.01f - 0.5f;
    auto y = (*ex)->run({ x });
    QVERIFY2(y.ok(), y.ok() ? "" : y.error().message.c_str());

    std::vector<Map> ref;
    ref.push_back(dnMaxpool(in, 2, 1, 1));
    ref.push_back(dnMaxpool(ref[0], 3, 2, 2));
    ref.push_back(channels(ref[0], 4, 8));
    ref.push_back(dnReorg(ref[2], 2));
    ref.push_back(dnShortcut(ref[3], ref[0]));
    ref.push_back(dnUpsample(ref[4], 2));
    ref.push_back(concat(ref[5], ref[0]));
    Map avg(ref[6].c, 1, 1);
    for (int k = 0; k < avg.c; ++k) {
        double s = 0;
        for (int i = 0; i < 36; ++i)
            s += ref[6].v[static_cast<size_t>(k * 36 + i)];
        avg.v[static_cast<size_t>(k)] = static_cast<float>(s / 36);
    }
    ref.push_back(avg);
    for (size_t k = 0; k < layers.size(); ++k) {
        const Tensor& t = (*y)[k + 1];
        const Map& m = ref[k];
        QCOMPARE(shapeToString(t.shape()), shapeToString({ 1, m.c, m.h, m.w }));
        const bool exact = layers[k] != "avgpool_7";
        for (size_t i = 0; i < m.v.size(); ++i) {
            const float got = t.ptr<float>()[i];
            if (exact ? got != m.v[i] : std::fabs(got - m.v[i]) > 1e-6f)
                QFAIL(qPrintable(QStringLiteral("%1[%2]: %3, Darknet gives %4")
                                     .arg(QString::fromStdString(layers[k]))
                                     .arg(i)
                                     .arg(got)
                                     .arg(m.v[i])));
        }
    }
    // Softmax in 4 groups of 6.
    const Tensor& sm = (*y)[0];
    QCOMPARE(shapeToString(sm.shape()), std::string("1x24"));
    for (int grp = 0; grp < 4; ++grp) {
        double mx = -INFINITY, sum = 0;
        for (int i = 0; i < 6; ++i)
            mx = std::max<double>(mx, avg.v[static_cast<size_t>(grp * 6 + i)]);
        for (int i = 0; i < 6; ++i)
            sum += std::exp(avg.v[static_cast<size_t>(grp * 6 + i)] - mx);
        for (int i = 0; i < 6; ++i) {
            const double want = std::exp(avg.v[static_cast<size_t>(grp * 6 + i)] - mx) / sum;
            QVERIFY(std::fabs(sm.ptr<float>()[grp * 6 + i] - want) < 1e-6);
        }
    }
}

void TestDarknet::recurrentMatchesDarknet()
{
    // One time step from a zero state, as network_predict runs a freshly loaded network: [rnn] is three
    // connected layers, state = input_layer(x) + self_layer(0), output = output_layer(state); [gru] gates
    // with uz/wz, ur/wr, uh/wh. The .weights file is written in Darknet's save order.
    const char* text = R"([net]
inputs=3

[rnn]
batch_normalize=1
output=4
hidden=99
activation=leaky

[gru]
output=2

[gru]
output=3
batch_normalize=1
tanh=1
)";
    const std::string cfg = tmp("recurrent.cfg");
    const std::string weights = tmp("recurrent.weights");
    writeText(cfg, text);
    const Dense rIn(3, 4, true, 1), rSelf(4, 4, true, 2), rOut(4, 4, true, 3);
    const Dense g1wz(2, 2, false, 4), g1wr(2, 2, false, 5), g1wh(2, 2, false, 6), g1uz(4, 2, false, 7),
        g1ur(4, 2, false, 8), g1uh(4, 2, false, 9);
    const Dense g2wz(3, 3, true, 10), g2wr(3, 3, true, 11), g2wh(3, 3, true, 12), g2uz(2, 3, true, 13),
        g2ur(2, 3, true, 14), g2uh(2, 3, true, 15);
    std::vector<float> file;
    for (const Dense* d :
        { &rIn, &rSelf, &rOut, &g1wz, &g1wr, &g1wh, &g1uz, &g1ur, &g1uh, &g2wz, &g2wr, &g2wh, &g2uz, &g2ur, &g2uh })
        d->append(file);
    writeWeights(weights, file);

    ImportOptions opt;
    opt.darknetWeights = weights;
    auto r = importDarknet(cfg, opt);
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    Graph g = std::move(r.value());
    for (const char* name : { "rnn_0_output_leaky", "gru_1" }) {
        ValueInfo vi;
        vi.name = name;
        vi.dtype = DType::F32;
        g.outputs.push_back(vi);
    }
    auto ex = Executor::create(g, {});
    QVERIFY2(ex.ok(), ex.ok() ? "" : ex.error().message.c_str());
    const std::vector<float> x = { 0.3f, -0.7f, 1.1f };
    Tensor xt(DType::F32, { 1, 3 });
    std::copy(x.begin(), x.end(), xt.ptr<float>());
    auto y = (*ex)->run({ xt });
    QVERIFY2(y.ok(), y.ok() ? "" : y.error().message.c_str());

    const std::vector<float> zero4(4, 0.0f);
    const auto a = rIn(x, leakyAct), b = rSelf(zero4, leakyAct);
    std::vector<float> state(4);
    for (size_t k = 0; k < 4; ++k)
        state[k] = a[k] + b[k];
    const std::vector<float> l0 = rOut(state, leakyAct);
    const std::vector<float> l1 = dnGru(l0, g1wz, g1wh, g1uz, g1uh, false);
    const std::vector<float> l2 = dnGru(l1, g2wz, g2wh, g2uz, g2uh, true);
    const std::vector<float>* want[] = { &l2, &l0, &l1 };
    for (size_t k = 0; k < 3; ++k) {
        const Tensor& t = (*y)[k];
        QCOMPARE(static_cast<size_t>(t.numel()), want[k]->size());
        for (size_t i = 0; i < want[k]->size(); ++i) {
            const float got = t.ptr<float>()[i];
            // BN epsilon: 1e-5 under the square root here, Darknet adds 1e-6 after it.
            if (std::fabs(got - (*want[k])[i]) > 1e-4f)
                QFAIL(qPrintable(
                    QStringLiteral("output %1[%2]: %3, Darknet gives %4").arg(k).arg(i).arg(got).arg((*want[k])[i])));
        }
    }
}

void TestDarknet::treeSoftmaxAndReorgExtra()
{
    // [reorg] extra=2 copies its 7 inputs and appends two zeros (never written in Darknet); the tree softmax
    // runs one softmax per run of siblings: groups of 2, 3, 2, 1 over the first 8 values; the 9th stays zero.
    // The tree path is relative: found next to the cfg.
    const char* text = R"([net]
inputs=7

[reorg]
extra=2
stride=1

[softmax]
groups=1
tree=tiny.tree
)";
    const std::string cfg = tmp("tree.cfg");
    writeText(cfg, text);
    writeText(tmp("tiny.tree"), "a -1\nb -1\nc 0\nd 0\ne 0\nf 1\ng 1\nh 4\n");
    auto r = importDarknet(cfg);
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    Graph g = std::move(r.value());
    ValueInfo vi;
    vi.name = "reorg_0";
    vi.dtype = DType::F32;
    g.outputs.push_back(vi);
    auto ex = Executor::create(g, {});
    QVERIFY2(ex.ok(), ex.ok() ? "" : ex.error().message.c_str());
    const std::vector<float> x = { 0.5f, -1.0f, 2.0f, 0.25f, -0.5f, 3.0f, 1.5f };
    Tensor xt(DType::F32, { 1, 7 });
    std::copy(x.begin(), x.end(), xt.ptr<float>());
    auto y = (*ex)->run({ xt });
    QVERIFY2(y.ok(), y.ok() ? "" : y.error().message.c_str());

    std::vector<float> reorg = x;
    reorg.push_back(0.0f);
    reorg.push_back(0.0f);
    std::vector<float> want(9, 0.0f);
    const int sizes[] = { 2, 3, 2, 1 };
    int offset = 0;
    for (int size : sizes) {
        float mx = -INFINITY, sum = 0;
        for (int k = 0; k < size; ++k)
            mx = std::max(mx, reorg[static_cast<size_t>(offset + k)]);
        for (int k = 0; k < size; ++k)
            sum += std::exp(reorg[static_cast<size_t>(offset + k)] - mx);
        for (int k = 0; k < size; ++k)
            want[static_cast<size_t>(offset + k)] = std::exp(reorg[static_cast<size_t>(offset + k)] - mx) / sum;
        offset += size;
    }
    QCOMPARE(shapeToString((*y)[0].shape()), std::string("1x9"));
    QCOMPARE(shapeToString((*y)[1].shape()), std::string("1x9"));
    for (size_t k = 0; k < 9; ++k) {
        QCOMPARE((*y)[1].ptr<float>()[k], reorg[k]);
        QVERIFY2(std::fabs((*y)[0].ptr<float>()[k] - want[k]) < 1e-6f,
            qPrintable(
                QStringLiteral("softmax[%1]: %2, Darknet gives %3").arg(k).arg((*y)[0].ptr<float>()[k]).arg(want[k])));
    }

    // A missing tree file is a clear error.
    writeText(cfg, std::string(text).replace(std::string(text).find("tiny.tree"), 9, "missing.tree"));
    auto bad = importDarknet(cfg);
    QVERIFY(!bad.ok());
    QVERIFY2(contains(bad.error().message, "missing.tree"), bad.error().message.c_str());
}

void TestDarknet::crnnMatchesDarknet()
{
    // [crnn] on a 2-channel 2x3 map, one step from a zero state: three 3x3 same-size convolutions (input,
    // self, output), each with bias and activation, state = input(x) + self(0). Darknet swaps width and
    // height when it builds the layer, so the buffer is convolved as a 3x2 map and the output is 3 x 2.
    const char* text = R"([net]
width=3
height=2
channels=2

[crnn]
hidden_filters=2
output_filters=1
activation=leaky
)";
    const std::string cfg = tmp("crnn.cfg");
    const std::string weights = tmp("crnn.weights");
    writeText(cfg, text);
    struct Conv
    {
        int c, n;
        std::vector<float> bias, weight;
    };
    std::vector<Conv> convs = { { 2, 2, {}, {} }, { 2, 2, {}, {} }, { 2, 1, {}, {} } };
    std::vector<float> file;
    int seed = 0;
    for (Conv& cv : convs) {
        for (int o = 0; o < cv.n; ++o)
            cv.bias.push_back(0.1f * static_cast<float>(o + seed % 3) - 0.15f);
        for (int k = 0; k < cv.n * cv.c * 9; ++k)
            cv.weight.push_back(0.05f * static_cast<float>((k * 5 + seed * 3) % 13) - 0.3f);
        ++seed;
        file.insert(file.end(), cv.bias.begin(), cv.bias.end()); // biases, then filters
        file.insert(file.end(), cv.weight.begin(), cv.weight.end());
    }
    writeWeights(weights, file);
    ImportOptions opt;
    opt.darknetWeights = weights;
    auto r = importDarknet(cfg, opt);
    QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
    auto ex = Executor::create(*r, {});
    QVERIFY2(ex.ok(), ex.ok() ? "" : ex.error().message.c_str());
    Tensor xt(DType::F32, { 1, 2, 2, 3 });
    Map x(2, 3, 2); // Darknet's view: h = 3, w = 2
    for (size_t k = 0; k < 12; ++k)
        x.v[k] = xt.ptr<float>()[k] = 0.2f * static_cast<float>((k * 7) % 9) - 0.8f;
    auto y = (*ex)->run({ xt });
    QVERIFY2(y.ok(), y.ok() ? "" : y.error().message.c_str());

    auto conv = [](const Map& in, const Conv& cv) {
        Map out(cv.n, in.h, in.w);
        for (int o = 0; o < cv.n; ++o)
            for (int yy = 0; yy < in.h; ++yy)
                for (int xx = 0; xx < in.w; ++xx) {
                    float s = cv.bias[static_cast<size_t>(o)];
                    for (int c = 0; c < cv.c; ++c)
                        for (int ky = 0; ky < 3; ++ky)
                            for (int kx = 0; kx < 3; ++kx) {
                                const int sy = yy + ky - 1, sx = xx + kx - 1;
                                if (sy < 0 || sy >= in.h || sx < 0 || sx >= in.w) continue;
                                s += cv.weight[static_cast<size_t>(((o * cv.c + c) * 3 + ky) * 3 + kx)]
                                    * in.at(c, sy, sx);
                            }
                    out.at(o, yy, xx) = leakyAct(s);
                }
        return out;
    };
    Map state = conv(x, convs[0]);
    const Map self = conv(Map(2, 3, 2), convs[1]);
    for (size_t k = 0; k < state.v.size(); ++k)
        state.v[k] += self.v[k];
    const Map want = conv(state, convs[2]);
    QCOMPARE(shapeToString((*y)[0].shape()), std::string("1x1x3x2"));
    for (size_t k = 0; k < want.v.size(); ++k)
        QVERIFY2(std::fabs((*y)[0].ptr<float>()[k] - want.v[k]) < 1e-5f,
            qPrintable(
                QStringLiteral("crnn[%1]: %2, Darknet gives %3").arg(k).arg((*y)[0].ptr<float>()[k]).arg(want.v[k])));
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
