#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/http_request.h"
#include "protocol/utf8.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_handshake.h"
#include "tests/support/ws_bytes.h"

using namespace pusher::protocol;

namespace {

std::string masked(uint8_t first, std::string_view payload,
                   const char mask[4] = "\x11\x22\x33\x44") {
    return pusher::testing::ws_masked_frame(first, payload, mask);
}

struct Recorder : WsDecoder::Sink {
    std::vector<std::string> messages, pings;
    int close_code = 0;
    void on_message(uint8_t op, std::string_view p) override {
        messages.push_back(std::to_string(op) + ":" + std::string(p));
    }
    void on_ping(std::string_view p) override { pings.emplace_back(p); }
    void on_close(uint16_t code, std::string_view) override { close_code = code; }
};

WsDecoder::Error decode_all(const std::string& wire, Recorder* r, size_t max = 1 << 20) {
    WsDecoder d;
    WsDecoder::Error err;
    d.feed(wire.data(), wire.size(), max, *r, &err);
    return err;
}

}  // namespace

TEST(WsHandshake, AnswersTheRfcExampleAsWorkerman5) {
    EXPECT_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    std::string wire =
        "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    for (size_t cut = 0; cut <= wire.size(); ++cut) {
        HttpParser p;
        size_t used = 0;
        auto r = p.feed(wire.data(), cut, &used);
        if (r != HttpParser::Result::Request) {
            ASSERT_EQ(r, HttpParser::Result::NeedMore) << cut;
            r = p.feed(wire.data() + cut, wire.size() - cut, &used);
        }
        ASSERT_EQ(r, HttpParser::Result::Request) << cut;
        auto hs = ws_handshake(p.take());
        ASSERT_TRUE(hs.ok);
        EXPECT_EQ(
            hs.response,
            "HTTP/1.1 101 Switching Protocol\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
    }
}

TEST(WsHandshake, RefusesAsTheOriginal) {
    auto check = [](const std::string& head, const std::string& starts,
                    std::vector<std::string> origins = {}) {
        HttpParser p;
        size_t used;
        ASSERT_EQ(p.feed(head.data(), head.size(), &used), HttpParser::Result::Request);
        auto hs = ws_handshake(p.take(), origins);
        EXPECT_FALSE(hs.ok);
        EXPECT_EQ(hs.response.substr(0, starts.size()), starts);
        EXPECT_FALSE(hs.reason.empty());
    };
    check("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
          "HTTP/1.1 400 Bad Request\r\n\r\n<div");
    check("GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key: a\r\n\r\n",
          "HTTP/1.1 400 Bad Request\r\nSec-WebSocket-Version: 13\r\n\r\n");
    check("GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Version: 8\r\n\r\n",
          "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n");
    check("GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Version: 13\r\n\r\n",
          "HTTP/1.1 400 Bad Request\r\n\r\n<div");
    check(
        "GET / HTTP/1.1\r\nHost: x\r\nOrigin: http://evil\r\nSec-WebSocket-Key: "
        "a\r\nSec-WebSocket-Version: 13\r\n\r\n",
        "HTTP/1.1 403", {"http://good"});
}

TEST(WsFrame, EncodesEveryLengthForm) {
    for (size_t n : {0, 125, 126, 65535, 65536}) {
        std::string f = ws_encode(kWsText, std::string(n, 'a'));
        EXPECT_EQ(uint8_t(f[0]), 0x81);
        EXPECT_EQ(f.size(), ws_header_size(n) + n);
    }
    EXPECT_EQ(ws_encode(kWsText, "hi"), "\x81\x02hi");
    EXPECT_EQ(ws_close_frame(1000), std::string("\x88\x02\x03\xe8", 4));
}

TEST(WsFrame, DecodesMessagesSplitAtEveryByte) {
    std::string big(70000, 'b');
    std::string wire = masked(0x81, "hello") + masked(0x89, "pi") + masked(0x01, "frag") +
                       masked(0x8A, "po") + masked(0x80, "ment") + masked(0x82, big) +
                       masked(0x88, "\x03\xe8");
    for (size_t cut = 0; cut <= wire.size(); cut += (cut < 200 ? 1 : 997)) {
        WsDecoder d;
        Recorder r;
        WsDecoder::Error err;
        ASSERT_TRUE(d.feed(wire.data(), cut, 1 << 20, r, &err)) << err.reason;
        ASSERT_TRUE(d.feed(wire.data() + cut, wire.size() - cut, 1 << 20, r, &err)) << err.reason;
        ASSERT_EQ(r.messages.size(), 3u) << cut;
        EXPECT_EQ(r.messages[0], "1:hello");
        EXPECT_EQ(r.messages[1], "1:fragment");
        EXPECT_EQ(r.messages[2], "2:" + big);
        EXPECT_EQ(r.pings, std::vector<std::string>{"pi"});
        EXPECT_EQ(r.close_code, 1000);
        EXPECT_EQ(d.buffered(), 0u);
    }
}

