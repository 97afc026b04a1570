// dlayer end to end: real model files in, exit codes and messages out. Bad input must give a clear message
// and a non-zero exit, never a crash (a crash shows as QProcess::CrashExit or a signal exit code).

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

#include <algorithm>
#include <vector>

namespace {

struct Outcome
{
    int code = -1;
    bool crashed = false;
    QString out;
    QString err;
};

Outcome dlayer(const QStringList& args, const QString& packCache = {})
{
    QProcess p;
    if (!packCache.isEmpty()) {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("DL_PACK_CACHE"), packCache);
        p.setProcessEnvironment(env);
    }
    p.start(QStringLiteral(DL_DLAYER), args);
    p.waitForFinished(300000);
    Outcome o;
    o.crashed = p.exitStatus() != QProcess::NormalExit;
    o.code = p.exitCode();
    o.out = QString::fromUtf8(p.readAllStandardOutput());
    o.err = QString::fromUtf8(p.readAllStandardError());
    return o;
}

QString testdata(const char* rel)
{
    return QStringLiteral(DL_ONNX_TESTDATA "/") + QString::fromUtf8(rel);
}

QByteArray readFile(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

void writeFile(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(bytes);
}

QString darknet(const char* cfg)
{
    return QStringLiteral(DL_SOURCE_DIR "/resources/models/darknet/") + QString::fromUtf8(cfg);
}

QStringList outputDigests(const QString& json)
{
    QStringList d;
    for (const auto& o : QJsonDocument::fromJson(json.toUtf8()).object().value(QStringLiteral("outputs")).toArray())
        d << o.toObject().value(QStringLiteral("sha256")).toString();
    return d;
}

const QStringList kOnce = { QStringLiteral("--iterations"), QStringLiteral("1"), QStringLiteral("--warmup"),
    QStringLiteral("0"), QStringLiteral("--json") };

} // namespace

class TestCli : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir { QStringLiteral(DL_TEST_TMP "/cli-XXXXXX") }; // the build tree, a real disk, for O_DIRECT

