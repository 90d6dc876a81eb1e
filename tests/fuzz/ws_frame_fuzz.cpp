// libFuzzer: the WebSocket path of a connection: handshake request, then
// client frames through the decoder. The frames are decoded twice, in one
// piece and in pieces of varying size, and both runs must agree on every
// event and on the close code: how TCP cuts the stream must not matter.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "protocol/http_request.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_handshake.h"

using namespace pusher::protocol;

namespace {

struct Sink : WsDecoder::Sink {
    std::vector<std::string> events;
    void on_message(uint8_t op, std::string_view p) override {
        events.push_back(std::to_string(op) + ":" + std::string(p));
    }
    void on_ping(std::string_view p) override {
        (void)ws_encode(kWsPong, p);
        events.push_back("ping:" + std::string(p));
    }
    void on_pong(std::string_view p) override { events.push_back("pong:" + std::string(p)); }
    void on_close(uint16_t code, std::string_view reason) override {
        (void)ws_close_frame(code);
        events.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
    }
};

struct Run {
    std::vector<std::string> events;
    uint16_t code = 0;
};

Run decode(const char* p, size_t size, size_t step) {
    WsDecoder d;
    Sink sink;
    WsDecoder::Error err;
    Run r;
    for (size_t off = 0; off < size; off += step) {
        size_t n = std::min(step, size - off);
        if (!d.feed(p + off, n, 1 << 16, sink, &err)) {
            r.code = err.code;
            if (err.code == 0 || err.reason.empty()) abort();  // a failure says why
            break;
        }
    }
    r.events = std::move(sink.events);
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const char* p = reinterpret_cast<const char*>(data);
    HttpParser hs;
    size_t used = 0;
    if (hs.feed(p, size, &used) == HttpParser::Result::Request) (void)ws_handshake(hs.take());
    Run whole = decode(p, size, size ? size : 1);
    Run pieces = decode(p, size, size ? (data[0] % 7) + 1 : 1);
    if (whole.code != pieces.code || whole.events != pieces.events) abort();
    return 0;
}
