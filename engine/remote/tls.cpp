#include "remote/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dl::remote {

namespace {

struct CtxFree
{
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree
{
    void operator()(SSL* s) const { SSL_free(s); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

std::string sslError()
{
    const unsigned long e = ERR_get_error();
    char buf[256] = {};
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return e ? std::string(buf) : std::string("no detail");
}

void ignoreSigpipe()
{
    static const bool done = [] {
        std::signal(SIGPIPE, SIG_IGN);
        return true;
    }();
    (void)done;
}

std::string addressOf(const sockaddr_storage& a)
{
    char host[INET6_ADDRSTRLEN] = {};
    uint16_t port = 0;
    if (a.ss_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
        port = ntohs(v4->sin_port);
    } else if (a.ss_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
        port = ntohs(v6->sin6_port);
    }
    return std::string(host) + ":" + std::to_string(port);
}

// Waits until `fd` is readable (or writable); false on a timeout.
bool waitFor(int fd, short events, int timeoutMs)
{
    pollfd p { fd, events, 0 };
    int r;
    while ((r = ::poll(&p, 1, timeoutMs)) < 0 && errno == EINTR) { }
    return r > 0;
}

// Drives an SSL call that may want to read or write on a non-blocking socket, within `timeoutMs` in all.
template <typename F> int sslCall(SSL* ssl, int fd, int timeoutMs, F call)
{
    for (;;) {
        ERR_clear_error(); // SSL_get_error() below must see this call's errors only
        const int r = call();
        if (r > 0) return r;
        const int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ) {
            if (!waitFor(fd, POLLIN, timeoutMs)) return -2; // a timeout
        } else if (e == SSL_ERROR_WANT_WRITE) {
            if (!waitFor(fd, POLLOUT, timeoutMs)) return -2;
        } else {
            return r;
        }
    }
}

Result<std::string> fingerprintOf(SSL* ssl)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    X509* cert = SSL_get1_peer_certificate(ssl);
#else
    X509* cert = SSL_get_peer_certificate(ssl); // 1.1.1's name for the same (a reference the caller frees)
#endif
    if (!cert) return invalid("the peer presented no certificate");
    BIO* bio = BIO_new(BIO_s_mem());
    std::string pem;
    if (bio && PEM_write_bio_X509(bio, cert) == 1) {
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio, &data);
        pem.assign(data, static_cast<size_t>(std::max(0L, n)));
    }
    BIO_free(bio);
    X509_free(cert);
    return certificateFingerprint(pem);
}

} // namespace

struct TlsConnection::Impl
{
    CtxPtr ctx;
    SslPtr ssl;
    int fd = -1;
    ~Impl()
    {
        if (ssl) SSL_shutdown(ssl.get());
        // OpenSSL's error queue is per thread and SSL_get_error() reads it: what a shutdown leaves there must not
        // be taken for the next connection's error.
        ERR_clear_error();
        ssl.reset();
        if (fd >= 0) ::close(fd);
    }
};

TlsConnection::TlsConnection(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl))
{ }

TlsConnection::~TlsConnection() = default;

Status TlsConnection::send(MessageType type, const Json& body)
{
    DL_ASSIGN(const std::string bytes, encodeFrame(type, body));
    return sendBytes(bytes);
}

Status TlsConnection::sendBytes(const std::string& bytes)
{
    size_t done = 0;
    while (done < bytes.size()) {
        const int n = sslCall(m_impl->ssl.get(), m_impl->fd, 10000,
            [&] { return SSL_write(m_impl->ssl.get(), bytes.data() + done, static_cast<int>(bytes.size() - done)); });
        if (n == -2) return makeError(ErrorCode::Io, "sending to " + m_peerAddress + " timed out");
        if (n <= 0) return makeError(ErrorCode::Io, "the connection to " + m_peerAddress + " is gone");
        done += static_cast<size_t>(n);
    }
    return {};
}

int TlsConnection::fd() const
{
    return m_impl->fd;
}

Status TlsConnection::readAvailable(std::vector<Frame>& out)
{
    char buf[16384];
    for (;;) {
        ERR_clear_error();
        const int n = SSL_read(m_impl->ssl.get(), buf, sizeof buf);
        if (n > 0) {
            DL_TRY(m_reader.feed(buf, static_cast<size_t>(n), m_pending));
            continue;
        }
        const int e = SSL_get_error(m_impl->ssl.get(), n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
            ERR_clear_error();
            return makeError(ErrorCode::Io, "the connection to " + m_peerAddress + " closed");
        }
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING // OpenSSL 3: a peer gone without close_notify
        if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            ERR_clear_error();
            return makeError(ErrorCode::Io,
                "the connection to " + m_peerAddress + " closed without a goodbye: the peer's process ended");
        }
#endif
        return makeError(ErrorCode::Io, "the connection to " + m_peerAddress + " failed: " + sslError());
    }
    for (auto& f : m_pending)
        out.push_back(std::move(f));
    m_pending.clear();
    return {};
}

