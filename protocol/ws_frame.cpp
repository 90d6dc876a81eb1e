#include "protocol/ws_frame.h"

#include <wslay/wslay.h>

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

// ---- the shared wslay context ---------------------------------------------

namespace {

struct Input {
    const char* p = nullptr;
    size_t left = 0;
};
thread_local Input g_input;

ssize_t recv_cb(uint8_t* buf, size_t len, int, void*) {
    size_t n = std::min(len, g_input.left);
    if (n == 0) return -1;
    memcpy(buf, g_input.p, n);
    g_input.p += n;
    g_input.left -= n;
    return static_cast<ssize_t>(n);
}
ssize_t send_cb(const uint8_t*, size_t, int, void*) {
    return -1;
}
int genmask_cb(uint8_t*, size_t, void*) {
    return -1;
}

struct SharedContext {
    wslay_frame_context_ptr ctx = nullptr;
    SharedContext() { reset(); }
    ~SharedContext() { wslay_frame_context_free(ctx); }
    void reset() {
        if (ctx) wslay_frame_context_free(ctx);
        static const wslay_frame_callbacks cbs = {send_cb, recv_cb, genmask_cb};
        wslay_frame_context_init(&ctx, &cbs, nullptr);
    }
};
thread_local SharedContext g_wslay;

// Runs wslay over one complete frame; the unmasked payload lands in *payload
// (a view into wslay's buffer when it came in one piece, else into scratch).
bool wslay_read_frame(const char* p, size_t size, wslay_frame_iocb* iocb, std::string_view* payload,
                      std::string* scratch) {
    g_input = Input{p, size};
    scratch->clear();
    bool first = true;
    for (;;) {
        ssize_t r = wslay_frame_recv(g_wslay.ctx, iocb);
        if (r < 0) {
            g_wslay.reset();  // an error leaves the context mid-frame
            return false;
        }
        bool done = iocb->data_length == 0 || g_input.left == 0;
        if (first && done) {
            *payload =
                std::string_view(reinterpret_cast<const char*>(iocb->data), iocb->data_length);
            return true;
        }
        first = false;
        scratch->append(reinterpret_cast<const char*>(iocb->data), iocb->data_length);
        if (scratch->size() >= iocb->payload_length) break;
    }
    *payload = *scratch;
    return true;
}

bool fail(WsDecoder::Error* err, uint16_t code, const char* reason) {
    err->code = code;
    err->reason = reason;
    return false;
}

bool valid_close_code(uint16_t c) {
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
}

}  // namespace

// ---- decoding --------------------------------------------------------------

bool WsDecoder::feed(const char* data, size_t len, size_t max_message, Sink& sink, Error* err) {
    if (closed_) return true;
    if (partial_) {
        partial_->append(data, len);
        data = partial_->data();
        len = partial_->size();
    }
    size_t pos = 0;
    bool ok = true;
    while (ok && !closed_ && len - pos >= 2) {
        auto u = reinterpret_cast<const uint8_t*>(data + pos);
        uint8_t len7 = u[1] & 0x7F;
        size_t hdr = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((u[1] & 0x80) ? 4 : 0);
        if (len - pos < hdr) break;
        uint64_t plen = len7;
        if (len7 == 126) plen = (uint64_t(u[2]) << 8) | u[3];
        if (len7 == 127) {
            plen = 0;
            for (int i = 0; i < 8; ++i) plen = (plen << 8) | u[2 + i];
        }
        // Checked before buffering, so a huge length never reserves memory.
        if ((u[0] & 0x08) && plen > 125)
            return fail(err, kWsProtocolError, "control frame too long");
        if (plen > max_message) return fail(err, kWsTooBig, "frame larger than max message size");
        if (len - pos - hdr < plen) break;
        ok = frame(data + pos, hdr, plen, max_message, sink, err);
        pos += hdr + static_cast<size_t>(plen);
    }
    if (!ok) return false;
    std::string rest(data + pos, len - pos);  // data may point into *partial_
    if (rest.empty() || closed_) {
        partial_.reset();
    } else {
        if (!partial_) partial_ = std::make_unique<std::string>();
        *partial_ = std::move(rest);
    }
    return true;
}

bool WsDecoder::frame(const char* p, size_t hdr, uint64_t plen, size_t max_message, Sink& sink,
                      Error* err) {
    wslay_frame_iocb iocb{};
    std::string_view payload;
    std::string scratch;
    if (!wslay_read_frame(p, hdr + static_cast<size_t>(plen), &iocb, &payload, &scratch))
        return fail(err, kWsProtocolError, "malformed frame");
    if (iocb.rsv != 0) return fail(err, kWsProtocolError, "reserved bits set");
    if (!iocb.mask) return fail(err, kWsProtocolError, "frame not masked");
    uint8_t op = iocb.opcode;
    if (op >= kWsClose) {
        if (!iocb.fin) return fail(err, kWsProtocolError, "fragmented control frame");
        if (op == kWsPing) return sink.on_ping(payload), true;
        if (op == kWsPong) return sink.on_pong(payload), true;
        if (op != kWsClose) return fail(err, kWsProtocolError, "unknown opcode");
        if (payload.size() == 1) return fail(err, kWsProtocolError, "close payload of one byte");
        uint16_t code = kWsNoStatus;
        if (payload.size() >= 2) {
            code = static_cast<uint16_t>((uint8_t(payload[0]) << 8) | uint8_t(payload[1]));
            if (!valid_close_code(code)) return fail(err, kWsProtocolError, "invalid close code");
            if (!utf8_valid(payload.data() + 2, payload.size() - 2))
                return fail(err, kWsInvalidData, "close reason is not UTF-8");
        }
        closed_ = true;
        sink.on_close(code, payload.size() > 2 ? payload.substr(2) : std::string_view());
        return true;
    }
    if (op > kWsBinary) return fail(err, kWsProtocolError, "unknown opcode");
    return message(op, iocb.fin, payload, max_message, sink, err);
}

bool WsDecoder::message(uint8_t op, bool fin, std::string_view payload, size_t max_message,
                        Sink& sink, Error* err) {
    if (op == kWsContinuation && msg_opcode_ == 0)
        return fail(err, kWsProtocolError, "continuation without a message");
    if (op != kWsContinuation && msg_opcode_ != 0)
        return fail(err, kWsProtocolError, "new message inside a fragmented one");
    if (op != kWsContinuation && fin) {  // the common case: one frame, no copy
        if (op == kWsText && !utf8_valid(payload.data(), payload.size()))
            return fail(err, kWsInvalidData, "text message is not UTF-8");
        sink.on_message(op, payload);
        return true;
    }
    if (op != kWsContinuation) {
        msg_opcode_ = op;
        message_ = std::make_unique<std::string>();
    }
    if (message_->size() + payload.size() > max_message)
        return fail(err, kWsTooBig, "message larger than max message size");
    message_->append(payload.data(), payload.size());
    if (!fin) return true;
    std::unique_ptr<std::string> whole = std::move(message_);
    uint8_t whole_op = msg_opcode_;
    msg_opcode_ = 0;
    if (whole_op == kWsText && !utf8_valid(whole->data(), whole->size()))
        return fail(err, kWsInvalidData, "text message is not UTF-8");
    sink.on_message(whole_op, *whole);
    return true;
}

}  // namespace pusher::protocol