TEST(WsFrame, EveryViolationHasItsCloseCode) {
    struct Case {
        std::string wire;
        uint16_t code;
    } cases[] = {
        {std::string("\x81\x02hi", 4), kWsProtocolError},           // unmasked
        {masked(0xC1, "x"), kWsProtocolError},                      // RSV1
        {masked(0x83, "x"), kWsProtocolError},                      // reserved opcode
        {masked(0x8B, "x"), kWsProtocolError},                      // reserved control opcode
        {masked(0x09, "x"), kWsProtocolError},                      // fragmented ping
        {masked(0x89, std::string(126, 'p')), kWsProtocolError},    // control > 125
        {masked(0x80, "x"), kWsProtocolError},                      // continuation first
        {masked(0x01, "a") + masked(0x81, "b"), kWsProtocolError},  // new message mid-way
        {masked(0x81, "\xc0\xaf"), kWsInvalidData},                 // overlong
        {masked(0x81, "\xed\xa0\x80"), kWsInvalidData},             // surrogate
        {masked(0x01, "\xe2\x82") + masked(0x80, "\x28"), kWsInvalidData},  // split, then bad
        {masked(0x88, "\x03"), kWsProtocolError},                           // 1-byte close
        {masked(0x88, "\x03\xed"), kWsProtocolError},  // close code 1005 on the wire
        {masked(0x82, std::string(2000, 'x')), kWsTooBig},
        {masked(0x01, std::string(600, 'x')) + masked(0x80, std::string(600, 'x')), kWsTooBig},
    };
    for (const auto& c : cases) {
        Recorder r;
        EXPECT_EQ(decode_all(c.wire, &r, 1024).code, c.code) << c.wire.substr(0, 8);
    }
    // A valid split code point passes.
    Recorder r;
    EXPECT_EQ(decode_all(masked(0x01, "\xe2\x82") + masked(0x80, "\xac"), &r).code, 0);
    EXPECT_EQ(r.messages, std::vector<std::string>{"1:\xe2\x82\xac"});
}

TEST(WsFrame, HugeDeclaredLengthIsRefusedBeforeBuffering) {
    std::string head("\x82\xff\x00\x00\x10\x00\x00\x00\x00\x00", 10);  // 2^44 bytes, masked
    head += "abcd";
    Recorder r;
    EXPECT_EQ(decode_all(head, &r).code, kWsTooBig);
}

TEST(WsFrame, NonMinimalLengthIsRefused) {
    // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the
    // length". wslay refuses the longer forms.
    std::string hello = masked(0x81, "hello");  // 81 85 mask payload
    std::string in16 = std::string("\x81\xfe\x00\x05", 4) + hello.substr(2);
    std::string in64 = std::string("\x81\xff\0\0\0\0\0\0\0\x05", 10) + hello.substr(2);
    std::string big = masked(0x82, std::string(200, 'b'));  // 16-bit form
    std::string big64 = std::string("\x82\xff\0\0\0\0\0\0\0\xc8", 10) + big.substr(4);
    for (const std::string& wire : {in16, in64, big64}) {
        Recorder r;
        EXPECT_EQ(decode_all(wire, &r).code, kWsProtocolError) << wire.size();
        EXPECT_TRUE(r.messages.empty());
    }
}

