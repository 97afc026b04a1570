#include "remote/credentials.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <vector>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace dl::remote {

namespace {

struct BioFree
{
    void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free
{
    void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree
{
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

constexpr const char* kCertFile = "agent.crt";
constexpr const char* kKeyFile = "agent.key";
constexpr const char* kTokenFile = "token";
constexpr int kValidDays = 3650;

std::string hex(const unsigned char* data, size_t n, const char* separator = "")
{
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        if (i && *separator) out += separator;
        out += digits[data[i] >> 4];
        out += digits[data[i] & 15];
    }
    return out;
}

std::string bioText(BIO* bio)
{
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

// `text` into `path` with mode 0600: written beside it, flushed and renamed into place.
Status writePrivateFile(const std::filesystem::path& path, const std::string& text)
{
    const std::string tmp = path.string() + ".part";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return makeError(ErrorCode::Io, "cannot write '" + tmp + "': " + std::strerror(errno));
    size_t done = 0;
    bool ok = ::fchmod(fd, 0600) == 0;
    while (ok && done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) done += static_cast<size_t>(n);
    }
    ok = ok && ::fsync(fd) == 0;
    const int saved = errno;
    ok = ::close(fd) == 0 && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(ok ? errno : saved);
        std::remove(tmp.c_str());
        return makeError(ErrorCode::Io, "cannot write '" + path.string() + "': " + why);
    }
    return {};
}

Result<std::string> readPrivateFile(const std::filesystem::path& path)
{
    struct stat st
    {
    };
    if (::stat(path.c_str(), &st) != 0)
        return makeError(ErrorCode::Io, "cannot read '" + path.string() + "': " + std::strerror(errno));
    if (st.st_mode & 077)
        return invalid("'" + path.string() + "' may be read by others (mode " + std::to_string((st.st_mode >> 6) & 7)
            + std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7)
            + "): chmod 600 it, or rotate the credentials if others have read it");
    std::ifstream f(path, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    if (!f) return makeError(ErrorCode::Io, "cannot read '" + path.string() + "'");
    return s.str();
}

// An EC key on P-256. OpenSSL 1.1.1 (JetPack 5's Ubuntu 20.04) has no EVP_PKEY_Q_keygen: the long way there.
EVP_PKEY* newP256Key()
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
#else
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr);
    EVP_PKEY* key = nullptr;
    if (ctx && EVP_PKEY_keygen_init(ctx) > 0 && EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) > 0)
        EVP_PKEY_keygen(ctx, &key);
    EVP_PKEY_CTX_free(ctx);
    return key;
#endif
}

Result<Credentials> makeCertificate()
{
    PkeyPtr key(newP256Key());
    X509Ptr cert(X509_new());
    if (!key || !cert) return makeError(ErrorCode::Internal, "cannot make a key pair (OpenSSL)");
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) return makeError(ErrorCode::Internal, "no random numbers (OpenSSL)");
    serial[0] &= 0x7f; // a positive serial
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    const bool serialSet = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr;
    BN_free(bn);
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "board");
    const std::string cn = std::string("dlayer agent on ") + host;
    X509_NAME* name = X509_get_subject_name(cert.get());
    const bool ok = serialSet && X509_set_version(cert.get(), 2) == 1
        && X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr
        && X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * kValidDays) != nullptr
        && X509_NAME_add_entry_by_txt(
               name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0)
            == 1
        && X509_set_issuer_name(cert.get(), name) == 1 && X509_set_pubkey(cert.get(), key.get()) == 1
        && X509_sign(cert.get(), key.get(), EVP_sha256()) > 0;
    if (!ok) return makeError(ErrorCode::Internal, "cannot make a self-signed certificate (OpenSSL)");
    BioPtr certBio(BIO_new(BIO_s_mem())), keyBio(BIO_new(BIO_s_mem()));
    if (!certBio || !keyBio || PEM_write_bio_X509(certBio.get(), cert.get()) != 1
        || PEM_write_bio_PrivateKey(keyBio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return makeError(ErrorCode::Internal, "cannot write the certificate (OpenSSL)");
    Credentials c;
    c.certificatePem = bioText(certBio.get());
    c.privateKeyPem = bioText(keyBio.get());
    return c;
}

bool isToken(const std::string& t)
{
    return t.size() == 64 && t.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Reads and checks what is in `dir`: the certificate, its key (the certificate's own) and the token.
Result<Credentials> load(const std::filesystem::path& dir)
{
    Credentials c;
    DL_ASSIGN(c.certificatePem, readPrivateFile(dir / kCertFile));
    DL_ASSIGN(c.privateKeyPem, readPrivateFile(dir / kKeyFile));
    DL_ASSIGN(std::string token, readPrivateFile(dir / kTokenFile));
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r'))
        token.pop_back();
    if (!isToken(token))
        return invalid("'" + (dir / kTokenFile).string()
            + "' does not hold a token (64 hex digits): rotate it with dlayer serve --rotate-token");
    c.token = token;
    DL_ASSIGN(c.fingerprint, certificateFingerprint(c.certificatePem));
    BioPtr certBio(BIO_new_mem_buf(c.certificatePem.data(), static_cast<int>(c.certificatePem.size())));
    BioPtr keyBio(BIO_new_mem_buf(c.privateKeyPem.data(), static_cast<int>(c.privateKeyPem.size())));
    X509Ptr cert(certBio ? PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr) : nullptr);
    PkeyPtr key(keyBio ? PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key)
        return makeError(ErrorCode::Corrupt,
            "'" + (dir / kKeyFile).string() + "' is not a private key: move the state directory's agent.* files away "
                + "to make new ones (clients must then pair again)");
    if (!cert || X509_check_private_key(cert.get(), key.get()) != 1)
        return makeError(ErrorCode::Corrupt,
            "'" + (dir / kKeyFile).string() + "' is not the key of '" + (dir / kCertFile).string()
                + "': move both away to make new ones (clients must then pair again)");
    return c;
}

} // namespace

Result<std::string> certificateFingerprint(const std::string& pem)
{
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!cert) return invalid("not a PEM certificate");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(cert.get(), EVP_sha256(), md, &n) != 1) return invalid("cannot digest the certificate");
    std::string fp = hex(md, n, ":");
    for (char& ch : fp)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return fp;
}