Status TlsConnection::queue(MessageType type, const Json& body)
{
    DL_ASSIGN(const std::string bytes, encodeFrame(type, body));
    m_out += bytes;
    return {};
}

Status TlsConnection::flush()
{
    while (!m_out.empty()) {
        const int len = m_retryBytes ? m_retryBytes : static_cast<int>(std::min<size_t>(m_out.size(), 1 << 20));
        ERR_clear_error();
        const int n = SSL_write(m_impl->ssl.get(), m_out.data(), len);
        if (n > 0) {
            m_out.erase(0, static_cast<size_t>(n));
            m_retryBytes = 0;
            continue;
        }
        const int e = SSL_get_error(m_impl->ssl.get(), n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
            m_retryBytes = len;
            return {};
        }
        ERR_clear_error();
        return makeError(ErrorCode::Io, "the connection to " + m_peerAddress + " is gone");
    }
    return {};
}

Result<Frame> TlsConnection::receive(int timeoutMs)
{
    char buf[16384];
    while (m_pending.empty()) {
        const int n = sslCall(
            m_impl->ssl.get(), m_impl->fd, timeoutMs, [&] { return SSL_read(m_impl->ssl.get(), buf, sizeof buf); });
        if (n == -2)
            return makeError(
                ErrorCode::Io, "nothing from " + m_peerAddress + " within " + std::to_string(timeoutMs) + " ms");
        if (n <= 0) return makeError(ErrorCode::Io, "the connection to " + m_peerAddress + " closed");
        DL_TRY(m_reader.feed(buf, static_cast<size_t>(n), m_pending));
    }
    Frame f = std::move(m_pending.front());
    m_pending.erase(m_pending.begin());
    return f;
}

struct TlsServer::Impl
{
    CtxPtr ctx;
    int fd = -1;
    uint16_t port = 0;
    ~Impl()
    {
        if (fd >= 0) ::close(fd);
    }
};

TlsServer::TlsServer(std::unique_ptr<Impl> impl)
    : m_impl(std::move(impl))
{ }

TlsServer::~TlsServer() = default;

uint16_t TlsServer::port() const
{
    return m_impl->port;
}

Result<std::unique_ptr<TlsServer>> TlsServer::listen(const std::string& host, uint16_t port, const Credentials& c)
{
    ignoreSigpipe();
    auto impl = std::make_unique<Impl>();
    impl->ctx.reset(SSL_CTX_new(TLS_server_method()));
    if (!impl->ctx || SSL_CTX_set_min_proto_version(impl->ctx.get(), TLS1_3_VERSION) != 1)
        return makeError(ErrorCode::Internal, "cannot set up TLS: " + sslError());
    BIO* certBio = BIO_new_mem_buf(c.certificatePem.data(), static_cast<int>(c.certificatePem.size()));
    BIO* keyBio = BIO_new_mem_buf(c.privateKeyPem.data(), static_cast<int>(c.privateKeyPem.size()));
    X509* cert = certBio ? PEM_read_bio_X509(certBio, nullptr, nullptr, nullptr) : nullptr;
    EVP_PKEY* key = keyBio ? PEM_read_bio_PrivateKey(keyBio, nullptr, nullptr, nullptr) : nullptr;
    const bool ok = cert && key && SSL_CTX_use_certificate(impl->ctx.get(), cert) == 1
        && SSL_CTX_use_PrivateKey(impl->ctx.get(), key) == 1 && SSL_CTX_check_private_key(impl->ctx.get()) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(certBio);
    BIO_free(keyBio);
    if (!ok) return invalid("the agent's certificate and key do not load: " + sslError());

    addrinfo hints {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (const int e = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found); e != 0)
        return invalid("cannot listen on '" + host + ":" + service + "': " + gai_strerror(e));
    std::string why = "no address";
    for (addrinfo* a = found; a && impl->fd < 0; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) continue;
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
            impl->fd = fd;
        } else {
            why = std::strerror(errno);
            ::close(fd);
        }
    }
    ::freeaddrinfo(found);
    if (impl->fd < 0) return makeError(ErrorCode::Io, "cannot listen on '" + host + ":" + service + "': " + why);
    sockaddr_storage bound {};
    socklen_t len = sizeof bound;
    ::getsockname(impl->fd, reinterpret_cast<sockaddr*>(&bound), &len);
    impl->port = static_cast<uint16_t>(std::stoi(addressOf(bound).substr(addressOf(bound).rfind(':') + 1)));
    return std::unique_ptr<TlsServer>(new TlsServer(std::move(impl)));
}

