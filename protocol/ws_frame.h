// WebSocket frames (RFC 6455 §5). The decoder checks a client's frames and
// reassembles messages, as a push parser: bytes go in as they arrive, in any
// pieces, and each byte is copied once. A frame's header is parsed as soon as
// it is complete, which says how many payload bytes are still to come; the
// payload is unmasked straight into the message being assembled, and text is
// UTF-8-checked as it arrives, so a bad byte closes the connection on the read
// that brings it. A complete frame in one read (the common case) needs no
// allocation. Idle memory matters (100k connections a host): what a connection
// keeps between reads lives in a Pending block that exists only while a frame
// or message is unfinished; the idle decoder is 16 bytes.
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

// Whether a peer may send this code in a close frame (RFC 6455 §7.4 and the
// IANA registry): 1000-1003, 1007-1014 and 3000-4999.
bool ws_close_code_valid(uint16_t code);

class WsDecoder {
  public:
    class Sink {
      public:
        virtual ~Sink() = default;
        virtual void on_message(uint8_t opcode, std::string_view payload) = 0;
        virtual void on_ping(std::string_view payload) = 0;
        virtual void on_pong(std::string_view) {}
        // The last call feed() makes: the sink may destroy the decoder here.
        // code is kWsNoStatus (1005) when the close frame carried none.
        virtual void on_close(uint16_t code, std::string_view reason) = 0;
    };
    struct Error {
        uint16_t code = 0;
        std::string reason;
    };

    WsDecoder();
    ~WsDecoder();
    WsDecoder(WsDecoder&&) noexcept;
    WsDecoder& operator=(WsDecoder&&) noexcept;

    // Decodes every complete frame in data, calling the sink in wire order.
    // false: a protocol error; close with err->code. After a close frame or
    // an error nothing more is read: later calls return true and do nothing.
    bool feed(const char* data, size_t len, size_t max_message, Sink& sink, Error* err);
    // Bytes held for an unfinished frame or message; 0 when idle.
    size_t buffered() const;

  private:
    struct Header;
    struct Pending;
    struct Input;
    enum class Step { kNext, kMore, kClosed, kFailed };

    Step header(Input& in, Header* h);
    Step start(const Header& h, Input& in, size_t max_message, Sink& sink, Error* err);
    Step payload(Input& in, size_t max_message, Sink& sink, Error* err);
    Step whole(const Header& h, Input& in, Sink& sink, Error* err);
    Step end_of_message(Sink& sink, Error* err);
    Step control(uint8_t opcode, std::string_view payload, Sink& sink, Error* err);
    bool check(const Header& h, size_t max_message, Error* err) const;
    bool in_message() const;
    Pending& pending();

    std::unique_ptr<Pending> pending_;  // an unfinished frame or message, else null
    bool closed_ = false;               // a close frame or an error was seen
};

}  // namespace pusher::protocol
