#include "boardkeyring.h"

#include "workerthreads.h"

#include <qt6keychain/keychain.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QStandardPaths>

namespace dl::ui {

namespace {

const QString kService = QStringLiteral("Demand Layering Studio");

QJsonObject readTokens(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

// The file's whole content replaced, 0600 from its first byte (QSaveFile writes beside it and renames).
QString writeTokens(const QString& path, const QJsonObject& tokens)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return f.errorString();
    f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    f.write(QJsonDocument(tokens).toJson(QJsonDocument::Compact));
    if (!f.commit()) return f.errorString();
    return {};
}

} // namespace

BoardKeyring::BoardKeyring(QObject* parent)
    : QObject(parent)
    , m_workers(new WorkerThreads(this))
{
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation);
    m_fallbackPath = QDir(dir.isEmpty() ? QDir::homePath() : dir).filePath(QStringLiteral("boards.tokens"));
}

void BoardKeyring::store(const QString& board, const QString& token)
{
    if (!m_keychain) {
        storeInFile(board, token, tr("the keychain is not used"));
        return;
    }
    auto* job = new QKeychain::WritePasswordJob(kService, this);
    job->setAutoDelete(true);
    job->setKey(board);
    job->setTextData(token);
    connect(job, &QKeychain::Job::finished, this, [this, board, token](QKeychain::Job* j) {
        if (j->error() == QKeychain::NoError)
            Q_EMIT stored(board, QString());
        else
            storeInFile(board, token, j->errorString());
    });
    job->start();
}

void BoardKeyring::storeInFile(const QString& board, const QString& token, const QString& why)
{
    const QString path = m_fallbackPath;
    m_workers->run(
        QStringLiteral("dl-keyring"),
        [path, board, token] {
            QJsonObject tokens = readTokens(path);
            tokens.insert(board, token);
            return writeTokens(path, tokens);
        },
        [this, board, path, why](const QString& error) {
            Q_EMIT stored(board,
                error.isEmpty() ? tr("No system keychain (%1): the board's token is kept in %2, readable by you only")
                                      .arg(why, QDir::toNativeSeparators(path))
                                : tr("The board's token could not be kept: %1").arg(error));
        });
}

void BoardKeyring::load(const QString& board)
{
    if (!m_keychain) {
        loadFromFile(board, QString());
        return;
    }
    auto* job = new QKeychain::ReadPasswordJob(kService, this);
    job->setAutoDelete(true);
    job->setKey(board);
    connect(job, &QKeychain::Job::finished, this, [this, board](QKeychain::Job* j) {
        auto* read = static_cast<QKeychain::ReadPasswordJob*>(j);
        if (j->error() == QKeychain::NoError)
            Q_EMIT loaded(board, read->textData(), QString());
        else
            loadFromFile(board, j->error() == QKeychain::EntryNotFound ? QString() : j->errorString());
    });
    job->start();
}

void BoardKeyring::loadFromFile(const QString& board, const QString& why)
{
    const QString path = m_fallbackPath;
    m_workers->run(
        QStringLiteral("dl-keyring"), [path, board] { return readTokens(path).value(board).toString(); },
        [this, board, why](const QString& token) { Q_EMIT loaded(board, token, token.isEmpty() ? why : QString()); });
}

} // namespace dl::ui
