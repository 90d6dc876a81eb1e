// The hand-over wire (docs/ARCHITECTURE.md "Hand-over"): what an old ws worker
// tells its replacement over their Unix socket on reload. I/O-free, like every
// codec here: the runtime frames these bodies (runtime/fd_link.h) and carries
// the connections' descriptors beside them; this file only turns the state of
// a connection and a bus event into bytes and back. Both ends are the same
// program or the next version of it, but the decoder still checks every
// length against the bytes left: a truncated or foreign message is refused,
// never read past.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/php_value.h"

namespace pusher::protocol::handover {

// Message types (one byte in the link's frame header).
enum Type : uint8_t {
    kHello = 'H',        // new -> old: ready to adopt; body: "<kVersion> <cut nonce>"
    kHelloAck = 'K',     // old -> new: Hello heard; the export follows
    kConnections = 'C',  // old -> new: up to kMaxFds connections, their fds attached
    kEndOfConns = 'X',   // old -> new: every connection has been sent; body: the service's state
    kEvent = 'E',        // old -> new: a bus event read before the cut
    kDone = 'D',         // old -> new: the cut passed on every stream; nothing more follows
    kAck = 'A',          // new -> old: one kConnections message adopted (body: its count)
    kAbort = 'Z',        // new -> old: it gives up (and counts it); the link closes
};

// Said in Hello: an old worker that does not speak the new one's version
// hands nothing over (its clients are closed as in a plain reload).
constexpr const char* kVersion = "v1";

// At most this many descriptors per message (SCM_RIGHTS takes 253).
constexpr size_t kMaxFds = 253;

// A WebSocket connection as its new owner needs it. Times are CLOCK_MONOTONIC
// seconds, the same clock in both processes.
struct Conn {
    enum Phase : uint8_t { kHandshake = 0, kOpen = 1 };
    uint64_t id = 0;
    uint8_t phase = kOpen;
    uint8_t flags = 0;      // the service's Connection::flags (ping sent, close sent, deflate variant)
    bool ready = false;     // in the fan-out (welcomed)
    uint32_t last_active = 0, phase_since = 0;
    uint64_t bytes_in = 0, bytes_out = 0;
    std::string input;      // kHandshake: the request bytes so far; kOpen: WsDecoder::save()
    std::string output;     // queued bytes the socket has not taken yet, frames intact
    bool has_uid = false;
    std::string uid;
    std::vector<std::string> groups;
    bool has_session = false;
    std::string session;
};

std::string encode_conns(const std::vector<Conn>& conns);
bool decode_conns(std::string_view in, std::vector<Conn>* out, std::string* error);

// A bus event: its channel and data, PHP-serialized as they arrived.
std::string encode_event(const php::Value& channel, const php::Value& data);
bool decode_event(std::string_view in, php::Value* channel, php::Value* data, std::string* error);

// Little-endian fields for these bodies (also used by WsDecoder::save).
class Writer {
  public:
    explicit Writer(std::string& out) : out_(out) {}
    void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void u32(uint32_t v);
    void u64(uint64_t v);
    void str(std::string_view s);

  private:
    std::string& out_;
};

class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}
    bool u8(uint8_t* v);
    bool u32(uint32_t* v);
    bool u64(uint64_t* v);
    bool str(std::string* s);
    bool done() const { return in_.empty(); }

  private:
    bool take(size_t n, const char** p);
    std::string_view in_;
};

}  // namespace pusher::protocol::handover
