#include "protocol/ws_frame.h"

#include <algorithm>
#include <cstring>

#include "protocol/utf8.h"

namespace pusher::protocol {

// ---- encoding ------------------------------------------------------------

size_t ws_header_size(size_t n) {
    return n < 126 ? 2 : n <= 0xFFFF ? 4 : 10;
}

size_t ws_write_header(char* out, uint8_t opcode, size_t n) {
    out[0] = static_cast<char>(0x80 | opcode);
    if (n < 126) {
        out[1] = static_cast<char>(n);
        return 2;
    }
    if (n <= 0xFFFF) {
        out[1] = 126;
        out[2] = static_cast<char>(n >> 8);
        out[3] = static_cast<char>(n);
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<char>(uint64_t(n) >> (56 - 8 * i));
    return 10;
}

std::string ws_encode(uint8_t opcode, std::string_view payload) {
    std::string out(ws_header_size(payload.size()), '\0');
    ws_write_header(out.data(), opcode, payload.size());
    out.append(payload.data(), payload.size());
    return out;
}

std::string ws_close_frame(uint16_t code, std::string_view reason) {
    std::string payload;
    payload += static_cast<char>(code >> 8);
    payload += static_cast<char>(code & 0xFF);
    payload.append(reason.substr(0, 123));
    return ws_encode(kWsClose, payload);
}

bool ws_close_code_valid(uint16_t c) {
    // 1004 is reserved; 1005, 1006 and 1015 must never be sent; 1016-2999
    // are unassigned or reserved for extensions; 0-999 are not used.
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

// ---- decoder state -----------------------------------------------------------

namespace {

constexpr size_t kMaxHeader = 14;         // 2 + 8 (64-bit length) + 4 (mask)
constexpr size_t kMaxControl = 125;       // RFC 6455 §5.5
constexpr size_t kStackPayload = 4096;    // a whole frame up to this size unmasks on the stack
constexpr size_t kFirstChunk = 64 << 10;  // a message buffer starts at most this big

// Header size from its second byte: a declared length is never trusted to
// size anything but the few bytes of the header itself.
size_t header_size(uint8_t b1) {
    uint8_t len7 = b1 & 0x7F;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
}

// XORs n bytes with the mask, starting at payload offset `offset`; in and out
// may be the same buffer. Eight bytes a step: messages can be megabytes.
void unmask(const char* in, size_t n, const uint8_t mask[4], uint64_t offset, char* out) {
    uint8_t m[8];
    for (size_t i = 0; i < 8; ++i) m[i] = mask[(offset + i) & 3];
    uint64_t mw;
    memcpy(&mw, m, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, in + i, 8);
        w ^= mw;
        memcpy(out + i, &w, 8);
    }
    for (; i < n; ++i) out[i] = static_cast<char>(in[i] ^ m[i & 7]);
}

}  // namespace

struct WsDecoder::Header {
    uint8_t b0 = 0;  // FIN, RSV1-3, opcode
    bool masked = false;
    uint8_t mask[4] = {};
    uint64_t length = 0;
    uint8_t opcode() const { return b0 & 0x0F; }
    bool fin() const { return b0 & 0x80; }
    bool control() const { return b0 & 0x08; }

    // p holds header_size(p[1]) bytes.
    static Header parse(const uint8_t* p) {
        Header h;
        h.b0 = p[0];
        h.masked = p[1] & 0x80;
        uint8_t len7 = p[1] & 0x7F;
        size_t at = 2;
        h.length = len7;
        if (len7 == 126) {
            h.length = (uint64_t(p[2]) << 8) | p[3];
            at = 4;
        } else if (len7 == 127) {
            h.length = 0;
            for (int i = 0; i < 8; ++i) h.length = (h.length << 8) | p[2 + i];
            at = 10;
        }
        if (h.masked) memcpy(h.mask, p + at, 4);
        return h;
    }
};

// What outlives a read: part of a header, the frame whose payload is still
// arriving, a control frame's payload so far, the data message so far.
struct WsDecoder::Pending {
    uint8_t head[kMaxHeader];
    uint8_t head_len = 0;
    bool in_frame = false;  // frame's payload is arriving; left bytes to go
    Header frame;
    uint64_t left = 0;
    uint8_t control_len = 0;
    char control[kMaxControl];
    uint8_t msg_opcode = 0;  // kWsText or kWsBinary while a message is open
    Utf8Validator utf8;      // carries a code point split across frames and reads
    std::string message;
    bool idle() const { return head_len == 0 && !in_frame && msg_opcode == 0; }
};

struct WsDecoder::Input {
    const char* p;
    const char* end;
    size_t avail() const { return static_cast<size_t>(end - p); }
};

WsDecoder::WsDecoder() = default;
WsDecoder::~WsDecoder() = default;
WsDecoder::WsDecoder(WsDecoder&&) noexcept = default;
WsDecoder& WsDecoder::operator=(WsDecoder&&) noexcept = default;

size_t WsDecoder::buffered() const {
    if (!pending_) return 0;
    return pending_->head_len + pending_->control_len + pending_->message.size();
}

WsDecoder::Pending& WsDecoder::pending() {
    if (!pending_) pending_ = std::make_unique<Pending>();
    return *pending_;
}

bool WsDecoder::in_message() const {
    return pending_ && pending_->msg_opcode != 0;
}

namespace {

bool fail(WsDecoder::Error* err, uint16_t code, const char* reason) {
    err->code = code;
    err->reason = reason;
    return false;
}

// Room for n more bytes of a message: the buffer doubles, so copying stays
// amortised linear however the message is cut (one-byte fragments too). The
// first buffer is small whatever length the frame declares, so a client that
// declares a big frame and trickles it holds memory only for what it sent.
// The last frame's buffer stops at the message's end.
void grow(std::string& m, size_t n, uint64_t left, bool last, size_t max_message) {
    size_t need = m.size() + n;
    if (need <= m.capacity()) return;
    uint64_t rest = m.size() + left;  // the frame's end
    size_t want = std::max<size_t>(2 * m.capacity(), std::min<uint64_t>(rest, kFirstChunk));
    want = std::min<size_t>(want, last ? rest : max_message);
    m.reserve(std::max(want, need));
}

}  // namespace

// ---- decoding --------------------------------------------------------------

bool WsDecoder::feed(const char* data, size_t len, size_t max_message, Sink& sink, Error* err) {
    if (closed_) return true;
    Input in{data, data + len};
    for (;;) {
        Step s;
        if (pending_ && pending_->in_frame) {
            s = payload(in, max_message, sink, err);
        } else {
            if (in.p == in.end) break;
            Header h;
            s = header(in, &h);
            if (s == Step::kNext) s = start(h, in, max_message, sink, err);
        }
        if (s == Step::kMore) break;
        if (s == Step::kClosed) return true;  // the sink may have destroyed *this
        if (s == Step::kFailed) {
            closed_ = true;
            pending_.reset();
            return false;
        }
    }
    if (pending_ && pending_->idle()) pending_.reset();
    return true;
}

// The next frame's header, read in place when the input holds all of it, else
// gathered across reads (at most 14 bytes).
WsDecoder::Step WsDecoder::header(Input& in, Header* h) {
    auto u = reinterpret_cast<const uint8_t*>(in.p);
    if ((!pending_ || pending_->head_len == 0) && in.avail() >= 2 &&
        in.avail() >= header_size(u[1])) {
        *h = Header::parse(u);
        in.p += header_size(u[1]);
        return Step::kNext;
    }
    Pending& p = pending();
    for (;;) {
        size_t need = p.head_len < 2 ? 2 : header_size(p.head[1]);
        size_t take = std::min(need - p.head_len, in.avail());
        memcpy(p.head + p.head_len, in.p, take);
        p.head_len = static_cast<uint8_t>(p.head_len + take);
        in.p += take;
        if (p.head_len < need) return Step::kMore;
        if (need == header_size(p.head[1])) break;
    }
    *h = Header::parse(p.head);
    p.head_len = 0;
    return Step::kNext;
}

// RFC 6455 §5.2-5.5 on a complete header, before any payload is held.
bool WsDecoder::check(const Header& h, size_t max_message, Error* err) const {
    uint8_t op = h.opcode();
    if (h.b0 & 0x70) return fail(err, kWsProtocolError, "reserved bits set without an extension");
    if (!h.masked) return fail(err, kWsProtocolError, "client frame not masked");
    if ((op > kWsBinary && op < kWsClose) || op > kWsPong)
        return fail(err, kWsProtocolError, "reserved opcode");
    if (h.length >> 63) return fail(err, kWsProtocolError, "payload length has its top bit set");
    if (h.control()) {
        if (!h.fin()) return fail(err, kWsProtocolError, "fragmented control frame");
        if (h.length > kMaxControl) return fail(err, kWsProtocolError, "control frame too long");
        return true;
    }
    if (op == kWsContinuation && !in_message())
        return fail(err, kWsProtocolError, "continuation without a message");
    if (op != kWsContinuation && in_message())
        return fail(err, kWsProtocolError, "new message inside a fragmented one");
    size_t held = in_message() ? pending_->message.size() : 0;
    if (h.length > max_message - std::min(held, max_message))
        return fail(err, kWsTooBig, "message larger than max message size");
    return true;
}

// A frame whose header was just read: handled at once when its payload is all
// here and nothing is pending, else its payload is collected as it arrives.
WsDecoder::Step WsDecoder::start(const Header& h, Input& in, size_t max_message, Sink& sink,
                                 Error* err) {
    if (!check(h, max_message, err)) return Step::kFailed;
    bool here = in.avail() >= h.length;
    if (h.control() && here) {
        char buf[kMaxControl];
        size_t n = static_cast<size_t>(h.length);
        unmask(in.p, n, h.mask, 0, buf);
        in.p += n;
        return control(h.opcode(), std::string_view(buf, n), sink, err);
    }
    if (!h.control() && h.fin() && !in_message() && here) return whole(h, in, sink, err);
    Pending& p = pending();
    p.in_frame = true;
    p.frame = h;
    p.left = h.length;
    if (!h.control() && h.opcode() != kWsContinuation) {
        p.msg_opcode = h.opcode();
        p.utf8.reset();
        p.message.clear();
    }
    return Step::kNext;
}

// The common case: a one-frame message, all in this read. No allocation up
// to kStackPayload bytes.
WsDecoder::Step WsDecoder::whole(const Header& h, Input& in, Sink& sink, Error* err) {
    size_t n = static_cast<size_t>(h.length);
    char stack[kStackPayload];
    std::unique_ptr<char[]> heap;
    char* out = stack;
    if (n > sizeof stack) {
        heap.reset(new char[n]);
        out = heap.get();
    }
    unmask(in.p, n, h.mask, 0, out);
    in.p += n;
    if (h.opcode() == kWsText && !utf8_valid(out, n))
        return fail(err, kWsInvalidData, "text message is not UTF-8"), Step::kFailed;
    sink.on_message(h.opcode(), std::string_view(out, n));
    return Step::kNext;
}

// Takes what this read holds of the pending frame's payload.
WsDecoder::Step WsDecoder::payload(Input& in, size_t max_message, Sink& sink, Error* err) {
    Pending& p = *pending_;
    size_t n = static_cast<size_t>(std::min<uint64_t>(p.left, in.avail()));
    uint64_t offset = p.frame.length - p.left;
    if (p.frame.control()) {
        unmask(in.p, n, p.frame.mask, offset, p.control + p.control_len);
        p.control_len = static_cast<uint8_t>(p.control_len + n);
    } else {
        grow(p.message, n, p.left, p.frame.fin(), max_message);
        size_t at = p.message.size();
        p.message.append(in.p, n);
        unmask(p.message.data() + at, n, p.frame.mask, offset, p.message.data() + at);
        // Fail fast: a text message is refused on the read that makes it invalid.
        if (p.msg_opcode == kWsText && !p.utf8.feed(p.message.data() + at, n))
            return fail(err, kWsInvalidData, "text message is not UTF-8"), Step::kFailed;
    }
    in.p += n;
    p.left -= n;
    if (p.left > 0) return Step::kMore;
    p.in_frame = false;
    if (p.frame.control()) {
        char buf[kMaxControl];  // the sink may free *pending_ (on_close)
        size_t len = p.control_len;
        memcpy(buf, p.control, len);
        p.control_len = 0;
        return control(p.frame.opcode(), std::string_view(buf, len), sink, err);
    }
    return p.frame.fin() ? end_of_message(sink, err) : Step::kNext;
}

WsDecoder::Step WsDecoder::end_of_message(Sink& sink, Error* err) {
    Pending& p = *pending_;
    if (p.msg_opcode == kWsText && !p.utf8.complete())
        return fail(err, kWsInvalidData, "text message ends inside a code point"), Step::kFailed;
    uint8_t op = p.msg_opcode;
    std::string whole = std::move(p.message);
    p.message = std::string();
    p.msg_opcode = 0;
    sink.on_message(op, whole);
    return Step::kNext;
}

WsDecoder::Step WsDecoder::control(uint8_t op, std::string_view payload, Sink& sink, Error* err) {
    if (op == kWsPing) return sink.on_ping(payload), Step::kNext;
    if (op == kWsPong) return sink.on_pong(payload), Step::kNext;
    // A close frame (§5.5.1, §7.4).
    if (payload.size() == 1)
        return fail(err, kWsProtocolError, "close payload of one byte"), Step::kFailed;
    uint16_t code = kWsNoStatus;
    std::string_view reason;
    if (payload.size() >= 2) {
        code = static_cast<uint16_t>((uint8_t(payload[0]) << 8) | uint8_t(payload[1]));
        reason = payload.substr(2);
        if (!ws_close_code_valid(code))
            return fail(err, kWsProtocolError, "invalid close code"), Step::kFailed;
        if (!utf8_valid(reason.data(), reason.size()))
            return fail(err, kWsInvalidData, "close reason is not UTF-8"), Step::kFailed;
    }
    closed_ = true;
    pending_.reset();  // nothing after a close frame is read; free it now
    sink.on_close(code, reason);
    return Step::kClosed;
}

}  // namespace pusher::protocol
