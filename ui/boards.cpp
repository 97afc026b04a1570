#include "boards.h"

#include "boardkeyring.h"

#include "remote/credentials.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>

namespace dl::ui {

namespace {

QSettings* settings()
{
    static QSettings s(QStringLiteral("DemandLayering"), QStringLiteral("Studio"));
    return &s;
}

const QString kBoardsKey = QStringLiteral("boards");

bool isToken(const QString& s)
{
    static const QRegularExpression hex(QStringLiteral("^[0-9a-f]{64}$"));
    return hex.match(s).hasMatch();
}

} // namespace

BoardInput parseBoardInput(const QString& hostPort, const QString& text, const QList<KnownBoard>& known)
{
    BoardInput in;
    const QString t = text.trimmed();
    auto pinned = [&](const QString& address) {
        for (const KnownBoard& b : known)
            if (b.hostPort == address) return b.fingerprint;
        return QString();
    };
    if (t.startsWith(QStringLiteral("dlayer-agent "))) {
        auto p = remote::parsePairingLine(t.toStdString());
        if (!p.ok()) {
            in.error = QString::fromStdString(p.error().message);
            return in;
        }
        in.address = { QString::fromStdString(p->hostPort), QString::fromStdString(p->fingerprint),
            QString::fromStdString(p->token) };
        const QString was = pinned(in.address.hostPort);
        if (!was.isEmpty() && was != in.address.fingerprint)
            in.error = Boards::tr("The pairing line names the fingerprint %1, but the studio pinned %2 for %3. Check "
                                  "on the board which one 'dlayer serve' prints. If its agent was set up again (a new "
                                  "state directory), forget the board here and pair with the new line.")
                           .arg(in.address.fingerprint, was, in.address.hostPort);
        return in;
    }
    const QString address = hostPort.trimmed();
    if (!address.contains(QLatin1Char(':'))) {
        in.error = Boards::tr("Give the board as HOST:PORT, or paste the pairing line 'dlayer serve' printed");
        return in;
    }
    if (t.isEmpty()) {
        if (pinned(address).isEmpty()) {
            in.error = Boards::tr("The studio has not paired with %1: paste the pairing line 'dlayer serve' printed")
                           .arg(address);
            return in;
        }
        in.address = { address, pinned(address), QString() };
        in.needsStoredToken = true;
        return in;
    }
    if (!isToken(t)) {
        in.error = Boards::tr("That is neither a pairing line nor a token (64 hex digits)");
        return in;
    }
    in.address = { address, pinned(address), t };
    return in;
}

Boards::Boards(QObject* parent)
    : QObject(parent)
    , m_keyring(new BoardKeyring(this))
{
    m_confirm = [](const QString& hostPort, const QString& fingerprint) {
        return QMessageBox::question(nullptr, tr("Trust This Board?"),
                   tr("The board at %1 presents a certificate with the SHA-256 fingerprint\n\n%2\n\nCompare it with "
                      "the fingerprint 'dlayer serve' printed on the board. Trust it from now on?")
                       .arg(hostPort, fingerprint))
            == QMessageBox::Yes;
    };
}

QList<KnownBoard> Boards::known() const
{
    QList<KnownBoard> out;
    const int n = settings()->beginReadArray(kBoardsKey);
    for (int i = 0; i < n; ++i) {
        settings()->setArrayIndex(i);
        out.append({ settings()->value(QStringLiteral("address")).toString(),
            settings()->value(QStringLiteral("fingerprint")).toString(),
            settings()->value(QStringLiteral("host")).toString(), settings()->value(QStringLiteral("cpu")).toString(),
            settings()->value(QStringLiteral("backend")).toString() });
    }
    settings()->endArray();
    return out;
}

void Boards::remember(const BoardInfo& info)
{
    QList<KnownBoard> boards = known();
    boards.erase(
        std::remove_if(boards.begin(), boards.end(), [&](const KnownBoard& b) { return b.hostPort == info.hostPort; }),
        boards.end());
    boards.prepend({ info.hostPort, info.fingerprint, info.host, info.cpu, info.backend });
    save(boards);
}

void Boards::forget(const QString& hostPort)
{
    QList<KnownBoard> boards = known();
    boards.erase(
        std::remove_if(boards.begin(), boards.end(), [&](const KnownBoard& b) { return b.hostPort == hostPort; }),
        boards.end());
    save(boards);
}

void Boards::save(const QList<KnownBoard>& boards)
{
    // Address, fingerprint and what the board is; the token is the keyring's.
    settings()->beginWriteArray(kBoardsKey, static_cast<int>(boards.size()));
    for (int i = 0; i < boards.size(); ++i) {
        settings()->setArrayIndex(i);
        settings()->setValue(QStringLiteral("address"), boards[i].hostPort);
        settings()->setValue(QStringLiteral("fingerprint"), boards[i].fingerprint);
        settings()->setValue(QStringLiteral("host"), boards[i].host);
        settings()->setValue(QStringLiteral("cpu"), boards[i].cpu);
        settings()->setValue(QStringLiteral("backend"), boards[i].backend);
    }
    settings()->endArray();
}

void Boards::connectTo(const BoardInput& input)
{
    if (!input.error.isEmpty()) {
        Q_EMIT failed(input.error);
        return;
    }
    if (!input.needsStoredToken) {
        open(input.address);
        return;
    }
    // The token from the keyring, then the connection.
    auto* once = new QObject(this);
    connect(m_keyring, &BoardKeyring::loaded, once,
        [this, once, address = input.address](const QString& board, const QString& token, const QString& warning) {
            if (board != address.hostPort) return;
            once->deleteLater();
            if (token.isEmpty()) {
                Q_EMIT failed(warning.isEmpty()
                        ? tr("No token is kept for %1: paste the pairing line 'dlayer serve' printed").arg(board)
                        : warning);
                return;
            }
            BoardAddress a = address;
            a.token = token;
            open(a);
        });
    m_keyring->load(input.address.hostPort);
}

void Boards::open(const BoardAddress& address)
{
    auto* session = new RemoteSession(address, m_storePath);
    connect(session, &RemoteSession::connectionFailed, this, [this, session](const QString& message) {
        session->deleteLater();
        Q_EMIT failed(message);
    });
    connect(session, &RemoteSession::connected, this, [this, session, address](const BoardInfo& info) {
        session->disconnect(this);
        // Met for the first time, or pinned only now: the user compares the fingerprint, as with SSH.
        const QList<KnownBoard> boards = known();
        const bool pinnedBefore = std::any_of(boards.begin(), boards.end(),
            [&](const KnownBoard& b) { return b.hostPort == info.hostPort && b.fingerprint == info.fingerprint; });
        if (!pinnedBefore && !m_confirm(info.hostPort, info.fingerprint)) {
            delete session;
            Q_EMIT failed(tr("Not connected: the board at %1 was not trusted").arg(info.hostPort));
            return;
        }
        remember(info);
        auto* once = new QObject(this);
        connect(m_keyring, &BoardKeyring::stored, once,
            [this, once, board = info.hostPort](const QString& b, const QString& message) {
                if (b != board) return;
                once->deleteLater();
                if (!message.isEmpty()) Q_EMIT warning(message);
            });
        m_keyring->store(info.hostPort, address.token);
        Q_EMIT ready(session);
    });
}

ConnectDialog::ConnectDialog(Boards* boards, QWidget* parent)
    : QDialog(parent)
    , m_board(new QComboBox(this))
    , m_secret(new QLineEdit(this))
    , m_error(new QLabel(this))
    , m_known(boards->known())
{
    const QList<KnownBoard>& known = m_known;
    setWindowTitle(tr("Connect to Board"));
    m_board->setEditable(true);
    m_board->setObjectName(QStringLiteral("boardAddress"));
    for (const KnownBoard& b : known)
        m_board->addItem(b.host.isEmpty() ? b.hostPort : tr("%1 (%2)").arg(b.hostPort, b.host), b.hostPort);
    m_board->setCurrentText(known.isEmpty() ? QString() : known.front().hostPort);
    m_board->lineEdit()->setPlaceholderText(tr("jetson.local:7433"));
    m_secret->setObjectName(QStringLiteral("pairingLine"));
    m_secret->setEchoMode(QLineEdit::PasswordEchoOnEdit);
    m_secret->setPlaceholderText(tr("dlayer-agent HOST:PORT sha256=… token=…"));
    m_error->setWordWrap(true);
    m_error->setStyleSheet(QStringLiteral("color: #b00020"));
    auto* form = new QFormLayout(this);
    form->addRow(tr("&Board:"), m_board);
    form->addRow(tr("&Pairing line or token:"), m_secret);
    form->addRow(new QLabel(tr("'dlayer serve' prints the pairing line on the board. A board paired before needs "
                               "nothing here: its token is in the keychain."),
        this));
    form->addRow(m_error);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Connect"));
    QPushButton* forget = buttons->addButton(tr("&Forget Board"), QDialogButtonBox::ResetRole);
    forget->setEnabled(!known.isEmpty());
    connect(forget, &QPushButton::clicked, this, [this, boards] {
        const BoardInput in = input();
        const QString address = in.address.hostPort.isEmpty() ? m_board->currentText() : in.address.hostPort;
        boards->forget(address);
        m_known = boards->known();
        m_board->removeItem(m_board->findData(address));
        m_error->setText(tr("Forgot %1: pair with it again with its pairing line").arg(address));
    });
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        const BoardInput in = input();
        m_error->setText(in.error);
        if (in.error.isEmpty()) accept();
    });
}

BoardInput ConnectDialog::input() const
{
    const int i = m_board->findText(m_board->currentText());
    const QString address = i >= 0 && !m_board->itemData(i).toString().isEmpty() ? m_board->itemData(i).toString()
                                                                                 : m_board->currentText();
    return parseBoardInput(address, m_secret->text(), m_known);
}

} // namespace dl::ui
