// Weight readers on real files: every path (io_uring and pread, with and without O_DIRECT, memory) reads back what was
// written; misuse is refused; a file truncated after opening gives Corrupt completions; injected faults arrive as
// planned; describe() says what ran.

#include "core/largepages.h"
#include "core/procstat.h"
#include "core/random.h"
#include "core/streamcopy.h"
#include "io/weightreader.h"
#include "memory/ledger.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStorageInfo>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

using namespace dl;

namespace {

constexpr size_t kA = kDirectIoAlignment;

std::vector<std::byte> randomBytes(size_t n, uint64_t seed)
{
    SplitMix64 rng(seed);
    std::vector<std::byte> v(n);
    for (size_t i = 0; i < n; i += 8) {
        const uint64_t x = rng.next();
        std::memcpy(v.data() + i, &x, std::min<size_t>(8, n - i));
    }
    return v;
}

bool writeFile(const QString& path, const std::vector<std::byte>& data)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
    return f.write(reinterpret_cast<const char*>(data.data()), qint64(data.size())) == qint64(data.size());
}

std::string errorText(const Status& s)
{
    return s.ok() ? std::string("ok") : s.error().message;
}

// Reads [0, size) in 4 KiB-multiple chunks of varying length with up to queueDepth() in flight, into `dst`.
// Records the most reads seen in flight at once.
void readAllChunks(WeightReader& reader, std::byte* dst, uint64_t size, size_t& maxInFlight)
{
    SplitMix64 rng(99);
    std::map<uint64_t, ReadRequest> pending;
    uint64_t next = 0;
    uint64_t tag = 1000;
    maxInFlight = 0;
    std::vector<ReadCompletion> done;
    while (next < size || reader.inFlight() > 0) {
        while (next < size && reader.inFlight() < reader.queueDepth()) {
            const size_t bytes = std::min<uint64_t>((1 + rng.next() % 48) * kA, size - next);
            const ReadRequest r { next, bytes, dst + next, tag++ };
            const Status s = reader.submit(r);
            QVERIFY2(s.ok(), errorText(s).c_str());
            pending[r.tag] = r;
            next += bytes;
        }
        maxInFlight = std::max(maxInFlight, reader.inFlight());
        done.clear();
        // A non-blocking reap first (it may find nothing yet), then a blocking one if it did.
        Status s = reader.reap(done, false);
        QVERIFY2(s.ok(), errorText(s).c_str());
        if (done.empty()) s = reader.reap(done, true);
        QVERIFY2(s.ok(), errorText(s).c_str());
        QVERIFY(!done.empty());
        for (const ReadCompletion& c : done) {
            QVERIFY2(c.status.ok(), errorText(c.status).c_str());
            QVERIFY(pending.count(c.tag));
            QCOMPARE(c.bytes, pending[c.tag].bytes);
            pending.erase(c.tag);
        }
    }
    QVERIFY(pending.empty());
    // With nothing in flight a blocking reap returns at once, empty.
    done.clear();
    QVERIFY(reader.reap(done, true).ok());
    QVERIFY(done.empty());
}

// Checks that describe() matches what the reader reports it does.
void checkDescribe(const WeightReader& r, const FileReaderOptions& o)
{
    const std::string d = r.describe();
    qInfo("describe(): %s", d.c_str());
    QVERIFY2(d.rfind(o.uring ? "io_uring" : "pread", 0) == 0 || (o.uring && d.find("io_uring") != std::string::npos),
        d.c_str());
    if (o.uring && d.rfind("pread", 0) == 0)
        QVERIFY2(d.find("io_uring unavailable") != std::string::npos || d.find("not built in") != std::string::npos,
            d.c_str());
    QCOMPARE(r.directIo(), d.find(", O_DIRECT") != std::string::npos);
    QCOMPARE(r.alignment(), r.directIo() ? kA : size_t(1));
    if (o.direct && !r.directIo()) QVERIFY2(d.find("O_DIRECT refused") != std::string::npos, d.c_str());
    if (!o.direct) QVERIFY(d.find("O_DIRECT") == std::string::npos);
}

FileReaderOptions optionsFor(const QString& mode)
{
    FileReaderOptions o;
    o.uring = mode.startsWith("uring");
    o.direct = mode.endsWith("direct");
    o.queueDepth = 4;
    return o;
}

// The descriptor this process holds on `path`, or -1.
int descriptorOf(const QString& path)
{
    const QString target = QFileInfo(path).canonicalFilePath();
    for (const QFileInfo& fi : QDir("/proc/self/fd").entryInfoList(QDir::System | QDir::Files | QDir::NoDotAndDotDot))
        if (fi.symLinkTarget() == target) return fi.fileName().toInt();
    return -1;
}

int openDescriptors()
{
    return int(QDir("/proc/self/fd").entryList(QDir::System | QDir::Files).size());
}

