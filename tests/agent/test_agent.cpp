// The board agent as a real process: `dlayer serve` on 127.0.0.1 with a random port and a state directory of its own,
// clients over real TLS 1.3. Each hostile client (a wrong token or fingerprint, plaintext, an old protocol version, an
// oversized length prefix, truncated frames, 10,000 seeded random frames, a client that never reads) is followed by a
// good client that must still be served. Then what a user relies on: eight clients at once, a run whose client left
// found on reconnect, an agent killed with SIGKILL mid-run seen within about 2 s with its store intact, resumable
// uploads and the quota, and the command line's run --agent and runs --agent sync.

#include "core/sha256.h"
#include "pack/packcache.h"
#include "remote/client.h"
#include "remote/credentials.h"
#include "remote/messages.h"
#include "remote/tls.h"
#include "runstore.h"

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <arpa/inet.h>
#include <atomic>
#include <csignal>
#include <fstream>
#include <netinet/in.h>
#include <random>
#include <set>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace dl;
using namespace dl::remote;

namespace {

// The model the runs use: four small convolutions at 64×64 (a fraction of a millisecond here, some 80 ms an inference
// under qemu), so that the suite also runs against an emulated arm64 agent. Written by initTestCase.
constexpr size_t kLayers = 4;
const char* const kTinyCfg = R"([net]
batch=1
width=64
height=64
channels=3

[convolutional]
batch_normalize=1
filters=16
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
batch_normalize=1
filters=32
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
batch_normalize=1
filters=64
size=3
stride=1
pad=1
activation=leaky

[convolutional]
filters=16
size=1
stride=1
pad=1
activation=linear
)";

// The dlayer under test: this build's, or another's (DL_DLAYER_PROGRAM: scripts/test-arm64.sh points this suite, built
// for the host, at the arm64 agent).
QString dlayerPath()
{
    const QString other = qEnvironmentVariable("DL_DLAYER_PROGRAM");
    return other.isEmpty() ? QStringLiteral(DL_DLAYER) : other;
}

// dlayer, or the emulator a cross build's dlayer runs under (scripts/test-arm64.sh), with dlayer as its first argument.
QString dlayerProgram()
{
    const QString emulator = qEnvironmentVariable("DL_DLAYER_EMULATOR");
    return emulator.isEmpty() ? dlayerPath() : emulator;
}

QStringList dlayerArguments()
{
    return qEnvironmentVariableIsEmpty("DL_DLAYER_EMULATOR") ? QStringList() : QStringList { dlayerPath() };
}

// One `dlayer serve` process.
class Agent
{
public:
    ~Agent() { stop(); }

    bool start(const QString& stateDir, const QStringList& extra = {})
    {
        m_state = stateDir;
        // Under a cross build's emulator (scripts/test-arm64.sh), dlayer runs through it.
        m_p.setProgram(dlayerProgram());
        m_p.setArguments(dlayerArguments()
            + QStringList { QStringLiteral("serve"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                QStringLiteral("--state"), stateDir }
            + extra);
        // The agent's log to a file: a pipe nobody reads would fill and stop the agent.
        m_p.setStandardErrorFile(stateDir + QStringLiteral(".log"), QIODevice::Append);
        m_p.start();
        if (!m_p.waitForStarted(10000)) return false;
        QByteArray out;
        QElapsedTimer t;
        t.start();
        while (!out.contains("listening on") && t.elapsed() < 30000) {
            m_p.waitForReadyRead(200);
            out += m_p.readAllStandardOutput();
            if (m_p.state() != QProcess::Running) return false;
        }
        for (const QByteArray& line : out.split('\n')) {
            if (line.startsWith("pair with: ")) {
                auto p = parsePairingLine(line.mid(11).toStdString());
                if (!p.ok()) return false;
                m_pairing = *p;
                m_pairingLine = line.mid(11).toStdString();
            }
            if (line.startsWith("listening on 127.0.0.1:")) m_port = line.mid(23).split(' ').front().toInt();
        }
        return m_port > 0 && !m_pairing.token.empty();
    }
    void stop()
    {
        if (m_p.state() == QProcess::NotRunning) return;
        m_p.terminate();
        if (!m_p.waitForFinished(10000)) {
            m_p.kill();
            m_p.waitForFinished(5000);
        }
    }
    void signal(int sig) { ::kill(static_cast<pid_t>(m_p.processId()), sig); }
    void kill()
    {
        ::kill(static_cast<pid_t>(m_p.processId()), SIGKILL);
        m_p.waitForFinished(5000);
    }
    bool running() const { return m_p.state() == QProcess::Running; }
    std::string address() const { return "127.0.0.1:" + std::to_string(m_port); }
    int port() const { return m_port; }
    const Pairing& pairing() const { return m_pairing; }
    const std::string& pairingLine() const { return m_pairingLine; }
    QString state() const { return m_state; }
    // The agent's resident set, from /proc (kB).
    long rssKb() const
    {
        std::ifstream f("/proc/" + std::to_string(m_p.processId()) + "/status");
        std::string key;
        long v = 0;
        while (f >> key) {
            if (key == "VmRSS:") {
                f >> v;
                return v;
            }
            f.ignore(1 << 12, '\n');
        }
        return -1;
    }
    QByteArray log() const
    {
        QFile f(m_state + QStringLiteral(".log"));
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }

    std::unique_ptr<AgentClient> client(const std::string& name = "test")
    {
        auto c = AgentClient::connect(address(), m_pairing.fingerprint, m_pairing.token, name);
        if (!c.ok()) qWarning("connect: %s", c.error().message.c_str());
        return c.ok() ? std::move(c).value() : nullptr;
    }

private:
    QProcess m_p;
    QString m_state;
    int m_port = 0;
    Pairing m_pairing;
    std::string m_pairingLine;
};

Json runRequest(const std::string& sha, int iterations, bool continuous = false)
{
    RunSpec s;
    s.modelHash = sha;
    s.arch = Arch::TwoStage;
    s.warmup = 0;
    s.iterations = iterations;
    s.threads = 1;
    Json j = runRequestToJson(s);
    j["model_name"] = "tiny.cfg";
    j["continuous"] = continuous;
    return j;
}

// A connection past the handshake, for frames no client of ours sends.
std::unique_ptr<TlsConnection> rawSession(const Agent& a)
{
    auto c = connectTls(a.address(), a.pairing().fingerprint, 5000);
    if (!c.ok()) return nullptr;
    if (!clientHandshake(**c, a.pairing().token, "raw", 5000).ok()) return nullptr;
    return std::move(c).value();
}

// Whether the connection is closed by the agent within `ms` (reading whatever comes first).
bool closedWithin(TlsConnection& c, int ms, std::string* error = nullptr)
{
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms) {
        auto f = c.receive(200);
        if (f.ok()) {
            if (f->type == MessageType::Error && error) *error = f->body.value("message", std::string());
            continue;
        }
        if (f.error().message.find("closed") != std::string::npos || f.error().code == ErrorCode::Invalid) return true;
    }
    return false;
}

} // namespace

