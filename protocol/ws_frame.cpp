#include "protocol/ws_frame.h"

#include <wslay/wslay.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "protocol/deflate_codec.h"
#include "protocol/handover_wire.h"
#include "protocol/utf8.h"

namespace pusher::protocol {

// ---- encoding ------------------------------------------------------------

size_t ws_header_size(size_t n) {
    return n < 126 ? 2 : n <= 0xFFFF ? 4 : 10;
}

size_t ws_write_header(char* out, uint8_t opcode, size_t n, bool compressed) {
    out[0] = static_cast<char>(0x80 | (compressed ? 0x40 : 0) | opcode);
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

// ---- wslay ------------------------------------------------------------------
//
// wslay_frame_recv parses a frame through a context that pulls bytes from a
// recv callback into its own 4 KiB buffer and hands the payload back unmasked,
// a buffer's worth at a time. One context per connection would cost 4 KiB a
// connection, so a thread's decoders share one, and it only ever sees complete
// frames: each frame is fed to it from its first byte to its last, so between
// frames it holds nothing. A frame it refuses, or one a check stops half-way,
// leaves it mid-frame: it is then replaced by a fresh one.

namespace {

constexpr size_t kMaxHeader = 14;         // 2 + 8 (64-bit length) + 4 (mask)
constexpr size_t kMaxControl = 125;       // RFC 6455 §5.5
constexpr size_t kFirstChunk = 64 << 10;  // a message buffer starts at most this big

struct Wslay {
    wslay_frame_context_ptr ctx = nullptr;
    // The frame's bytes not yet handed to wslay: up to two pieces (a header
    // gathered across reads, then the payload).
    const char* piece[2] = {};
    size_t left[2] = {};
    bool busy = false;  // leased (see Lease)

    Wslay() { init(); }
    ~Wslay() { wslay_frame_context_free(ctx); }
    Wslay(const Wslay&) = delete;
    Wslay& operator=(const Wslay&) = delete;

    void reset() {
        wslay_frame_context_free(ctx);
        ctx = nullptr;
        init();
    }
    void set(std::string_view a, std::string_view b) {
        piece[0] = a.data(), left[0] = a.size();
        piece[1] = b.data(), left[1] = b.size();
    }
    size_t unread() const { return left[0] + left[1]; }

  private:
    void init();
};

ssize_t recv_cb(uint8_t* buf, size_t len, int, void* user) {
    auto* w = static_cast<Wslay*>(user);
    size_t done = 0;
    for (int i = 0; i < 2 && done < len; ++i) {
        size_t n = std::min(len - done, w->left[i]);
        if (n == 0) continue;
        memcpy(buf + done, w->piece[i], n);
        w->piece[i] += n;
        w->left[i] -= n;
        done += n;
    }
    return done ? static_cast<ssize_t>(done) : -1;  // -1: wslay says "want read"
}
ssize_t send_cb(const uint8_t*, size_t, int, void*) {
    return -1;  // the context only receives
}
int genmask_cb(uint8_t*, size_t, void*) {
    return -1;
}

void Wslay::init() {
    static const wslay_frame_callbacks callbacks = {send_cb, recv_cb, genmask_cb};
    if (wslay_frame_context_init(&ctx, &callbacks, this) != 0) throw std::bad_alloc();
}

// The thread's context for the length of one frame, the sink's calls
// included (a payload may be a view into its buffer). Should a sink feed
// another decoder from its callback, that one gets a context of its own.
class Lease {
  public:
    Lease() {
        thread_local Wslay shared;
        if (!shared.busy) {
            w_ = &shared;
        } else {
            own_ = std::make_unique<Wslay>();
            w_ = own_.get();
        }
        w_->busy = true;
    }
    ~Lease() { w_->busy = false; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Wslay& wslay() { return *w_; }

  private:
    Wslay* w_;
    std::unique_ptr<Wslay> own_;
};

// A frame's size, from its header (RFC 6455 §5.2): the header's own size from
// its second byte, then the payload length. Read only to know when the frame
// is complete and to refuse an oversized one before holding it; wslay parses
// the frame. A declared length never sizes anything but the header itself.
size_t header_size(uint8_t b1) {
    uint8_t len7 = b1 & 0x7F;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
}
uint64_t payload_length(const uint8_t* h) {
    uint8_t len7 = h[1] & 0x7F;
    if (len7 < 126) return len7;
    uint64_t n = 0;
    for (int i = 0; i < (len7 == 126 ? 2 : 8); ++i) n = (n << 8) | h[2 + i];
    return n;
}

bool fail(WsDecoder::Error* err, uint16_t code, const char* reason) {
    err->code = code;
    err->reason = reason;
    return false;
}

// Room for n more bytes of the buffer, where the current frame's payload
// (frame bytes) ends at `end`. The buffer doubles, so copying stays amortised
// linear however the message is cut (one-byte fragments too). The first
// buffer is small whatever length the frame declares, so a client that
// declares a big frame and trickles it holds memory only for what it sent. A
// frame that is most of the buffer stops it at its end: a one-frame message
// gets no slack.
void grow(std::string& b, size_t n, uint64_t end, uint64_t frame, size_t limit) {
    size_t need = b.size() + n;
    if (need <= b.capacity()) return;
    size_t want = std::max<size_t>(2 * b.capacity(), std::min<uint64_t>(end, kFirstChunk));
    if (frame >= end - frame) want = std::min<uint64_t>(want, end);
    want = std::min(want, limit);
    b.reserve(std::max(want, need));
}

}  // namespace

// One complete frame through wslay: begin() parses its header and unmasks the
// first piece of its payload, drain() hands every piece on. A frame of up to
// 4 KiB with its header comes in one piece, a view into wslay's buffer.
class WsDecoder::Frame {
  public:
    Frame(Wslay& w, std::string_view a, std::string_view b) : w_(w) { w.set(a, b); }
    ~Frame() {
        if (!ended_) w_.reset();  // left mid-frame: no later frame may start there
    }
    Frame(const Frame&) = delete;
    Frame& operator=(const Frame&) = delete;

    // false: wslay refused the frame (or read another length than ours).
    bool begin(uint64_t length) {
        ssize_t r = wslay_frame_recv(w_.ctx, &io_);
        if (r < 0 || io_.payload_length != length) return false;
        got_ = static_cast<uint64_t>(r);
        ended_ = at_end();
        return true;
    }
    bool fin() const { return io_.fin; }
    uint8_t rsv() const { return io_.rsv; }
    uint8_t opcode() const { return io_.opcode; }
    bool masked() const { return io_.mask; }
    uint64_t length() const { return io_.payload_length; }
    bool control() const { return io_.opcode & 0x08; }
    // The whole payload came with begin(): first() is all of it.
    bool whole() const { return got_ == io_.payload_length; }
    std::string_view first() const {
        return {reinterpret_cast<const char*>(io_.data), io_.data_length};
    }
    // Calls out(data, n) for each piece of the payload in order, the first
    // one included: length() bytes in all. false: wslay failed.
    template <class Out>
    bool drain(Out&& out) {
        out(first().data(), first().size());
        while (got_ < io_.payload_length) {
            ssize_t r = wslay_frame_recv(w_.ctx, &io_);
            if (r <= 0) return false;
            out(reinterpret_cast<const char*>(io_.data), io_.data_length);
            got_ += static_cast<uint64_t>(r);
        }
        ended_ = at_end();
        return ended_;
    }

  private:
    // wslay is back at a frame's start and has read every byte it was given.
    bool at_end() const { return got_ == io_.payload_length && w_.unread() == 0; }

    Wslay& w_;
    wslay_frame_iocb io_{};
    uint64_t got_ = 0;
    bool ended_ = false;
};

// ---- decoder state -----------------------------------------------------------

// What outlives a read: the header of an unfinished frame, then its payload as
// it came (still masked) after the message so far.
struct WsDecoder::Pending {
    std::string buf;           // the message so far, then the unfinished frame's payload
    size_t message = 0;        // bytes of buf that are the message so far
    uint64_t frame_len = 0;    // the unfinished frame's payload length, once its header is here
    uint8_t head[kMaxHeader];  // the unfinished frame's header
    uint8_t head_len = 0;      // 0: no unfinished frame
    bool head_done = false;    // head holds all of the header
    uint8_t msg_opcode = 0;    // kWsText or kWsBinary while a fragmented message is open
    bool compressed = false;   // that message had RSV1: inflated once complete
    Utf8Validator utf8;        // carries a code point split across fragments
    bool idle() const { return head_len == 0 && msg_opcode == 0; }
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
    return pending_->head_len + pending_->buf.size();
}

WsDecoder::Pending& WsDecoder::pending() {
    if (!pending_) pending_ = std::make_unique<Pending>();
    return *pending_;
}

bool WsDecoder::in_message() const {
    return pending_ && pending_->msg_opcode != 0;
}

// ---- decoding --------------------------------------------------------------

bool WsDecoder::feed(const char* data, size_t len, size_t max_message, Sink& sink, Error* err) {
    if (closed_) return true;
    Input in{data, data + len};
    for (;;) {
        Step s;
        if (pending_ && pending_->head_len != 0) {
            s = resume(in, max_message, sink, err);
        } else {
            if (in.p == in.end) break;
            s = next(in, max_message, sink, err);
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

// A frame starting at in.p, nothing of it held yet: wslay reads it straight
// from the input when all of it is here (the common case), else its bytes are
// held until they are.
WsDecoder::Step WsDecoder::next(Input& in, size_t max_message, Sink& sink, Error* err) {
    auto u = reinterpret_cast<const uint8_t*>(in.p);
    size_t avail = in.avail();
    if (avail < 2 || avail < header_size(u[1])) {
        Pending& p = pending();
        memcpy(p.head, in.p, avail);
        p.head_len = static_cast<uint8_t>(avail);
        in.p = in.end;
        return Step::kMore;
    }
    size_t hdr = header_size(u[1]);
    uint64_t n = payload_length(u);
    if (!fits(u[0], n, max_message, err)) return Step::kFailed;
    if (avail - hdr >= n) {
        std::string_view whole(in.p, hdr + static_cast<size_t>(n));
        in.p += whole.size();
        return frame(whole, {}, n, false, max_message, sink, err);
    }
    Pending& p = pending();
    memcpy(p.head, in.p, hdr);
    p.head_len = static_cast<uint8_t>(hdr);
    p.head_done = true;
    p.frame_len = n;
    in.p += hdr;
    return Step::kNext;  // resume() takes the payload
}

// The unfinished frame: the rest of its header, then its payload, appended
// to what is held. Once complete, wslay reads it (in place when part of its
// payload was held).
WsDecoder::Step WsDecoder::resume(Input& in, size_t max_message, Sink& sink, Error* err) {
    Pending& p = *pending_;
    if (!p.head_done) {
        for (;;) {
            size_t need = p.head_len < 2 ? 2 : header_size(p.head[1]);
            size_t take = std::min(need - p.head_len, in.avail());
            memcpy(p.head + p.head_len, in.p, take);
            p.head_len = static_cast<uint8_t>(p.head_len + take);
            in.p += take;
            if (p.head_len < need) return Step::kMore;
            if (need == header_size(p.head[1])) break;
        }
        p.frame_len = payload_length(p.head);
        if (!fits(p.head[0], p.frame_len, max_message, err)) return Step::kFailed;
        p.head_done = true;
    }
    size_t have = p.buf.size() - p.message;
    size_t take = static_cast<size_t>(std::min<uint64_t>(p.frame_len - have, in.avail()));
    bool in_place = have > 0 || take < p.frame_len;
    std::string_view rest(in.p, take);
    if (in_place) {
        grow(p.buf, take, p.message + p.frame_len, p.frame_len, max_message);
        p.buf.append(in.p, take);
        if (have + take < p.frame_len) {
            in.p += take;
            return Step::kMore;
        }
        rest = std::string_view(p.buf).substr(p.message);
    }
    in.p += take;
    char head[kMaxHeader];
    size_t hdr = p.head_len;
    memcpy(head, p.head, hdr);
    p.head_len = 0;
    p.head_done = false;
    return frame(std::string_view(head, hdr), rest, p.frame_len, in_place, max_message, sink, err);
}

// RFC 6455 §5.2 limits on a frame's size, from its header, before any of its
// payload is held.
bool WsDecoder::fits(uint8_t b0, uint64_t n, size_t max_message, Error* err) const {
    if (n >> 63) return fail(err, kWsProtocolError, "payload length has its top bit set");
    if (b0 & 0x08) return n <= kMaxControl || fail(err, kWsProtocolError, "control frame too long");
    size_t held = in_message() ? pending_->message : 0;
    if (n > max_message - std::min(held, max_message))
        return fail(err, kWsTooBig, "message larger than max message size");
    return true;
}

// RFC 6455 §5.2-5.5 on the header wslay parsed. wslay itself refuses a
// fragmented or over-long control frame and a length not in its minimal form.
bool WsDecoder::check(const Frame& f, Error* err) const {
    uint8_t op = f.opcode();
    if (f.rsv()) {
        // permessage-deflate gives RSV1 a meaning on a message's first frame only (RFC 7692 §6).
        if (!deflate_ || f.rsv() != WSLAY_RSV1_BIT)
            return fail(err, kWsProtocolError, "reserved bits set without an extension");
        if (f.control()) return fail(err, kWsProtocolError, "RSV1 set on a control frame");
        if (op == kWsContinuation)
            return fail(err, kWsProtocolError, "RSV1 set on a continuation frame");
    }
    if (!f.masked()) return fail(err, kWsProtocolError, "client frame not masked");
    if ((op > kWsBinary && op < kWsClose) || op > kWsPong)
        return fail(err, kWsProtocolError, "reserved opcode");
    if (f.control()) return true;
    if (op == kWsContinuation && !in_message())
        return fail(err, kWsProtocolError, "continuation without a message");
    if (op != kWsContinuation && in_message())
        return fail(err, kWsProtocolError, "new message inside a fragmented one");
    return true;
}

// A complete frame: its bytes are head then rest. in_place: rest is the
// payload held at the end of the pending buffer, where wslay's output goes
// (each unmasked piece lands on bytes wslay has already read).
WsDecoder::Step WsDecoder::frame(std::string_view head, std::string_view rest, uint64_t length,
                                 bool in_place, size_t max_message, Sink& sink, Error* err) {
    Lease lease;
    Frame f(lease.wslay(), head, rest);
    if (!f.begin(length))
        return fail(err, kWsProtocolError,
                    "frame refused by wslay (a fragmented control frame or a non-minimal length)"),
               Step::kFailed;
    if (!check(f, err)) return Step::kFailed;
    if (f.control()) {
        char buf[kMaxControl];
        size_t n = 0;
        if (f.length() > kMaxControl ||
            !f.drain([&](const char* d, size_t k) { memcpy(buf + n, d, k), n += k; }))
            return fail(err, kWsProtocolError, "control frame too long"), Step::kFailed;
        if (in_place) pending_->buf.resize(pending_->message);
        return control(f.opcode(), std::string_view(buf, n), sink, err);
    }
    if (f.opcode() != kWsContinuation && f.fin())
        return single(f, in_place, max_message, sink, err);
    return fragment(f, in_place, max_message, sink, err);
}

// A one-frame message. Read from the input, up to 4 KiB, it is a view into
// wslay's buffer: no allocation.
WsDecoder::Step WsDecoder::single(Frame& f, bool in_place, size_t max_message, Sink& sink,
                                  Error* err) {
    std::unique_ptr<char[]> heap;
    std::string held;
    std::string_view payload = f.first();
    if (in_place || !f.whole()) {
        char* out;
        if (in_place) {  // no message is open: the buffer holds just this frame
            out = pending_->buf.data();
        } else {
            heap.reset(new char[f.length()]);
            out = heap.get();
        }
        size_t at = 0;
        if (!f.drain([&](const char* d, size_t k) { memcpy(out + at, d, k), at += k; }))
            return fail(err, kWsProtocolError, "frame refused by wslay"), Step::kFailed;
        payload = std::string_view(out, at);
        if (in_place) {
            held = std::move(pending_->buf);  // the block is freed once idle
            pending_->buf = std::string();
            payload = held;
        }
    }
    if (f.rsv()) return inflated(f.opcode(), payload, max_message, sink, err);
    if (f.opcode() == kWsText && !utf8_valid(payload.data(), payload.size()))
        return fail(err, kWsInvalidData, "text message is not UTF-8"), Step::kFailed;
    sink.on_message(f.opcode(), payload);
    return Step::kNext;
}

// A fragment of a message: its payload joins the message held, and text is
// UTF-8-checked as each fragment arrives (a bad one fails at once).
WsDecoder::Step WsDecoder::fragment(Frame& f, bool in_place, size_t max_message, Sink& sink,
                                    Error* err) {
    Pending& p = pending();
    if (f.opcode() != kWsContinuation) {
        p.msg_opcode = f.opcode();
        p.compressed = f.rsv() != 0;
        p.utf8.reset();
    }
    size_t n = static_cast<size_t>(f.length());
    size_t at = p.message;
    bool ok;
    if (in_place) {
        char* out = p.buf.data() + at;
        size_t k = 0;
        ok = f.drain([&](const char* d, size_t m) { memcpy(out + k, d, m), k += m; });
    } else {
        grow(p.buf, n, at + n, n, max_message);
        ok = f.drain([&](const char* d, size_t m) { p.buf.append(d, m); });
    }
    if (!ok) return fail(err, kWsProtocolError, "frame refused by wslay"), Step::kFailed;
    if (p.msg_opcode == kWsText && !p.compressed && !p.utf8.feed(p.buf.data() + at, n))
        return fail(err, kWsInvalidData, "text message is not UTF-8"), Step::kFailed;
    p.message += n;
    return f.fin() ? end_of_message(max_message, sink, err) : Step::kNext;
}

WsDecoder::Step WsDecoder::end_of_message(size_t max_message, Sink& sink, Error* err) {
    Pending& p = *pending_;
    if (p.msg_opcode == kWsText && !p.compressed && !p.utf8.complete())
        return fail(err, kWsInvalidData, "text message ends inside a code point"), Step::kFailed;
    uint8_t op = p.msg_opcode;
    bool compressed = p.compressed;
    std::string whole = std::move(p.buf);
    p.buf = std::string();
    p.message = 0;
    p.msg_opcode = 0;
    p.compressed = false;
    if (compressed) return inflated(op, whole, max_message, sink, err);
    sink.on_message(op, whole);
    return Step::kNext;
}

// A compressed message, complete: inflated by the thread's inflater into a
// buffer of its own (the sink may feed another decoder meanwhile), within
// max_message, then checked and delivered as any other. A message may also
// inflate to at most kMaxRatio times its size (plus a page): DEFLATE reaches
// 1:1032, so without it a client could make the worker inflate a megabyte per
// kilobyte it sends, over and over, and stall every push of the worker.
// Real messages (JSON, text) compress 3-20x.
WsDecoder::Step WsDecoder::inflated(uint8_t op, std::string_view compressed, size_t max_message,
                                    Sink& sink, Error* err) {
    constexpr size_t kMaxRatio = 64, kSlack = 4096;
    thread_local DeflateInflater inflater;
    std::string out;
    size_t bound = std::min(max_message, compressed.size() * kMaxRatio + kSlack);
    switch (inflater.inflate(compressed, bound, &out)) {
        case DeflateInflater::Result::kOk:
            break;
        case DeflateInflater::Result::kTooBig:
            return fail(err, kWsTooBig, "message too big"), Step::kFailed;
        case DeflateInflater::Result::kCorrupt:
            return fail(err, kWsInvalidData, "compressed message is not valid DEFLATE"),
                   Step::kFailed;
    }
    if (op == kWsText && !utf8_valid(out.data(), out.size()))
        return fail(err, kWsInvalidData, "text message is not UTF-8"), Step::kFailed;
    sink.on_message(op, out);
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

namespace pusher::protocol {

// Version byte first: a state written by other code is refused, not misread.
static constexpr uint8_t kStateVersion = 1;

std::string WsDecoder::save() const {
    std::string out;
    handover::Writer w(out);
    w.u8(kStateVersion);
    w.u8(static_cast<uint8_t>(closed_ | (deflate_ << 1) | ((pending_ != nullptr) << 2)));
    if (!pending_) return out;
    const Pending& p = *pending_;
    w.str(p.buf);
    w.u64(p.message);
    w.u64(p.frame_len);
    w.str(std::string_view(reinterpret_cast<const char*>(p.head), p.head_len));
    w.u8(static_cast<uint8_t>(p.head_done | (p.compressed << 1)));
    w.u8(p.msg_opcode);
    uint16_t utf8 = p.utf8.state();
    w.u32(utf8);
    return out;
}

// The state comes from our own old process, but a new decoder must not
// trust it further than the rules feed() keeps: a state feed() could never
// have left behind is refused, so no later read can run past a buffer.
static bool consistent_pending(const uint8_t* head, size_t head_len, bool head_done,
                               uint64_t frame_len, size_t held, size_t message, uint8_t opcode,
                               bool compressed, uint16_t utf8, size_t max_message) {
    uint8_t need = static_cast<uint8_t>(utf8);
    if (need > 3 && need != 0xFF) return false;
    if (opcode != 0 && opcode != kWsText && opcode != kWsBinary) return false;
    if (opcode == 0 && (message != 0 || compressed)) return false;
    if (head_len == 0) return !head_done && held == message;
    size_t full = head_len < 2 ? 2 : header_size(head[1]);
    if (!head_done) return head_len < full && held == message;
    if (head_len != header_size(head[1]) || frame_len != payload_length(head)) return false;
    bool control = head[0] & 0x08;
    uint64_t bound = control ? kMaxControl : max_message - std::min(message, max_message);
    return frame_len <= bound && held - message < frame_len;
}

bool WsDecoder::restore(std::string_view state, size_t max_message) {
    handover::Reader r(state);
    uint8_t version = 0, bits = 0;
    if (!r.u8(&version) || version != kStateVersion || !r.u8(&bits)) return false;
    closed_ = bits & 1;
    deflate_ = bits & 2;
    pending_.reset();
    if (!(bits & 4)) return r.done();
    auto p = std::make_unique<Pending>();
    std::string head;
    uint64_t message = 0;
    uint8_t pbits = 0;
    uint32_t utf8 = 0;
    if (!r.str(&p->buf) || !r.u64(&message) || !r.u64(&p->frame_len) || !r.str(&head) ||
        !r.u8(&pbits) || !r.u8(&p->msg_opcode) || !r.u32(&utf8) || !r.done())
        return false;
    if (head.size() > kMaxHeader || message > p->buf.size()) return false;
    if (!consistent_pending(reinterpret_cast<const uint8_t*>(head.data()), head.size(), pbits & 1,
                            p->frame_len, p->buf.size(), static_cast<size_t>(message), p->msg_opcode,
                            pbits & 2, static_cast<uint16_t>(utf8), max_message) ||
        utf8 > 0xFFFF)
        return false;
    p->message = static_cast<size_t>(message);
    memcpy(p->head, head.data(), head.size());
    p->head_len = static_cast<uint8_t>(head.size());
    p->head_done = pbits & 1;
    p->compressed = pbits & 2;
    p->utf8.set_state(static_cast<uint16_t>(utf8));
    pending_ = std::move(p);
    return true;
}

}  // namespace pusher::protocol
