#include "remote/protocol.h"

#include <algorithm>
#include <exception>
#include <limits>

namespace dl::remote {

namespace {

struct TypeInfo
{
    MessageType type;
    const char* name;
};

constexpr TypeInfo kTypes[] = {
    { MessageType::Hello, "hello" },
    { MessageType::Welcome, "welcome" },
    { MessageType::Error, "error" },
    { MessageType::Auth, "auth" },
    { MessageType::AuthOk, "auth-ok" },
    { MessageType::Heartbeat, "heartbeat" },
    { MessageType::HasModel, "has-model" },
    { MessageType::ModelState, "model-state" },
    { MessageType::UploadChunk, "upload-chunk" },
    { MessageType::Info, "info" },
    { MessageType::InfoResult, "info-result" },
    { MessageType::Run, "run" },
    { MessageType::RunQueued, "run-queued" },
    { MessageType::RunStarted, "run-started" },
    { MessageType::Events, "events" },
    { MessageType::Outcome, "outcome" },
    { MessageType::Stop, "stop" },
    { MessageType::Progress, "progress" },
    { MessageType::Watch, "watch" },
    { MessageType::EventsAck, "events-ack" },
    { MessageType::ListRuns, "list-runs" },
    { MessageType::RunList, "run-list" },
    { MessageType::FetchRun, "fetch-run" },
    { MessageType::StoredRun, "stored-run" },
    { MessageType::SaveConfig, "save-config" },
    { MessageType::ConfigSaved, "config-saved" },
};

// Walks CBOR item headers (RFC 8949) without building anything: each declared length is compared with what is left
// before it is skipped, so that a hostile length costs nothing.
class CborWalker
{
public:
    CborWalker(const uint8_t* data, size_t size)
        : m_begin(data)
        , m_p(data)
        , m_end(data + size)
    { }

    Status walkAll()
    {
        DL_TRY(item(0));
        if (m_p != m_end) return bad("bytes after the body's one item");
        return {};
    }

private:
    Status bad(const std::string& what) const
    {
        return invalid("malformed frame body: " + what + " (at byte " + std::to_string(m_p - m_begin) + ")");
    }

    // The argument of an item's header; false when the header itself is cut short or reserved.
    bool argument(uint8_t info, uint64_t& value, bool& indefinite)
    {
        indefinite = false;
        if (info < 24) {
            value = info;
            return true;
        }
        if (info == 31) {
            indefinite = true;
            return true;
        }
        if (info > 27) return false;
        const size_t bytes = size_t(1) << (info - 24);
        if (static_cast<size_t>(m_end - m_p) < bytes) return false;
        value = 0;
        for (size_t i = 0; i < bytes; ++i)
            value = (value << 8) | *m_p++;
        return true;
    }

    Status item(int depth)
    {
        if (depth > kMaxDepth) return bad("nested deeper than " + std::to_string(kMaxDepth));
        if (m_p >= m_end) return bad("cut short");
        const uint8_t head = *m_p++;
        const uint8_t major = head >> 5, info = head & 0x1f;
        uint64_t n = 0;
        bool indefinite = false;
        if (!argument(info, n, indefinite)) return bad("a header cut short or reserved");
        const size_t left = static_cast<size_t>(m_end - m_p);
        switch (major) {
        case 0: // unsigned integer
        case 1: // negative integer
            if (indefinite) return bad("an integer of indefinite length");
            return {};
        case 2: // byte string
        case 3: // text string
            if (indefinite) return bad("a string of indefinite length");
            if (n > left) return bad("a string of " + std::to_string(n) + " bytes, " + std::to_string(left) + " left");
            if (major == 3 && n > kMaxStringBytes)
                return bad(
                    "a text of " + std::to_string(n) + " bytes, above the cap of " + std::to_string(kMaxStringBytes));
            m_p += n;
            return {};
        case 4: // array
        case 5: { // map
            if (indefinite) return bad("an array or map of indefinite length");
            if (n > kMaxArrayItems)
                return bad("an array or map of " + std::to_string(n) + " items, above the cap of "
                    + std::to_string(kMaxArrayItems));
            // Each item is at least one byte: a count above what is left is a lie.
            const uint64_t items = major == 5 ? n * 2 : n;
            if (items > left)
                return bad(std::to_string(items) + " items declared, " + std::to_string(left) + " bytes left");
            for (uint64_t i = 0; i < items; ++i)
                DL_TRY(item(depth + 1));
            return {};
        }
        case 6: // tag
            if (indefinite) return bad("a tag of indefinite length");
            return item(depth + 1);
        default: // 7: simple values and floats; the argument was the value
            if (indefinite) return bad("a break outside an item of indefinite length");
            return {};
        }
    }