TEST(WsFrame, DecodersOfAThreadShareWslayWithoutInterfering) {
    // wslay's context is shared by a thread's decoders and only sees whole
    // frames: unfinished frames of several decoders interleave freely, and a
    // frame refused after wslay read part of it (over 4 KiB) leaves no state
    // behind for the next frame.
    std::string big(10000, 'z');
    std::string a = masked(0x82, big), b = masked(0x81, "hello"), bad = masked(0xC2, big);
    WsDecoder da, db, dc;
    Recorder ra, rb, rc;
    WsDecoder::Error err;
    ASSERT_TRUE(da.feed(a.data(), 5000, 1 << 20, ra, &err));
    ASSERT_TRUE(db.feed(b.data(), 3, 1 << 20, rb, &err));
    EXPECT_FALSE(dc.feed(bad.data(), bad.size(), 1 << 20, rc, &err));  // RSV1, seen after 4 KiB
    EXPECT_EQ(err.code, kWsProtocolError);
    ASSERT_TRUE(db.feed(b.data() + 3, b.size() - 3, 1 << 20, rb, &err));
    ASSERT_TRUE(da.feed(a.data() + 5000, a.size() - 5000, 1 << 20, ra, &err));
    EXPECT_EQ(ra.messages, std::vector<std::string>{"2:" + big});
    EXPECT_EQ(rb.messages, std::vector<std::string>{"1:hello"});
    WsDecoder dd;  // and a fresh one after the refusal
    Recorder rd;
    ASSERT_TRUE(dd.feed(a.data(), a.size(), 1 << 20, rd, &err));
    EXPECT_EQ(rd.messages, std::vector<std::string>{"2:" + big});
}

TEST(WsFrame, ASinkMayFeedAnotherDecoderFromItsCallbacks) {
    // A small frame's payload is a view into wslay's buffer; a sink that feeds
    // another decoder from its callback must not overwrite it.
    struct Nested : WsDecoder::Sink {
        WsDecoder inner;
        Recorder inner_sink;
        std::string inner_wire, seen_before, seen_after;
        void on_message(uint8_t, std::string_view p) override {
            seen_before = std::string(p);
            WsDecoder::Error err;
            EXPECT_TRUE(
                inner.feed(inner_wire.data(), inner_wire.size(), 1 << 20, inner_sink, &err));
            seen_after = std::string(p);
        }
        void on_ping(std::string_view) override {}
        void on_close(uint16_t, std::string_view) override {}
    } sink;
    sink.inner_wire = masked(0x81, "inner message");
    std::string wire = masked(0x81, "outer message");
    WsDecoder d;
    WsDecoder::Error err;
    ASSERT_TRUE(d.feed(wire.data(), wire.size(), 1 << 20, sink, &err));
    EXPECT_EQ(sink.seen_before, "outer message");
    EXPECT_EQ(sink.seen_after, "outer message");
    EXPECT_EQ(sink.inner_sink.messages, std::vector<std::string>{"1:inner message"});
}

TEST(Utf8, AcceptsAndRejects) {
    EXPECT_TRUE(utf8_valid("plain", 5));
    EXPECT_TRUE(utf8_valid("\xf0\x9f\x98\x80", 4));
    EXPECT_FALSE(utf8_valid("\xf4\x90\x80\x80", 4));  // > U+10FFFF
    EXPECT_FALSE(utf8_valid("\xe2\x82", 2));
    EXPECT_FALSE(utf8_valid("\xff", 1));
}

TEST(WsFrame, IdleDecoderIsSmall) {
    EXPECT_LE(sizeof(WsDecoder), 24u);
}

// ---- RFC 6455 conformance, case by case --------------------------------------
// The Autobahn testsuite's server cases that apply to a push server (it echoes
// nothing, so a case passes on what the decoder hands its sink and on the
// close code it fails with). Each case runs with the wire in one read, in
// one-byte reads, in 7-byte reads and split in two at every byte: the outcome
// must not depend on how TCP cuts the stream. docs/CONFORMANCE.md lists them.

