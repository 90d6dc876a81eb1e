// WebSocket frames (RFC 6455 §5). The decoder checks a client's frames and
// reassembles messages, as a push parser: bytes go in as they arrive, in any
// pieces. wslay parses each frame (wslay_frame_recv: header bits, length
// forms, mask key, unmasking) once the frame is complete; until then its bytes
// are held by appending, each byte copied a bounded number of times (linear
// work however TCP cuts the stream). The decoder reads only a frame's size from
// its header itself, to know when the frame is complete and to refuse an
// oversized one before holding it. wslay's context, with its 4 KiB buffer, is
// shared by the decoders of a thread: it only ever sees whole frames, so it
// holds nothing between them. Text is UTF-8-checked frame by frame, so a bad
// fragment closes the connection on the read that completes it. A complete
// frame of up to 4 KiB in one read needs no allocation. Idle memory matters
// (100k connections a host): what a connection keeps between reads lives in a
// Pending block that exists only while a frame or message is unfinished; the
// idle decoder is 16 bytes.
//
// With permessage-deflate agreed (set_deflate, RFC 7692), RSV1 on the first
// frame of a text or binary message marks it compressed: the whole message is
// inflated once reassembled, by one inflater per thread (the client takes no
// context over, so nothing is kept per connection), never past max_message
// (1009), and text is UTF-8-checked after inflating.
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

// Server frames: FIN set, unmasked, 7/16/64-bit length. compressed sets RSV1
// (a permessage-deflate message, RFC 7692 §6).
size_t ws_header_size(size_t payload_len);
size_t ws_write_header(char* out, uint8_t opcode, size_t payload_len, bool compressed = false);
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
    // permessage-deflate was agreed in the handshake: RSV1 marks a compressed message.
    void set_deflate(bool on) { deflate_ = on; }
    // Hand-over to a new process (issue 15): the unfinished frame or message
    // as bytes, and back. restore() is for a fresh decoder; false: not a
    // state this code could have written under max_message.
    std::string save() const;
    bool restore(std::string_view state, size_t max_message);

  private:
    struct Pending;
    struct Input;
    class Frame;  // one complete frame, as wslay reads it
    enum class Step { kNext, kMore, kClosed, kFailed };

    Step next(Input& in, size_t max_message, Sink& sink, Error* err);
    Step resume(Input& in, size_t max_message, Sink& sink, Error* err);
    Step frame(std::string_view head, std::string_view rest, uint64_t length, bool in_place,
               size_t max_message, Sink& sink, Error* err);
    Step single(Frame& f, bool in_place, size_t max_message, Sink& sink, Error* err);
    Step fragment(Frame& f, bool in_place, size_t max_message, Sink& sink, Error* err);
    Step end_of_message(size_t max_message, Sink& sink, Error* err);
    Step inflated(uint8_t opcode, std::string_view compressed, size_t max_message, Sink& sink,
                  Error* err);
    Step control(uint8_t opcode, std::string_view payload, Sink& sink, Error* err);
    bool fits(uint8_t b0, uint64_t length, size_t max_message, Error* err) const;
    bool check(const Frame& f, Error* err) const;
    bool in_message() const;
    Pending& pending();

    std::unique_ptr<Pending> pending_;  // an unfinished frame or message, else null
    bool closed_ = false;               // a close frame or an error was seen
    bool deflate_ = false;              // permessage-deflate agreed (in the padding: free)
};

}  // namespace pusher::protocol