// Forwards to a reader and keeps every request it was given, and whether two reads in flight ever shared a
// destination: what readPass asks of the reader it drives.
class RecordingReader final : public WeightReader
{
public:
    explicit RecordingReader(std::unique_ptr<WeightReader> inner)
        : m_inner(std::move(inner))
    { }
    Status submit(const ReadRequest& r) override
    {
        Status s = m_inner->submit(r);
        if (!s.ok()) return s;
        requests.push_back(r);
        for (const auto& [tag, dst] : m_dst)
            if (dst == r.dst) sharedDestination = true;
        m_dst[r.tag] = r.dst;
        maxInFlight = std::max(maxInFlight, m_inner->inFlight());
        return s;
    }
    Status flush() override { return m_inner->flush(); }
    Status reap(std::vector<ReadCompletion>& out, bool block) override
    {
        const size_t from = out.size();
        Status s = m_inner->reap(out, block);
        for (size_t i = from; i < out.size(); ++i)
            m_dst.erase(out[i].tag);
        return s;
    }
    size_t inFlight() const override { return m_inner->inFlight(); }
    size_t queueDepth() const override { return m_inner->queueDepth(); }
    uint64_t size() const override { return m_inner->size(); }
    size_t alignment() const override { return m_inner->alignment(); }
    bool directIo() const override { return m_inner->directIo(); }
    bool asynchronous() const override { return m_inner->asynchronous(); }
    std::string describe() const override { return m_inner->describe(); }

    std::vector<ReadRequest> requests;
    size_t maxInFlight = 0;
    bool sharedDestination = false;

private:
    std::unique_ptr<WeightReader> m_inner;
    std::map<uint64_t, void*> m_dst; // in flight: tag → destination
};

// The /proc/self/smaps entry of the mapping holding `p`: its size in kB and whether the kernel would back it with
// huge pages (THPeligible; -1 where the kernel does not say).
struct Mapping
{
    long long sizeKb = -1;
    int thpEligible = -1;
};
Mapping mappingOf(const void* p)
{
    Mapping m;
    std::FILE* f = std::fopen("/proc/self/smaps", "r");
    if (!f) return m;
    const auto a = reinterpret_cast<uintptr_t>(p);
    char line[512];
    bool inside = false;
    while (std::fgets(line, sizeof line, f)) {
        unsigned long lo = 0, hi = 0;
        if (std::sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && std::strchr(line, '-') < std::strchr(line, ' ')) {
            if (inside) break;
            inside = a >= lo && a < hi;
            continue;
        }
        if (!inside) continue;
        long long v = 0;
        if (std::sscanf(line, "Size: %lld kB", &v) == 1) m.sizeKb = v;
        if (std::sscanf(line, "THPeligible: %lld", &v) == 1) m.thpEligible = static_cast<int>(v);
    }
    std::fclose(f);
    return m;
}

// Whether this kernel hands out transparent huge pages to a mapping that asks (enabled: always or madvise).
bool hugePagesOffered()
{
    std::FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) return false;
    char text[128] = {};
    const size_t n = std::fread(text, 1, sizeof text - 1, f);
    std::fclose(f);
    return n > 0 && std::strstr(text, "[never]") == nullptr;
}

} // namespace

class TestIo : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir { DL_TEST_TMP "/test_io-XXXXXX" }; // the build tree, a real disk: /tmp may be tmpfs
    std::vector<std::byte> m_payload; // random, not a multiple of 4 KiB
    std::vector<std::byte> m_padded; // the payload zero-padded to 4 KiB, as a layer pack pads its blobs
    QString m_paddedPath;

    QString path(const char* name) const { return m_dir.filePath(QString::fromLatin1(name)); }