namespace {

// What a sink saw, in order: "text:..", "binary:..", "ping:..", "pong:..",
// "close:CODE:REASON".
struct Events : WsDecoder::Sink {
    std::vector<std::string> got;
    void on_message(uint8_t op, std::string_view p) override {
        got.push_back((op == kWsText ? "text:" : "binary:") + std::string(p));
    }
    void on_ping(std::string_view p) override { got.push_back("ping:" + std::string(p)); }
    void on_pong(std::string_view p) override { got.push_back("pong:" + std::string(p)); }
    void on_close(uint16_t code, std::string_view reason) override {
        got.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
    }
};

struct Outcome {
    uint16_t code = 0;  // 0: no error
    std::vector<std::string> events;
    size_t failed_at = 0;  // the end offset of the read that failed
    bool operator==(const Outcome& o) const { return code == o.code && events == o.events; }
};

constexpr size_t kMax = 1 << 17;  // ws_max_message for these cases

// Feeds the wire cut at the given offsets (ascending, within the wire).
Outcome run_cut(const std::string& wire, const std::vector<size_t>& cuts, size_t max = kMax) {
    WsDecoder d;
    Events sink;
    Outcome o;
    size_t from = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(wire.size());
    for (size_t end : ends) {
        WsDecoder::Error err;
        if (!d.feed(wire.data() + from, end - from, max, sink, &err)) {
            o.code = err.code;
            EXPECT_FALSE(err.reason.empty());
            o.failed_at = end;
            // After an error the decoder reads nothing more.
            EXPECT_TRUE(d.feed(wire.data(), wire.size(), max, sink, &err));
            break;
        }
        from = end;
    }
    o.events = sink.got;
    return o;
}

Outcome run_chunks(const std::string& wire, size_t chunk) {
    std::vector<size_t> cuts;
    for (size_t at = chunk; at < wire.size(); at += chunk) cuts.push_back(at);
    return run_cut(wire, cuts);
}

std::string frame(uint8_t b0, std::string_view payload) {
    return masked(b0, payload);
}
std::string text(std::string_view s, bool fin = true) {
    return frame(fin ? 0x81 : 0x01, s);
}
std::string binary(std::string_view s, bool fin = true) {
    return frame(fin ? 0x82 : 0x02, s);
}
std::string cont(std::string_view s, bool fin) {
    return frame(fin ? 0x80 : 0x00, s);
}
std::string ping(std::string_view s = "") {
    return frame(0x89, s);
}
std::string pong(std::string_view s = "") {
    return frame(0x8A, s);
}
std::string close_frame(int code = -1, std::string_view reason = "") {
    std::string p;
    if (code >= 0) {
        p += static_cast<char>(code >> 8);
        p += static_cast<char>(code & 0xFF);
    }
    p += reason;
    return frame(0x88, p);
}
// A text message cut into frames of `size` bytes.
std::string text_in_frames(std::string_view s, size_t size) {
    std::string wire;
    for (size_t at = 0; at < s.size() || at == 0; at += size) {
        bool last = at + size >= s.size();
        std::string_view part = s.substr(at, size);
        wire += at == 0 ? text(part, last) : cont(part, last);
        if (last) break;
    }
    return wire;
}

struct Case {
    std::string id;  // Autobahn case number (or what it checks)
    std::string wire;
    uint16_t code;  // 0: accepted
    std::vector<std::string> events;
};

void expect_case(const Case& c) {
    Outcome want{c.code, c.events};
    Outcome whole = run_cut(c.wire, {});
    EXPECT_EQ(whole.code, c.code) << c.id;
    EXPECT_EQ(whole.events, c.events) << c.id;
    for (size_t chunk : {size_t(1), size_t(7)})
        EXPECT_TRUE(run_chunks(c.wire, chunk) == want) << c.id << " in " << chunk << "-byte reads";
    if (c.wire.size() > 400) return;
    for (size_t cut = 1; cut < c.wire.size(); ++cut)
        EXPECT_TRUE(run_cut(c.wire, {cut}) == want) << c.id << " cut at " << cut;
}

std::string str(size_t n, char ch) {
    return std::string(n, ch);
}

}  // namespace

TEST(WsConformance, Framing1) {
    std::vector<Case> cases;
    for (size_t n : {0, 125, 126, 127, 128, 65535, 65536}) {
        cases.push_back(
            {"1.1 text " + std::to_string(n), text(str(n, '*')), 0, {"text:" + str(n, '*')}});
        cases.push_back({"1.2 binary " + std::to_string(n),
                         binary(str(n, '\xfe')),
                         0,
                         {"binary:" + str(n, '\xfe')}});
    }
    for (const Case& c : cases) expect_case(c);
}

TEST(WsConformance, PingsAndPongs2) {
    std::string bin("\x00\xff\xfe\xfd\xfc\xfb\x00\xff", 8);
    std::vector<std::string> ten;
    std::string ten_wire;
    for (int i = 0; i < 10; ++i) {
        ten_wire += ping("payload-" + std::to_string(i));
        ten.push_back("ping:payload-" + std::to_string(i));
    }
    std::vector<Case> cases = {
        {"2.1 ping, no payload", ping(), 0, {"ping:"}},
        {"2.2 ping, text payload", ping("Hello, world!"), 0, {"ping:Hello, world!"}},
        {"2.3 ping, binary payload", ping(bin), 0, {"ping:" + bin}},
        {"2.4 ping, 125 bytes", ping(str(125, 'p')), 0, {"ping:" + str(125, 'p')}},
        {"2.5 ping, 126 bytes", ping(str(126, 'p')), kWsProtocolError, {}},
        {"2.7 unsolicited pong, no payload", pong(), 0, {"pong:"}},
        {"2.8 unsolicited pong", pong("unsolicited"), 0, {"pong:unsolicited"}},
        {"2.9 unsolicited pong, then ping", pong("x") + ping("y"), 0, {"pong:x", "ping:y"}},
        {"2.10 ten pings", ten_wire, 0, ten},
    };
    for (const Case& c : cases) expect_case(c);
}