Result<std::unique_ptr<TlsConnection>> TlsServer::acceptTcp(int timeoutMs)
{
    if (!waitFor(m_impl->fd, POLLIN, timeoutMs)) return makeError(ErrorCode::Io, "no client within the timeout");
    sockaddr_storage peer {};
    socklen_t len = sizeof peer;
    const int fd = ::accept4(m_impl->fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return makeError(ErrorCode::Io, std::string("accept failed: ") + std::strerror(errno));
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto impl = std::make_unique<TlsConnection::Impl>();
    impl->fd = fd;
    impl->ssl.reset(SSL_new(m_impl->ctx.get()));
    const std::string address = addressOf(peer);
    if (!impl->ssl || SSL_set_fd(impl->ssl.get(), fd) != 1)
        return makeError(ErrorCode::Internal, "cannot set up TLS for " + address + ": " + sslError());
    // flush() writes from a buffer that grows at its end while a write waits to be repeated.
    SSL_set_mode(impl->ssl.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    auto c = std::make_unique<TlsConnection>(std::move(impl));
    c->m_peerAddress = address;
    return c;
}

Status TlsConnection::acceptHandshake(int timeoutMs)
{
    const int r = sslCall(m_impl->ssl.get(), m_impl->fd, timeoutMs, [&] { return SSL_accept(m_impl->ssl.get()); });
    if (r <= 0)
        return invalid("the client at " + m_peerAddress + " did not complete a TLS 1.3 handshake ("
            + (r == -2 ? std::string("it timed out") : sslError()) + "); there is no plaintext mode");
    return {};
}

Result<std::unique_ptr<TlsConnection>> TlsServer::accept(int timeoutMs)
{
    DL_ASSIGN(auto c, acceptTcp(timeoutMs));
    DL_TRY(c->acceptHandshake(timeoutMs));
    return c;
}

Result<std::unique_ptr<TlsConnection>> connectTls(
    const std::string& hostPort, const std::string& expectedFingerprint, int timeoutMs)
{
    ignoreSigpipe();
    const auto colon = hostPort.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == hostPort.size())
        return invalid("'" + hostPort + "' is not HOST:PORT");
    std::string host = hostPort.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const std::string service = hostPort.substr(colon + 1);
    addrinfo hints {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (const int e = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); e != 0)
        return invalid("cannot resolve '" + hostPort + "': " + gai_strerror(e));
    int fd = -1;
    std::string why = "no address";
    for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) continue;
        int r = ::connect(fd, a->ai_addr, a->ai_addrlen);
        if (r != 0 && errno == EINPROGRESS && waitFor(fd, POLLOUT, timeoutMs)) {
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            r = err == 0 ? 0 : -1;
            errno = err ? err : ETIMEDOUT;
        } else if (r != 0 && errno == EINPROGRESS) {
            errno = ETIMEDOUT;
        }
        if (r != 0) {
            why = std::strerror(errno);
            ::close(fd);
            fd = -1;
        }
    }
    ::freeaddrinfo(found);
    if (fd < 0) return makeError(ErrorCode::Io, "cannot connect to the agent at " + hostPort + ": " + why);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto impl = std::make_unique<TlsConnection::Impl>();
    impl->fd = fd;
    impl->ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (!impl->ctx || SSL_CTX_set_min_proto_version(impl->ctx.get(), TLS1_3_VERSION) != 1)
        return makeError(ErrorCode::Internal, "cannot set up TLS: " + sslError());
    // No certificate authority: the agent's certificate is pinned by fingerprint below.
    SSL_CTX_set_verify(impl->ctx.get(), SSL_VERIFY_NONE, nullptr);
    impl->ssl.reset(SSL_new(impl->ctx.get()));
    if (!impl->ssl || SSL_set_fd(impl->ssl.get(), fd) != 1)
        return makeError(ErrorCode::Internal, "cannot set up TLS: " + sslError());
    const int r = sslCall(impl->ssl.get(), fd, timeoutMs, [&] { return SSL_connect(impl->ssl.get()); });
    if (r <= 0)
        return makeError(ErrorCode::Io,
            "no TLS 1.3 handshake with " + hostPort + " (" + (r == -2 ? std::string("it timed out") : sslError())
                + "): is a dlayer agent listening there?");
    DL_ASSIGN(const std::string fp, fingerprintOf(impl->ssl.get()));
    if (!expectedFingerprint.empty() && fp != expectedFingerprint)
        return invalid("the agent at " + hostPort + " presented a certificate with fingerprint " + fp
            + ", not the one paired with (" + expectedFingerprint + "). If the agent's state directory was replaced, "
            + "pair again with the line 'dlayer serve' prints on the board; otherwise something else answers at that "
            + "address: do not connect");
    auto c = std::make_unique<TlsConnection>(std::move(impl));
    c->m_peerFingerprint = fp;
    c->m_peerAddress = hostPort;
    return c;
}

