// Fuzz target: the board protocol's frame decoder, fed the input split where its first bytes say (as a socket
// delivers a stream), and every frame it completes read by the handshake and the message readers; and the CBOR
// checker alone.

#include "remote/messages.h"
#include "remote/protocol.h"

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    (void)dl::remote::checkCbor(data, size);
    if (size < 2) return 0;
    const size_t step = 1 + (size_t(data[0]) << 8 | data[1]) % 4096;
    dl::remote::FrameReader reader;
    std::vector<dl::remote::Frame> frames;
    for (size_t at = 2; at < size; at += step) {
        const size_t n = size - at < step ? size - at : step;
        if (!reader.feed(data + at, n, frames).ok()) break;
    }
    // Every body read as each reader of what a peer sends would read it: the handshake's, a run request (the agent),
    // and the agent's answers (the client).
    for (const auto& f : frames) {
        (void)dl::remote::readHello(f.body);
        (void)dl::remote::readWelcome(f.body);
        (void)dl::remote::messageTypeName(f.type);
        (void)dl::remote::runSpecFromRequest(f.body, "model.onnx", "");
        (void)dl::remote::batchFromJson(f.body);
        (void)dl::remote::setupFromJson(f.body);
        (void)dl::remote::progressFromJson(f.body);
    }
    return 0;
}
