// WebSocket frames (RFC 6455 §5). The decoder checks a client's frames and
// reassembles messages; wslay parses each frame and unmasks its payload.
// Idle memory matters (100k connections a host): wslay's frame context holds
// a 4 KiB buffer, so one context per worker is shared and is only ever given
// complete frames, which leave it at a frame boundary. A connection keeps only
// its unfinished bytes, usually none: the decoder is 24 bytes when idle.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace pusher::protocol {

enum WsOpcode : uint8_t {
    kWsContinuation = 0x0,
    kWsText = 0x1,
    kWsBinary = 0x2,
    kWsClose = 0x8,
    kWsPing = 0x9,
    kWsPong = 0xA,
};

enum WsCloseCode : uint16_t {
    kWsNormal = 1000,
    kWsGoingAway = 1001,
    kWsProtocolError = 1002,
    kWsNoStatus = 1005,
    kWsInvalidData = 1007,
    kWsPolicy = 1008,
    kWsTooBig = 1009,
    kWsTryLater = 1013,
};

// Server frames: FIN set, unmasked, 7/16/64-bit length.
size_t ws_header_size(size_t payload_len);
size_t ws_write_header(char* out, uint8_t opcode, size_t payload_len);
std::string ws_encode(uint8_t opcode, std::string_view payload);
std::string ws_close_frame(uint16_t code, std::string_view reason = {});

class WsDecoder {
  public:
    class Sink {
      public:
        virtual ~Sink() = default;
        virtual void on_message(uint8_t opcode, std::string_view payload) = 0;
        virtual void on_ping(std::string_view payload) = 0;
        virtual void on_pong(std::string_view) {}
        virtual void on_close(uint16_t code, std::string_view reason) = 0;
    };
    struct Error {
        uint16_t code = 0;
        std::string reason;
    };

    // Decodes every complete frame in data, calling the sink. false: a
    // protocol error; close with err->code. The sink may stop early by
    // returning from on_close; nothing after a close frame is read.
    bool feed(const char* data, size_t len, size_t max_message, Sink& sink, Error* err);
    size_t buffered() const { return partial_ ? partial_->size() : 0; }

  private:
    bool frame(const char* p, size_t hdr, uint64_t payload_len, size_t max_message, Sink& sink,
               Error* err);
    bool message(uint8_t opcode, bool fin, std::string_view payload, size_t max_message, Sink& sink,
                 Error* err);
    std::unique_ptr<std::string> partial_;  // an unfinished frame
    std::unique_ptr<std::string> message_;  // fragments of an unfinished message
    uint8_t msg_opcode_ = 0;                // its opcode, 0 when none
    bool closed_ = false;
};

}  // namespace pusher::protocol