namespace {

// The body of an Error frame, or of whatever else came, as a message.
Error refusal(const Frame& f, const std::string& expected)
{
    if (f.type == MessageType::Error && f.body.is_object() && f.body.contains("message")
        && f.body["message"].is_string())
        return invalid(f.body["message"].get<std::string>());
    return invalid(std::string("expected ") + expected + ", got a " + messageTypeName(f.type) + " frame");
}

std::string text(const Json& body, const char* key)
{
    return body.is_object() && body.contains(key) && body[key].is_string() ? body[key].get<std::string>()
                                                                           : std::string();
}

} // namespace

Result<Welcome> clientHandshake(TlsConnection& c, const std::string& token, const std::string& client, int timeoutMs)
{
    DL_TRY(c.send(MessageType::Hello, { { "protocol", kProtocolVersion }, { "client", client } }));
    DL_ASSIGN(Frame w, c.receive(timeoutMs));
    if (w.type != MessageType::Welcome) return refusal(w, "a welcome");
    DL_ASSIGN(Welcome welcome, readWelcome(w.body));
    const std::string nonce = welcome.nonce;
    // The proof is bound to the certificate this client sees: relayed by a man in the middle with a certificate of
    // its own (a client that has not pinned yet), it proves nothing to the real agent.
    DL_TRY(c.send(MessageType::Auth, { { "proof", tokenProof(token, nonce + "|" + c.peerFingerprint()) } }));
    DL_ASSIGN(Frame ok, c.receive(timeoutMs));
    if (ok.type != MessageType::AuthOk) return refusal(ok, "the token's acceptance");
    return welcome;
}

Result<std::string> serverHandshake(
    TlsConnection& c, const std::string& token, const std::string& fingerprint, const Welcome& welcome, int timeoutMs)
{
    DL_ASSIGN(Frame hello, c.receive(timeoutMs));
    if (hello.type != MessageType::Hello) {
        (void)c.send(MessageType::Error, { { "code", "protocol" }, { "message", "a session starts with hello" } });
        return invalid(
            std::string("the client at ") + c.peerAddress() + " began with a " + messageTypeName(hello.type));
    }
    const Hello said = readHello(hello.body);
    const uint32_t theirs = said.protocol;
    if (const std::string m = versionMismatch(theirs, "studio"); !m.empty()) {
        (void)c.send(MessageType::Error,
            { { "code", "version" },
                { "message",
                    "the agent speaks protocol version " + std::to_string(kProtocolVersion) + ", the client version "
                        + std::to_string(theirs) + ": update the older side" } });
        return invalid(m);
    }
    const std::string nonce = randomHex(32);
    DL_TRY(c.send(MessageType::Welcome,
        { { "protocol", kProtocolVersion }, { "engine", welcome.engine }, { "device", welcome.device },
            { "capabilities", welcome.capabilities }, { "nonce", nonce } }));
    DL_ASSIGN(Frame auth, c.receive(timeoutMs));
    if (auth.type != MessageType::Auth
        || !sameSecret(text(auth.body, "proof"), tokenProof(token, nonce + "|" + fingerprint))) {
        (void)c.send(MessageType::Error,
            { { "code", "auth" },
                { "message",
                    "the agent refused the token: pair again with the line 'dlayer serve' prints on the board "
                    "(the token may have been rotated)" } });
        return invalid("the client at " + c.peerAddress() + " gave a wrong token");
    }
    DL_TRY(c.send(MessageType::AuthOk, Json::object()));
    return said.client;
}

} // namespace dl::remote
