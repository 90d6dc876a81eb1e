// libFuzzer: the WebSocket decoder with permessage-deflate agreed. Client
// frames (compressed or not) are decoded in one piece and in pieces of varying
// size, and both runs must agree on every event and on the close code; an
// inflated message never exceeds max_message. Then the input, compressed by
// the server's own compressor at a level and window taken from it, framed as
// a compressed binary message, must decode back to itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "protocol/deflate_codec.h"
#include "protocol/ws_frame.h"

using namespace pusher::protocol;

namespace {

constexpr size_t kMax = 1 << 16;

struct Sink : WsDecoder::Sink {
    std::vector<std::string> events;
    void on_message(uint8_t op, std::string_view p) override {
        if (p.size() > kMax) abort();  // the inflate bound
        events.push_back(std::to_string(op) + ":" + std::string(p));
    }
    void on_ping(std::string_view p) override { events.push_back("ping:" + std::string(p)); }
    void on_pong(std::string_view p) override { events.push_back("pong:" + std::string(p)); }
    void on_close(uint16_t code, std::string_view reason) override {
        events.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
    }
};

struct Run {
    std::vector<std::string> events;
    uint16_t code = 0;
};

Run decode(const char* p, size_t size, size_t step) {
    WsDecoder d;
    d.set_deflate(true);
    Sink sink;
    WsDecoder::Error err;
    Run r;
    for (size_t off = 0; off < size; off += step) {
        size_t n = std::min(step, size - off);
        if (!d.feed(p + off, n, kMax, sink, &err)) {
            r.code = err.code;
            if (err.code == 0 || err.reason.empty()) abort();  // a failure says why
            break;
        }
    }
    r.events = std::move(sink.events);
    return r;
}

// A masked client frame (mask 0: the payload as it is), FIN, RSV1, binary.
std::string compressed_frame(std::string_view payload) {
    std::string f(1, '\xC2');
    size_t n = payload.size();
    if (n < 126) {
        f += static_cast<char>(0x80 | n);
    } else if (n <= 0xFFFF) {
        f += static_cast<char>(0x80 | 126);
        f += static_cast<char>(n >> 8);
        f += static_cast<char>(n);
    } else {
        f += static_cast<char>(0x80 | 127);
        for (int i = 7; i >= 0; --i) f += static_cast<char>(uint64_t(n) >> (8 * i));
    }
    f.append(4, '\0');
    f.append(payload);
    return f;
}

void round_trip(const uint8_t* data, size_t size) {
    int level = size ? data[0] % 9 + 1 : 6;
    int window = size > 1 ? data[1] % 7 + 9 : 15;
    DeflateCompressor z(level, window);
    std::string_view in(reinterpret_cast<const char*>(data), size), out;
    if (!z.compress(in, &out)) abort();
    std::string wire = compressed_frame(out);
    Run r = decode(wire.data(), wire.size(), wire.size());
    if (r.code != 0 || r.events.size() != 1 || r.events[0] != "2:" + std::string(in)) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const char* p = reinterpret_cast<const char*>(data);
    Run whole = decode(p, size, size ? size : 1);
    Run pieces = decode(p, size, size ? (data[0] % 7) + 1 : 1);
    if (whole.code != pieces.code || whole.events != pieces.events) abort();
    round_trip(data, size);
    return 0;
}