    const uint8_t* m_begin;
    const uint8_t* m_p;
    const uint8_t* m_end;
};

uint32_t readU32(const uint8_t* p)
{
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

} // namespace

const char* messageTypeName(MessageType type)
{
    for (const auto& t : kTypes)
        if (t.type == type) return t.name;
    return "unknown";
}

bool isKnownMessageType(uint16_t number)
{
    return std::any_of(std::begin(kTypes), std::end(kTypes),
        [&](const TypeInfo& t) { return static_cast<uint16_t>(t.type) == number; });
}

uint32_t maxFrameBytes(MessageType type)
{
    return type == MessageType::UploadChunk || type == MessageType::StoredRun ? kMaxChunkFrameBytes
                                                                              : kMaxControlFrameBytes;
}

Status checkCbor(const uint8_t* data, size_t size)
{
    return CborWalker(data, size).walkAll();
}

Result<std::string> encodeFrame(MessageType type, const Json& body)
{
    std::vector<uint8_t> cbor;
    try {
        cbor = Json::to_cbor(body);
    } catch (const std::exception& e) {
        return invalid(std::string("cannot encode a ") + messageTypeName(type) + " frame: " + e.what());
    }
    const uint64_t length = cbor.size() + 2;
    if (length > maxFrameBytes(type))
        return invalid(std::string("a ") + messageTypeName(type) + " frame of " + std::to_string(length)
            + " bytes is above its limit of " + std::to_string(maxFrameBytes(type)));
    std::string out;
    out.reserve(kFrameHeaderBytes + cbor.size());
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((length >> shift) & 0xff));
    const auto t = static_cast<uint16_t>(type);
    out.push_back(static_cast<char>(t >> 8));
    out.push_back(static_cast<char>(t & 0xff));
    out.append(reinterpret_cast<const char*>(cbor.data()), cbor.size());
    return out;
}

Status FrameReader::fail(std::string message)
{
    m_failed = true;
    m_buffer.clear();
    m_buffer.shrink_to_fit();
    return invalid(std::move(message));
}

Status FrameReader::feed(const void* data, size_t size, std::vector<Frame>& out)
{
    if (m_failed) return invalid("the connection already sent a malformed frame");
    const auto* p = static_cast<const uint8_t*>(data);
    const uint8_t* end = p + size;
    while (p < end) {
        // The header first, byte by byte as it comes; the body only once its length is known to be allowed.
        if (m_buffer.size() < kFrameHeaderBytes) {
            const size_t take = std::min(kFrameHeaderBytes - m_buffer.size(), static_cast<size_t>(end - p));
            m_buffer.insert(m_buffer.end(), p, p + take);
            p += take;
            if (m_buffer.size() < kFrameHeaderBytes) break;
            const uint32_t length = readU32(m_buffer.data());
            const uint16_t number = static_cast<uint16_t>((m_buffer[4] << 8) | m_buffer[5]);
            if (length < 2) return fail("a frame of " + std::to_string(length) + " bytes cannot hold its type");
            if (!isKnownMessageType(number)) return fail("a frame of unknown message type " + std::to_string(number));
            const auto type = static_cast<MessageType>(number);
            if (length > maxFrameBytes(type))
                return fail(std::string("a ") + messageTypeName(type) + " frame of " + std::to_string(length)
                    + " bytes is above its limit of " + std::to_string(maxFrameBytes(type)));
            m_buffer.reserve(4 + static_cast<size_t>(length));
        }
        const size_t total = 4 + static_cast<size_t>(readU32(m_buffer.data()));
        const size_t take = std::min(total - m_buffer.size(), static_cast<size_t>(end - p));
        m_buffer.insert(m_buffer.end(), p, p + take);
        p += take;
        if (m_buffer.size() < total) break;
        const auto type = static_cast<MessageType>(static_cast<uint16_t>((m_buffer[4] << 8) | m_buffer[5]));
        const uint8_t* body = m_buffer.data() + kFrameHeaderBytes;
        const size_t bodyBytes = total - kFrameHeaderBytes;
        if (Status st = checkCbor(body, bodyBytes); !st.ok())
            return fail(std::string("a ") + messageTypeName(type) + " frame: " + st.error().message);
        Frame f;
        f.type = type;
        try {
            f.body = Json::from_cbor(body, body + bodyBytes);
        } catch (const std::exception& e) {
            return fail(std::string("a ") + messageTypeName(type) + " frame's body is not CBOR: " + e.what());
        }
        out.push_back(std::move(f));
        m_buffer.clear();
    }
    return {};
}

Hello readHello(const Json& body)
{
    Hello h;
    const uint64_t protocol = field<uint64_t>(body, "protocol", 0);
    h.protocol = protocol <= std::numeric_limits<uint32_t>::max() ? static_cast<uint32_t>(protocol) : 0;
    h.client = field<std::string>(body, "client", "");
    return h;
}

Result<Welcome> readWelcome(const Json& body)
{
    const uint64_t protocol = field<uint64_t>(body, "protocol", 0);
    if (protocol == 0 || protocol > std::numeric_limits<uint32_t>::max())
        return invalid("the agent's welcome names no protocol version");
    Welcome w;
    w.protocol = static_cast<uint32_t>(protocol);
    if (const std::string m = versionMismatch(w.protocol, "agent"); !m.empty()) return invalid(m);
    w.engine = field<std::string>(body, "engine", "");
    w.device = field<Json>(body, "device", Json());
    w.capabilities = field<Json>(body, "capabilities", Json());
    w.nonce = field<std::string>(body, "nonce", "");
    if (w.nonce.size() < 32) return invalid("the agent's welcome carries no challenge");
    return w;
}

std::string versionMismatch(uint32_t theirs, const std::string& peer)
{
    if (theirs == kProtocolVersion) return {};
    return "the " + peer + " speaks protocol version " + std::to_string(theirs) + ", this build version "
        + std::to_string(kProtocolVersion) + ": update " + (theirs > kProtocolVersion ? "this build" : "the " + peer)
        + " so that both speak the same version";
}

} // namespace dl::remote
