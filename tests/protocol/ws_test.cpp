#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/http_request.h"
#include "protocol/utf8.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_handshake.h"

using namespace pusher::protocol;

namespace {

std::string masked(uint8_t first, std::string_view payload,
                   const char mask[4] = "\x11\x22\x33\x44") {
    std::string f(1, static_cast<char>(first));
    size_t n = payload.size();
    if (n < 126) {
        f += static_cast<char>(0x80 | n);
    } else if (n <= 0xFFFF) {
        f += static_cast<char>(0x80 | 126);
        f += static_cast<char>(n >> 8);
        f += static_cast<char>(n & 0xFF);
    } else {
        f += static_cast<char>(0x80 | 127);
        for (int i = 7; i >= 0; --i) f += static_cast<char>(uint64_t(n) >> (8 * i));
    }
    f.append(mask, 4);
    for (size_t i = 0; i < n; ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
    return f;
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