TEST(WsConformance, ReservedBits3) {
    std::vector<Case> cases = {
        {"3.1 RSV=1", frame(0xC1, "x"), kWsProtocolError, {}},
        {"3.2 RSV=2 after a text", text("a") + frame(0xA1, "x"), kWsProtocolError, {"text:a"}},
        {"3.3 RSV=3, then a ping",
         text("a") + frame(0xB1, "x") + ping(),
         kWsProtocolError,
         {"text:a"}},
        {"3.5 RSV=5 binary", frame(0xD2, "\xff"), kWsProtocolError, {}},
        {"3.6 RSV=6 ping", frame(0xE9, "x"), kWsProtocolError, {}},
        {"3.7 RSV=7 close", frame(0xF8, ""), kWsProtocolError, {}},
    };
    for (const Case& c : cases) expect_case(c);
}

TEST(WsConformance, ReservedOpcodes4) {
    for (int op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        // A valid text, the reserved frame, a ping that must go unanswered.
        expect_case({"4.x opcode " + std::to_string(op),
                     text("a") + frame(static_cast<uint8_t>(0x80 | op), "reserved") + ping(),
                     kWsProtocolError,
                     {"text:a"}});
    }
}

TEST(WsConformance, Fragmentation5) {
    std::vector<Case> cases = {
        {"5.1 fragmented ping", frame(0x09, "frag") + cont("ment", true), kWsProtocolError, {}},
        {"5.2 fragmented pong", frame(0x0A, "frag") + cont("ment", true), kWsProtocolError, {}},
        {"5.3 text in two fragments",
         text("frag", false) + cont("ment", true),
         0,
         {"text:fragment"}},
        {"5.6 ping between fragments",
         text("frag", false) + ping("p") + cont("ment", true),
         0,
         {"ping:p", "text:fragment"}},
        {"5.9 continuation fin=1 first", cont("x", true) + text("a"), kWsProtocolError, {}},
        {"5.12 continuation fin=0 first", cont("x", false) + text("a"), kWsProtocolError, {}},
        {"5.15 text after a finished message, continuation",
         text("f1", false) + cont("f2", true) + cont("f3", false) + text("f4"),
         kWsProtocolError,
         {"text:f1f2"}},
        {"5.16 continuation, text, continuation",
         cont("f1", false) + text("f2", false) + cont("f3", true),
         kWsProtocolError,
         {}},
        {"5.18 text inside an unfinished text",
         text("f1", false) + text("f2"),
         kWsProtocolError,
         {}},
        {"5.18 binary inside an unfinished text",
         text("f1", false) + binary("f2"),
         kWsProtocolError,
         {}},
        {"5.19 pings interleaved, answered in order",
         text("f1", false) + cont("f2", false) + ping("p1") + cont("f3", false) +
             cont("f4", false) + ping("p2") + cont("f5", true),
         0,
         {"ping:p1", "ping:p2", "text:f1f2f3f4f5"}},
        {"5.x pong and close-free control inside binary",
         binary("\x01", false) + pong("q") + cont("\x02", true),
         0,
         {"pong:q", "binary:\x01\x02"}},
        {"5.x empty fragments", text("", false) + cont("", false) + cont("", true), 0, {"text:"}},
    };
    for (const Case& c : cases) expect_case(c);
}

namespace {

// Autobahn 6.x: a payload as one text frame and as one frame per byte.
void expect_utf8(const std::string& id, const std::string& s, bool valid) {
    uint16_t code = valid ? 0 : kWsInvalidData;
    std::vector<std::string> events;
    if (valid) events.push_back("text:" + s);
    expect_case({id + " one frame", text(s), code, events});
    expect_case({id + " a frame per byte", text_in_frames(s, 1), code, events});
}

}  // namespace

