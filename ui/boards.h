#pragma once

// The boards the studio knows: each one's address and pinned certificate fingerprint in QSettings ("boards"), its
// token in the keyring (boardkeyring.h). Connecting is asynchronous and pins as SSH does: a board met for the first
// time shows its fingerprint to confirm; a board whose certificate changed is refused by the connection itself, with
// a message that says what to check.

#include "remotesession.h"

#include <QDialog>
#include <QList>
#include <QString>

#include <functional>

class QComboBox;
class QLabel;
class QLineEdit;

namespace dl::ui {

class BoardKeyring;

struct KnownBoard
{
    QString hostPort;
    QString fingerprint;
    QString host, cpu, backend; // as the board last said
};

// What the user typed: a pairing line ("dlayer-agent HOST:PORT sha256=FP token=T", which names the board itself), a
// bare token for `hostPort`, or nothing (the remembered board's token, from the keyring). Empty hostPort and an
// error message when it is none of these.
struct BoardInput
{
    BoardAddress address;
    bool needsStoredToken = false; // nothing typed: the keyring has the token
    QString error;
};
BoardInput parseBoardInput(const QString& hostPort, const QString& text, const QList<KnownBoard>& known);

class Boards : public QObject
{
    Q_OBJECT
public:
    explicit Boards(QObject* parent = nullptr);

    QList<KnownBoard> known() const;
    // Drops the board's pinned fingerprint (its token stays in the keyring until it is paired again).
    void forget(const QString& hostPort);
    BoardKeyring* keyring() const { return m_keyring; }
    // Asked before a board is trusted the first time (default: a dialog showing the fingerprint); false: not trusted.
    void setConfirmFingerprint(std::function<bool(const QString& hostPort, const QString& fingerprint)> f)
    {
        m_confirm = std::move(f);
    }
    void setStorePath(const QString& path) { m_storePath = path; }

    // Connects to the board in `input` (its token from the keyring when none was typed); ready() or failed() follows.
    void connectTo(const BoardInput& input);

Q_SIGNALS:
    // Connected and trusted: the session is the caller's to take (it has no parent).
    void ready(dl::ui::RemoteSession* session);
    void failed(const QString& message);
    // The token went to the fallback file rather than the keychain (or could not be kept): say so.
    void warning(const QString& message);

private:
    void open(const BoardAddress& address);
    void remember(const BoardInfo& info);
    void save(const QList<KnownBoard>& boards);

    BoardKeyring* m_keyring;
    QString m_storePath;
    std::function<bool(const QString&, const QString&)> m_confirm;
};

// File → Connect to Board…: the board (remembered ones to pick) and the pairing line or token.
class ConnectDialog : public QDialog
{
    Q_OBJECT
public:
    ConnectDialog(Boards* boards, QWidget* parent = nullptr);
    BoardInput input() const;

private:
    QComboBox* m_board;
    QLineEdit* m_secret;
    QLabel* m_error;
    QList<KnownBoard> m_known;
};

} // namespace dl::ui