private slots:
    // dlayer pack, then dlayer run on the pack: the report's streaming fields, a Chrome trace, and the outputs of
    // the in-memory run.
    void packThenRunThePack()
    {
        const QString pack = m_dir.filePath(QStringLiteral("tiny.dlpack"));
        Outcome o = dlayer({ QStringLiteral("pack"), darknet("yolov3-tiny.cfg"), QStringLiteral("-o"), pack,
            QStringLiteral("--json") });
        QVERIFY2(!o.crashed && o.code == 0, qPrintable(o.err));
        QVERIFY(QJsonDocument::fromJson(o.out.toUtf8()).object().value(QStringLiteral("layers")).toInt() > 10);
        Outcome plain = dlayer(QStringList { QStringLiteral("run"), darknet("yolov3-tiny.cfg") } + kOnce);
        QVERIFY2(plain.code == 0, qPrintable(plain.err));
        const QString trace = m_dir.filePath(QStringLiteral("trace.json"));
        o = dlayer(QStringList { QStringLiteral("run"), pack, QStringLiteral("--arch"), QStringLiteral("two-stage"),
                       QStringLiteral("--trace"), trace }
            + kOnce);
        QVERIFY2(!o.crashed && o.code == 0, qPrintable(o.err));
        const QJsonObject j = QJsonDocument::fromJson(o.out.toUtf8()).object();
        QCOMPARE(j.value(QStringLiteral("arch")).toString(), QStringLiteral("two-stage"));
        QVERIFY(j.value(QStringLiteral("staging_bytes")).toDouble() > 0);
        QVERIFY(j.value(QStringLiteral("resident_layers")).isArray());
        QVERIFY(j.value(QStringLiteral("stall_ms")).isDouble());
        const QJsonObject mem = j.value(QStringLiteral("memory")).toObject();
        const QJsonObject tags = mem.value(QStringLiteral("by_tag")).toObject();
        for (const char* t : { "resident_weights", "staging", "activations", "workspace" })
            QVERIFY2(tags.contains(QString::fromLatin1(t)), t);
        // Weights held at once: the ring (the largest layer here) plus constants the plan pins, well below the model.
        QVERIFY(mem.value(QStringLiteral("weights_bytes")).toDouble()
            >= j.value(QStringLiteral("staging_bytes")).toDouble());
        QVERIFY(mem.value(QStringLiteral("weights_bytes")).toDouble()
            < 0.6 * mem.value(QStringLiteral("model_weight_bytes")).toDouble());
        QVERIFY(mem.value(QStringLiteral("rss_peak_bytes")).toDouble() > 0);
        const QJsonObject read = j.value(QStringLiteral("read")).toObject();
        QVERIFY(read.value(QStringLiteral("bytes")).toDouble() > 0);
        QVERIFY(read.value(QStringLiteral("mb_per_s")).toDouble() > 0);
        QVERIFY(read.value(QStringLiteral("direct_io")).isBool());
        // Two-stage over io_uring submits and reaps from the kernel stage; --read-thread gives the reads a thread.
        const bool uring = read.value(QStringLiteral("reader")).toString().startsWith(QStringLiteral("io_uring"));
        QCOMPARE(read.value(QStringLiteral("inline")).toBool(), uring);
        Outcome threaded = dlayer(QStringList { QStringLiteral("run"), pack, QStringLiteral("--arch"),
                                      QStringLiteral("two-stage"), QStringLiteral("--read-thread") }
            + kOnce);
        QVERIFY2(threaded.code == 0, qPrintable(threaded.err));
        QCOMPARE(QJsonDocument::fromJson(threaded.out.toUtf8())
                     .object()
                     .value(QStringLiteral("read"))
                     .toObject()
                     .value(QStringLiteral("inline"))
                     .toBool(true),
            false);
        QCOMPARE(outputDigests(threaded.out), outputDigests(plain.out));
        QCOMPARE(outputDigests(o.out), outputDigests(plain.out));
        const QJsonObject t = QJsonDocument::fromJson(readFile(trace)).object();
        int spans = 0;
        for (const auto& e : t.value(QStringLiteral("traceEvents")).toArray())
            spans += e.toObject().value(QStringLiteral("ph")).toString() == QStringLiteral("X");
        QVERIFY2(spans > 20, qPrintable(QString::number(spans)));
    }

    // --precision fp16: the pack stores the weights in float16 (about half the bytes, both packs side by side in the
    // cache), every architecture gives the bytes the fp16 pack preloaded gives, the report says what was read and
    // widened; a pack's or a configuration's precision is not overridden, and a bad value is refused.
    void fp16PacksHalveTheBytesRead()
    {
        const QString cache = m_dir.filePath(QStringLiteral("fp16-cache"));
        const QString cfg = darknet("yolov3-tiny.cfg");
        const QString pack16 = m_dir.filePath(QStringLiteral("tiny16.dlpack"));
        Outcome o = dlayer({ QStringLiteral("pack"), cfg, QStringLiteral("--precision"), QStringLiteral("fp16"),
            QStringLiteral("-o"), pack16, QStringLiteral("--json") });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const QJsonObject p16 = QJsonDocument::fromJson(o.out.toUtf8()).object();
        QCOMPARE(p16.value(QStringLiteral("precision")).toString(), QStringLiteral("fp16"));
        const double ratio = p16.value(QStringLiteral("weight_bytes")).toDouble()
            / p16.value(QStringLiteral("bound_weight_bytes")).toDouble();
        QVERIFY2(ratio > 0.49 && ratio < 0.51, qPrintable(QString::number(ratio)));

        QJsonObject runs[2];
        QStringList reference;
        for (const char* arch : { "preload", "sequential", "sync", "async", "two-stage" }) {
            for (int k = 0; k < 2; ++k) {
                const QString precision = k ? QStringLiteral("fp16") : QStringLiteral("fp32");
                o = dlayer(QStringList { QStringLiteral("run"), cfg, QStringLiteral("--arch"),
                               QString::fromLatin1(arch), QStringLiteral("--precision"), precision }
                        + kOnce,
                    cache);
                QVERIFY2(o.code == 0, qPrintable(o.err));
                runs[k] = QJsonDocument::fromJson(o.out.toUtf8()).object();
                QCOMPARE(
                    runs[k].value(QStringLiteral("precision")).toObject().value(QStringLiteral("weights")).toString(),
                    precision);
                if (k == 1) {
                    if (reference.isEmpty()) reference = outputDigests(o.out);
                    QCOMPARE(outputDigests(o.out), reference); // every architecture reads the same fp16 weights
                }
            }
            QVERIFY(outputDigests(QJsonDocument(runs[0]).toJson()) != reference); // fp16 weights are rounded
            if (QLatin1String(arch) == QLatin1String("preload")) continue;
            // What each inference streams (read.bytes also counts what the stages read ahead of the next run).
            auto streamed = [](const QJsonObject& j) {
                return j.value(QStringLiteral("precision")).toObject().value(QStringLiteral("stored_bytes")).toDouble();
            };
            QVERIFY2(
                streamed(runs[1]) < 0.55 * streamed(runs[0]) && streamed(runs[1]) > 0.45 * streamed(runs[0]), arch);
            if (QLatin1String(arch) == QLatin1String("sequential")) {
                auto read = [](const QJsonObject& j) {
                    return j.value(QStringLiteral("read")).toObject().value(QStringLiteral("bytes")).toDouble();
                };
                QCOMPARE(read(runs[1]), streamed(runs[1]));
                QCOMPARE(read(runs[0]), streamed(runs[0]));
            }
            const QJsonObject prec = runs[1].value(QStringLiteral("precision")).toObject();
            QVERIFY(prec.value(QStringLiteral("layers_widened")).toInt() > 5);
            QCOMPARE(prec.value(QStringLiteral("compute")).toString(), QStringLiteral("fp32"));
            QVERIFY(prec.value(QStringLiteral("bound_bytes")).toDouble()
                > 1.9 * prec.value(QStringLiteral("stored_bytes")).toDouble());
            QVERIFY(runs[1].value(QStringLiteral("copy_ms")).toDouble() > 0);
        }
        // Both packs live in the cache.
        QCOMPARE(QDir(cache).entryList({ QStringLiteral("*.dlpack") }, QDir::Files).size(), 2);

        // The pack fixes its precision; a configuration fixes its own; a bad value is named.
        o = dlayer(QStringList { QStringLiteral("run"), pack16, QStringLiteral("--precision"), QStringLiteral("fp32") }
            + kOnce);
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("stores its weights in fp16")), qPrintable(o.err));
        o = dlayer(QStringList { QStringLiteral("run"), cfg, QStringLiteral("--precision"), QStringLiteral("fp8") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("--precision takes fp32 or fp16")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("info"), cfg, QStringLiteral("--precision"), QStringLiteral("fp16") });
        QCOMPARE(o.code, 2);
    }

    // --arch on a model packs it into the cache on first use and reuses it after.
    void packCacheIsUsedAndRefreshed()
    {
        const QString cache = m_dir.filePath(QStringLiteral("cache"));
        const QStringList args = QStringList {
            QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--arch"), QStringLiteral("async")
        } + kOnce;
        Outcome first = dlayer(args, cache);
        QVERIFY2(first.code == 0, qPrintable(first.err));
        const QStringList packs = QDir(cache).entryList({ QStringLiteral("*.dlpack") });
        QCOMPARE(packs.size(), 1);
        // A damaged cached pack is made again, not trusted.
        const QString pack = QDir(cache).filePath(packs[0]);
        QByteArray bytes = readFile(pack);
        bytes[4096 + 20] = 'Z';
        writeFile(pack, bytes);
        Outcome second = dlayer(args, cache);
        QVERIFY2(second.code == 0, qPrintable(second.err));
        QVERIFY2(second.err.contains(QStringLiteral("packing again")), qPrintable(second.err));
        QCOMPARE(outputDigests(second.out), outputDigests(first.out));
    }

    void damagedPacksAreNamed()
    {
        const QString pack = m_dir.filePath(QStringLiteral("bad.dlpack"));
        Outcome o = dlayer({ QStringLiteral("pack"), darknet("yolov3-tiny.cfg"), QStringLiteral("-o"), pack });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        QByteArray bytes = readFile(pack);
        writeFile(pack, bytes.left(bytes.size() / 2));
        o = dlayer(
            QStringList { QStringLiteral("run"), pack, QStringLiteral("--arch"), QStringLiteral("sync") } + kOnce);
        QVERIFY(!o.crashed);
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("truncated")) && o.err.contains(QStringLiteral("re-pack")),
            qPrintable(o.err));
    }

    void streamingOptionErrors()
    {
        const QString cache = m_dir.filePath(QStringLiteral("cache2"));
        const QString cfg = darknet("yolov3-tiny.cfg");
        Outcome o = dlayer({ QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("warp") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("two-stage")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("run"), cfg, QStringLiteral("--staging"), QStringLiteral("1M") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("need --arch")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("async"),
            QStringLiteral("--budget"), QStringLiteral("12 apples") });
        QCOMPARE(o.code, 2);
        o = dlayer(QStringList { QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("async"),
                       QStringLiteral("--budget"), QStringLiteral("1K") }
                + kOnce,
            cache);
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("below the minimum of")), qPrintable(o.err));
        o = dlayer(QStringList { QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("two-stage"),
                       QStringLiteral("--resident"), QStringLiteral("0,9999") }
                + kOnce,
            cache);
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("does not exist")), qPrintable(o.err));
        o = dlayer(QStringList { QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("two-stage"),
                       QStringLiteral("--staging"), QStringLiteral("4K") }
                + kOnce,
            cache);
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("cannot hold the largest streamed layer")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("pack"), cfg });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("-o")), qPrintable(o.err));
        // Options that set how a pack is read do nothing without one: refused, each named, rather than ignored.
        o = dlayer({ QStringLiteral("run"), cfg, QStringLiteral("--queue-depth"), QStringLiteral("2"),
            QStringLiteral("--no-direct") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("--queue-depth, --no-direct: how a streaming run reads its pack")),
            qPrintable(o.err));
        o = dlayer({ QStringLiteral("info"), cfg, QStringLiteral("--chunk"), QStringLiteral("1M") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("--chunk")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("info"), cfg, QStringLiteral("--iterations"), QStringLiteral("3") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("dlayer info takes --weights, --shape, --split, --budget, --arch, "
                                               "--seed and --json, not --iterations")),
            qPrintable(o.err));
        o = dlayer({ QStringLiteral("pack"), cfg, QStringLiteral("-o"), m_dir.filePath(QStringLiteral("never.dlpack")),
            QStringLiteral("--threads"), QStringLiteral("1") });
        QCOMPARE(o.code, 2);
        QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("never.dlpack"))));
        o = dlayer({ QStringLiteral("run"), cfg, QStringLiteral("--pack-dir"), cache });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("--pack-dir")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("async"),
            QStringLiteral("--read-thread") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("--read-thread is for --arch two-stage")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("sync"),
            QStringLiteral("--staging"), QStringLiteral("4M") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("--staging sizes the rings of async and two-stage")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("preload"),
            QStringLiteral("--resident"), QStringLiteral("1") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("preload keeps every layer resident")), qPrintable(o.err));
    }

    // A budget below the largest whole layer splits layers into sub-layers: the run keeps within the budget and
    // gives the bytes of the in-memory executor planned with the same split; a pack keeps its split.
    void budgetAndSplitCutLayers()
    {
        const QString cache = m_dir.filePath(QStringLiteral("cache-split"));
        const QString cfg = darknet("yolov3-tiny.cfg");
        Outcome o = dlayer(QStringList { QStringLiteral("run"), cfg, QStringLiteral("--arch"),
                               QStringLiteral("two-stage"), QStringLiteral("--budget"), QStringLiteral("1500K") }
                + kOnce,
            cache);
        QVERIFY2(!o.crashed && o.code == 0, qPrintable(o.err));
        QJsonObject j = QJsonDocument::fromJson(o.out.toUtf8()).object();
        const qint64 split = j.value(QStringLiteral("split_bytes")).toInteger();
        QVERIFY(split > 0 && split <= 750 * 1024);
        QVERIFY(j.value(QStringLiteral("layers_split")).toInt() > 0);
        // dlayer info --budget says which split that is, before anything runs (what the benchmarks ask), and lists the
        // layers as the run cut them.
        {
            const Outcome info
                = dlayer({ QStringLiteral("info"), cfg, QStringLiteral("--budget"), QStringLiteral("1500K"),
                    QStringLiteral("--arch"), QStringLiteral("two-stage"), QStringLiteral("--json") });
            QVERIFY2(info.code == 0, qPrintable(info.err));
            const QJsonObject ij = QJsonDocument::fromJson(info.out.toUtf8()).object();
            QCOMPARE(ij.value(QStringLiteral("split_bytes")).toInteger(), split);
            QCOMPARE(ij.value(QStringLiteral("layers")).toArray().size(), j.value(QStringLiteral("layers")).toInt());
        }
        QVERIFY(j.value(QStringLiteral("memory")).toObject().value(QStringLiteral("weights_bytes")).toInteger()
            <= 1500 * 1024);
        // The whole model's largest layer is 18 MiB: far above what this budget could stream whole. Pieces are whole
        // 64-channel blocks, so the smallest piece of its 512→1024 3×3 conv is 1.13 MiB.
        QVERIFY(j.value(QStringLiteral("largest_layer_bytes")).toInteger() < 1200 * 1024);
        Outcome mem = dlayer(
            QStringList { QStringLiteral("run"), cfg, QStringLiteral("--split"), QString::number(split) } + kOnce);
        QVERIFY2(mem.code == 0, qPrintable(mem.err));
        QCOMPARE(outputDigests(o.out), outputDigests(mem.out));

        const QString pack = m_dir.filePath(QStringLiteral("split.dlpack"));
        o = dlayer({ QStringLiteral("pack"), cfg, QStringLiteral("--split"), QString::number(split),
            QStringLiteral("-o"), pack, QStringLiteral("--json") });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        QCOMPARE(
            QJsonDocument::fromJson(o.out.toUtf8()).object().value(QStringLiteral("split_bytes")).toInteger(), split);
        o = dlayer(
            QStringList { QStringLiteral("run"), pack, QStringLiteral("--arch"), QStringLiteral("sync") } + kOnce);
        QVERIFY2(o.code == 0, qPrintable(o.err));
        QCOMPARE(outputDigests(o.out), outputDigests(mem.out));
        o = dlayer(QStringList { QStringLiteral("run"), pack, QStringLiteral("--arch"), QStringLiteral("sync"),
                       QStringLiteral("--split"), QStringLiteral("1M") }
            + kOnce);
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("was made with --split")), qPrintable(o.err));
        o = dlayer(QStringList { QStringLiteral("run"), pack, QStringLiteral("--arch"), QStringLiteral("sync"),
                       QStringLiteral("--verify"), QStringLiteral("sometimes") }
            + kOnce);
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("first, always or off")), qPrintable(o.err));
    }

    void hugePagesHoldTheStagingAndChangeNothingElse()
    {
        // yolov3-tiny's largest layer is 18.9 MB: a 40 MiB two-stage ring sits on huge pages unless --no-huge-pages
        // says not; resident weights (preload) stay on small pages either way.
        const QString cache = m_dir.filePath(QStringLiteral("cache-huge-pages"));
        const QStringList run = QStringList { QStringLiteral("run"), darknet("yolov3-tiny.cfg"),
            QStringLiteral("--arch"), QStringLiteral("two-stage"), QStringLiteral("--staging"), QStringLiteral("40M") }
            + kOnce;
        const Outcome on = dlayer(run, cache);
        QVERIFY2(!on.crashed && on.code == 0, qPrintable(on.err));
        const Outcome off = dlayer(run + QStringList { QStringLiteral("--no-huge-pages") }, cache);
        QVERIFY2(!off.crashed && off.code == 0, qPrintable(off.err));
        const Outcome preload = dlayer(QStringList { QStringLiteral("run"), darknet("yolov3-tiny.cfg"),
                                           QStringLiteral("--arch"), QStringLiteral("preload") }
                + kOnce,
            cache);
        QVERIFY2(!preload.crashed && preload.code == 0, qPrintable(preload.err));
        auto memoryOf = [](const Outcome& o) {
            return QJsonDocument::fromJson(o.out.toUtf8()).object().value(QStringLiteral("memory")).toObject();
        };
        const QJsonObject mOn = memoryOf(on), mOff = memoryOf(off), mPre = memoryOf(preload);
        QCOMPARE(mOn.value(QStringLiteral("huge_pages")).toBool(true), true);
        QCOMPARE(mOff.value(QStringLiteral("huge_pages")).toBool(true), false);
        QCOMPARE(outputDigests(on.out), outputDigests(off.out));
        QCOMPARE(outputDigests(on.out), outputDigests(preload.out));
        QCOMPARE(
            mOn.value(QStringLiteral("peak_bytes")).toInteger(), mOff.value(QStringLiteral("peak_bytes")).toInteger());
        QFile thp(QStringLiteral("/sys/kernel/mm/transparent_hugepage/enabled"));
        if (mOn.value(QStringLiteral("huge_page_bytes")).isNull() || !thp.open(QIODevice::ReadOnly))
            QSKIP("this kernel does not say what it puts on huge pages");
        const QByteArray mode = thp.readAll();
        QCOMPARE(mOff.value(QStringLiteral("huge_page_bytes")).toInteger(-1), qint64(0));
        const qint64 held = mOn.value(QStringLiteral("huge_page_bytes")).toInteger(-1);
        // The ring alone spans twenty aligned huge pages.
        if (!mode.contains("[never]"))
            QVERIFY2(held >= qint64(16) << 21, qPrintable(QString::number(held)));
        else
            QCOMPARE(held, qint64(0));
        // Where only what asks gets huge pages, the preloaded weights (layers of 4.7 and 18.9 MB) have none.
        if (mode.contains("[madvise]"))
            QCOMPARE(mPre.value(QStringLiteral("huge_page_bytes")).toInteger(-1), qint64(0));
    }

    void pairedDiskReadsTheSameBytesAfterEachRun()
    {
        const QString cache = m_dir.filePath(QStringLiteral("cache-paired-disk"));
        Outcome o = dlayer({ QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--arch"),
                               QStringLiteral("two-stage"), QStringLiteral("--budget"), QStringLiteral("1500K"),
                               QStringLiteral("--paired-disk"), QStringLiteral("--iterations"), QStringLiteral("3"),
                               QStringLiteral("--warmup"), QStringLiteral("1"), QStringLiteral("--json") },
            cache);
        QVERIFY2(!o.crashed && o.code == 0, qPrintable(o.err));
        const QJsonObject j = QJsonDocument::fromJson(o.out.toUtf8()).object();
        const QJsonObject pd = j.value(QStringLiteral("paired_disk")).toObject();
        const QJsonArray pairs = pd.value(QStringLiteral("pairs_mb_per_s")).toArray();
        QCOMPARE(pairs.size(), 3);
        std::vector<double> share;
        for (const auto& v : pairs) {
            const QJsonArray ab = v.toArray();
            QCOMPARE(ab.size(), 2);
            QVERIFY2(ab[0].toDouble() > 0 && ab[1].toDouble() > 0, qPrintable(QJsonDocument(ab).toJson()));
            share.push_back(ab[0].toDouble() / ab[1].toDouble() * 100);
        }
        std::sort(share.begin(), share.end());
        const QJsonObject pct = pd.value(QStringLiteral("read_pct_of_disk")).toObject();
        QVERIFY(qAbs(pct.value(QStringLiteral("median")).toDouble() - share[1]) < 1e-9);
        // One --chunk at a time into 64 MiB taken round robin.
        QCOMPARE(pd.value(QStringLiteral("buffer_bytes")).toInteger(), qint64(64) << 20);
        // The rates come from the device's own busy time only where the pack lies on a block device (and it was
        // busy long enough to count: this model reads little).
        const QJsonObject read = j.value(QStringLiteral("read")).toObject();
        const bool device = read.contains(QStringLiteral("device"));
        const QString rateBy = pd.value(QStringLiteral("rate_by")).toString();
        if (!device)
            QCOMPARE(rateBy, QStringLiteral("the reader's own time"));
        else
            QVERIFY2(rateBy.startsWith(QStringLiteral("device busy time"))
                    || rateBy == QStringLiteral("the reader's own time"),
                qPrintable(rateBy));
        if (device)
            QVERIFY(read.value(QStringLiteral("device")).toObject().value(QStringLiteral("bytes")).toDouble() > 0);

        o = dlayer({ QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--paired-disk") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("compares a streaming run")), qPrintable(o.err));
        o = dlayer(
            { QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--arch"), QStringLiteral("preload"),
                QStringLiteral("--paired-disk"), QStringLiteral("--iterations"), QStringLiteral("1") },
            cache);
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("reads nothing per run")), qPrintable(o.err));
    }

    // --paired-preload: every run alternates with a run of a preloaded twin process, whose pack (whole layers) is
    // made in the cache on first use; the report's pairs agree with its latencies and overhead.
    void pairedPreloadAlternatesWithATwin()
    {
        const QString cache = m_dir.filePath(QStringLiteral("cache-paired"));
        Outcome o = dlayer({ QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--arch"),
                               QStringLiteral("two-stage"), QStringLiteral("--budget"), QStringLiteral("1500K"),
                               QStringLiteral("--paired-preload"), QStringLiteral("--iterations"), QStringLiteral("4"),
                               QStringLiteral("--warmup"), QStringLiteral("1"), QStringLiteral("--json") },
            cache);
        QVERIFY2(!o.crashed && o.code == 0, qPrintable(o.err));
        const QJsonObject j = QJsonDocument::fromJson(o.out.toUtf8()).object();
        const QJsonObject pp = j.value(QStringLiteral("paired_preload")).toObject();
        const QJsonArray pairs = pp.value(QStringLiteral("pairs_ms")).toArray();
        QCOMPARE(pairs.size(), 4);
        std::vector<double> own, twin, ratio;
        for (const auto& v : pairs) {
            const QJsonArray ab = v.toArray();
            QCOMPARE(ab.size(), 2);
            QVERIFY(ab[0].toDouble() > 0 && ab[1].toDouble() > 0);
            own.push_back(ab[0].toDouble());
            twin.push_back(ab[1].toDouble());
            ratio.push_back((ab[0].toDouble() / ab[1].toDouble() - 1) * 100);
        }
        auto mid = [](std::vector<double> v) {
            std::sort(v.begin(), v.end());
            return 0.5 * (v[1] + v[2]);
        };
        QCOMPARE(j.value(QStringLiteral("latency_ms")).toObject().value(QStringLiteral("median")).toDouble(), mid(own));
        QCOMPARE(
            pp.value(QStringLiteral("latency_ms")).toObject().value(QStringLiteral("median")).toDouble(), mid(twin));
        const QJsonObject ov = pp.value(QStringLiteral("overhead_pct")).toObject();
        QVERIFY(qAbs(ov.value(QStringLiteral("median")).toDouble() - mid(ratio)) < 1e-9);
        QVERIFY(ov.value(QStringLiteral("q1")).toDouble() <= ov.value(QStringLiteral("median")).toDouble());
        QVERIFY(ov.value(QStringLiteral("median")).toDouble() <= ov.value(QStringLiteral("q3")).toDouble());
        // The twin preloaded the whole layers: a pack of its own beside the split one.
        QCOMPARE(QDir(cache).entryList({ QStringLiteral("*.dlpack") }).size(), 2);
        QCOMPARE(pp.value(QStringLiteral("twin")).toString(), QStringLiteral("whole layers"));
        // --paired-split: the twin preloads the run's own split pack, so no other pack is made.
        const QString splitCache = m_dir.filePath(QStringLiteral("cache-paired-split"));
        o = dlayer(
            { QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--arch"), QStringLiteral("two-stage"),
                QStringLiteral("--budget"), QStringLiteral("1500K"), QStringLiteral("--paired-preload"),
                QStringLiteral("--paired-split"), QStringLiteral("--iterations"), QStringLiteral("2"),
                QStringLiteral("--warmup"), QStringLiteral("0"), QStringLiteral("--json") },
            splitCache);
        QVERIFY2(!o.crashed && o.code == 0, qPrintable(o.err));
        const QJsonObject sp
            = QJsonDocument::fromJson(o.out.toUtf8()).object().value(QStringLiteral("paired_preload")).toObject();
        QCOMPARE(sp.value(QStringLiteral("twin")).toString(), QStringLiteral("the run's layers"));
        QCOMPARE(sp.value(QStringLiteral("pairs_ms")).toArray().size(), 2);
        QCOMPARE(QDir(splitCache).entryList({ QStringLiteral("*.dlpack") }).size(), 1);
        o = dlayer({ QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--arch"),
            QStringLiteral("two-stage"), QStringLiteral("--paired-split") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("goes with --paired-preload")), qPrintable(o.err));

        o = dlayer({ QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--paired-preload") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("needs 'dlayer run' with --arch")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--arch"),
            QStringLiteral("preload"), QStringLiteral("--lockstep"), QStringLiteral("3,x") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("two file descriptors")), qPrintable(o.err));
    }

    // The twin's side of --paired-preload: "ready" once set up, then one latency line per byte it reads, and a quiet
    // exit when its input ends, however many runs were left.
    void lockstepRunsOnePerByteAndStopsAtTheEnd()
    {
        const QString cache = m_dir.filePath(QStringLiteral("cache-paired"));
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("DL_PACK_CACHE"), cache);
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(DL_DLAYER),
            { QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--arch"), QStringLiteral("preload"),
                QStringLiteral("--iterations"), QStringLiteral("5"), QStringLiteral("--warmup"), QStringLiteral("0"),
                QStringLiteral("--lockstep"), QStringLiteral("0,1") });
        QVERIFY(p.waitForStarted());
        QByteArray got;
        while (!got.contains('\n') && p.waitForReadyRead(120000))
            got += p.readAllStandardOutput();
        QCOMPARE(got, QByteArray("ready\n"));
        p.write("rr");
        while (got.count('\n') < 3 && p.waitForReadyRead(120000))
            got += p.readAllStandardOutput();
        p.closeWriteChannel();
        QVERIFY(p.waitForFinished(120000));
        got += p.readAllStandardOutput();
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 0);
        const QList<QByteArray> lines = got.trimmed().split('\n');
        QCOMPARE(lines.size(), 3); // ready, and two runs of the five
        for (int i = 1; i < 3; ++i) {
            bool ok = false;
            QVERIFY(lines[i].toDouble(&ok) > 0 && ok);
        }
    }

    // --record keeps a run in a store; runs list / show / export / import / delete work on it; bad ids, missing and
    // foreign stores, and malformed exports are refused with a message.
    // Running out of memory ends the run with exit 1 and a message naming what could not be had, wherever it
    // happens: the weights, planning, a kernel's set-up, the ledger's limit. Nothing aborts.
    void outOfMemoryIsAnErrorNotACrash_data()
    {
        QTest::addColumn<QString>("limitKiB");
        QTest::addColumn<QString>("arch");
        QTest::newRow("300 MB, in memory") << QStringLiteral("300000") << QString();
        QTest::newRow("600 MB, in memory") << QStringLiteral("600000") << QString();
        QTest::newRow("1.1 GB, in memory") << QStringLiteral("1100000") << QString();
        QTest::newRow("700 MB, two-stage") << QStringLiteral("700000") << QStringLiteral("two-stage");
    }
    void outOfMemoryIsAnErrorNotACrash()
    {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
        QSKIP("ulimit -v cannot cap a sanitized dlayer: the sanitizer reserves terabytes of address space for its "
              "shadow memory at start-up (the unsanitized suite runs this)");
#endif
        QFETCH(QString, limitKiB);
        QFETCH(QString, arch);
        QProcess p;
        QStringList args = { QStringLiteral("-c"), QStringLiteral("ulimit -v %1 && exec \"$0\" \"$@\"").arg(limitKiB),
            QStringLiteral(DL_DLAYER), QStringLiteral("run"), darknet("yolov4.cfg"), QStringLiteral("--threads"),
            QStringLiteral("2") };
        if (!arch.isEmpty())
            args << QStringLiteral("--arch") << arch << QStringLiteral("--pack-dir")
                 << m_dir.filePath(QStringLiteral("oom-packs"));
        p.start(QStringLiteral("/bin/sh"), args + kOnce);
        QVERIFY(p.waitForFinished(300000));
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QVERIFY2(p.exitCode() == 1, qPrintable(QStringLiteral("exit %1: %2").arg(p.exitCode()).arg(err)));
        QVERIFY2(
            err.contains(QStringLiteral("dlayer: error:")) && err.contains(QStringLiteral("memory")), qPrintable(err));
    }

    // --version names the build and what it runs on; COMMAND --help shows that command's synopsis, not the others'.
    void versionAndPerCommandHelp()
    {
        Outcome o = dlayer({ QStringLiteral("--version") });
        QCOMPARE(o.code, 0);
        QVERIFY2(o.out.startsWith(QStringLiteral("dlayer 0.")) && o.out.contains(QStringLiteral("oneDNN"))
                && o.out.contains(QStringLiteral("report schema 1")),
            qPrintable(o.out));
        o = dlayer({ QStringLiteral("run"), QStringLiteral("--help") });
        QCOMPARE(o.code, 0);
        QVERIFY2(o.out.contains(QStringLiteral("dlayer run MODEL")) && o.out.contains(QStringLiteral("--memory-limit"))
                && !o.out.contains(QStringLiteral("dlayer plan MODEL"))
                && !o.out.contains(QStringLiteral("dlayer runs DB")),
            qPrintable(o.out));
        o = dlayer({ QStringLiteral("help"), QStringLiteral("runs") });
        QCOMPARE(o.code, 0);
        QVERIFY2(o.out.contains(QStringLiteral("dlayer runs DB list"))
                && !o.out.contains(QStringLiteral("dlayer run MODEL")),
            qPrintable(o.out));
    }

    // --memory-limit caps the engine's ledger: a run that needs more is refused, naming the bytes and the limit.
    void memoryLimitRefusesWhatTheLedgerCannotHold()
    {
        const QString cache = m_dir.filePath(QStringLiteral("cache-limit"));
        Outcome o = dlayer(QStringList { QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--arch"),
                               QStringLiteral("two-stage"), QStringLiteral("--memory-limit"), QStringLiteral("24M") }
                + kOnce,
            cache);
        QVERIFY(!o.crashed);
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("out of memory")) && o.err.contains(QStringLiteral("25165824")),
            qPrintable(o.err));
        // Within the limit the same run goes through, and its ledger peak stays under it.
        o = dlayer(QStringList { QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--arch"),
                       QStringLiteral("two-stage"), QStringLiteral("--memory-limit"), QStringLiteral("200M") }
                + kOnce,
            cache);
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const qint64 peak = QJsonDocument::fromJson(o.out.toUtf8())
                                .object()
                                .value(QStringLiteral("memory"))
                                .toObject()
                                .value(QStringLiteral("peak_bytes"))
                                .toInteger();
        QVERIFY(peak > 0 && peak <= 200 << 20);
    }

    void recordedRunsListShowExportImportDelete()
    {
        const QString cache = m_dir.filePath(QStringLiteral("cache-record"));
        const QString db = m_dir.filePath(QStringLiteral("runs.db"));
        Outcome o = dlayer(QStringList { QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--arch"),
                               QStringLiteral("two-stage"), QStringLiteral("--record"), db }
                + kOnce,
            cache);
        QVERIFY2(!o.crashed && o.code == 0, qPrintable(o.err));
        const QJsonObject j = QJsonDocument::fromJson(o.out.toUtf8()).object();
        const qint64 id = j.value(QStringLiteral("recorded")).toObject().value(QStringLiteral("run_id")).toInteger();
        QVERIFY(id > 0);
        // One report: what run --json printed is what the store keeps and what runs show --json prints, field for
        // field, down to the text.
        {
            const Outcome shown = dlayer(
                { QStringLiteral("runs"), db, QStringLiteral("show"), QString::number(id), QStringLiteral("--json") });
            QVERIFY2(shown.code == 0, qPrintable(shown.err));
            QCOMPARE(shown.out, o.out);
            QCOMPARE(j.value(QStringLiteral("schema")).toInt(), 1);
            QCOMPARE(j.value(QStringLiteral("status")).toString(), QStringLiteral("ok"));
            QCOMPARE(j.value(QStringLiteral("source")).toString(), QStringLiteral("dlayer"));
            QVERIFY(!j.value(QStringLiteral("device")).toObject().value(QStringLiteral("host")).toString().isEmpty());
            QVERIFY(j.value(QStringLiteral("device")).toObject().value(QStringLiteral("memory_bytes")).toInteger() > 0);
            QCOMPARE(j.value(QStringLiteral("model_hash")).toString().size(), 64);
        }
        o = dlayer({ QStringLiteral("run"), testdata("node/test_relu/model.onnx"), QStringLiteral("--record"), db });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        QVERIFY2(o.out.contains(QStringLiteral("recorded  run 2")), qPrintable(o.out));

        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("list") });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const QStringList lines = o.out.trimmed().split(QLatin1Char('\n'));
        QCOMPARE(lines.size(), 2);
        QVERIFY2(lines[0].startsWith(QString::number(id) + QStringLiteral("  ")), qPrintable(lines[0]));
        QVERIFY(lines[0].contains(QStringLiteral("two-stage")) && lines[0].contains(QStringLiteral("yolov3-tiny")));
        QVERIFY(lines[1].startsWith(QStringLiteral("2  ")) && lines[1].contains(QStringLiteral("in-memory")));

        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("show"), QString::number(id) });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        QVERIFY(o.out.contains(QStringLiteral("kernel ms")) && o.out.contains(QStringLiteral("conv_0")));

        const QString exported = m_dir.filePath(QStringLiteral("run1.json"));
        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("export"), QString::number(id), QStringLiteral("-o"),
            exported });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const QJsonObject ex = QJsonDocument::fromJson(readFile(exported)).object();
        QCOMPARE(ex.value(QStringLiteral("arch")).toString(), QStringLiteral("two-stage"));
        // Every streamed layer read its bytes and ran its kernels in the timed iteration.
        const QJsonArray layers = ex.value(QStringLiteral("layers")).toArray();
        QCOMPARE(layers.size(), j.value(QStringLiteral("layers")).toInt());
        for (const auto& l : layers) {
            QVERIFY(l.toObject().value(QStringLiteral("kernel_ms")).toDouble() > 0);
            if (l.toObject().value(QStringLiteral("bytes")).toInteger() > 0)
                QVERIFY(l.toObject().value(QStringLiteral("read_ms")).toDouble() > 0);
        }
        QCOMPARE(ex.value(QStringLiteral("report")).toObject().value(QStringLiteral("outputs")),
            j.value(QStringLiteral("outputs")));
        // The stored read rate is the device's own where the report has one, else the reader's.
        const QJsonObject rd = j.value(QStringLiteral("read")).toObject();
        const QJsonValue byDevice = rd.value(QStringLiteral("device")).toObject().value(QStringLiteral("mb_per_s"));
        QCOMPARE(ex.value(QStringLiteral("read")).toObject().value(QStringLiteral("mb_per_s")).toDouble(),
            byDevice.isDouble() ? byDevice.toDouble() : rd.value(QStringLiteral("mb_per_s")).toDouble());
        QVERIFY(!ex.value(QStringLiteral("events")).toObject().value(QStringLiteral("rows")).toArray().isEmpty());

        const QString other = m_dir.filePath(QStringLiteral("other.db"));
        o = dlayer({ QStringLiteral("runs"), other, QStringLiteral("import"), exported });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        QCOMPARE(o.out.trimmed(), QStringLiteral("1"));
        o = dlayer({ QStringLiteral("runs"), other, QStringLiteral("export"), QStringLiteral("1") });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        QCOMPARE(QJsonDocument::fromJson(o.out.toUtf8()), QJsonDocument::fromJson(readFile(exported)));

        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("delete"), QString::number(id) });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("show"), QString::number(id) });
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("there is no run")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("show"), QStringLiteral("abc") });
        QCOMPARE(o.code, 2);
        o = dlayer({ QStringLiteral("runs"), m_dir.filePath(QStringLiteral("none.db")), QStringLiteral("list") });
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("there is no run store")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("frobnicate") });
        QCOMPARE(o.code, 2);
        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("list"), QStringLiteral("--arch"),
            QStringLiteral("async"), QStringLiteral("--iterations"), QStringLiteral("3") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("not --arch, --iterations")), qPrintable(o.err));
        const QString notJson = m_dir.filePath(QStringLiteral("bad.json"));
        writeFile(notJson, "{\"format\": \"dlayer-run\", \"version\": 1}");
        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("import"), notJson });
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("model: missing")), qPrintable(o.err));
        // A file that is not a store is refused before the run, and left as it was.
        const QString garbage = m_dir.filePath(QStringLiteral("garbage.db"));
        writeFile(garbage, QByteArray(4096, 'g'));
        o = dlayer(QStringList { QStringLiteral("run"), darknet("yolov3-tiny.cfg"), QStringLiteral("--arch"),
                       QStringLiteral("two-stage"), QStringLiteral("--record"), garbage }
                + kOnce,
            cache);
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("not an SQLite database")), qPrintable(o.err));
        QCOMPARE(readFile(garbage), QByteArray(4096, 'g'));
    }

    // dlayer plan from a recorded profile: the configuration it writes runs as is, with the ledger peak it predicted;
    // another model, a malformed file, a budget below the minimum and options beside --config are refused.
    void planWritesAConfigurationThatRunsAsPredicted()
    {
        const QString cache = m_dir.filePath(QStringLiteral("cache-plan"));
        const QString db = m_dir.filePath(QStringLiteral("profile.db"));
        const QString cfg = darknet("yolov3-tiny.cfg");
        Outcome o = dlayer({ QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("sequential"),
                               QStringLiteral("--iterations"), QStringLiteral("2"), QStringLiteral("--warmup"),
                               QStringLiteral("1"), QStringLiteral("--record"), db, QStringLiteral("--json") },
            cache);
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const QString config = m_dir.filePath(QStringLiteral("tiny-20M.json"));
        o = dlayer({ QStringLiteral("plan"), cfg, QStringLiteral("--budget"), QStringLiteral("20M"),
            QStringLiteral("--profile"), db, QStringLiteral("-o"), config });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const QJsonObject c = QJsonDocument::fromJson(readFile(config)).object();
        QCOMPARE(c.value(QStringLiteral("format")).toString(), QStringLiteral("dlayer-config"));
        QVERIFY(c.value(QStringLiteral("predicted_latency_ms")).toDouble() > 0);
        QVERIFY(c.value(QStringLiteral("predicted_weights_bytes")).toInteger() <= 20 * 1024 * 1024);
        o = dlayer(QStringList { QStringLiteral("run"), cfg, QStringLiteral("--config"), config } + kOnce, cache);
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const QJsonObject j = QJsonDocument::fromJson(o.out.toUtf8()).object();
        QCOMPARE(j.value(QStringLiteral("memory")).toObject().value(QStringLiteral("peak_bytes")).toInteger(),
            c.value(QStringLiteral("predicted_peak_bytes")).toInteger());
        QCOMPARE(
            j.value(QStringLiteral("staging_bytes")).toInteger(), c.value(QStringLiteral("staging_bytes")).toInteger());
        QCOMPARE(
            j.value(QStringLiteral("resident_layers")).toArray(), c.value(QStringLiteral("resident_layers")).toArray());

        // Named in the store beside the profile, and back out as the same file.
        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("save-config"), QStringLiteral("tiny-20M"), config });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("configs") });
        QVERIFY2(o.code == 0 && o.out.startsWith(QStringLiteral("tiny-20M ")), qPrintable(o.out + o.err));
        QVERIFY(o.out.contains(QStringLiteral("two-stage")));
        const QString back = m_dir.filePath(QStringLiteral("tiny-20M-back.json"));
        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("config"), QStringLiteral("tiny-20M"),
            QStringLiteral("-o"), back });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        QCOMPARE(QJsonDocument::fromJson(readFile(back)), QJsonDocument::fromJson(readFile(config)));
        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("config"), QStringLiteral("nope") });
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("no configuration 'nope'")), qPrintable(o.err));

        o = dlayer({ QStringLiteral("plan"), cfg, QStringLiteral("--frontier"), QStringLiteral("--points"),
            QStringLiteral("5"), QStringLiteral("--profile"), db, QStringLiteral("--json") });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const QJsonArray front
            = QJsonDocument::fromJson(o.out.toUtf8()).object().value(QStringLiteral("frontier")).toArray();
        QCOMPARE(front.size(), 5);
        for (const auto& f : front)
            for (const char* key : { "budget_bytes", "predicted_latency_ms", "predicted_peak_bytes", "lower_bound_ms" })
                QVERIFY2(f.toObject().contains(QString::fromUtf8(key)), key);

        o = dlayer(QStringList { QStringLiteral("run"), darknet("yolov4-tiny.cfg"), QStringLiteral("--config"), config }
                + kOnce,
            cache);
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("made for another model")), qPrintable(o.err));
        const QString bad = m_dir.filePath(QStringLiteral("bad-config.json"));
        writeFile(bad, readFile(config).replace("\"two-stage\"", "\"warp\""));
        o = dlayer(QStringList { QStringLiteral("run"), cfg, QStringLiteral("--config"), bad } + kOnce, cache);
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("unknown architecture 'warp'")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("runs"), db, QStringLiteral("save-config"), QStringLiteral("bad"), bad });
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("unknown architecture 'warp'")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("run"), cfg, QStringLiteral("--config"), config, QStringLiteral("--arch"),
            QStringLiteral("async") });
        QCOMPARE(o.code, 2);
        o = dlayer({ QStringLiteral("plan"), cfg, QStringLiteral("--budget"), QStringLiteral("1M"),
            QStringLiteral("--profile"), db });
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("below the minimum of")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("plan"), cfg, QStringLiteral("--budget"), QStringLiteral("20M") });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("--profile")), qPrintable(o.err));
    }

    // A pipelined run recorded beside the profile calibrates the read contention of the plans made from that store;
    // --no-calibrate and a store without one leave it at 1; plan --config predicts exactly a configuration.
    // With profiles of two splits in the store, --budget and --frontier choose the split too: the one whose profile
    // predicts less; --split keeps to one.
    void plansChooseAmongTheStoresSplits()
    {
        const QString cache = m_dir.filePath(QStringLiteral("cache-splits"));
        const QString db = m_dir.filePath(QStringLiteral("splits.db"));
        const QString cfg = darknet("yolov3-tiny.cfg");
        for (const QString& split : { QStringLiteral("0"), QStringLiteral("1M") }) {
            QStringList args { QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("sequential"),
                QStringLiteral("--iterations"), QStringLiteral("2"), QStringLiteral("--warmup"), QStringLiteral("1"),
                QStringLiteral("--record"), db, QStringLiteral("--json") };
            if (split != QStringLiteral("0")) args << QStringLiteral("--split") << split;
            Outcome o = dlayer(args, cache);
            QVERIFY2(o.code == 0, qPrintable(o.err));
        }
        auto plan = [&](const QStringList& extra) {
            Outcome o = dlayer(
                QStringList { QStringLiteral("plan"), cfg, QStringLiteral("--profile"), db, QStringLiteral("--json") }
                + extra);
            if (o.code != 0) qWarning("%s", qPrintable(o.err));
            return std::make_pair(o.code, QJsonDocument::fromJson(o.out.toUtf8()).object());
        };
        const qint64 mib = qint64(1) << 20;
        // 1.5 MiB: below the largest whole layer, so only the split profile can plan it.
        auto [code, small] = plan({ QStringLiteral("--budget"), QStringLiteral("1500K") });
        QCOMPARE(code, 0);
        QCOMPARE(small.value(QStringLiteral("split_bytes")).toInteger(), mib);
        const QString why = small.value(QStringLiteral("made")).toObject().value(QStringLiteral("profile")).toString();
        QVERIFY2(why.contains(QStringLiteral("chosen over the store's profiles of whole layers, needs at least")),
            qPrintable(why));
        auto [wholeCode, whole] = plan(
            { QStringLiteral("--budget"), QStringLiteral("1500K"), QStringLiteral("--split"), QStringLiteral("0") });
        QCOMPARE(wholeCode, 1); // whole layers alone cannot
        // 64 MiB holds every layer either way: the split whose profile predicts less is taken.
        const QStringList big { QStringLiteral("--budget"), QStringLiteral("64M") };
        auto [c0, onlyWhole] = plan(big + QStringList { QStringLiteral("--split"), QStringLiteral("0") });
        auto [c1, onlySplit] = plan(big + QStringList { QStringLiteral("--split"), QStringLiteral("1M") });
        auto [c2, both] = plan(big);
        QCOMPARE(c0, 0);
        QCOMPARE(c1, 0);
        QCOMPARE(c2, 0);
        QCOMPARE(onlyWhole.value(QStringLiteral("split_bytes")).toInteger(), qint64(0));
        QCOMPARE(onlySplit.value(QStringLiteral("split_bytes")).toInteger(), mib);
        const double w = onlyWhole.value(QStringLiteral("predicted_latency_ms")).toDouble();
        const double s = onlySplit.value(QStringLiteral("predicted_latency_ms")).toDouble();
        QVERIFY(w > 0 && s > 0 && w != s);
        // Both weighed at the speed of the split profile, the one that reaches the smallest budget: the whole-layer
        // profile's kernels scaled by how the layers both share ran (kernel_scale in the frontier's profiles).
        const double chosen = both.value(QStringLiteral("predicted_latency_ms")).toDouble();
        QVERIFY2(chosen <= s * (1 + 1e-9), qPrintable(QStringLiteral("%1 > %2").arg(chosen).arg(s)));
        if (both.value(QStringLiteral("split_bytes")).toInteger() == mib)
            QCOMPARE(chosen, s);
        else
            QCOMPARE(both.value(QStringLiteral("split_bytes")).toInteger(), qint64(0));
        // The frontier lists both profiles; below the largest whole layer its points are the split's, and at the
        // whole model its point is the faster profile's.
        auto [cf, f] = plan({ QStringLiteral("--frontier"), QStringLiteral("--points"), QStringLiteral("8") });
        QCOMPARE(cf, 0);
        const QJsonArray profiles = f.value(QStringLiteral("profiles")).toArray();
        QCOMPARE(profiles.size(), 2);
        for (const auto& pv : profiles) {
            const QJsonObject p = pv.toObject();
            const double scale = p.value(QStringLiteral("kernel_scale")).toDouble();
            if (p.value(QStringLiteral("split_bytes")).toInteger() == mib)
                QCOMPARE(scale, 1.0); // the reference
            else // a ratio of two measured runs: any positive finite value, and measured (never exactly the reference)
                QVERIFY2(scale > 0 && std::isfinite(scale) && scale != 1.0, qPrintable(QString::number(scale)));
        }
        const QJsonArray points = f.value(QStringLiteral("frontier")).toArray();
        QVERIFY(points.size() >= 2);
        QCOMPARE(points.first().toObject().value(QStringLiteral("split_bytes")).toInteger(), mib);
        const QJsonObject last = points.last().toObject();
        auto [cl, atLast] = plan(
            { QStringLiteral("--budget"), QString::number(last.value(QStringLiteral("budget_bytes")).toInteger()) });
        QCOMPARE(cl, 0);
        QCOMPARE(last.value(QStringLiteral("predicted_latency_ms")).toDouble(),
            atLast.value(QStringLiteral("predicted_latency_ms")).toDouble());
        QCOMPARE(last.value(QStringLiteral("split_bytes")).toInteger(),
            atLast.value(QStringLiteral("split_bytes")).toInteger());
        // A split the store has no profile of is named.
        Outcome o = dlayer({ QStringLiteral("plan"), cfg, QStringLiteral("--profile"), db, QStringLiteral("--budget"),
            QStringLiteral("64M"), QStringLiteral("--split"), QStringLiteral("2M") });
        QCOMPARE(o.code, 1);
        QVERIFY2(
            o.err.contains(QStringLiteral("no streaming run of this model with its layers split at 2097152 bytes")),
            qPrintable(o.err));
    }

    void plansCalibrateOnAPipelinedRunOfTheStore()
    {
        const QString cache = m_dir.filePath(QStringLiteral("cache-calibrate"));
        const QString db = m_dir.filePath(QStringLiteral("calibrate.db"));
        const QString cfg = darknet("yolov3-tiny.cfg");
        auto frontier = [&](const QStringList& extra) {
            Outcome o = dlayer(
                QStringList { QStringLiteral("plan"), cfg, QStringLiteral("--frontier"), QStringLiteral("--points"),
                    QStringLiteral("4"), QStringLiteral("--profile"), db, QStringLiteral("--json") }
                + extra);
            if (o.code != 0) qWarning("%s", qPrintable(o.err));
            return QJsonDocument::fromJson(o.out.toUtf8()).object();
        };
        Outcome o = dlayer({ QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("sequential"),
                               QStringLiteral("--iterations"), QStringLiteral("2"), QStringLiteral("--warmup"),
                               QStringLiteral("1"), QStringLiteral("--record"), db, QStringLiteral("--json") },
            cache);
        QVERIFY2(o.code == 0, qPrintable(o.err));
        QJsonObject plain = frontier({});
        QVERIFY(plain.value(QStringLiteral("contention")).toObject().value(QStringLiteral("run_id")).isNull());
        QCOMPARE(
            plain.value(QStringLiteral("contention")).toObject().value(QStringLiteral("read_factor")).toDouble(), 1.0);
        // A preload run calibrates nothing: its reads never run beside its kernels.
        o = dlayer(QStringList { QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("preload"),
                       QStringLiteral("--record"), db }
                + kOnce,
            cache);
        QVERIFY2(o.code == 0, qPrintable(o.err));
        QVERIFY(frontier({}).value(QStringLiteral("contention")).toObject().value(QStringLiteral("run_id")).isNull());

        o = dlayer(QStringList { QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("two-stage"),
                       QStringLiteral("--iterations"), QStringLiteral("3"), QStringLiteral("--warmup"),
                       QStringLiteral("1"), QStringLiteral("--record"), db, QStringLiteral("--json") },
            cache);
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const QJsonObject twoStage = QJsonDocument::fromJson(o.out.toUtf8()).object();
        const qint64 runId
            = twoStage.value(QStringLiteral("recorded")).toObject().value(QStringLiteral("run_id")).toInteger();
        QVERIFY(runId > 0);
        const QJsonObject calibrated = frontier({});
        const QJsonObject c = calibrated.value(QStringLiteral("contention")).toObject();
        QCOMPARE(c.value(QStringLiteral("run_id")).toInteger(), runId);
        QCOMPARE(c.value(QStringLiteral("run_arch")).toString(), QStringLiteral("two-stage"));
        const double factor = c.value(QStringLiteral("read_factor")).toDouble();
        QVERIFY2(factor >= 0.2 && factor <= 5, qPrintable(QString::number(factor)));
        QCOMPARE(c.value(QStringLiteral("measured_ms")).toDouble(),
            twoStage.value(QStringLiteral("latency_ms")).toObject().value(QStringLiteral("median")).toDouble());
        // The fit lands within its 2 % band of the run's latency; or, when no factor fits (a run faster than its
        // kernels, say), the factor stays 1 and the fitted latency is the uncalibrated one.
        const double measured = c.value(QStringLiteral("measured_ms")).toDouble();
        const double fitted = c.value(QStringLiteral("fitted_ms")).toDouble();
        if (qAbs(fitted - measured) > 0.021 * measured) {
            QVERIFY2(factor == 1.0,
                qPrintable(QStringLiteral("factor %1: fitted %2, measured %3").arg(factor).arg(fitted).arg(measured)));
            QCOMPARE(fitted, c.value(QStringLiteral("uncalibrated_ms")).toDouble());
        }
        QVERIFY(calibrated.value(QStringLiteral("profile"))
                    .toString()
                    .contains(QStringLiteral("contention from run %1").arg(runId)));
        QVERIFY(c.value(QStringLiteral("kernel_run_id")).isNull());
        QCOMPARE(c.value(QStringLiteral("kernel_ms_per_mb")).toDouble(), 0.0);
        // A run paired with a preloaded twin of its own layers calibrates the kernels' slowdown beside the reads,
        // and leaves the read factor to the run back to back.
        o = dlayer(
            QStringList { QStringLiteral("run"), cfg, QStringLiteral("--arch"), QStringLiteral("two-stage"),
                QStringLiteral("--iterations"), QStringLiteral("3"), QStringLiteral("--warmup"), QStringLiteral("1"),
                QStringLiteral("--paired-preload"), QStringLiteral("--record"), db, QStringLiteral("--json") },
            cache);
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const qint64 pairedId = QJsonDocument::fromJson(o.out.toUtf8())
                                    .object()
                                    .value(QStringLiteral("recorded"))
                                    .toObject()
                                    .value(QStringLiteral("run_id"))
                                    .toInteger();
        QVERIFY(pairedId > runId);
        const QJsonObject both = frontier({});
        const QJsonObject bc = both.value(QStringLiteral("contention")).toObject();
        QCOMPARE(bc.value(QStringLiteral("run_id")).toInteger(), runId);
        QCOMPARE(bc.value(QStringLiteral("kernel_run_id")).toInteger(), pairedId);
        QVERIFY(bc.value(QStringLiteral("kernel_ms_per_mb")).toDouble() >= 0);
        QVERIFY(bc.value(QStringLiteral("kernel_run_streamed_bytes")).toInteger() > 0);
        QVERIFY(both.value(QStringLiteral("profile"))
                    .toString()
                    .contains(QStringLiteral("kernels from run %1").arg(pairedId)));
        const QJsonObject off = frontier({ QStringLiteral("--no-calibrate") });
        QVERIFY(off.value(QStringLiteral("contention")).toObject().value(QStringLiteral("run_id")).isNull());
        QVERIFY(off.value(QStringLiteral("contention")).toObject().value(QStringLiteral("kernel_run_id")).isNull());
        QCOMPARE(off.value(QStringLiteral("frontier")), plain.value(QStringLiteral("frontier")));

        // plan --config: the prediction of exactly the configuration a budget chose, on the same profile.
        const QString config = m_dir.filePath(QStringLiteral("tiny-calibrated.json"));
        o = dlayer({ QStringLiteral("plan"), cfg, QStringLiteral("--budget"), QStringLiteral("24M"),
            QStringLiteral("--profile"), db, QStringLiteral("-o"), config });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const QJsonObject chosen = QJsonDocument::fromJson(readFile(config)).object();
        o = dlayer({ QStringLiteral("plan"), cfg, QStringLiteral("--config"), config, QStringLiteral("--profile"), db,
            QStringLiteral("--json") });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const QJsonObject again = QJsonDocument::fromJson(o.out.toUtf8()).object();
        QCOMPARE(again.value(QStringLiteral("predicted_latency_ms")).toDouble(),
            chosen.value(QStringLiteral("predicted_latency_ms")).toDouble());
        QCOMPARE(again.value(QStringLiteral("predicted_peak_bytes")).toInteger(),
            chosen.value(QStringLiteral("predicted_peak_bytes")).toInteger());
        QCOMPARE(again.value(QStringLiteral("resident_layers")), chosen.value(QStringLiteral("resident_layers")));
        o = dlayer({ QStringLiteral("plan"), darknet("yolov4-tiny.cfg"), QStringLiteral("--config"), config,
            QStringLiteral("--profile"), db });
        QCOMPARE(o.code, 1);
        QVERIFY2(o.err.contains(QStringLiteral("made for another model")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("plan"), cfg, QStringLiteral("--config"), config, QStringLiteral("--budget"),
            QStringLiteral("24M"), QStringLiteral("--profile"), db });
        QCOMPARE(o.code, 2);
        o = dlayer({ QStringLiteral("run"), cfg, QStringLiteral("--no-calibrate") });
        QCOMPARE(o.code, 2);
        // Options that would do nothing in that mode are refused rather than ignored.
        o = dlayer({ QStringLiteral("plan"), cfg, QStringLiteral("--budget"), QStringLiteral("24M"),
            QStringLiteral("--points"), QStringLiteral("8"), QStringLiteral("--profile"), db });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("--points goes with")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("plan"), cfg, QStringLiteral("--budget"), QStringLiteral("24M"),
            QStringLiteral("--iterations"), QStringLiteral("3"), QStringLiteral("--queue-depth"), QStringLiteral("2"),
            QStringLiteral("--profile"), db });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral(
                     "dlayer plan takes the options its usage lists (dlayer --help), not --queue-depth")),
            qPrintable(o.err));
        o = dlayer({ QStringLiteral("plan"), cfg, QStringLiteral("--budget"), QStringLiteral("24M"),
            QStringLiteral("--iterations"), QStringLiteral("3"), QStringLiteral("--profile"), db });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("--iterations: how a run is timed")), qPrintable(o.err));
        o = dlayer({ QStringLiteral("plan"), cfg, QStringLiteral("--config"), config, QStringLiteral("--points"),
            QStringLiteral("8"), QStringLiteral("--profile"), db });
        QCOMPARE(o.code, 2);
        o = dlayer({ QStringLiteral("plan"), cfg, QStringLiteral("--frontier"), QStringLiteral("-o"),
            m_dir.filePath(QStringLiteral("frontier.json")), QStringLiteral("--profile"), db });
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("--frontier prints")), qPrintable(o.err));
        QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("frontier.json"))));
    }

    void runJsonHasTheReportFields()
    {
        QTemporaryDir dir;
        const QString model = testdata("node/test_relu/model.onnx");
        Outcome o = dlayer({ QStringLiteral("run"), model, QStringLiteral("--iterations"), QStringLiteral("3"),
            QStringLiteral("--json"), QStringLiteral("--save-outputs"), dir.path() });
        QVERIFY2(!o.crashed && o.code == 0, qPrintable(o.err));
        const QJsonObject j = QJsonDocument::fromJson(o.out.toUtf8()).object();
        QCOMPARE(j.value(QStringLiteral("arch")).toString(), QStringLiteral("in-memory"));
        QCOMPARE(j.value(QStringLiteral("iterations")).toInt(), 3);
        const QJsonObject lat = j.value(QStringLiteral("latency_ms")).toObject();
        QVERIFY(lat.value(QStringLiteral("min")).toDouble() <= lat.value(QStringLiteral("median")).toDouble());
        QVERIFY(lat.value(QStringLiteral("median")).toDouble() <= lat.value(QStringLiteral("max")).toDouble());
        const QJsonObject mem = j.value(QStringLiteral("memory")).toObject();
        QVERIFY(mem.value(QStringLiteral("rss_peak_bytes")).toDouble() > 0);
        QVERIFY(mem.value(QStringLiteral("peak_bytes")).toDouble()
            >= mem.value(QStringLiteral("activations_bytes")).toDouble());
        const QJsonArray outs = j.value(QStringLiteral("outputs")).toArray();
        QCOMPARE(outs.size(), 1);
        QCOMPARE(outs[0].toObject().value(QStringLiteral("sha256")).toString().size(), 64);
        QVERIFY(QFile::exists(dir.filePath(QStringLiteral("output_0.pb"))));
    }

    void savedOutputsMatchAnInputFileRun()
    {
        // Feeding the conformance input gives the conformance output, byte for byte through the .pb writer.
        QTemporaryDir dir;
        const QString caseDir = testdata("node/test_relu");
        Outcome o = dlayer({ QStringLiteral("run"), caseDir + QStringLiteral("/model.onnx"), QStringLiteral("--input"),
            QStringLiteral("x=") + caseDir + QStringLiteral("/test_data_set_0/input_0.pb"),
            QStringLiteral("--iterations"), QStringLiteral("1"), QStringLiteral("--save-outputs"), dir.path(),
            QStringLiteral("--json") });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const QByteArray got = readFile(dir.filePath(QStringLiteral("output_0.pb")));
        QVERIFY(!got.isEmpty());
        Outcome again = dlayer({ QStringLiteral("run"), caseDir + QStringLiteral("/model.onnx"),
            QStringLiteral("--input"), QStringLiteral("x=") + dir.filePath(QStringLiteral("output_0.pb")),
            QStringLiteral("--iterations"), QStringLiteral("1"), QStringLiteral("--json") });
        // relu(relu(x)) == relu(x): the saved output read back as input gives the same hash again.
        QVERIFY2(again.code == 0, qPrintable(again.err));
        auto hash = [](const QString& out) {
            return QJsonDocument::fromJson(out.toUtf8())
                .object()
                .value(QStringLiteral("outputs"))
                .toArray()[0]
                .toObject()
                .value(QStringLiteral("sha256"))
                .toString();
        };
        QVERIFY(!hash(o.out).isEmpty());
        QCOMPARE(hash(again.out), hash(o.out));
    }

    void infoJsonListsLayersAndTotal()
    {
        Outcome o = dlayer({ QStringLiteral("info"), testdata("node/test_conv_with_strides_padding/model.onnx"),
            QStringLiteral("--json") });
        QVERIFY2(o.code == 0, qPrintable(o.err));
        const QJsonObject j = QJsonDocument::fromJson(o.out.toUtf8()).object();
        const QJsonArray layers = j.value(QStringLiteral("layers")).toArray();
        QVERIFY(!layers.isEmpty());
        double sum = 0;
        for (const auto& l : layers)
            sum += l.toObject().value(QStringLiteral("weight_bytes")).toDouble();
        QCOMPARE(sum, j.value(QStringLiteral("weight_bytes")).toDouble());
    }

    // info --split lists the layers as a run with that split executes them: more of them, none above the split but
    // where one block of channels is (yolov4-tiny's 4.7 MB conv cut at 1 MiB), the same weights in all.
    void infoShowsTheSplitLayers()
    {
        const QString cfg = darknet("yolov4-tiny.cfg");
        auto info = [&](const QStringList& extra) {
            Outcome o = dlayer(QStringList { QStringLiteral("info"), cfg, QStringLiteral("--json") } + extra);
            if (o.code != 0) qWarning("%s", qPrintable(o.err));
            return QJsonDocument::fromJson(o.out.toUtf8()).object();
        };
        const QJsonObject whole = info({});
        const QJsonObject cut = info({ QStringLiteral("--split"), QStringLiteral("1M") });
        const QJsonArray wholeLayers = whole.value(QStringLiteral("layers")).toArray();
        const QJsonArray cutLayers = cut.value(QStringLiteral("layers")).toArray();
        QCOMPARE(cut.value(QStringLiteral("split_bytes")).toInteger(), qint64(1) << 20);
        QCOMPARE(whole.value(QStringLiteral("split_bytes")).toInteger(), 0);
        QVERIFY2(cutLayers.size() > wholeLayers.size(),
            qPrintable(QStringLiteral("%1 against %2").arg(cutLayers.size()).arg(wholeLayers.size())));
        QCOMPARE(cut.value(QStringLiteral("weight_bytes")).toInteger(),
            whole.value(QStringLiteral("weight_bytes")).toInteger());
        double largestWhole = 0, largestCut = 0;
        for (const auto& l : wholeLayers)
            largestWhole = std::max(largestWhole, l.toObject().value(QStringLiteral("weight_bytes")).toDouble());
        for (const auto& l : cutLayers)
            largestCut = std::max(largestCut, l.toObject().value(QStringLiteral("weight_bytes")).toDouble());
        QVERIFY(largestWhole > 2 * (1 << 20));
        QVERIFY2(largestCut < largestWhole / 2, qPrintable(QString::number(largestCut)));
    }

    void missingFile()
    {
        Outcome o = dlayer({ QStringLiteral("run"), QStringLiteral("/nonexistent/model.onnx") });
        QVERIFY(!o.crashed);
        QVERIFY(o.code != 0);
        QVERIFY2(o.err.contains(QStringLiteral("does not exist")), qPrintable(o.err));
    }

    void truncatedOnnx()
    {
        QTemporaryDir dir;
        const QByteArray bytes = readFile(testdata("node/test_conv_with_strides_padding/model.onnx"));
        QVERIFY(bytes.size() > 40);
        const QString path = dir.filePath(QStringLiteral("truncated.onnx"));
        writeFile(path, bytes.left(bytes.size() / 2));
        Outcome o = dlayer({ QStringLiteral("info"), path });
        QVERIFY(!o.crashed);
        QVERIFY(o.code != 0);
        QVERIFY2(o.err.contains(QStringLiteral("not a valid ONNX model")), qPrintable(o.err));
    }

    void garbageOnnx()
    {
        QTemporaryDir dir;
        QByteArray junk;
        quint32 x = 12345;
        for (int i = 0; i < 4096; ++i) {
            x = x * 1664525u + 1013904223u;
            junk.append(static_cast<char>(x >> 24));
        }
        const QString path = dir.filePath(QStringLiteral("garbage.onnx"));
        writeFile(path, junk);
        Outcome o = dlayer({ QStringLiteral("run"), path });
        QVERIFY(!o.crashed);
        QVERIFY(o.code != 0);
        QVERIFY2(o.err.contains(QStringLiteral("ONNX")), qPrintable(o.err));
    }

    void unknownOpIsNamedWithItsNode()
    {
        QTemporaryDir dir;
        QByteArray bytes = readFile(testdata("node/test_relu/model.onnx"));
        const int at = bytes.indexOf("Relu");
        QVERIFY(at >= 0);
        bytes.replace(at, 4, "Rexx"); // same length keeps the protobuf valid
        const QString path = dir.filePath(QStringLiteral("unknown.onnx"));
        writeFile(path, bytes);
        Outcome o = dlayer({ QStringLiteral("run"), path });
        QVERIFY(!o.crashed);
        QVERIFY(o.code != 0);
        QVERIFY2(o.err.contains(QStringLiteral("'Rexx'")) && o.err.contains(QStringLiteral("node")), qPrintable(o.err));
    }

    void shapeMismatch()
    {
        // test_conv_with_strides_padding declares fixed input shapes; a different rank is refused with the input named.
        Outcome o = dlayer({ QStringLiteral("run"), testdata("node/test_conv_with_strides_padding/model.onnx"),
            QStringLiteral("--shape"), QStringLiteral("x=1x1x7") });
        QVERIFY(!o.crashed);
        QVERIFY(o.code != 0);
        QVERIFY2(o.err.contains(QStringLiteral("'x'")), qPrintable(o.err));
    }

    void badShapeSyntax()
    {
        Outcome o = dlayer({ QStringLiteral("run"), testdata("node/test_relu/model.onnx"), QStringLiteral("--shape"),
            QStringLiteral("x=3xfoo") });
        QVERIFY(!o.crashed);
        QCOMPARE(o.code, 2);
        QVERIFY2(o.err.contains(QStringLiteral("bad shape")), qPrintable(o.err));
    }

    void cfgSyntaxErrorNamesTheLine()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("broken.cfg"));
        writeFile(path, "[net]\nwidth=32\nheight=32\nchannels=3\n\n[convolutional]\nfilters=8\nsize 3\n");
        Outcome o = dlayer({ QStringLiteral("info"), path });
        QVERIFY(!o.crashed);
        QVERIFY(o.code != 0);
        QVERIFY2(o.err.contains(QStringLiteral(":8")), qPrintable(o.err));
    }

    void weightsOfTheWrongSize()
    {
        QTemporaryDir dir;
        const QString cfg = dir.filePath(QStringLiteral("tiny.cfg"));
        writeFile(cfg,
            "[net]\nwidth=16\nheight=16\nchannels=3\n\n[convolutional]\nfilters=4\nsize=3\nstride=1\npad=1\n"
            "activation=leaky\n");
        const QString weights = dir.filePath(QStringLiteral("tiny.weights"));
        writeFile(weights, QByteArray(20 + 7 * 4, '\0'));
        Outcome o = dlayer({ QStringLiteral("run"), cfg, QStringLiteral("--weights"), weights });
        QVERIFY(!o.crashed);
        QVERIFY(o.code != 0);
        QVERIFY2(o.err.contains(QStringLiteral("bytes")), qPrintable(o.err));
    }

    void unknownOption()
    {
        Outcome o
            = dlayer({ QStringLiteral("run"), testdata("node/test_relu/model.onnx"), QStringLiteral("--frobnicate") });
        QCOMPARE(o.code, 2);
        QVERIFY(o.err.contains(QStringLiteral("--frobnicate")));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