TEST(WsConformance, Utf8Valid6) {
    const std::string kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";  // κόσμε
    std::vector<std::pair<std::string, std::string>> valid = {
        {"6.1 empty", ""},
        {"6.2 mixed", "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"},
        {"6.5 kosme", kosme},
        {"6.7 first of each length",
         std::string("\x00", 1) + "\xc2\x80\xe0\xa0\x80\xf0\x90\x80\x80"},
        {"6.9 last of each length", "\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf"},
        {"6.11 around the surrogates", "\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd"},
        {"6.22 noncharacters", "\xef\xbf\xbe\xef\xbf\xbf\xf0\x9f\xbf\xbe\xf4\x8f\xbf\xbf"},
        {"6.23 BOM, replacement char", "\xef\xbb\xbf\xef\xbf\xbd"},
    };
    for (const auto& [id, s] : valid) expect_utf8(id, s, true);
    // 6.6: every prefix of kosme; those that end inside a code point fail.
    for (size_t n = 1; n <= kosme.size(); ++n) {
        bool whole = n == kosme.size() || (uint8_t(kosme[n]) & 0xC0) != 0x80;
        expect_utf8("6.6 prefix " + std::to_string(n), kosme.substr(0, n), whole);
    }
}

TEST(WsConformance, Utf8Invalid6) {
    std::vector<std::pair<std::string, std::string>> invalid = {
        {"6.3 surrogate in text",
         std::string("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80") + "edited"},
        {"6.8 five-byte", "\xf8\x88\x80\x80\x80"},
        {"6.8 six-byte", "\xfc\x84\x80\x80\x80\x80"},
        {"6.10 above U+10FFFF", "\xf7\xbf\xbf\xbf"},
        {"6.11 U+110000", "\xf4\x90\x80\x80"},
        {"6.12 lone continuation 80", "\x80"},
        {"6.12 lone continuation bf", "\xbf"},
        {"6.12 continuations", "\x80\xbf\x80\xbf"},
        {"6.13 lonely start", "\xc0 \xc1 "},
        {"6.13 lonely 3-byte start", "\xe0 "},
        {"6.14 last byte missing, 2", "\xdf"},
        {"6.14 last byte missing, 3", "\xef\xbf"},
        {"6.14 last byte missing, 4", "\xf4\x8f\xbf"},
        {"6.16 impossible fe", "\xfe"},
        {"6.16 impossible ff", "\xff"},
        {"6.17 overlong / in 2", "\xc0\xaf"},
        {"6.17 overlong / in 3", "\xe0\x80\xaf"},
        {"6.17 overlong / in 4", "\xf0\x80\x80\xaf"},
        {"6.18 max overlong 2", "\xc1\xbf"},
        {"6.18 max overlong 3", "\xe0\x9f\xbf"},
        {"6.18 max overlong 4", "\xf0\x8f\xbf\xbf"},
        {"6.19 overlong NUL", std::string("\xc0\x80", 2)},
        {"6.20 surrogate D800", "\xed\xa0\x80"},
        {"6.20 surrogate DFFF", "\xed\xbf\xbf"},
        {"6.21 surrogate pair", "\xed\xa0\x80\xed\xb0\x80"},
    };
    for (const auto& [id, s] : invalid) expect_utf8(id, s, false);
}

TEST(WsConformance, Utf8FailsFast6_4) {
    const std::string kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
    // 6.4.1: the second of three frames holds U+110000; the decoder fails on
    // it, before the third arrives.
    std::string f1 = text(kosme, false), f2 = cont("\xf4\x90\x80\x80", false),
                f3 = cont("edited", true);
    Outcome o = run_cut(f1 + f2 + f3, {f1.size(), f1.size() + f2.size()});
    EXPECT_EQ(o.code, kWsInvalidData);
    EXPECT_EQ(o.failed_at, f1.size() + f2.size());
    // 6.4.2: the code point is split across frames: F4 ends the first, 90 starts
    // the second, which fails.
    f1 = text(kosme + "\xf4", false), f2 = cont("\x90\x80\x80", false);
    o = run_cut(f1 + f2 + f3, {f1.size(), f1.size() + f2.size()});
    EXPECT_EQ(o.code, kWsInvalidData);
    EXPECT_EQ(o.failed_at, f1.size() + f2.size());
    // 6.4.3 / 6.4.4: one frame whose payload arrives in three reads. wslay
    // parses whole frames, so the frame fails on the read that completes it,
    // not on the one that brings the bad byte (relaxed from fail-fast
    // mid-frame, which Autobahn grades NON-STRICT; docs/CONFORMANCE.md).
    std::string one = text(kosme + "\xf4\x90\x80\x80" + "edited");
    size_t hdr = 6, bad = hdr + kosme.size() + 1;  // the 0x90
    o = run_cut(one, {hdr + kosme.size(), hdr + kosme.size() + 4});
    EXPECT_EQ(o.code, kWsInvalidData);
    EXPECT_EQ(o.failed_at, one.size());
    o = run_cut(one, {bad, bad + 1});
    EXPECT_EQ(o.code, kWsInvalidData);
    EXPECT_EQ(o.failed_at, one.size());
    // A valid code point split across reads and frames is no failure.
    o = run_cut(text("\xf0\x9f", false) + cont("\x98\x80", true), {7, 8, 9});
    EXPECT_EQ(o.code, 0);
    EXPECT_EQ(o.events, std::vector<std::string>{"text:\xf0\x9f\x98\x80"});
}