private slots:
    void initTestCase()
    {
        QVERIFY2(m_dir.isValid(), qPrintable(m_dir.errorString()));
        qInfo("files in %s (%s)", qPrintable(m_dir.path()), QStorageInfo(m_dir.path()).fileSystemType().constData());
        m_payload = randomBytes(5 * 1024 * 1024 + 1234, 7);
        m_padded = m_payload;
        m_padded.resize((m_payload.size() + kA - 1) / kA * kA);
        m_paddedPath = path("padded.bin");
        QVERIFY(writeFile(m_paddedPath, m_padded));
    }

    void readsBackWhatWasWritten_data()
    {
        QTest::addColumn<QString>("mode");
        for (const char* m : { "uring direct", "uring buffered", "pread direct", "pread buffered", "memory" })
            QTest::newRow(m) << QString::fromLatin1(m);
    }
    void readsBackWhatWasWritten()
    {
        QFETCH(QString, mode);
        std::unique_ptr<WeightReader> reader;
        if (mode == "memory") {
            reader = memoryReader(m_padded.data(), m_padded.size(), 4);
            QCOMPARE(reader->describe(), std::string("memory"));
        } else {
            const FileReaderOptions o = optionsFor(mode);
            auto r = openFileReader(m_paddedPath.toStdString(), o);
            QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
            reader = std::move(*r);
            checkDescribe(*reader, o);
            if (QTest::currentTestFailed()) return;
        }
        QCOMPARE(reader->size(), uint64_t(m_padded.size()));
        QCOMPARE(reader->queueDepth(), size_t(4));
        AlignedBuffer dst = allocateAligned(m_padded.size());
        QVERIFY(dst);
        QCOMPARE(reinterpret_cast<uintptr_t>(dst.get()) % kA, uintptr_t(0));
        std::memset(dst.get(), 0xA5, m_padded.size());
        size_t maxInFlight = 0;
        readAllChunks(*reader, dst.get(), m_padded.size(), maxInFlight);
        if (QTest::currentTestFailed()) return;
        QCOMPARE(maxInFlight, size_t(4));
        QCOMPARE(std::memcmp(dst.get(), m_padded.data(), m_padded.size()), 0);
        QCOMPARE(std::memcmp(dst.get(), m_payload.data(), m_payload.size()), 0);
    }

    void refusesMisalignedAndOutOfBoundsReads_data()
    {
        QTest::addColumn<QString>("mode");
        QTest::newRow("uring direct") << QStringLiteral("uring direct");
        QTest::newRow("pread direct") << QStringLiteral("pread direct");
    }
    void refusesMisalignedAndOutOfBoundsReads()
    {
        QFETCH(QString, mode);
        auto r = openFileReader(m_paddedPath.toStdString(), optionsFor(mode));
        QVERIFY(r.ok());
        WeightReader& reader = **r;
        if (!reader.directIo()) QSKIP(qPrintable("no O_DIRECT here: " + QString::fromStdString(reader.describe())));
        AlignedBuffer buf = allocateAligned(8 * kA);
        std::byte* b = buf.get();
        const uint64_t size = reader.size();
        auto expectInvalid = [&](ReadRequest req, const char* says) {
            const Status s = reader.submit(req);
            QVERIFY(!s.ok());
            QCOMPARE(s.error().code, ErrorCode::Invalid);
            QVERIFY2(s.error().message.find(says) != std::string::npos, s.error().message.c_str());
        };
        expectInvalid({ 100, kA, b, 0 }, "offset");
        expectInvalid({ 0, 100, b, 0 }, "size");
        expectInvalid({ 0, kA, b + 1, 0 }, "buffer address");
        expectInvalid({ size, kA, b, 0 }, "passes the end");
        expectInvalid({ size - kA, 2 * kA, b, 0 }, "passes the end");
        expectInvalid({ UINT64_MAX - kA + 1, kA, b, 0 }, "passes the end");
        expectInvalid({ 0, 0, b, 0 }, "empty");
        expectInvalid({ 0, kA, nullptr, 0 }, "no destination");
        QCOMPARE(reader.inFlight(), size_t(0));

        // The queue depth bounds reads in flight; reaping makes room again.
        for (size_t i = 0; i < reader.queueDepth(); ++i)
            QVERIFY(reader.submit({ 0, kA, b + (i % 8) * kA, i }).ok());
        QCOMPARE(reader.inFlight(), reader.queueDepth());
        expectInvalid({ 0, kA, b, 99 }, "in flight");
        std::vector<ReadCompletion> done;
        QVERIFY(reader.reap(done, true).ok());
        QVERIFY(!done.empty());
        QVERIFY(reader.submit({ 0, kA, b, 99 }).ok());
        while (reader.inFlight() > 0)
            QVERIFY(reader.reap(done, true).ok());
        QCOMPARE(done.size(), reader.queueDepth() + 1);
    }

    void unpaddedTailNeedsBufferedReads()
    {
        // A file whose size is not a multiple of 4 KiB: O_DIRECT cannot name its tail exactly, buffered reads can.
        const QString p = path("unpadded.bin");
        const std::vector<std::byte> data = randomBytes(10000, 3);
        QVERIFY(writeFile(p, data));
        auto direct = openFileReader(p.toStdString(), { true, true, 4 });
        QVERIFY(direct.ok());
        AlignedBuffer buf = allocateAligned(3 * kA);
        if ((*direct)->directIo()) {
            QCOMPARE((*direct)->submit({ 8192, kA, buf.get(), 0 }).error().code, ErrorCode::Invalid);
            QCOMPARE((*direct)->submit({ 8192, 10000 - 8192, buf.get(), 0 }).error().code, ErrorCode::Invalid);
        }
        auto buffered = openFileReader(p.toStdString(), { false, true, 4 });
        QVERIFY(buffered.ok());
        QCOMPARE((*buffered)->alignment(), size_t(1));
        QVERIFY((*buffered)->submit({ 8192, 10000 - 8192, buf.get() + 3, 7 }).ok());
        std::vector<ReadCompletion> done;
        QVERIFY((*buffered)->reap(done, true).ok());
        QCOMPARE(done.size(), size_t(1));
        QVERIFY(done[0].status.ok());
        QCOMPARE(done[0].tag, uint64_t(7));
        QCOMPARE(std::memcmp(buf.get() + 3, data.data() + 8192, 10000 - 8192), 0);
    }

    void truncatedFileGivesCorruptCompletions_data()
    {
        QTest::addColumn<QString>("mode");
        for (const char* m : { "uring direct", "uring buffered", "pread direct", "pread buffered" })
            QTest::newRow(m) << QString::fromLatin1(m);
    }
    void truncatedFileGivesCorruptCompletions()
    {
        QFETCH(QString, mode);
        const QString p = path("truncated.bin");
        const std::vector<std::byte> data = randomBytes(64 * 1024, 5);
        QVERIFY(writeFile(p, data));
        auto r = openFileReader(p.toStdString(), optionsFor(mode));
        QVERIFY(r.ok());
        WeightReader& reader = **r;
        // Shrunk after opening, to a size that is not a multiple of 4 KiB.
        constexpr size_t kLeft = 40960 + 100;
        QCOMPARE(::truncate(p.toLocal8Bit().constData(), kLeft), 0);
        QCOMPARE(reader.size(), uint64_t(64 * 1024));
        AlignedBuffer buf = allocateAligned(64 * 1024);
        AlignedBuffer past = allocateAligned(16 * 1024);
        QVERIFY(reader.submit({ 0, 64 * 1024, buf.get(), 1 }).ok()); // straddles the new end
        QVERIFY(reader.submit({ 49152, 16 * 1024, past.get(), 2 }).ok()); // wholly past it
        std::vector<ReadCompletion> done;
        while (reader.inFlight() > 0)
            QVERIFY(reader.reap(done, true).ok());
        QCOMPARE(done.size(), size_t(2));
        for (const ReadCompletion& c : done) {
            QVERIFY(!c.status.ok());
            QCOMPARE(c.status.error().code, ErrorCode::Corrupt);
            const std::string& m = c.status.error().message;
            QVERIFY2(m.rfind("the file ends at 41060 bytes", 0) == 0, m.c_str());
            QVERIFY2(m.find(p.toStdString()) != std::string::npos, m.c_str());
            if (c.tag == 1) {
                QCOMPARE(c.bytes, kLeft);
                QCOMPARE(std::memcmp(buf.get(), data.data(), kLeft), 0);
            } else {
                QCOMPARE(c.bytes, size_t(0));
            }
        }
    }

    void osReadErrorIsAnIoCompletion_data()
    {
        QTest::addColumn<QString>("mode");
        for (const char* m : { "uring direct", "pread buffered" })
            QTest::newRow(m) << QString::fromLatin1(m);
    }
    void osReadErrorIsAnIoCompletion()
    {
        // A disk that fails is hard to come by, so the reader's descriptor is swapped for a directory's behind its
        // back: the kernel then fails its reads with EISDIR.
        QFETCH(QString, mode);
        const QString p = path("swapped.bin");
        QVERIFY(writeFile(p, randomBytes(64 * 1024, 9)));
        auto r = openFileReader(p.toStdString(), optionsFor(mode));
        QVERIFY(r.ok());
        const int fd = descriptorOf(p);
        QVERIFY(fd >= 0);
        const int dirFd = ::open(m_dir.path().toLocal8Bit().constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        QVERIFY(dirFd >= 0);
        QCOMPARE(::dup2(dirFd, fd), fd);
        ::close(dirFd);
        AlignedBuffer buf = allocateAligned(kA);
        QVERIFY((*r)->submit({ 2 * kA, kA, buf.get(), 5 }).ok());
        std::vector<ReadCompletion> done;
        QVERIFY((*r)->reap(done, true).ok());
        QCOMPARE(done.size(), size_t(1));
        QCOMPARE(done[0].tag, uint64_t(5));
        QVERIFY(!done[0].status.ok());
        QCOMPARE(done[0].status.error().code, ErrorCode::Io);
        const std::string& m = done[0].status.error().message;
        QVERIFY2(m.find("at offset 8192") != std::string::npos, m.c_str());
        QVERIFY2(m.find(std::strerror(EISDIR)) != std::string::npos, m.c_str());
        QVERIFY2(m.find(p.toStdString()) != std::string::npos, m.c_str());
        QCOMPARE((*r)->inFlight(), size_t(0));
    }

    void noDescriptorLeaks()
    {
        const int before = openDescriptors();
        {
            auto a = openFileReader(m_paddedPath.toStdString(), { true, true, 8 });
            auto b = openFileReader(m_paddedPath.toStdString(), { false, false, 8 });
            QVERIFY(a.ok() && b.ok());
            QVERIFY(openDescriptors() > before);
        }
        QVERIFY(!openFileReader(path("missing.bin").toStdString()).ok());
        QVERIFY(!openFileReader(m_dir.path().toStdString()).ok());
        QVERIFY(!openFileReader(m_paddedPath.toStdString(), { true, true, 100000 }).ok());
        QVERIFY(openFileReader("/proc/version").ok());
        QCOMPARE(openDescriptors(), before);
    }

    void missingFileIsAnIoErrorNamingIt()
    {
        const std::string p = path("does-not-exist.bin").toStdString();
        for (bool uring : { true, false }) {
            auto r = openFileReader(p, { true, uring, 8 });
            QVERIFY(!r.ok());
            QCOMPARE(r.error().code, ErrorCode::Io);
            QVERIFY2(r.error().message.find(p) != std::string::npos, r.error().message.c_str());
            QVERIFY2(r.error().message.find("No such file") != std::string::npos, r.error().message.c_str());
        }
        auto dir = openFileReader(m_dir.path().toStdString());
        QVERIFY(!dir.ok());
        QCOMPARE(dir.error().code, ErrorCode::Invalid);
        auto depth = openFileReader(m_paddedPath.toStdString(), { true, true, 0 });
        QVERIFY(!depth.ok());
        QCOMPARE(depth.error().code, ErrorCode::Invalid);
    }

    void directIoOnTmpfsFallsBackOrWorks()
    {
        if (!QDir("/dev/shm").exists() || QStorageInfo("/dev/shm").fileSystemType() != "tmpfs")
            QSKIP("no tmpfs at /dev/shm");
        QTemporaryDir shm("/dev/shm/test_io-XXXXXX");
        QVERIFY(shm.isValid());
        const QString p = shm.filePath("pack.bin");
        const std::vector<std::byte> data = randomBytes(64 * 1024, 11);
        QVERIFY(writeFile(p, data));
        for (bool uring : { true, false }) {
            const FileReaderOptions o { true, uring, 4 };
            auto r = openFileReader(p.toStdString(), o);
            QVERIFY(r.ok());
            checkDescribe(**r, o);
            AlignedBuffer buf = allocateAligned(data.size());
            size_t maxInFlight = 0;
            readAllChunks(**r, buf.get(), data.size(), maxInFlight);
            if (QTest::currentTestFailed()) return;
            QCOMPARE(std::memcmp(buf.get(), data.data(), data.size()), 0);
        }
        auto r = openFileReader(p.toStdString());
        // tmpfs takes O_DIRECT since Linux 6.6; before, open() says EINVAL and the reader goes buffered.
        if ((*r)->directIo()) QSKIP("tmpfs accepts O_DIRECT on this kernel; the fallback is checked on procfs below");
        QVERIFY((*r)->describe().find("O_DIRECT refused: Invalid argument") != std::string::npos);
    }

    void directIoRefusedFallsBackAndSaysSo()
    {
        // procfs refuses O_DIRECT at open() (EINVAL), like tmpfs did before Linux 6.6.
        const std::string p = "/proc/version";
        if (!QFile::exists(QString::fromStdString(p))) QSKIP("no procfs");
        for (bool uring : { true, false }) {
            auto r = openFileReader(p, { true, uring, 4 });
            QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
            if ((*r)->directIo()) QSKIP("procfs accepts O_DIRECT here");
            const std::string d = (*r)->describe();
            qInfo("describe(): %s", d.c_str());
            QVERIFY2(d.find("(O_DIRECT refused: Invalid argument") != std::string::npos, d.c_str());
            QCOMPARE((*r)->alignment(), size_t(1));
        }
    }

    void destroyingAReaderWaitsForItsReads()
    {
        // Buffers freed right after the reader must no longer be written by reads it had in flight.
        AlignedBuffer buf = allocateAligned(8 * 256 * 1024);
        {
            auto r = openFileReader(m_paddedPath.toStdString(), { true, true, 8 });
            QVERIFY(r.ok());
            for (uint64_t i = 0; i < 8; ++i)
                QVERIFY((*r)->submit({ i * 256 * 1024, 256 * 1024, buf.get() + i * 256 * 1024, i }).ok());
            QCOMPARE((*r)->inFlight(), size_t(8));
        }
        buf.reset();
    }

    void faultsArriveAsPlanned()
    {
        const std::vector<std::byte>& src = m_padded;
        auto readFour = [&](FaultPlan plan, std::vector<ReadCompletion>& done, AlignedBuffer& buf) {
            auto reader = faultInjectingReader(memoryReader(src.data(), src.size(), 4), plan);
            QVERIFY(reader->describe() == "fault-injecting over memory");
            buf = allocateAligned(4 * 8192);
            for (uint64_t i = 0; i < 4; ++i)
                QVERIFY(reader->submit({ i * 8192, 8192, buf.get() + i * 8192, 100 + i }).ok());
            while (reader->inFlight() > 0)
                QVERIFY(reader->reap(done, true).ok());
            QCOMPARE(done.size(), size_t(4));
        };
        AlignedBuffer buf;
        {
            std::vector<ReadCompletion> done;
            FaultPlan plan;
            plan.failRead = 2;
            readFour(plan, done, buf);
            for (const ReadCompletion& c : done) {
                QCOMPARE(c.status.ok(), c.tag != 102);
                if (c.tag == 102) {
                    QCOMPARE(c.status.error().code, ErrorCode::Io);
                    QVERIFY(c.status.error().message.find("injected fault") != std::string::npos);
                }
            }
        }
        {
            std::vector<ReadCompletion> done;
            FaultPlan plan;
            plan.corruptOffset = 8192 + 5000;
            readFour(plan, done, buf);
            for (const ReadCompletion& c : done)
                QVERIFY(c.status.ok());
            QCOMPARE(buf.get()[8192 + 5000], src[8192 + 5000] ^ std::byte { 0xFF });
            buf.get()[8192 + 5000] ^= std::byte { 0xFF };
            QCOMPARE(std::memcmp(buf.get(), src.data(), 4 * 8192), 0);
        }
        {
            FaultPlan plan;
            plan.failSubmit = 1;
            auto reader = faultInjectingReader(memoryReader(src.data(), src.size(), 4), plan);
            buf = allocateAligned(8192);
            QVERIFY(reader->submit({ 0, 4096, buf.get(), 1 }).ok());
            const Status s = reader->submit({ 4096, 4096, buf.get() + 4096, 2 });
            QVERIFY(!s.ok());
            QCOMPARE(s.error().code, ErrorCode::Io);
            QVERIFY(s.error().message.find("injected fault") != std::string::npos);
            QCOMPARE(reader->inFlight(), size_t(1));
            QVERIFY(reader->submit({ 4096, 4096, buf.get() + 4096, 3 }).ok());
            std::vector<ReadCompletion> done;
            QVERIFY(reader->reap(done, true).ok());
            QCOMPARE(done.size(), size_t(2));
            QCOMPARE(std::memcmp(buf.get(), src.data(), 8192), 0);
        }
    }

    void delayedCompletionsAreHeldBack()
    {
        FaultPlan plan;
        plan.delayUs = 30000;
        auto r = openFileReader(m_paddedPath.toStdString(), { true, true, 2 });
        QVERIFY(r.ok());
        auto reader = faultInjectingReader(std::move(*r), plan);
        AlignedBuffer buf = allocateAligned(2 * kA);
        const auto start = std::chrono::steady_clock::now();
        QVERIFY(reader->submit({ 0, kA, buf.get(), 1 }).ok());
        QVERIFY(reader->submit({ kA, kA, buf.get() + kA, 2 }).ok());
        std::vector<ReadCompletion> done;
        QVERIFY(reader->reap(done, false).ok());
        QVERIFY(done.empty());
        // Held reads still count against the queue depth.
        QCOMPARE(reader->inFlight(), size_t(2));
        QCOMPARE(reader->submit({ 0, kA, buf.get(), 3 }).error().code, ErrorCode::Invalid);
        while (reader->inFlight() > 0)
            QVERIFY(reader->reap(done, true).ok());
        const auto elapsed = std::chrono::steady_clock::now() - start;
        QVERIFY(elapsed >= std::chrono::microseconds(plan.delayUs));
        QCOMPARE(done.size(), size_t(2));
        QCOMPARE(std::memcmp(buf.get(), m_padded.data(), 2 * kA), 0);
    }

    void readPassReadsEveryRangeOnceThroughItsSlots()
    {
        // Three ranges (one longer than a chunk, one shorter) through a buffer of two and a half chunks: requests of
        // at most a chunk cover each range in order, never more in flight than whole slots, no slot shared.
        RecordingReader reader(memoryReader(m_padded.data(), m_padded.size(), 4));
        const size_t chunk = 64 * kA;
        const std::vector<ReadRange> ranges = { { 0, 3 * chunk + 5 * kA }, { 40 * kA, 3 * kA }, { 1024 * kA, chunk } };
        AlignedBuffer buf = allocateAligned(chunk * 5 / 2);
        auto secs = readPass(reader, ranges, buf.get(), chunk * 5 / 2, chunk);
        QVERIFY2(secs.ok(), secs.ok() ? "" : secs.error().message.c_str());
        QVERIFY(*secs >= 0);
        QCOMPARE(reader.inFlight(), size_t(0));
        QVERIFY(!reader.sharedDestination);
        QVERIFY(reader.maxInFlight <= 2);
        size_t k = 0;
        for (const ReadRange& r : ranges)
            for (uint64_t at = 0; at < r.bytes; at += chunk, ++k) {
                QVERIFY(k < reader.requests.size());
                QCOMPARE(reader.requests[k].offset, r.offset + at);
                QCOMPARE(uint64_t(reader.requests[k].bytes), std::min<uint64_t>(chunk, r.bytes - at));
                const auto* dst = static_cast<const std::byte*>(reader.requests[k].dst);
                QVERIFY(dst >= buf.get() && dst + reader.requests[k].bytes <= buf.get() + 2 * chunk);
            }
        QCOMPARE(reader.requests.size(), k);
        // A queue depth of one keeps one read in flight whatever the buffer.
        RecordingReader one(memoryReader(m_padded.data(), m_padded.size(), 1));
        QVERIFY(readPass(one, ranges, buf.get(), chunk * 5 / 2, chunk).ok());
        QCOMPARE(one.maxInFlight, size_t(1));
        QCOMPARE(one.requests.size(), k);
        // One in flight by request, through four slots: each read lands in the next slot, round robin.
        AlignedBuffer four = allocateAligned(4 * chunk);
        RecordingReader rotating(memoryReader(m_padded.data(), m_padded.size(), 4));
        QVERIFY(readPass(rotating, ranges, four.get(), 4 * chunk, chunk, 1).ok());
        QCOMPARE(rotating.maxInFlight, size_t(1));
        QCOMPARE(rotating.requests.size(), k);
        for (size_t i = 0; i < k; ++i)
            QCOMPARE(static_cast<const std::byte*>(rotating.requests[i].dst), four.get() + (i % 4) * chunk);
    }

    void readPassFailsNamingTheReadAndLeavesNothingInFlight()
    {
        const size_t chunk = 16 * kA;
        AlignedBuffer buf = allocateAligned(4 * chunk);
        const std::vector<ReadRange> ranges = { { 0, 20 * chunk } };
        FaultPlan plan;
        plan.failRead = 5;
        auto faulty = faultInjectingReader(memoryReader(m_padded.data(), m_padded.size(), 4), plan);
        auto r = readPass(*faulty, ranges, buf.get(), 4 * chunk, chunk);
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, ErrorCode::Io);
        QVERIFY2(r.error().message.find("injected fault") != std::string::npos, r.error().message.c_str());
        QCOMPARE(faulty->inFlight(), size_t(0));
        // Refused before any read: a buffer smaller than a chunk, a chunk O_DIRECT cannot take.
        auto direct = openFileReader(m_paddedPath.toStdString(), optionsFor("uring direct"));
        QVERIFY(direct.ok());
        auto small = readPass(**direct, ranges, buf.get(), chunk - kA, chunk);
        QVERIFY(!small.ok());
        QVERIFY2(small.error().message.find("at least one chunk") != std::string::npos, small.error().message.c_str());
        if ((*direct)->directIo()) {
            auto odd = readPass(**direct, ranges, buf.get(), 4 * chunk, chunk + 100);
            QVERIFY(!odd.ok());
            QVERIFY2(odd.error().message.find("not a multiple") != std::string::npos, odd.error().message.c_str());
        }
        QCOMPARE((*direct)->inFlight(), size_t(0));
    }

    void blockDeviceCountersSeeADirectReadOfTheFile()
    {
        // The device's own counters grow by at least the bytes an O_DIRECT pass reads (other processes may add to
        // them, never take away), and its busy time with them.
        auto before = blockDeviceCounters(m_paddedPath.toStdString());
        if (!before) QSKIP(qPrintable("no block device under " + m_dir.path()));
        QVERIFY(!before->device.empty());
        auto reader = openFileReader(m_paddedPath.toStdString(), optionsFor("uring direct"));
        QVERIFY(reader.ok());
        if (!(*reader)->directIo()) QSKIP("no O_DIRECT here: the page cache would answer");
        AlignedBuffer buf = allocateAligned(256 * kA);
        uint64_t read = 0;
        for (int pass = 0; pass < 4; ++pass) {
            QVERIFY(readPass(**reader, { { 0, m_padded.size() } }, buf.get(), 256 * kA, 64 * kA).ok());
            read += m_padded.size();
        }
        auto after = blockDeviceCounters(m_paddedPath.toStdString());
        QVERIFY(after);
        QCOMPARE(after->device, before->device);
        QVERIFY2(after->bytesRead - before->bytesRead >= read,
            qPrintable(
                QString("device read %1 bytes, the passes %2").arg(after->bytesRead - before->bytesRead).arg(read)));
        QVERIFY(after->busyMs >= before->busyMs);
        // A file on no block device has none.
        QVERIFY(!blockDeviceCounters("/proc/self/status"));
        QVERIFY(!blockDeviceCounters(m_dir.filePath("missing").toStdString()));
    }

    void deviceReadRateNeedsEnoughBusyTime()
    {
        const BlockDeviceCounters a { "vda", 1000000, 500 };
        QCOMPARE(deviceReadMBps(a, { "vda", 1000000 + 250000000, 750 }), 1000.0); // 250 MB in 250 ms
        QCOMPARE(deviceReadMBps(a, { "vda", 1000000 + 250000000, 509 }), 0.0); // 9 ms: under the 10 it takes
        QCOMPARE(deviceReadMBps(a, { "vda", 1000000 + 2500000, 509 }, 5), 277.77777777777777);
        QCOMPARE(deviceReadMBps(a, { "sdb", 1000000 + 250000000, 750 }), 0.0); // another device
        QCOMPARE(deviceReadMBps(a, { "vda", 999, 750 }), 0.0); // counters that went back (a reset device)
    }

    // The copy stage's copy: every byte of the range, whatever the alignment of either end, and none beside it.
    void streamingCopyCopiesExactlyTheRange()
    {
        const size_t span = (size_t(1) << 20) + 4096;
        std::vector<std::byte> src(span + 64);
        SplitMix64 rng(7);
        for (auto& b : src)
            b = static_cast<std::byte>(rng.next() & 0xff);
        std::vector<std::byte> dst(span + 128);
        for (size_t bytes : { size_t(0), size_t(1), size_t(63), size_t(255), size_t(256), size_t(257),
                 size_t(4096 + 13), size_t(1) << 20, (size_t(1) << 20) + 4095 })
            for (size_t dstAt : { size_t(0), size_t(1), size_t(16), size_t(33), size_t(64) })
                for (size_t srcAt : { size_t(0), size_t(5), size_t(48) }) {
                    std::fill(dst.begin(), dst.end(), std::byte { 0xA5 });
                    copyStreaming(dst.data() + dstAt, src.data() + srcAt, bytes);
                    QVERIFY2(std::memcmp(dst.data() + dstAt, src.data() + srcAt, bytes) == 0,
                        qPrintable(QString("%1 bytes to +%2 from +%3").arg(bytes).arg(dstAt).arg(srcAt)));
                    const auto untouched = [](std::byte b) { return b == std::byte { 0xA5 }; };
                    QVERIFY(std::all_of(dst.begin(), dst.begin() + dstAt, untouched));
                    QVERIFY(std::all_of(dst.begin() + dstAt + bytes, dst.end(), untouched));
                }
    }

    void alignedBuffersAreAligned()
    {
        for (size_t a : { size_t(64), size_t(4096), size_t(1) << 21 }) {
            AlignedBuffer b = allocateAligned(12345, a);
            QVERIFY(b);
            QCOMPARE(reinterpret_cast<uintptr_t>(b.get()) % a, uintptr_t(0));
            std::memset(b.get(), 0, 12345);
        }
        QVERIFY(allocateAligned(0));
        QVERIFY(!allocateAligned(100, 3000));
    }
    void largeBuffersSitOnHugePagesAndHoldNoMore()
    {
        // Under qemu-user (scripts/test-arm64.sh) the guest's memory is the emulator's mapping: smaps shows qemu's.
        if (qEnvironmentVariableIsSet("DL_EMULATED"))
            QSKIP("under qemu-user: /proc/self/smaps shows the emulator's pages");
        setLargePages(true);
        const size_t bytes = 5 * kLargePageBytes / 2 + 1234; // two huge pages and a part of a third
        AlignedBuffer b = allocateAligned(bytes);
        QVERIFY(b);
        QVERIFY(b.get_deleter().mapped);
        QCOMPARE(reinterpret_cast<uintptr_t>(b.get()) % kLargePageBytes, uintptr_t(0));
        std::memset(b.get(), 0x5A, bytes);
        const Mapping m = mappingOf(b.get());
        qInfo("mapping of %lld kB, THPeligible %d, huge pages %s", m.sizeKb, m.thpEligible,
            hugePagesOffered() ? "offered" : "not offered");
        // Rounded to 4 KiB only: the part of a huge page past the buffer is not held.
        QCOMPARE(m.sizeKb, static_cast<long long>((bytes + kA - 1) / kA * kA / 1024));
        if (m.thpEligible >= 0) QCOMPARE(m.thpEligible, hugePagesOffered() ? 1 : 0);

        // Small buffers, and every buffer with large pages off, come from the heap as before.
        AlignedBuffer small = allocateAligned(kLargePageBytes - kA);
        QVERIFY(small);
        QVERIFY(!small.get_deleter().mapped);
        setLargePages(false);
        AlignedBuffer off = allocateAligned(bytes);
        setLargePages(true);
        QVERIFY(off);
        QVERIFY(!off.get_deleter().mapped);
        QCOMPARE(reinterpret_cast<uintptr_t>(off.get()) % kA, uintptr_t(0));
        std::memset(off.get(), 0, bytes);
    }

    void ledgerBuffersOnHugePagesCountTheirBytesAndStartZeroed()
    {
        MemoryLedger ledger;
        const size_t bytes = 3 * kLargePageBytes + 100;
        {
            LedgerBuffer staging = LedgerBuffer::allocate(&ledger, MemTag::Staging, bytes, kA);
            QVERIFY(!staging.empty());
            QCOMPARE(reinterpret_cast<uintptr_t>(staging.data()) % kLargePageBytes, uintptr_t(0));
            QCOMPARE(ledger.current(MemTag::Staging), bytes);
            bool zero = true;
            for (size_t i = 0; i < bytes; i += 4093)
                zero = zero && staging.data()[i] == std::byte { 0 };
            QVERIFY(zero && staging.data()[bytes - 1] == std::byte { 0 });
            // Moved, it is still freed once: the moved-from buffer holds nothing.
            LedgerBuffer moved = std::move(staging);
            QVERIFY(staging.empty());
            QCOMPARE(ledger.current(MemTag::Staging), bytes);
            const Mapping m = mappingOf(moved.data());
            QCOMPARE(m.sizeKb, static_cast<long long>((bytes + kA - 1) / kA * kA / 1024));
        }
        QCOMPARE(ledger.current(MemTag::Staging), size_t(0));
        QCOMPARE(ledger.peak(MemTag::Staging), bytes);
    }

    void ledgerBuffersOtherThanStagingStayOnSmallPages()
    {
        // Resident weights are read once; only staging, which reads land in on every run, asks for huge pages.
        MemoryLedger ledger;
        const size_t bytes = 3 * kLargePageBytes + 100;
        for (MemTag tag : { MemTag::ResidentWeights, MemTag::Activations, MemTag::Workspace }) {
            LedgerBuffer b = LedgerBuffer::allocate(&ledger, tag, bytes, kA);
            QVERIFY(!b.empty());
            QCOMPARE(reinterpret_cast<uintptr_t>(b.data()) % kA, uintptr_t(0));
            QCOMPARE(ledger.current(tag), bytes);
            bool zero = true;
            for (size_t i = 0; i < bytes; i += 4093)
                zero = zero && b.data()[i] == std::byte { 0 };
            QVERIFY(zero && b.data()[bytes - 1] == std::byte { 0 });
            const Mapping m = mappingOf(b.data());
            // Advised against huge pages even where the kernel's setting is "always".
            if (m.thpEligible >= 0) QCOMPARE(m.thpEligible, 0);
            b.reset();
            QCOMPARE(ledger.current(tag), size_t(0));
        }
        // An alignment past what a mapping gives comes from the heap.
        LedgerBuffer wide = LedgerBuffer::allocate(&ledger, MemTag::ResidentWeights, bytes, size_t(1) << 16);
        QVERIFY(!wide.empty());
        QCOMPARE(reinterpret_cast<uintptr_t>(wide.data()) % (size_t(1) << 16), uintptr_t(0));
    }

    void readsIntoHugePagesMatchReadsIntoSmallPages()
    {
        // The same O_DIRECT reads into a buffer on huge pages and into one on small pages give the file's bytes.
        auto r = openFileReader(m_paddedPath.toStdString(), optionsFor("uring direct"));
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        for (bool huge : { true, false }) {
            setLargePages(huge);
            AlignedBuffer dst = allocateAligned(m_padded.size());
            setLargePages(true);
            QVERIFY(dst);
            QCOMPARE(dst.get_deleter().mapped, huge);
            std::memset(dst.get(), 0xA5, m_padded.size());
            size_t maxInFlight = 0;
            readAllChunks(**r, dst.get(), m_padded.size(), maxInFlight);
            if (QTest::currentTestFailed()) return;
            QCOMPARE(std::memcmp(dst.get(), m_padded.data(), m_padded.size()), 0);
        }
    }
};

QTEST_GUILESS_MAIN(TestIo)
#include "test_io.moc"
