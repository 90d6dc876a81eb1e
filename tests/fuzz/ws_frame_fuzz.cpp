// libFuzzer: the WebSocket path of a connection: handshake request, then
// client frames through the decoder, fed in pieces.
#include <cstdint>
#include <string>

#include "protocol/http_request.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_handshake.h"

using namespace pusher::protocol;

namespace {
struct Sink : WsDecoder::Sink {
    void on_message(uint8_t, std::string_view) override {}
    void on_ping(std::string_view p) override { (void)ws_encode(kWsPong, p); }
    void on_close(uint16_t code, std::string_view) override { (void)ws_close_frame(code); }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const char* p = reinterpret_cast<const char*>(data);
    HttpParser hs;
    size_t used = 0;
    if (hs.feed(p, size, &used) == HttpParser::Result::Request) (void)ws_handshake(hs.take());
    // The whole input as frames too, in pieces of varying size.
    WsDecoder d;
    Sink sink;
    WsDecoder::Error err;
    size_t off = 0, step = size ? (data[0] % 7) + 1 : 1;
    while (off < size) {
        size_t n = std::min(step, size - off);
        if (!d.feed(p + off, n, 1 << 16, sink, &err)) break;
        off += n;
    }
    return 0;
}
