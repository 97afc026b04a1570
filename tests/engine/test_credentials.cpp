// The board agent's credentials in a real state directory: made once with private modes, reused, the token rotated
// alone, damage named; the fingerprint and the token's proof checked against the openssl command line, which we did
// not write.

#include "remote/credentials.h"

#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>

using namespace dl;
using namespace dl::remote;

namespace {

int modeOf(const QString& path)
{
    struct stat st
    {
    };
    return ::stat(path.toLocal8Bit().constData(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

QString openssl(const QStringList& args, const QByteArray& input = {})
{
    QProcess p;
    p.start(QStringLiteral("openssl"), args);
    if (!input.isEmpty()) p.write(input);
    p.closeWriteChannel();
    p.waitForFinished(30000);
    return QString::fromUtf8(p.readAllStandardOutput()).trimmed();
}

} // namespace

class TestCredentials : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void madeOnceReusedAndRotated()
    {
        // scripts/test-arm64.sh runs this under qemu-user, which cannot start another program here (no binfmt_misc).
        if (qEnvironmentVariableIsSet("DL_EMULATED")) QSKIP("under qemu-user: this test starts another program");
        const QString state = m_dir.filePath(QStringLiteral("state"));
        bool created = false;
        auto first = loadOrCreateCredentials(state.toStdString(), &created);
        QVERIFY2(first.ok(), first.ok() ? "" : first.error().message.c_str());
        QVERIFY(created);
        QCOMPARE(modeOf(state), 0700);
        for (const char* f : { "agent.crt", "agent.key", "token" })
            QCOMPARE(modeOf(state + QLatin1Char('/') + QLatin1String(f)), 0600);
        QCOMPARE(first->token.size(), size_t(64));
        QCOMPARE(first->fingerprint.size(), size_t(95)); // 32 bytes as AB:CD:...

        // The fingerprint is what openssl says of the certificate file.
        const QString fp = openssl({ QStringLiteral("x509"), QStringLiteral("-noout"), QStringLiteral("-fingerprint"),
            QStringLiteral("-sha256"), QStringLiteral("-in"), state + QStringLiteral("/agent.crt") });
        QCOMPARE(fp.section(QLatin1Char('='), 1), QString::fromStdString(first->fingerprint));
        // And the key is the certificate's.
        const QString certKey = openssl({ QStringLiteral("x509"), QStringLiteral("-noout"), QStringLiteral("-pubkey"),
            QStringLiteral("-in"), state + QStringLiteral("/agent.crt") });
        const QString keyKey = openssl({ QStringLiteral("pkey"), QStringLiteral("-pubout"), QStringLiteral("-in"),
            state + QStringLiteral("/agent.key") });
        QVERIFY(!certKey.isEmpty());
        QCOMPARE(certKey, keyKey);

        auto again = loadOrCreateCredentials(state.toStdString(), &created);
        QVERIFY(again.ok());
        QVERIFY(!created);
        QCOMPARE(again->fingerprint, first->fingerprint);
        QCOMPARE(again->token, first->token);

        auto rotated = rotateToken(state.toStdString());
        QVERIFY(rotated.ok());
        QVERIFY(rotated->token != first->token);
        QCOMPARE(rotated->fingerprint, first->fingerprint);
        QCOMPARE(modeOf(state + QStringLiteral("/token")), 0600);

        // The pairing line carries both, and reads back.
        const std::string line = pairingLine("127.0.0.1:7421", *rotated);
        auto pairing = parsePairingLine(line);
        QVERIFY2(pairing.ok(), line.c_str());
        QCOMPARE(pairing->hostPort, std::string("127.0.0.1:7421"));
        QCOMPARE(pairing->fingerprint, rotated->fingerprint);
        QCOMPARE(pairing->token, rotated->token);
        QVERIFY(!parsePairingLine("dlayer-agent host:1 sha256=AB token=00").ok());
        QVERIFY(!parsePairingLine("ssh host").ok());
    }

    void damageIsNamed()
    {
        const QString state = m_dir.filePath(QStringLiteral("damaged"));
        QVERIFY(loadOrCreateCredentials(state.toStdString()).ok());
        const QString key = state + QStringLiteral("/agent.key");

        QFile::setPermissions(key, QFile::ReadOwner | QFile::WriteOwner | QFile::ReadOther);
        auto r = loadOrCreateCredentials(state.toStdString());
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("may be read by others") != std::string::npos, r.error().message.c_str());
        QFile::setPermissions(key, QFile::ReadOwner | QFile::WriteOwner);

        {
            QFile f(key);
            QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
            f.write("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
        }
        r = loadOrCreateCredentials(state.toStdString());
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, ErrorCode::Corrupt);
        QVERIFY2(r.error().message.find("agent.key") != std::string::npos, r.error().message.c_str());

        // Another certificate's key is not this one's.
        const QString other = m_dir.filePath(QStringLiteral("other"));
        QVERIFY(loadOrCreateCredentials(other.toStdString()).ok());
        QFile::remove(key);
        QVERIFY(QFile::copy(other + QStringLiteral("/agent.key"), key));
        r = loadOrCreateCredentials(state.toStdString());
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("is not the key of") != std::string::npos, r.error().message.c_str());

        // A key without its certificate is not silently replaced.
        QFile::remove(state + QStringLiteral("/agent.crt"));
        r = loadOrCreateCredentials(state.toStdString());
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("without its certificate") != std::string::npos, r.error().message.c_str());
    }

    // The client's proof is HMAC-SHA256 of the nonce under the token, as openssl computes it; secrets compare equal
    // only when equal.
    void theTokensProofIsHmacSha256()
    {
        // scripts/test-arm64.sh runs this under qemu-user, which cannot start another program here (no binfmt_misc).
        if (qEnvironmentVariableIsSet("DL_EMULATED")) QSKIP("under qemu-user: this test starts another program");
        const std::string token = randomHex(32), nonce = randomHex(16);
        QCOMPARE(token.size(), size_t(64));
        QVERIFY(randomHex(32) != token);
        const QString expected = openssl({ QStringLiteral("dgst"), QStringLiteral("-sha256"), QStringLiteral("-hmac"),
                                             QString::fromStdString(token) },
            QByteArray::fromStdString(nonce));
        QCOMPARE(expected.section(QLatin1Char(' '), -1), QString::fromStdString(tokenProof(token, nonce)));
        QVERIFY(sameSecret(token, token));
        std::string other = token;
        other.back() = other.back() == '0' ? '1' : '0';
        QVERIFY(!sameSecret(token, other));
        QVERIFY(!sameSecret(token, token.substr(1)));
    }
};

QTEST_GUILESS_MAIN(TestCredentials)
#include "test_credentials.moc"
