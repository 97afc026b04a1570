#pragma once

// Where the studio keeps each board's token: the system keychain (QtKeychain: the Secret Service, KWallet, the macOS
// keychain), never QSettings. Where there is no keychain (a session without a keyring daemon, a test), a file of its
// own, mode 0600, in the studio's configuration directory, and a warning that says the token sits there. Everything
// is asynchronous: the keychain answers through its own jobs, the file is read and written off the GUI thread.

#include <QObject>
#include <QString>

namespace dl::ui {

class WorkerThreads;

class BoardKeyring : public QObject
{
    Q_OBJECT
public:
    explicit BoardKeyring(QObject* parent = nullptr);

    // The file the tokens fall back to (default: boards.tokens beside the studio's settings).
    QString fallbackPath() const { return m_fallbackPath; }
    void setFallbackPath(const QString& path) { m_fallbackPath = path; }
    // False: straight to the file (the keychain is not asked).
    void setKeychainEnabled(bool enabled) { m_keychain = enabled; }

    void store(const QString& board, const QString& token);
    void load(const QString& board);

Q_SIGNALS:
    // `warning` is empty when the keychain took it; else why the token went to the file (or what failed).
    void stored(const QString& board, const QString& warning);
    // `token` is empty when there is none; `warning` says why where something failed.
    void loaded(const QString& board, const QString& token, const QString& warning);

private:
    void storeInFile(const QString& board, const QString& token, const QString& why);
    void loadFromFile(const QString& board, const QString& why);

    QString m_fallbackPath;
    bool m_keychain = true;
    WorkerThreads* m_workers;
};

} // namespace dl::ui
