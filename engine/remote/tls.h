#pragma once

// TLS 1.3 over TCP for the board protocol (OpenSSL, no Qt); there is no plaintext mode. The agent serves with its
// self-signed certificate (credentials.h); the client pins it by fingerprint instead of trusting a certificate
// authority, as SSH pins host keys: it connects, compares the certificate's SHA-256 with the one it paired with, and
// refuses a different one with a message saying what to check. Then the handshake of protocol.h: versions, the
// board's description, and the token proved by HMAC over a fresh nonce, compared in constant time.
//
// Connections are blocking with timeouts, one thread each. Writing to a peer that has gone is an error, not SIGPIPE
// (the process ignores SIGPIPE once a server or client is made).

#include "core/result.h"
#include "remote/credentials.h"
#include "remote/protocol.h"

#include <cstdint>
#include <memory>
#include <string>

namespace dl::remote {

class TlsConnection
{
public:
    ~TlsConnection();
    TlsConnection(const TlsConnection&) = delete;
    TlsConnection& operator=(const TlsConnection&) = delete;

    // Sends one frame (protocol.h). Io when the peer is gone or the send times out.
    Status send(MessageType type, const Json& body);
    // Bytes as they are, outside the framing: for tests that play a peer sending what no build of ours sends.
    Status sendBytes(const std::string& bytes);
    // The next frame, waiting up to `timeoutMs`: Io on a timeout or a closed connection, Invalid on a bad frame (the
    // connection is then useless: close it).
    Result<Frame> receive(int timeoutMs);

    // The server's side of the TLS handshake of a connection from TlsServer::acceptTcp(): Invalid, naming the peer,
    // for a client that does not speak TLS 1.3 within `timeoutMs`.
    Status acceptHandshake(int timeoutMs);

    // For one thread that polls fd() itself (the agent serves each client from a poll loop, so that it never
    // blocks on a client that does not read): everything that has arrived, without waiting (Io when the peer closed,
    // Invalid on a bad frame); a frame appended to what waits to be sent; as much of that written as the socket
    // takes now (Io when the peer is gone).
    int fd() const;
    Status readAvailable(std::vector<Frame>& out);
    Status queue(MessageType type, const Json& body);
    Status flush();
    size_t queuedBytes() const { return m_out.size(); }

    // The peer's certificate fingerprint (the client side sees the agent's).
    const std::string& peerFingerprint() const { return m_peerFingerprint; }
    // The peer's address, "127.0.0.1:40312".
    const std::string& peerAddress() const { return m_peerAddress; }

    struct Impl;
    explicit TlsConnection(std::unique_ptr<Impl> impl);

private:
    friend class TlsServer;
    friend Result<std::unique_ptr<TlsConnection>> connectTls(const std::string&, const std::string&, int);
    std::unique_ptr<Impl> m_impl;
    FrameReader m_reader;
    std::vector<Frame> m_pending;
    std::string m_out; // queued, not yet written
    int m_retryBytes = 0; // a write OpenSSL asked to repeat: exactly this many bytes again
    std::string m_peerFingerprint, m_peerAddress;
};

class TlsServer
{
public:
    // Listens on `host`:`port` (port 0: any free one) with the agent's credentials. Io naming the address otherwise.
    static Result<std::unique_ptr<TlsServer>> listen(const std::string& host, uint16_t port, const Credentials& c);
    ~TlsServer();
    uint16_t port() const;
    // The next client whose TLS handshake succeeds, waiting up to `timeoutMs`. A client that does not speak TLS 1.3
    // (plaintext, an older TLS) fails its own accept with Invalid naming its address; the server goes on.
    Result<std::unique_ptr<TlsConnection>> accept(int timeoutMs);
    // The two halves of accept(), for a server that gives each client a thread: the next TCP connection, whose TLS
    // handshake is then the client thread's (TlsConnection::acceptHandshake), so that a client that never speaks
    // TLS holds up no one else.
    Result<std::unique_ptr<TlsConnection>> acceptTcp(int timeoutMs);

    struct Impl;

private:
    explicit TlsServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// Connects to the agent at "host:port" over TLS 1.3. With `expectedFingerprint` empty (first use) any certificate is
// taken and its fingerprint is there to show the user; else a different one is refused.
Result<std::unique_ptr<TlsConnection>> connectTls(
    const std::string& hostPort, const std::string& expectedFingerprint, int timeoutMs);

// What the agent says of itself in its Welcome.
// The client's side of the handshake: Hello, the agent's Welcome (a version mismatch is Invalid naming both), Auth
// with the token's proof of the agent's nonce and of the certificate's fingerprint the client saw (so that a proof
// relayed through another certificate is worthless), AuthOk. A refused token is Invalid saying so.
Result<Welcome> clientHandshake(TlsConnection& c, const std::string& token, const std::string& client, int timeoutMs);
// The agent's side: the client's Hello (another protocol version gets an Error frame naming both), Welcome with a
// fresh nonce, the client's Auth checked against `token` and the agent's own certificate `fingerprint` in constant
// time (a wrong one gets an Error frame). Returns the client's name; Invalid when the client was refused.
Result<std::string> serverHandshake(
    TlsConnection& c, const std::string& token, const std::string& fingerprint, const Welcome& welcome, int timeoutMs);

} // namespace dl::remote
