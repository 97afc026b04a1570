#pragma once

// What the board agent proves itself with, and what a client proves itself to it with (OpenSSL, no Qt): a self-signed
// TLS certificate and key that the studio pins by their SHA-256 fingerprint, and a random 256-bit access token. They
// live in the agent's state directory (made 0700), each file 0600, written beside its place and renamed into it, so
// that a crash never leaves half a key. The first start makes them; later starts reuse them; rotating replaces the
// token only (the pinned fingerprint stays).

#include "core/result.h"

#include <string>

namespace dl::remote {

struct Credentials
{
    std::string certificatePem;
    std::string privateKeyPem;
    std::string token; // 64 hex digits
    std::string fingerprint; // SHA-256 of the certificate (DER), "AB:CD:..." as `openssl x509 -fingerprint` prints
};

// The files in `stateDir`: agent.crt, agent.key and token. Made when none exists (`created` says so); refused,
// naming the file and what to do, when some exist and others do not, or one does not read back (a damaged key, a key
// that is not the certificate's, a token that is not 64 hex digits, a file others may read).
Result<Credentials> loadOrCreateCredentials(const std::string& stateDir, bool* created = nullptr);
// Replaces the token with a new random one; the certificate and key stay.
Result<Credentials> rotateToken(const std::string& stateDir);

// What a user pastes into the studio to pair with the agent at `hostPort`:
// "dlayer-agent HOST:PORT sha256=FINGERPRINT token=TOKEN".
std::string pairingLine(const std::string& hostPort, const Credentials& c);
struct Pairing
{
    std::string hostPort, fingerprint, token;
};
// Invalid, saying which part is missing or malformed.
Result<Pairing> parsePairingLine(const std::string& line);

// The SHA-256 fingerprint of a PEM certificate; Invalid when it is not one.
Result<std::string> certificateFingerprint(const std::string& certificatePem);
// Whether two secrets are equal, in time that does not depend on where they differ.
bool sameSecret(const std::string& a, const std::string& b);
// A client's proof of the token for the agent's challenge `nonce`: HMAC-SHA256(token, nonce), in hex. The token
// itself never crosses the wire.
std::string tokenProof(const std::string& token, const std::string& nonce);
// A file's SHA-256 in lowercase hex, with OpenSSL's digest (the CPU's SHA instructions where it has them: a board
// hashes a 169 MB model in a fraction of a second). Io naming the file otherwise.
Result<std::string> sha256OfFile(const std::string& path);
// `bytes` random bytes from OpenSSL's generator, in hex.
std::string randomHex(size_t bytes);

} // namespace dl::remote
