#pragma once

// The board's engine session: the same EngineSession the views follow, with the engine in `dlayer serve` on a board
// (engine/remote/client.h, no Qt below this class). One link thread owns the connection: it connects and
// authenticates, keeps the link alive while idle (heartbeats both ways: a dead board or link is seen within about
// 2 s, and said so by linkLost()), and does what the GUI asks in order: a run (the model and weights uploaded when
// the board lacks them; progress, live batches and the outcome posted back as the local session posts them), the run
// sync (the board's runs the studio's store lacks, fetched by uuid with the board's device identity), and a
// configuration deployed to the board. The GUI thread never waits on the network.

#include "enginesession.h"

#include "remote/protocol.h"

#include <QString>

#include <memory>
#include <string>

namespace dl::ui {

// Where a board is and how the studio proves itself to it.
struct BoardAddress
{
    QString hostPort;
    QString fingerprint; // the pinned certificate; empty: first use (shown to the user to confirm)
    QString token;
};

// What the board said of itself when it welcomed the studio.
struct BoardInfo
{
    QString hostPort;
    QString fingerprint; // the certificate the board presented
    QString host, cpu, backend, gpu;
    QString engine; // the agent's engine version
    qint64 memoryBytes = 0;
};

class RemoteSession : public EngineSession
{
    Q_OBJECT
public:
    // Connects in the background: connected() or connectionFailed() follows. `storePath` is the studio's run store,
    // into which the board's runs are synced.
    RemoteSession(BoardAddress board, QString storePath, QObject* parent = nullptr);
    // Stops the run in progress and closes the link (waits for the link thread, which gives up within a second).
    ~RemoteSession() override;

    quint64 start(const RunRequest& request) override;
    void stop() override;
    bool isRunning() const override { return m_running != 0; }
    QString description() const override;

    bool isConnected() const { return m_connected; }
    const BoardInfo& board() const { return m_board; }
    void setStorePath(const QString& path);
    // Fetches the board's runs the store lacks: runsSynced() follows.
    void syncRuns();
    // Saves a planner configuration (plan::configToJson's text) on the board under `name`: configDeployed() follows.
    void deployConfig(const QString& name, const QString& configJson);

Q_SIGNALS:
    void connected(const dl::ui::BoardInfo& board);
    void connectionFailed(const QString& message);
    // The link died (the board, the agent or the network): a run in progress has ended as Failed before this.
    void linkLost(const QString& message);
    void runsSynced(int fetched, const QString& error);
    void configDeployed(const QString& name, const QString& error);

public:
    struct Link; // shared by the link thread and this object

private:
    void onConnected(const BoardInfo& info);
    void onRunFinished(const RunOutcomePtr& outcome);

    std::shared_ptr<Link> m_link;
    BoardInfo m_board;
    bool m_connected = false;
    quint64 m_running = 0; // the run in progress, 0: none
    quint64 m_lastId = 0;
};

} // namespace dl::ui

Q_DECLARE_METATYPE(dl::ui::BoardInfo)