TEST(WsConformance, Close7) {
    std::vector<Case> cases = {
        {"7.1.1 text, then close",
         text("Hello") + close_frame(1000),
         0,
         {"text:Hello", "close:1000:"}},
        {"7.1.2 close, close", close_frame(1000) + close_frame(1001), 0, {"close:1000:"}},
        {"7.1.3 close, then ping", close_frame(1000) + ping("x"), 0, {"close:1000:"}},
        {"7.1.4 close, then text", close_frame(1000) + text("x"), 0, {"close:1000:"}},
        {"7.1.5 close between fragments",
         text("f1", false) + close_frame(1000) + cont("f2", true),
         0,
         {"close:1000:"}},
        {"7.1.6 a large text, then close",
         text(str(64 << 10, 'l')) + close_frame(1000),
         0,
         {"text:" + str(64 << 10, 'l'), "close:1000:"}},
        {"7.3.1 close, no payload", close_frame(), 0, {"close:1005:"}},
        {"7.3.2 close, one byte", frame(0x88, "\x03"), kWsProtocolError, {}},
        {"7.3.3 close 1000", close_frame(1000), 0, {"close:1000:"}},
        {"7.3.4 close with a reason",
         close_frame(1000, "Hello World!"),
         0,
         {"close:1000:Hello World!"}},
        {"7.3.5 close, 123-byte reason",
         close_frame(1000, str(123, '*')),
         0,
         {"close:1000:" + str(123, '*')}},
        {"7.3.6 close, 124-byte reason", close_frame(1000, str(124, '*')), kWsProtocolError, {}},
        {"7.5.1 close reason not UTF-8",
         close_frame(1000, std::string("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80") +
                               "edited"),
         kWsInvalidData,
         {}},
    };
    for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                     3999, 4000, 4999})
        cases.push_back({"7.7 valid code " + std::to_string(code),
                         close_frame(code),
                         0,
                         {"close:" + std::to_string(code) + ":"}});
    for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
        cases.push_back(
            {"7.9 invalid code " + std::to_string(code), close_frame(code), kWsProtocolError, {}});
    for (const Case& c : cases) expect_case(c);
}

TEST(WsConformance, Limits9AndMasking) {
    std::string msb("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01", 10);  // 2^63 + 1
    msb += "abcd";
    std::vector<Case> cases = {
        {"9.x message of exactly ws_max_message",
         binary(str(kMax, 'm')),
         0,
         {"binary:" + str(kMax, 'm')}},
        {"9.x one frame over ws_max_message", binary(str(kMax + 1, 'm')), kWsTooBig, {}},
        {"9.x fragments over ws_max_message",
         text(str(kMax / 2, 'm'), false) + ping("p") + cont(str(kMax / 2, 'm'), false) +
             cont("m", true),
         kWsTooBig,
         {"ping:p"}},
        {"5.2.2 payload length with its top bit set", msb, kWsProtocolError, {}},
        {"5.1 unmasked client frame", std::string("\x81\x02hi", 4), kWsProtocolError, {}},
        {"5.1 unmasked after a masked one",
         text("a") + std::string("\x89\x00", 2),
         kWsProtocolError,
         {"text:a"}},
    };
    for (const Case& c : cases) expect_case(c);
}

TEST(WsConformance, SizeErrorsFailBeforeThePayloadArrives) {
    // Only the header of each frame is fed: a frame too big for its kind is
    // refused at once, and nothing is held for a payload it will never accept.
    struct Head {
        std::string id, header;
        uint16_t code;
    } heads[] = {
        {"126-byte ping", std::string("\x89\xfe\x00\x7e", 4) + "abcd", kWsProtocolError},
        {"frame over the limit",
         std::string("\x82\xff\x00\x00\x00\x00\x00\x10\x00\x01", 10) + "abcd", kWsTooBig},
        {"length with its top bit set",
         std::string("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01", 10) + "abcd", kWsProtocolError},
    };
    for (const Head& h : heads) {
        WsDecoder d;
        Events sink;
        WsDecoder::Error err;
        EXPECT_FALSE(d.feed(h.header.data(), h.header.size(), 1 << 20, sink, &err)) << h.id;
        EXPECT_EQ(err.code, h.code) << h.id;
        EXPECT_EQ(d.buffered(), 0u) << h.id;
    }
}

