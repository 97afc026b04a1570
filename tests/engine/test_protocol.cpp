// The board protocol's framing against hostile bytes: frames split anywhere, oversized length prefixes refused before
// anything is allocated for them, truncated and malformed bodies, unknown types, caps on strings, arrays and depth, and
// 10,000 seeded random frames that must end as values, never as a crash.

#include "remote/protocol.h"

#include <QTest>

#include <cstring>
#include <random>

using namespace dl;
using namespace dl::remote;

namespace {

std::string frameBytes(uint32_t length, uint16_t type, const std::string& body)
{
    std::string out;
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((length >> shift) & 0xff));
    out.push_back(static_cast<char>(type >> 8));
    out.push_back(static_cast<char>(type & 0xff));
    return out + body;
}

std::string cborOf(const Json& j)
{
    const std::vector<uint8_t> b = Json::to_cbor(j);
    return std::string(b.begin(), b.end());
}

} // namespace

class TestProtocol : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // Frames come back as sent, whatever the socket's split: byte by byte, or many frames in one read.
    void framesSurviveAnySplit()
    {
        const Json hello = { { "protocol", kProtocolVersion }, { "engine", "0.1.0" }, { "client", "dlstudio" } };
        const Json run = { { "model", std::string(64, 'a') }, { "arch", "two-stage" }, { "budget_bytes", 8 << 20 },
            { "resident", { 1, 5, 7 } } };
        std::string stream;
        for (const auto& [type, body] : { std::pair { MessageType::Hello, hello }, { MessageType::Run, run },
                 { MessageType::Heartbeat, Json::object() } }) {
            auto f = encodeFrame(type, body);
            QVERIFY(f.ok());
            stream += *f;
        }
        for (const size_t step : { size_t(1), size_t(5), size_t(7), stream.size() }) {
            FrameReader reader;
            std::vector<Frame> frames;
            for (size_t at = 0; at < stream.size(); at += step)
                QVERIFY(reader.feed(stream.data() + at, std::min(step, stream.size() - at), frames).ok());
            QCOMPARE(frames.size(), size_t(3));
            QCOMPARE(frames[0].type, MessageType::Hello);
            QVERIFY(frames[0].body == hello);
            QVERIFY(frames[1].body == run);
            QCOMPARE(frames[2].type, MessageType::Heartbeat);
            QCOMPARE(reader.buffered(), size_t(0));
        }
    }

    // A length prefix above the type's limit is refused from the header alone: the reader holds six bytes, not the
    // 4 GiB the prefix claims. An upload chunk may be larger than a control frame, within its own limit.
    void oversizedLengthPrefixesAreRefusedBeforeAllocation()
    {
        FrameReader reader;
        std::vector<Frame> frames;
        const std::string header = frameBytes(0xffffffffu, static_cast<uint16_t>(MessageType::Run), "");
        auto st = reader.feed(header.data(), header.size(), frames);
        QVERIFY(!st.ok());
        QVERIFY2(
            st.error().message.find("above its limit of 1048576") != std::string::npos, st.error().message.c_str());
        QVERIFY(reader.failed());
        QCOMPARE(reader.buffered(), size_t(0));
        // Nothing more is taken from that connection.
        QVERIFY(!reader.feed("x", 1, frames).ok());

        FrameReader chunks;
        const std::string big
            = frameBytes(kMaxControlFrameBytes + 100, static_cast<uint16_t>(MessageType::UploadChunk), "");
        QVERIFY(chunks.feed(big.data(), big.size(), frames).ok()); // waiting for the rest, within the chunk limit
        QVERIFY(chunks.buffered() <= kFrameHeaderBytes);
        FrameReader tooBig;
        const std::string huge
            = frameBytes(kMaxChunkFrameBytes + 1, static_cast<uint16_t>(MessageType::UploadChunk), "");
        QVERIFY(!tooBig.feed(huge.data(), huge.size(), frames).ok());
        // The sender refuses to build an oversized frame at all.
        auto enc = encodeFrame(MessageType::Run, Json { { "blob", std::string(kMaxControlFrameBytes, 'x') } });
        QVERIFY(!enc.ok());
        QVERIFY(frames.empty());
    }

    void malformedFramesAreNamed_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("says");
        const auto run = static_cast<uint16_t>(MessageType::Run);
        auto ba = [](const std::string& s) { return QByteArray(s.data(), static_cast<qsizetype>(s.size())); };
        QTest::newRow("unknown type") << ba(frameBytes(3, 999, "\xa0")) << QStringLiteral("unknown message type 999");
        QTest::newRow("length under the type") << ba(frameBytes(1, run, "")) << QStringLiteral("cannot hold its type");
        QTest::newRow("not CBOR: reserved header") << ba(frameBytes(3, run, "\x1c")) << QStringLiteral("reserved");
        QTest::newRow("string longer than the frame")
            << ba(frameBytes(2 + 5, run, "\x7a\x7f\xff\xff\xff")) << QStringLiteral("bytes, 0 left");
        QTest::newRow("array count above the cap")
            << ba(frameBytes(2 + 5, run, std::string("\x9a\x00\x10\x00\x01", 5))) << QStringLiteral("above the cap");
        QTest::newRow("map count above what is left")
            << ba(frameBytes(2 + 3, run, std::string("\xb9\x01\x00", 3))) << QStringLiteral("items declared");
        QTest::newRow("indefinite length") << ba(frameBytes(2 + 2, run, "\x9f\xff")) << QStringLiteral("indefinite");
        QTest::newRow("two items") << ba(frameBytes(2 + 2, run, "\x01\x02")) << QStringLiteral("after the body");
        QTest::newRow("text above the cap") << ba(frameBytes(2 + cborOf(std::string(kMaxStringBytes + 1, 'a')).size(),
            run, cborOf(std::string(kMaxStringBytes + 1, 'a'))))
                                            << QStringLiteral("above the cap");
        std::string deep(kMaxDepth + 2, '\x81'); // arrays of one array of one array ...
        deep.push_back('\x00');
        QTest::newRow("nested too deep") << ba(frameBytes(static_cast<uint32_t>(2 + deep.size()), run, deep))
                                         << QStringLiteral("nested deeper");
    }
    void malformedFramesAreNamed()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, says);
        FrameReader reader;
        std::vector<Frame> frames;
        auto st = reader.feed(bytes.constData(), static_cast<size_t>(bytes.size()), frames);
        QVERIFY(!st.ok());
        QCOMPARE(st.error().code, ErrorCode::Invalid);
        QVERIFY2(st.error().message.find(says.toStdString()) != std::string::npos, st.error().message.c_str());
        QVERIFY(frames.empty());
    }

    // A truncated frame is not an error yet (the rest may come), and is never delivered half.
    void truncatedFramesWait()
    {
        auto f = encodeFrame(MessageType::Hello, Json { { "protocol", 1 } });
        QVERIFY(f.ok());
        FrameReader reader;
        std::vector<Frame> frames;
        QVERIFY(reader.feed(f->data(), f->size() - 1, frames).ok());
        QVERIFY(frames.empty());
        QCOMPARE(reader.buffered(), f->size() - 1);
        QVERIFY(reader.feed(f->data() + f->size() - 1, 1, frames).ok());
        QCOMPARE(frames.size(), size_t(1));
    }

    // 10,000 seeded random frames (valid headers of every type with random bodies, random lengths, and random bytes
    // spliced into valid frames): each ends as a frame or as an Invalid error, never as a crash, and the reader never
    // holds more than the frame limit.
    void tenThousandRandomFramesEndAsValues()
    {
        std::mt19937_64 rng(20261206);
        const std::vector<uint16_t> types
            = { 1, 2, 3, 4, 5, 6, 10, 11, 12, 20, 21, 30, 31, 32, 33, 34, 35, 40, 41, 42, 43 };
        size_t delivered = 0, refused = 0;
        for (int i = 0; i < 10000; ++i) {
            std::string bytes;
            const int kind = static_cast<int>(rng() % 3);
            if (kind == 0) { // a valid header, a random body
                const size_t n = rng() % 64;
                std::string body(n, '\0');
                for (char& c : body)
                    c = static_cast<char>(rng());
                bytes = frameBytes(static_cast<uint32_t>(2 + n), types[rng() % types.size()], body);
            } else if (kind == 1) { // random bytes altogether
                bytes.resize(rng() % 48);
                for (char& c : bytes)
                    c = static_cast<char>(rng());
            } else { // a valid frame with a few bytes changed
                Json body
                    = { { "i", i }, { "text", std::string(rng() % 40, 't') }, { "list", { 1, 2.5, "x", nullptr } } };
                auto f = encodeFrame(static_cast<MessageType>(types[rng() % types.size()]), body);
                QVERIFY(f.ok());
                bytes = *f;
                for (int k = 0; k < 3; ++k)
                    bytes[rng() % bytes.size()] = static_cast<char>(rng());
            }
            FrameReader reader;
            std::vector<Frame> frames;
            const auto st = reader.feed(bytes.data(), bytes.size(), frames);
            if (!st.ok()) {
                QCOMPARE(st.error().code, ErrorCode::Invalid);
                ++refused;
            }
            delivered += frames.size();
            QVERIFY(reader.buffered() <= 4 + size_t(kMaxChunkFrameBytes));
        }
        // Both outcomes happen: the test reaches past the header checks.
        QVERIFY2(delivered > 100 && refused > 100,
            qPrintable(QStringLiteral("%1 delivered, %2 refused").arg(delivered).arg(refused)));
    }

    void versionsAreCheckedBothWays()
    {
        QVERIFY(versionMismatch(kProtocolVersion, "agent").empty());
        const std::string newer = versionMismatch(kProtocolVersion + 1, "agent");
        QVERIFY2(newer.find("version " + std::to_string(kProtocolVersion + 1)) != std::string::npos
                && newer.find("update this build") != std::string::npos,
            newer.c_str());
        const std::string older = versionMismatch(0, "studio");
        QVERIFY2(older.find("update the studio") != std::string::npos, older.c_str());
    }

    // The handshake's bodies, as hostile peers send them: a field missing, of another type, out of range; nothing
    // throws, a hello reads as version 0, a welcome is refused naming what is wrong.
    void handshakeBodiesTrustNothing()
    {
        const std::string nonce(32, 'a');
        QCOMPARE(readHello({ { "protocol", kProtocolVersion }, { "client", "studio 1" } }).protocol, kProtocolVersion);
        QCOMPARE(
            readHello({ { "protocol", kProtocolVersion }, { "client", "studio 1" } }).client, std::string("studio 1"));
        for (const Json& bad :
            { Json(), Json::array({ 1, 2 }), Json { { "protocol", "1" } }, Json { { "protocol", -1 } },
                Json { { "protocol", uint64_t(1) << 40 } }, Json { { "protocol", 1.5 } }, Json { { "client", 7 } } }) {
            const Hello h = readHello(bad);
            QCOMPARE(h.protocol, uint32_t(0));
            QVERIFY(h.client.empty());
        }
        auto ok = readWelcome({ { "protocol", kProtocolVersion }, { "engine", "e" }, { "nonce", nonce },
            { "device", { { "name", "board" } } } });
        QVERIFY2(ok.ok(), ok.ok() ? "" : ok.error().message.c_str());
        QCOMPARE(ok->nonce, nonce);
        QCOMPARE(ok->device["name"].get<std::string>(), std::string("board"));
        struct Bad
        {
            Json body;
            const char* says;
        };
        for (const Bad& b : { Bad { Json(), "no protocol" }, Bad { Json { { "protocol", "1" } }, "no protocol" },
                 Bad { Json { { "protocol", uint64_t(1) << 40 }, { "nonce", nonce } }, "no protocol" },
                 Bad { Json { { "protocol", kProtocolVersion + 1 }, { "nonce", nonce } }, "update this build" },
                 Bad { Json { { "protocol", kProtocolVersion } }, "no challenge" },
                 Bad { Json { { "protocol", kProtocolVersion }, { "nonce", 12 } }, "no challenge" },
                 Bad { Json { { "protocol", kProtocolVersion }, { "nonce", "short" } }, "no challenge" } }) {
            auto r = readWelcome(b.body);
            QVERIFY2(!r.ok(), b.body.dump().c_str());
            QVERIFY2(r.error().message.find(b.says) != std::string::npos, r.error().message.c_str());
        }
    }
};

QTEST_GUILESS_MAIN(TestProtocol)
#include "test_protocol.moc"
