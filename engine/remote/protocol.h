#pragma once

// The board protocol: one header for both ends (the studio's remote session and `dlayer serve` on the board), no Qt.
// This part is the framing every message travels in, its limits and the handshake's versions; the transport (TLS 1.3)
// and the session that speaks it come on top.
//
// A frame on the wire:
//
//   u32 length (big-endian) of what follows | u16 message type (big-endian) | CBOR body (length − 2 bytes)
//
// Every size is checked before anything is allocated for it: the length prefix against the type's limit (1 MiB for
// control frames, a chunk and its header for uploads), then every CBOR string, byte string, array and map header in
// the body against what is left of the frame and the caps on strings and arrays, and the nesting depth, before the
// body is parsed. A frame that breaks a rule is an error for that connection only: FrameReader stops there, and the
// caller answers with an Error frame where it can and closes.

#include "core/result.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace dl::remote {

using Json = nlohmann::json;

// The protocol's version: a peer of another version gets a message naming both, and nothing else is exchanged.
inline constexpr uint32_t kProtocolVersion = 1;

inline constexpr size_t kFrameHeaderBytes = 6; // the length prefix and the message type
inline constexpr uint32_t kMaxControlFrameBytes = uint32_t(1) << 20; // 1 MiB
inline constexpr uint32_t kUploadChunkBytes = uint32_t(4) << 20; // the data of one upload chunk
inline constexpr uint32_t kMaxChunkFrameBytes = kUploadChunkBytes + 4096; // a chunk and its header
inline constexpr size_t kMaxStringBytes = size_t(64) << 10; // any one text string in a body
inline constexpr size_t kMaxArrayItems = 65536; // any one array or map
inline constexpr int kMaxDepth = 16; // nesting of arrays and maps

enum class MessageType : uint16_t {
    Hello = 1, // client → agent: protocol and engine versions, who is asking
    Welcome = 2, // agent → client: versions, the board's device, capabilities
    Error = 3, // either way: {code, message}; the sender may close after it
    Auth = 4, // client → agent: the token's proof
    AuthOk = 5,
    Heartbeat = 6, // either way, at least every second
    HasModel = 10, // client → agent: {sha256}; the answer says whether and how much is there
    ModelState = 11,
    UploadChunk = 12, // client → agent: {sha256, kind, size, offset, data (bytes)}; may be large
    Info = 20, // the layer table, planned on the board's backend
    InfoResult = 21,
    Run = 30, // a RunSpec; the answer is RunQueued, then RunStarted, Events..., Outcome
    RunQueued = 31,
    RunStarted = 32,
    Events = 33,
    Outcome = 34,
    Stop = 35, // {run}: a queued run leaves the queue, a running one stops within a layer
    Progress = 36, // agent → client: {run, progress} while a run is set up
    EventsAck = 38, // client → agent: {run}: an events batch taken; a few batches at most go unacknowledged
    Watch = 37, // {run}: follow a run another client started (its state, events and outcome); no run: the current
    ListRuns = 40,
    RunList = 41,
    FetchRun = 42,
    StoredRun = 43, // a stored run's export in chunks {uuid, offset, total, data (bytes)}: may be large
    SaveConfig = 50, // {name, config}: a planner configuration into the board's store, beside the model
    ConfigSaved = 51,
};

// "hello", "upload-chunk", ...; "unknown" for a number that is no message type.
const char* messageTypeName(MessageType type);
// Whether `number` names a message type of this protocol version.
bool isKnownMessageType(uint16_t number);
// The largest frame (after the length prefix) a message of `type` may have.
uint32_t maxFrameBytes(MessageType type);

struct Frame
{
    MessageType type = MessageType::Error;
    Json body;
};

// The frame's bytes, ready to send. Invalid, naming the type and both sizes, when the body is larger than the type's
// limit (the sender's mistake: nothing is sent).
Result<std::string> encodeFrame(MessageType type, const Json& body);

// Checks a CBOR body (exactly one item) against the caps above without allocating: every item's header is walked and
// every declared length compared with what is left. Invalid, saying what and at which byte, otherwise.
Status checkCbor(const uint8_t* data, size_t size);

// Reads frames from a byte stream split anywhere (as a socket delivers it). Each feed() appends the frames it
// completes. The first bad frame (a length prefix over its type's limit or under the header, an unknown message type,
// a body that breaks a cap or is not CBOR) makes feed() return Invalid, naming what was wrong, and the reader stays
// failed: the connection is to be closed. A frame's bytes are allocated only once its length has been checked.
class FrameReader
{
public:
    Status feed(const void* data, size_t size, std::vector<Frame>& out);
    bool failed() const { return m_failed; }
    // Bytes held of a frame not yet complete (bounded by the largest frame a type may have).
    size_t buffered() const { return m_buffer.size(); }

private:
    Status fail(std::string message);
    std::vector<uint8_t> m_buffer;
    bool m_failed = false;
};

// A field of a body a peer sent, of the wanted type, or `fallback` when it is missing or of another type. What a
// peer sends is never trusted to be well-typed (nlohmann's value() and get() throw on a field of another type).
template <typename T> T field(const Json& body, const char* key, T fallback)
{
    if (!body.is_object()) return fallback;
    const auto it = body.find(key);
    if (it == body.end()) return fallback;
    if constexpr (std::is_same_v<T, Json>)
        return *it;
    else if constexpr (std::is_same_v<T, bool>)
        return it->is_boolean() ? it->template get<bool>() : fallback;
    else if constexpr (std::is_same_v<T, std::string>)
        return it->is_string() ? it->template get<std::string>() : fallback;
    else if constexpr (std::is_floating_point_v<T>)
        return it->is_number() ? it->template get<T>() : fallback;
    else if constexpr (std::is_unsigned_v<T>)
        return it->is_number_unsigned() ? it->template get<T>() : fallback;
    else if constexpr (std::is_integral_v<T>)
        return it->is_number_integer() ? it->template get<T>() : fallback;
    else
        return fallback;
}

// What the agent says when a client has said hello.
struct Welcome
{
    uint32_t protocol = 0;
    std::string engine; // the agent's engine version
    Json device; // the board: DeviceIdentity's fields, the pack directory's disk
    Json capabilities; // backends, architectures, limits
    std::string nonce; // the challenge the client's token proof answers (read from a welcome; the agent makes its own)
};

// The handshake's bodies as a peer sent them, no field trusted to be there or of its type. A hello: the client's
// protocol version (0 where it names none) and who it says it is.
struct Hello
{
    uint32_t protocol = 0;
    std::string client;
};
Hello readHello(const Json& body);
// A welcome: Invalid when it names no protocol version, one this build cannot talk to (naming both), or carries no
// challenge (a nonce under 32 characters).
Result<Welcome> readWelcome(const Json& body);

// The handshake's version check, both ends: empty when `theirs` can talk to this build, else the message to show,
// naming both versions and which side to update.
std::string versionMismatch(uint32_t theirs, const std::string& peer);

} // namespace dl::remote