Result<Credentials> loadOrCreateCredentials(const std::string& stateDir, bool* created)
{
    if (created) *created = false;
    const std::filesystem::path dir(stateDir);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return makeError(ErrorCode::Io, "cannot create '" + stateDir + "': " + ec.message());
    ::chmod(dir.c_str(), 0700);
    const bool cert = std::filesystem::exists(dir / kCertFile), key = std::filesystem::exists(dir / kKeyFile),
               token = std::filesystem::exists(dir / kTokenFile);
    if (cert && key && token) return load(dir);
    if (cert || key)
        return invalid("'" + stateDir + "' holds "
            + (cert ? "a certificate without its key" : "a key without its certificate")
            + ": move the agent.* files away to make new ones (clients must then pair again)");
    DL_ASSIGN(Credentials c, makeCertificate());
    c.token = randomHex(32);
    DL_TRY(writePrivateFile(dir / kKeyFile, c.privateKeyPem));
    DL_TRY(writePrivateFile(dir / kCertFile, c.certificatePem));
    DL_TRY(writePrivateFile(dir / kTokenFile, c.token + "\n"));
    if (created) *created = true;
    return load(dir);
}

Result<Credentials> rotateToken(const std::string& stateDir)
{
    DL_ASSIGN(Credentials c, loadOrCreateCredentials(stateDir));
    DL_TRY(writePrivateFile(std::filesystem::path(stateDir) / kTokenFile, randomHex(32) + "\n"));
    return load(stateDir);
}

std::string pairingLine(const std::string& hostPort, const Credentials& c)
{
    return "dlayer-agent " + hostPort + " sha256=" + c.fingerprint + " token=" + c.token;
}

Result<Pairing> parsePairingLine(const std::string& line)
{
    std::istringstream in(line);
    std::string word, hostPort, fp, token;
    in >> word >> hostPort;
    if (word != "dlayer-agent" || hostPort.empty())
        return invalid("a pairing line starts with 'dlayer-agent HOST:PORT' (dlayer serve prints it)");
    while (in >> word) {
        if (word.rfind("sha256=", 0) == 0) fp = word.substr(7);
        if (word.rfind("token=", 0) == 0) token = word.substr(6);
    }
    if (fp.size() != 95) return invalid("the pairing line's sha256= is not a certificate fingerprint");
    if (!isToken(token)) return invalid("the pairing line's token= is not 64 hex digits");
    return Pairing { hostPort, fp, token };
}

bool sameSecret(const std::string& a, const std::string& b)
{
    if (a.size() != b.size()) return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string tokenProof(const std::string& token, const std::string& nonce)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
        reinterpret_cast<const unsigned char*>(nonce.data()), nonce.size(), md, &n);
    return hex(md, n);
}

Result<std::string> sha256OfFile(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return makeError(ErrorCode::Io, "cannot read '" + path + "': " + std::strerror(errno));
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1;
    std::vector<char> buf(size_t(1) << 20);
    std::string why;
    while (ok) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            why = std::strerror(errno);
            ok = false;
        }
        if (n <= 0) break;
        ok = EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(n)) == 1;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &len) == 1;
    EVP_MD_CTX_free(ctx);
    ::close(fd);
    if (!ok) return makeError(ErrorCode::Io, "cannot hash '" + path + "'" + (why.empty() ? "" : ": " + why));
    return hex(digest, len);
}

std::string randomHex(size_t bytes)
{
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) return {};
    return hex(reinterpret_cast<const unsigned char*>(raw.data()), bytes);
}

} // namespace dl::remote
