// The Darknet importer's layers against loops written from Darknet's own semantics: data movement (maxpool,
// route groups, reorg, strided shortcut, upsample), recurrent layers (rnn, gru, crnn) and tree softmax.

#include "darknettestutil.h"

#include <QTemporaryDir>
#include <QTest>

using namespace dl;
using namespace dltest;

class TestDarknetLayers : public QObject
{
    Q_OBJECT

private slots:
    void dataMovementMatchesDarknet();
    void recurrentMatchesDarknet();
    void treeSoftmaxAndReorgExtra();
    void crnnMatchesDarknet();

private:
    QTemporaryDir m_tmp;
    std::string tmp(const char* name) const { return str(m_tmp.filePath(QString::fromUtf8(name))); }
};

void TestDarknetLayers::dataMovementMatchesDarknet()
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

void TestDarknetLayers::recurrentMatchesDarknet()
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

void TestDarknetLayers::treeSoftmaxAndReorgExtra()
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

void TestDarknetLayers::crnnMatchesDarknet()
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

QTEST_APPLESS_MAIN(TestDarknetLayers)
#include "test_darknet_layers.moc"