TEST(WsConformance, HeaderBitErrorsFailWhenTheFrameIsComplete) {
    // wslay parses whole frames: a reserved opcode or a missing mask bit is
    // refused once the frame is complete, not on its header (relaxed; see
    // docs/CONFORMANCE.md). Until then the frame is held like any other, so a
    // client can hold no more than a valid frame of that size would.
    struct Head {
        std::string id, header;
    } heads[] = {
        {"reserved opcode", std::string("\x83\xfe\x10\x00", 4) + "abcd"},
        {"unmasked", std::string("\x82\x7e\x10\x00", 4)},
    };
    for (const Head& h : heads) {
        WsDecoder d;
        Events sink;
        WsDecoder::Error err;
        EXPECT_TRUE(d.feed(h.header.data(), h.header.size(), 1 << 20, sink, &err)) << h.id;
        EXPECT_EQ(d.buffered(), h.header.size()) << h.id;
        std::string payload(4096, 'x');
        EXPECT_TRUE(d.feed(payload.data(), payload.size() - 1, 1 << 20, sink, &err)) << h.id;
        EXPECT_FALSE(d.feed(payload.data(), 1, 1 << 20, sink, &err)) << h.id;
        EXPECT_EQ(err.code, kWsProtocolError) << h.id;
        EXPECT_EQ(d.buffered(), 0u) << h.id;
        EXPECT_TRUE(sink.got.empty()) << h.id;
    }
}

TEST(WsConformance, TheSinkMayDestroyTheDecoderInOnClose) {
    // WsService closes (and frees) the connection from on_close; feed() must
    // not touch the decoder afterwards (ASan checks this in the asan build).
    struct Closer : WsDecoder::Sink {
        WsDecoder* d = nullptr;
        int closes = 0;
        void on_message(uint8_t, std::string_view) override {}
        void on_ping(std::string_view) override {}
        void on_close(uint16_t, std::string_view) override {
            ++closes;
            delete d;
            d = nullptr;
        }
    };
    for (const std::string& wire : {close_frame(1000) + text("after"),
                                    text("f", false) + close_frame(1001, "bye") + ping()}) {
        for (size_t cut : {size_t(0), size_t(3)}) {
            Closer sink;
            sink.d = new WsDecoder;
            WsDecoder::Error err;
            EXPECT_TRUE(sink.d->feed(wire.data(), cut, kMax, sink, &err));
            EXPECT_TRUE(sink.d->feed(wire.data() + cut, wire.size() - cut, kMax, sink, &err));
            EXPECT_EQ(sink.closes, 1);
            EXPECT_EQ(sink.d, nullptr);
        }
    }
}

TEST(Utf8, IncrementalValidatorCarriesStateAcrossPieces) {
    const std::string s = "a\xc2\xb5\xe2\x82\xac\xf0\x9f\x98\x80z";
    for (size_t cut = 0; cut <= s.size(); ++cut) {
        Utf8Validator v;
        EXPECT_TRUE(v.feed(s.data(), cut)) << cut;
        EXPECT_TRUE(v.feed(s.data() + cut, s.size() - cut)) << cut;
        EXPECT_TRUE(v.complete()) << cut;
    }
    Utf8Validator v;
    EXPECT_TRUE(v.feed("\xe2", 1));
    EXPECT_FALSE(v.complete());  // inside a code point
    EXPECT_TRUE(v.feed("\x82", 1));
    EXPECT_TRUE(v.feed("\xac", 1));
    EXPECT_TRUE(v.complete());
    // Fails on the byte that makes it invalid, and stays failed.
    Utf8Validator w;
    EXPECT_TRUE(w.feed("\xed", 1));
    EXPECT_FALSE(w.feed("\xa0", 1));  // a surrogate, known at its second byte
    EXPECT_FALSE(w.feed("a", 1));
    w.reset();
    EXPECT_TRUE(w.feed("a", 1));
    // ASCII runs longer than a word, with a multi-byte sequence after them.
    std::string long_ascii = std::string(37, 'x') + "\xc3\xa9" + std::string(9, 'y');
    EXPECT_TRUE(utf8_valid(long_ascii.data(), long_ascii.size()));
    long_ascii[20] = '\x80';
    EXPECT_FALSE(utf8_valid(long_ascii.data(), long_ascii.size()));
}