class TestAgent : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir { QStringLiteral(DL_TEST_TMP "/agent-XXXXXX") };
    Agent m_agent;
    std::string m_model; // tiny.cfg, written into m_dir
    std::string m_sha; // the model, uploaded once

    // A good client is still served: it connects, sees the model and runs it once.
    void stillServes()
    {
        if (!m_agent.running()) qWarning("the agent ended; its log:\n%s", m_agent.log().right(3000).constData());
        QVERIFY(m_agent.running());
        auto c = m_agent.client("good");
        QVERIFY(c);
        auto out = c->run(runRequest(m_sha, 1), {});
        QVERIFY2(out.ok(), out.ok() ? "" : out.error().message.c_str());
        QCOMPARE(out->value("status", std::string()), std::string("ok"));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_model = m_dir.filePath(QStringLiteral("tiny.cfg")).toStdString();
        {
            std::ofstream f(m_model);
            f << kTinyCfg;
        }
        QVERIFY(m_agent.start(m_dir.filePath(QStringLiteral("state"))));
        auto c = m_agent.client();
        QVERIFY(c);
        QCOMPARE(c->welcome().protocol, kProtocolVersion);
        QVERIFY(c->welcome().device.contains("cpu"));
        QVERIFY(c->welcome().device.contains("pack_disk"));
        QVERIFY(c->welcome().capabilities["backends"].size() >= 1);
        auto sha = c->ensureFile(m_model, "cfg");
        QVERIFY2(sha.ok(), sha.ok() ? "" : sha.error().message.c_str());
        m_sha = *sha;
        // Files made 0600 in a 0700 directory.
        const std::string token = m_dir.filePath(QStringLiteral("state/token")).toStdString();
        struct stat st
        {
        };
        QCOMPARE(::stat(token.c_str(), &st), 0);
        QCOMPARE(st.st_mode & 0777, 0600u);
    }

    void aRunIsFollowedLiveAndRecordedOnTheBoard()
    {
        auto c = m_agent.client();
        QVERIFY(c);
        int batches = 0;
        size_t events = 0;
        bool started = false;
        std::vector<std::pair<int, double>> latencies;
        RunCallbacks cb;
        cb.started = [&](const RemoteSetup& s) {
            started = true;
            QCOMPARE(s.setup.layerNames.size(), kLayers);
            QVERIFY(s.setup.modelPath.empty()); // board paths stay on the board
        };
        cb.events = [&](LiveBatch&& b) {
            ++batches;
            events += b.events.size();
            latencies.insert(latencies.end(), b.latencies.begin(), b.latencies.end());
            QVERIFY(!b.rss.empty());
        };
        QElapsedTimer t;
        t.start();
        auto out = c->run(runRequest(m_sha, 4), cb);
        const double seconds = static_cast<double>(t.elapsed()) / 1000.0;
        QVERIFY2(out.ok(), out.ok() ? "" : out.error().message.c_str());
        QCOMPARE(out->value("status", std::string()), std::string("ok"));
        QVERIFY(started);
        QVERIFY(batches >= 1);
        // At most ~30 batches a second (one every 33 ms; the last one may come early, at the run's end).
        qInfo("%d batches in %.2f s", batches, seconds);
        QVERIFY2(batches <= 30 * seconds + 2, qPrintable(QString::number(batches)));
        QVERIFY(events > kLayers * 4);
        QCOMPARE(latencies.size(), size_t(4));
        const std::string uuid = out->value("uuid", std::string());
        QVERIFY(store::isRunUuid(uuid));
        QCOMPARE((*out)["report"]["iterations"].get<int>(), 4);
        // The board's store has it, and the export travels whole.
        auto list = c->listRuns();
        QVERIFY(list.ok());
        QVERIFY(std::any_of(list->runs.begin(), list->runs.end(), [&](const Json& r) { return r["uuid"] == uuid; }));
        auto text = c->fetchRun(uuid);
        QVERIFY2(text.ok(), text.ok() ? "" : text.error().message.c_str());
        auto run = store::runFromJson(*text);
        QVERIFY(run.ok());
        QCOMPARE(run->uuid, uuid);
        QCOMPARE(run->iterations, 4);
        QVERIFY(!run->events.empty());
        QCOMPARE(run->model.name, std::string("tiny.cfg"));
        // The board's identity travels with it.
        QCOMPARE(run->device.cpu, c->welcome().device["cpu"].get<std::string>());
    }

    void infoIsPlannedOnTheBoard()
    {
        auto c = m_agent.client();
        QVERIFY(c);
        auto info = c->info({ { "model", m_sha } });
        QVERIFY2(info.ok(), info.ok() ? "" : info.error().message.c_str());
        QCOMPARE((*info)["layers"].size(), kLayers);
        QCOMPARE((*info)["format"].get<std::string>(), std::string("darknet"));
        auto missing = c->info({ { "model", std::string(64, 'e') } });
        QVERIFY(!missing.ok());
        QVERIFY2(missing.error().message.find("upload it first") != std::string::npos, missing.error().message.c_str());
    }

    void wrongTokenIsRefusedAndSlowed()
    {
        const std::string wrong(64, 'a');
        QElapsedTimer t;
        qint64 last = 0;
        for (int i = 0; i < 3; ++i) {
            t.restart();
            auto c = AgentClient::connect(m_agent.address(), m_agent.pairing().fingerprint, wrong, "bad");
            last = t.elapsed();
            QVERIFY(!c.ok());
            QVERIFY2(c.error().message.find("refused the token") != std::string::npos, c.error().message.c_str());
        }
        // The third failure from this address waited (250 ms, then 500 ms) before it was answered.
        QVERIFY2(last >= 450, qPrintable(QString::number(last)));
        stillServes(); // and a success clears the count
        t.restart();
        auto again
            = AgentClient::connect(m_agent.address(), m_agent.pairing().fingerprint, m_agent.pairing().token, "x");
        QVERIFY(again.ok());
    }

    void wrongFingerprintIsRefused()
    {
        const std::string other = "00:" + m_agent.pairing().fingerprint.substr(3);
        auto c = AgentClient::connect(m_agent.address(), other, m_agent.pairing().token, "pinned");
        QVERIFY(!c.ok());
        QVERIFY2(c.error().message.find("not the one paired with") != std::string::npos, c.error().message.c_str());
        stillServes();
    }

    void plaintextClientIsRefused()
    {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a {};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(m_agent.port()));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        QCOMPARE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        const char hello[] = "GET / HTTP/1.0\r\n\r\n";
        QVERIFY(::write(fd, hello, sizeof hello - 1) > 0);
        char buf[256];
        timeval tv { 6, 0 };
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0) { }
        // Closed by the agent (a reset, with the client's bytes unread), not timed out.
        QVERIFY2(n == 0 || (n < 0 && errno == ECONNRESET), std::strerror(errno));
        ::close(fd);
        stillServes();
    }

    void oldProtocolVersionIsToldBothVersions()
    {
        auto c = connectTls(m_agent.address(), m_agent.pairing().fingerprint, 5000);
        QVERIFY(c.ok());
        QVERIFY((*c)->send(MessageType::Hello, { { "protocol", 0 }, { "client", "old" } }).ok());
        auto f = (*c)->receive(5000);
        QVERIFY(f.ok());
        QCOMPARE(f->type, MessageType::Error);
        const std::string m = f->body.value("message", std::string());
        QVERIFY2(m.find("version 1") != std::string::npos && m.find("version 0") != std::string::npos, m.c_str());
        stillServes();
    }

    void oversizedLengthPrefixClosesThatConnectionOnly()
    {
        auto c = rawSession(m_agent);
        QVERIFY(c);
        std::string bytes = { '\xff', '\xff', '\xff', '\xf0', '\x00', '\x1e' }; // 4 GiB of "run"
        QVERIFY(c->sendBytes(bytes).ok());
        std::string error;
        QVERIFY(closedWithin(*c, 5000, &error));
        QVERIFY2(error.find("limit") != std::string::npos || error.find("above") != std::string::npos, error.c_str());
        stillServes();
    }

    // Fields of another type than the protocol's are refused with an error frame, and the connection goes on (a
    // boolean sha256 once took the agent down: nlohmann throws on it).
    void wrongTypedFieldsAreRefused()
    {
        auto c = rawSession(m_agent);
        QVERIFY(c);
        const std::pair<MessageType, Json> requests[] = { { MessageType::HasModel, { { "sha256", true } } },
            { MessageType::UploadChunk, { { "sha256", 5 }, { "kind", "cfg" } } },
            { MessageType::FetchRun, { { "uuid", 7 } } }, { MessageType::Stop, { { "run", "x" } } },
            { MessageType::Watch, { { "run", -1 } } }, { MessageType::ListRuns, { { "after_id", "z" } } },
            { MessageType::Info, { { "model", m_sha }, { "split_bytes", "big" } } },
            { MessageType::Run, { { "model", m_sha }, { "iterations", "many" } } },
            { MessageType::SaveConfig, { { "name", false }, { "config", 1 } } } };
        for (const auto& [type, body] : requests) {
            QVERIFY(c->send(type, body).ok());
            std::string error;
            for (int i = 0; i < 20 && error.empty(); ++i) {
                auto f = c->receive(5000);
                QVERIFY2(f.ok(), messageTypeName(type));
                if (f->type == MessageType::Error) error = f->body.value("message", std::string());
            }
            QVERIFY2(!error.empty(), messageTypeName(type));
        }
        stillServes();
    }

    void truncatedFramesAreForgotten()
    {
        {
            auto c = rawSession(m_agent);
            QVERIFY(c);
            auto frame = encodeFrame(MessageType::Run, runRequest(m_sha, 1));
            QVERIFY(frame.ok());
            QVERIFY(c->sendBytes(frame->substr(0, frame->size() / 2)).ok());
        } // gone mid-frame
        {
            auto c = rawSession(m_agent);
            QVERIFY(c);
            QVERIFY(c->sendBytes(std::string("\x00\x00", 2)).ok()); // half a length prefix, then silence
            QVERIFY(closedWithin(*c, 6000)); // the heartbeat's deadline
        }
        stillServes();
    }

    void tenThousandSeededRandomFrames()
    {
        std::mt19937 rng(20261206);
        const std::vector<MessageType> types = { MessageType::Hello, MessageType::HasModel, MessageType::UploadChunk,
            MessageType::Info, MessageType::Run, MessageType::Stop, MessageType::Watch, MessageType::ListRuns,
            MessageType::FetchRun, MessageType::SaveConfig, MessageType::Auth, MessageType::Outcome };
        auto randomJson = [&](auto&& self, int depth) -> Json {
            switch (rng() % (depth > 2 ? 4 : 7)) {
            case 0:
                return static_cast<int64_t>(rng()) - (int64_t(1) << 31);
            case 1:
                return std::string(rng() % 40, static_cast<char>('a' + rng() % 26));
            case 2:
                return rng() % 2 == 0;
            case 3:
                return Json();
            case 4: {
                Json a = Json::array();
                for (unsigned i = rng() % 5; i > 0; --i)
                    a.push_back(self(self, depth + 1));
                return a;
            }
            default: {
                static const char* keys[] = { "model", "run", "sha256", "offset", "size", "kind", "data", "uuid",
                    "name", "config", "iterations", "arch", "after_id", "protocol", "read" };
                Json o = Json::object();
                for (unsigned i = rng() % 5; i > 0; --i)
                    o[keys[rng() % std::size(keys)]] = self(self, depth + 1);
                return o;
            }
            }
        };
        int sent = 0, connections = 0, closed = 0;
        std::unique_ptr<TlsConnection> c;
        while (sent < 10000) {
            if (!c) {
                c = rawSession(m_agent);
                QVERIFY(c);
                ++connections;
            }
            std::string bytes;
            const unsigned kind = rng() % 10;
            if (kind < 7) { // a well-framed body of random content
                auto f = encodeFrame(types[rng() % types.size()], randomJson(randomJson, 0));
                QVERIFY(f.ok());
                bytes = *f;
            } else if (kind < 9) { // a well-framed frame with its body's bytes flipped
                auto f = encodeFrame(types[rng() % types.size()], randomJson(randomJson, 0));
                bytes = *f;
                for (int i = 0; i < 3; ++i)
                    bytes[kFrameHeaderBytes + rng() % std::max<size_t>(1, bytes.size() - kFrameHeaderBytes)]
                        = static_cast<char>(rng());
            } else { // bytes
                bytes.resize(rng() % 64 + 6);
                for (auto& ch : bytes)
                    ch = static_cast<char>(rng());
            }
            ++sent;
            if (!c->sendBytes(bytes).ok()) {
                c.reset();
                ++closed;
                continue;
            }
            // Drain what came back; a connection the agent closed is replaced.
            std::vector<Frame> frames;
            if (sent % 16 == 0 && !c->readAvailable(frames).ok()) {
                c.reset();
                ++closed;
            }
        }
        qInfo("10000 frames over %d connections, %d closed by the agent", connections, closed);
        QVERIFY(closed > 0);
        c.reset();
        stillServes();
    }

    void aClientThatNeverReadsHoldsUpNobody()
    {
        const long before = m_agent.rssKb();
        auto stalled = rawSession(m_agent);
        QVERIFY(stalled);
        // It starts a run that goes on until stopped, asks for run lists, sends heartbeats, and never reads a byte.
        QVERIFY(stalled->send(MessageType::Run, runRequest(m_sha, 1, true)).ok());
        std::atomic<bool> done { false };
        std::thread beats([&] {
            while (!done) {
                (void)stalled->send(MessageType::Heartbeat, Json::object());
                (void)stalled->send(MessageType::ListRuns, Json::object());
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        });
        // Meanwhile another client is served: its run waits behind the stalled client's, which a third client
        // stops once the wait was said.
        auto c = m_agent.client("patient");
        auto stopper = m_agent.client("stopper");
        QVERIFY(c && stopper);
        int position = -1;
        RunCallbacks cb;
        cb.queued = [&](uint64_t, int p) {
            position = std::max(position, p);
            if (p < 1) return;
            auto list = stopper->listRuns();
            QVERIFY(list.ok());
            for (const auto& r : list->active)
                if (r["state"] == "running") QVERIFY(stopper->stopRun(r["run"].get<uint64_t>()).ok());
        };
        auto out = c->run(runRequest(m_sha, 1), cb);
        done = true;
        beats.join();
        QVERIFY2(out.ok(), out.ok() ? "" : out.error().message.c_str());
        QCOMPARE(out->value("status", std::string()), std::string("ok"));
        QVERIFY(position >= 1); // it was told it waited
        const long after = m_agent.rssKb();
        qInfo("agent RSS %ld kB before the stalled client, %ld kB after its run", before, after);
        QVERIFY2(after - before < 64 * 1024, "the agent's memory grew by more than 64 MiB");
        stalled.reset();
        stillServes();
    }

    // A client that reads only now and then gets the newest events and the count of those it missed; the
    // iterations' latencies all arrive.
    void aSlowClientGetsSummariesAndTheDroppedCount()
    {
        auto slow = rawSession(m_agent);
        QVERIFY(slow);
        QVERIFY(slow->send(MessageType::Run, runRequest(m_sha, 1, true)).ok());
        uint64_t dropped = 0, run = 0;
        size_t events = 0, largest = 0;
        std::set<int> iterations;
        bool finished = false;
        for (int cycle = 0; !finished && cycle < 40; ++cycle) {
            // Alive (a heartbeat every 300 ms), reading nothing for 5 s...
            for (int k = 0; k < 17; ++k) {
                QVERIFY(slow->send(MessageType::Heartbeat, Json::object()).ok());
                std::this_thread::sleep_for(std::chrono::milliseconds(300));
            }
            // ...then taking for a second what has come, acknowledging each batch; after two cycles, stopping it.
            QElapsedTimer burst;
            burst.start();
            while (!finished && burst.elapsed() < 1000) {
                auto f = slow->receive(200);
                if (!f.ok()) break;
                if (f->type == MessageType::RunQueued) run = f->body["run"].get<uint64_t>();
                if (f->type == MessageType::Events) {
                    auto b = batchFromJson(f->body);
                    QVERIFY(b.ok());
                    QVERIFY(slow->send(MessageType::EventsAck, { { "run", f->body["run"] } }).ok());
                    dropped += b->dropped;
                    events += b->events.size();
                    largest = std::max(largest, b->events.size());
                    for (const auto& [it, ms] : b->latencies)
                        iterations.insert(it);
                }
                finished = f->type == MessageType::Outcome;
            }
            if (cycle == 1) QVERIFY(slow->send(MessageType::Stop, { { "run", run } }).ok());
        }
        QVERIFY(finished);
        qInfo("the slow client got %zu events (at most %zu in a batch), %llu dropped, %zu latencies", events, largest,
            static_cast<unsigned long long>(dropped), iterations.size());
        // Every latency arrives, dropped events or not: iterations 0 to the last, none missing.
        QVERIFY(!iterations.empty());
        QCOMPARE(static_cast<size_t>(*iterations.rbegin() + 1), iterations.size());
        QVERIFY(events > 0);
        QVERIFY(largest <= 6000); // a batch never holds more than the cap
        // A batch that came full left events behind, and said how many.
        if (largest == 6000) QVERIFY(dropped > 0);
    }

    // Several clients may watch one run: the second follows the first's run (and stops it) to the same outcome.
    void aSecondClientWatchesTheSameRun()
    {
        auto a = m_agent.client("starts");
        auto b = m_agent.client("watches");
        QVERIFY(a && b);
        std::atomic<bool> started { false };
        Result<Json> first = invalid("not run");
        std::thread runner([&] {
            RunCallbacks cb;
            cb.started = [&](const RemoteSetup&) { started = true; };
            first = a->run(runRequest(m_sha, 1, true), cb);
        });
        while (!started)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        size_t watchedEvents = 0;
        std::atomic<bool> stop { false };
        RunCallbacks cb;
        cb.events = [&](LiveBatch&& batch) {
            watchedEvents += batch.events.size();
            if (batch.iterationsDone >= 3) stop = true;
        };
        auto second = b->watch(0, cb, &stop);
        runner.join();
        QVERIFY2(first.ok(), first.ok() ? "" : first.error().message.c_str());
        QVERIFY2(second.ok(), second.ok() ? "" : second.error().message.c_str());
        QCOMPARE((*second)["uuid"], (*first)["uuid"]);
        QCOMPARE((*first)["status"], Json("ok")); // a continuous run stopped after timed iterations
        QVERIFY(watchedEvents > 0);
        auto none = b->watch(987654, {});
        QVERIFY(!none.ok());
        QVERIFY2(none.error().message.find("no run 987654") != std::string::npos, none.error().message.c_str());
    }

    // dlayer serve --rotate-token: the old token is refused from then on, the new one taken, the pin unchanged.
    void rotatingTheTokenRefusesTheOldOne()
    {
        QTemporaryDir dir(QStringLiteral(DL_TEST_TMP "/agent-rotate-XXXXXX"));
        const QString state = dir.filePath(QStringLiteral("state"));
        Pairing before;
        {
            Agent a;
            QVERIFY(a.start(state));
            before = a.pairing();
        }
        QProcess rotate;
        rotate.start(dlayerProgram(),
            dlayerArguments()
                + QStringList {
                    QStringLiteral("serve"), QStringLiteral("--state"), state, QStringLiteral("--rotate-token") });
        QVERIFY(rotate.waitForFinished(60000));
        QCOMPARE(rotate.exitCode(), 0);
        QVERIFY(rotate.readAllStandardOutput().contains("dlayer-agent "));
        Agent after;
        QVERIFY(after.start(state));
        QCOMPARE(after.pairing().fingerprint, before.fingerprint);
        QVERIFY(after.pairing().token != before.token);
        auto old = AgentClient::connect(after.address(), before.fingerprint, before.token, "old");
        QVERIFY(!old.ok());
        QVERIFY2(old.error().message.find("rotated") != std::string::npos, old.error().message.c_str());
        QVERIFY(after.client("new"));
    }

    void eightClientsAtOnce()
    {
        std::vector<std::thread> threads;
        std::atomic<int> ok { 0 }, queuedBehind { 0 };
        std::vector<std::string> errors(8);
        for (int i = 0; i < 8; ++i)
            threads.emplace_back([&, i] {
                auto c = AgentClient::connect(m_agent.address(), m_agent.pairing().fingerprint, m_agent.pairing().token,
                    "client " + std::to_string(i));
                if (!c.ok()) {
                    errors[static_cast<size_t>(i)] = c.error().message;
                    return;
                }
                RunCallbacks cb;
                cb.queued = [&](uint64_t, int p) {
                    if (p > 0) ++queuedBehind;
                };
                auto out = (*c)->run(runRequest(m_sha, 2), cb);
                if (out.ok() && out->value("status", std::string()) == "ok")
                    ++ok;
                else
                    errors[static_cast<size_t>(i)]
                        = out.ok() ? out->value("error", std::string()) : out.error().message;
            });
        for (auto& t : threads)
            t.join();
        for (const auto& e : errors)
            if (!e.empty()) qWarning("%s", e.c_str());
        QCOMPARE(ok.load(), 8);
        QVERIFY(queuedBehind.load() > 0); // one engine: the others were told their place
    }

    void aRunWhoseClientLeftIsFoundOnReconnect()
    {
        std::string uuid;
        // A client that leaves without stopping: a second run, connection dropped after its start.
        {
            auto raw = rawSession(m_agent);
            QVERIFY(raw);
            QVERIFY(raw->send(MessageType::Run, runRequest(m_sha, 6)).ok());
            bool started = false;
            for (int i = 0; i < 100 && !started; ++i) {
                auto f = raw->receive(5000);
                QVERIFY(f.ok());
                started = f->type == MessageType::RunStarted;
            }
            QVERIFY(started);
        } // gone mid-run
        auto c = m_agent.client("back");
        QVERIFY(c);
        // The run goes on without its client and is recorded; it is in the list once it ended.
        QElapsedTimer t;
        t.start();
        bool found = false;
        while (!found && t.elapsed() < 60000) {
            auto list = c->listRuns();
            QVERIFY(list.ok());
            for (const auto& r : list->runs)
                if (r["iterations"] == 6 && r["status"] == "ok") {
                    found = true;
                    uuid = r["uuid"].get<std::string>();
                }
            if (!found) QTest::qWait(200);
        }
        QVERIFY(found);
        auto text = c->fetchRun(uuid);
        QVERIFY(text.ok());
    }

    void uploadsResumeAndCheckTheirHash()
    {
        QFile model(QString::fromUtf8(DL_SOURCE_DIR "/resources/models/darknet/yolov4.cfg"));
        QVERIFY(model.open(QIODevice::ReadOnly));
        const QByteArray bytes = model.readAll();
        const std::string sha = Sha256::hexOf(bytes.constData(), static_cast<size_t>(bytes.size()));
        auto chunk = [&](TlsConnection& c, int from, int n, const std::string& name) {
            std::vector<uint8_t> data(bytes.begin() + from, bytes.begin() + from + n);
            return c.send(MessageType::UploadChunk,
                { { "sha256", name }, { "kind", "cfg" }, { "size", bytes.size() }, { "offset", from },
                    { "data", Json::binary(data) } });
        };
        {
            auto raw = rawSession(m_agent);
            QVERIFY(raw);
            QVERIFY(chunk(*raw, 0, 5000, sha).ok());
            auto ack = raw->receive(5000);
            while (ack.ok() && ack->type == MessageType::Heartbeat)
                ack = raw->receive(5000);
            QVERIFY(ack.ok());
            QCOMPARE(ack->type, MessageType::ModelState);
            QCOMPARE(ack->body["bytes"].get<uint64_t>(), uint64_t(5000));
        } // gone mid-upload
        auto c = m_agent.client();
        QVERIFY(c);
        uint64_t firstReport = 0;
        auto done
            = c->ensureFile(DL_SOURCE_DIR "/resources/models/darknet/yolov4.cfg", "cfg", [&](uint64_t sent, uint64_t) {
                  if (!firstReport) firstReport = sent;
              });
        QVERIFY2(done.ok(), done.ok() ? "" : done.error().message.c_str());
        QCOMPARE(*done, sha);
        QCOMPARE(firstReport, uint64_t(bytes.size())); // one chunk from byte 5000 finished it
        // Content that is not what its name says is dropped with a message.
        auto raw = rawSession(m_agent);
        QVERIFY(raw);
        const std::string liar(64, 'b');
        QVERIFY(chunk(*raw, 0, static_cast<int>(bytes.size()), liar).ok());
        std::string error;
        for (int i = 0; i < 20 && error.empty(); ++i) {
            auto f = raw->receive(5000);
            QVERIFY(f.ok());
            if (f->type == MessageType::Error) error = f->body.value("message", std::string());
        }
        QVERIFY2(error.find("not " + liar.substr(0, 16)) != std::string::npos, error.c_str());
        QVERIFY(!QFile::exists(
            m_agent.state() + QStringLiteral("/models/") + QString::fromStdString(liar) + QStringLiteral(".cfg.part")));
        // A name that is not a sha256 never reaches the file system.
        QVERIFY(chunk(*raw, 0, 10, "../../escape").ok());
        error.clear();
        for (int i = 0; i < 20 && error.empty(); ++i) {
            auto f = raw->receive(5000);
            QVERIFY(f.ok());
            if (f->type == MessageType::Error) error = f->body.value("message", std::string());
        }
        QVERIFY2(error.find("sha256") != std::string::npos, error.c_str());
    }

    void theQuotaIsRefusedClearly()
    {
        QTemporaryDir dir(QStringLiteral(DL_TEST_TMP "/agent-quota-XXXXXX"));
        Agent small;
        QVERIFY(small.start(
            dir.filePath(QStringLiteral("state")), { QStringLiteral("--max-model-bytes"), QStringLiteral("8K") }));
        auto c = small.client();
        QVERIFY(c);
        auto refused = c->ensureFile(DL_SOURCE_DIR "/resources/models/darknet/yolov4.cfg", "cfg"); // 12 KB
        QVERIFY(!refused.ok());
        QVERIFY2(refused.error().message.find("quota") != std::string::npos
                && refused.error().message.find("--max-model-bytes") != std::string::npos,
            refused.error().message.c_str());
        auto fits = c->ensureFile(DL_SOURCE_DIR "/resources/models/darknet/yolov3-tiny.cfg", "cfg"); // 2 KB
        QVERIFY2(fits.ok(), fits.ok() ? "" : fits.error().message.c_str());
    }

    void aKilledAgentIsSeenWithinTwoSecondsAndItsStoreIsWhole()
    {
        QTemporaryDir dir(QStringLiteral(DL_TEST_TMP "/agent-kill-XXXXXX"));
        Agent victim;
        QVERIFY(victim.start(dir.filePath(QStringLiteral("state"))));
        auto c = victim.client();
        QVERIFY(c);
        auto sha = c->ensureFile(m_model, "cfg");
        QVERIFY(sha.ok());
        QVERIFY(c->run(runRequest(*sha, 2), {}).ok()); // a run in the store before
        QElapsedTimer sinceKill;
        bool killed = false;
        RunCallbacks cb;
        cb.events = [&](LiveBatch&& b) {
            if (!killed && b.iterationsDone >= 2) {
                killed = true;
                victim.kill();
                sinceKill.start();
            }
        };
        auto out = c->run(runRequest(*sha, 1, true), cb);
        QVERIFY(killed);
        QVERIFY(!out.ok());
        qInfo("the client saw the killed agent after %lld ms: %s", static_cast<long long>(sinceKill.elapsed()),
            out.error().message.c_str());
        QVERIFY2(sinceKill.elapsed() < 3500, qPrintable(QString::number(sinceKill.elapsed())));

        // A board that freezes (or a link that drops without a word) closes nothing: the heartbeat's silence tells.
        Agent frozen;
        QVERIFY(frozen.start(dir.filePath(QStringLiteral("state")))); // the same state and store, after the kill
        c = frozen.client();
        QVERIFY(c);
        QElapsedTimer sinceStop;
        bool stopped = false;
        cb.events = [&](LiveBatch&& b) {
            if (!stopped && b.iterationsDone >= 2) {
                stopped = true;
                frozen.signal(SIGSTOP);
                sinceStop.start();
            }
        };
        out = c->run(runRequest(*sha, 1, true), cb);
        if (!stopped) qWarning("running %d: %s", frozen.running(), frozen.log().constData());
        QVERIFY2(stopped, out.ok() ? out->dump().c_str() : out.error().message.c_str());
        QVERIFY(!out.ok());
        const qint64 seen = sinceStop.elapsed();
        qInfo("the client saw the frozen agent after %lld ms: %s", static_cast<long long>(seen),
            out.error().message.c_str());
        QVERIFY2(
            out.error().message.find("link or the agent is down") != std::string::npos, out.error().message.c_str());
        QVERIFY2(seen < 3500, qPrintable(QString::number(seen)));
        frozen.kill(); // SIGKILL, frozen mid-run
        auto store = store::RunStore::open(dir.filePath(QStringLiteral("state/runs.db")).toStdString());
        QVERIFY(store.ok());
        QCOMPARE((*store)->integrityCheck().value(), std::string("ok"));
        QCOMPARE((*store)->runCount().value(), int64_t(1)); // the run before; neither killed run
    }

    void theCommandLineRunsOnTheBoardAndSyncs()
    {
        const QString pairFile = m_dir.filePath(QStringLiteral("pairing"));
        {
            QFile f(pairFile);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray::fromStdString(m_agent.pairingLine() + "\n"));
        }
        const QString address = QString::fromStdString(m_agent.address());
        QProcess p;
        p.start(dlayerProgram(),
            dlayerArguments()
                + QStringList { QStringLiteral("run"), QString::fromStdString(m_model), QStringLiteral("--agent"),
                    address, QStringLiteral("--token-file"), pairFile, QStringLiteral("--arch"),
                    QStringLiteral("async"), QStringLiteral("--iterations"), QStringLiteral("2"),
                    QStringLiteral("--warmup"), QStringLiteral("0"), QStringLiteral("--threads"), QStringLiteral("1"),
                    QStringLiteral("--json") });
        QVERIFY(p.waitForFinished(120000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        const QJsonObject remote = QJsonDocument::fromJson(p.readAllStandardOutput()).object();
        QCOMPARE(remote.value(QStringLiteral("arch")).toString(), QStringLiteral("async"));
        QCOMPARE(remote.value(QStringLiteral("iterations")).toInt(), 2);
        QVERIFY(remote.value(QStringLiteral("recorded")).toObject().contains(QStringLiteral("uuid")));
        // The same report a local run prints: every key of the local one is there.
        QProcess local;
        local.start(dlayerProgram(),
            dlayerArguments()
                + QStringList { QStringLiteral("run"), QString::fromStdString(m_model), QStringLiteral("--arch"),
                    QStringLiteral("async"), QStringLiteral("--iterations"), QStringLiteral("2"),
                    QStringLiteral("--warmup"), QStringLiteral("0"), QStringLiteral("--threads"), QStringLiteral("1"),
                    QStringLiteral("--json"), QStringLiteral("--pack-dir"),
                    m_dir.filePath(QStringLiteral("local-packs")) });
        QVERIFY(local.waitForFinished(120000));
        QCOMPARE(local.exitCode(), 0);
        const QJsonObject here = QJsonDocument::fromJson(local.readAllStandardOutput()).object();
        for (const QString& key : here.keys())
            QVERIFY2(remote.contains(key), qPrintable(key));

        // runs --agent sync: every board run into a local store once.
        const QString db = m_dir.filePath(QStringLiteral("synced.db"));
        auto sync = [&] {
            QProcess s;
            s.start(dlayerProgram(),
                dlayerArguments()
                    + QStringList { QStringLiteral("runs"), QStringLiteral("--agent"), address,
                        QStringLiteral("--token-file"), pairFile, QStringLiteral("sync"), db,
                        QStringLiteral("--json") });
            s.waitForFinished(120000);
            return QJsonDocument::fromJson(s.readAllStandardOutput()).object();
        };
        const QJsonObject first = sync();
        QVERIFY(first.value(QStringLiteral("fetched")).toInt() >= 5);
        QCOMPARE(first.value(QStringLiteral("already_there")).toInt(), 0);
        const QJsonObject second = sync();
        QCOMPARE(second.value(QStringLiteral("fetched")).toInt(), 0);
        QCOMPARE(second.value(QStringLiteral("already_there")).toInt(), first.value(QStringLiteral("fetched")).toInt());
        auto store = store::RunStore::open(db.toStdString());
        QVERIFY(store.ok());
        auto uuid = remote.value(QStringLiteral("recorded")).toObject().value(QStringLiteral("uuid")).toString();
        QVERIFY((*store)->runIdByUuid(uuid.toStdString()).value() > 0);
    }

    void cleanupTestCase()
    {
        QVERIFY(m_agent.running()); // nothing above brought it down
        m_agent.stop();
    }
};

QTEST_GUILESS_MAIN(TestAgent)
#include "test_agent.moc"
