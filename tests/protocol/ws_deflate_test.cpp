// permessage-deflate (RFC 7692) in the WebSocket codecs: which offers the
// handshake takes and how it answers, and the decoder's compressed messages.
#include "protocol/ws_deflate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/http_request.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_handshake.h"
#include "tests/support/deflate_bytes.h"
#include "tests/support/ws_bytes.h"

using namespace pusher::protocol;
using pusher::testing::client_deflate;
using pusher::testing::deflate_bomb;

namespace {

// "15", "9+", ... : the window the server compresses with, '+' when the answer
// names it; "-" for no extension.
std::string agreed(std::string_view offers) {
    WsDeflateAgreement a = ws_deflate_negotiate(offers);
    if (!a.agreed()) return "-";
    return std::to_string(a.window_bits) + (a.window_named ? "+" : "");
}

HttpRequest upgrade(const std::vector<std::string>& extension_lines) {
    std::string wire =
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    for (const std::string& l : extension_lines) wire += "Sec-WebSocket-Extensions: " + l + "\r\n";
    wire += "\r\n";
    HttpParser p;
    size_t used = 0;
    EXPECT_EQ(p.feed(wire.data(), wire.size(), &used), HttpParser::Result::Request);
    return p.take();
}

struct Recorder : WsDecoder::Sink {
    std::vector<std::string> messages;
    int close_code = 0;
    void on_message(uint8_t op, std::string_view p) override {
        messages.push_back(std::to_string(op) + ":" + std::string(p));
    }
    void on_ping(std::string_view) override {}
    void on_close(uint16_t code, std::string_view) override { close_code = code; }
};

std::string frame(uint8_t first, std::string_view payload) {
    return pusher::testing::ws_masked_frame(first, payload, "\x11\x22\x33\x44");
}

// Decodes wire with deflate agreed (or not), whole and cut at every byte;
// both must agree. Returns the error code (0: none).
int decode(const std::string& wire, Recorder* r, bool deflate = true, size_t max = 1 << 20) {
    WsDecoder whole;
    whole.set_deflate(deflate);
    WsDecoder::Error err;
    size_t before = r->messages.size();
    bool ok = whole.feed(wire.data(), wire.size(), max, *r, &err);
    EXPECT_EQ(ok, err.code == 0);
    std::vector<std::string> got(r->messages.begin() + before, r->messages.end());
    for (size_t cut = 1; cut < wire.size() && wire.size() < 4096; cut += 7) {
        WsDecoder d;
        d.set_deflate(deflate);
        Recorder r2;
        WsDecoder::Error e2;
        if (d.feed(wire.data(), cut, max, r2, &e2))
            d.feed(wire.data() + cut, wire.size() - cut, max, r2, &e2);
        EXPECT_EQ(e2.code, err.code) << "cut at " << cut;
        EXPECT_EQ(r2.messages, got) << "cut at " << cut;
    }
    return err.code;
}

const std::string kText = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 h\xc3\xa9llo h\xc3\xa9llo";

}  // namespace

TEST(WsDeflateOffer, NegotiationTable) {
    struct Case {
        const char* offers;
        const char* want;
    } cases[] = {
        {"permessage-deflate", "15"},
        {"permessage-deflate; client_max_window_bits", "15"},  // Chromium, ws, websockets
        {"permessage-deflate; client_max_window_bits=10", "15"},
        {"permessage-deflate; server_no_context_takeover; client_no_context_takeover", "15"},
        {"permessage-deflate; server_max_window_bits=10", "9+"},
        {"permessage-deflate; server_max_window_bits=9", "9+"},
        {"permessage-deflate; server_max_window_bits=15", "9+"},
        {"permessage-deflate; server_max_window_bits=\"12\"", "9+"},  // quoted
        {"PerMessage-Deflate; Server_Max_Window_Bits=11", "9+"},      // case
        {"  permessage-deflate ;\tclient_max_window_bits  ", "15"},    // whitespace
        // Declined: zlib cannot make an 8-bit window.
        {"permessage-deflate; server_max_window_bits=8", "-"},
        // Declined: values out of range, malformed or missing.
        {"permessage-deflate; server_max_window_bits=16", "-"},
        {"permessage-deflate; server_max_window_bits=7", "-"},
        {"permessage-deflate; server_max_window_bits=010", "-"},
        {"permessage-deflate; server_max_window_bits=1x", "-"},
        {"permessage-deflate; server_max_window_bits", "-"},
        {"permessage-deflate; server_max_window_bits=", "-"},
        {"permessage-deflate; client_max_window_bits=16", "-"},
        {"permessage-deflate; client_max_window_bits=\"\"", "-"},
        // Declined: values on flags, unknown and repeated parameters.
        {"permessage-deflate; server_no_context_takeover=1", "-"},
        {"permessage-deflate; client_no_context_takeover=\"x\"", "-"},
        {"permessage-deflate; mystery", "-"},
        {"permessage-deflate; client_max_window_bits; client_max_window_bits", "-"},
        {"permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", "-"},
        // Syntax the element cannot be read with.
        {"permessage-deflate;", "-"},
        {"permessage-deflate; =10", "-"},
        {"permessage-deflate; server_max_window_bits=\"10", "-"},
        {"permessage-deflate client_max_window_bits", "-"},
        // Other extensions, and none.
        {"x-webkit-deflate-frame", "-"},
        {"permessage-deflatex", "-"},
        {"", "-"},
        {",,,", "-"},
        // The first acceptable offer wins; a declined one is skipped.
        {"permessage-deflate; server_max_window_bits=8, permessage-deflate", "15"},
        {"permessage-deflate; bogus, permessage-deflate; server_max_window_bits=11", "9+"},
        {"permessage-deflate; server_max_window_bits=10, permessage-deflate", "9+"},
        {"x-foo; a=\"b,c\", permessage-deflate; server_max_window_bits=13", "9+"},
        {"permessage-deflate; x=\"a, permessage-deflate\", permessage-deflate", "15"},
        {"garbage;;;, permessage-deflate", "15"},
    };
    for (const Case& c : cases) EXPECT_EQ(agreed(c.offers), c.want) << c.offers;
}

TEST(WsDeflateOffer, AnswerNamesBothNoContextTakeovers) {
    WsDeflateAgreement a = ws_deflate_negotiate("permessage-deflate; client_max_window_bits");
    EXPECT_EQ(a.response_header(),
              "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
              "client_no_context_takeover\r\n");
    a = ws_deflate_negotiate("permessage-deflate; server_max_window_bits=10");  // answered with 9
    EXPECT_EQ(a.response_header(),
              "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
              "client_no_context_takeover; server_max_window_bits=9\r\n");
    EXPECT_EQ(WsDeflateAgreement{}.response_header(), "");
    // The answer, read as an offer, is accepted with the same window.
    std::string answer = a.response_header();
    std::string value = answer.substr(answer.find(':') + 2);
    EXPECT_EQ(agreed(value.substr(0, value.size() - 2)), "9+");
}

TEST(WsDeflateOffer, HandshakeAnswersOnlyWhenAllowedAndOffered) {
    const char* kPlain =
        "HTTP/1.1 101 Switching Protocol\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
    auto offered = upgrade({"permessage-deflate; client_max_window_bits"});
    auto hs = ws_handshake(offered, {}, true);
    ASSERT_TRUE(hs.ok);
    EXPECT_EQ(hs.deflate.window_bits, 15);
    EXPECT_EQ(hs.response, std::string(kPlain) +
                               "Sec-WebSocket-Extensions: permessage-deflate; "
                               "server_no_context_takeover; client_no_context_takeover\r\n\r\n");
    // Not allowed by the config: the 101 is the plain one.
    hs = ws_handshake(offered, {}, false);
    EXPECT_FALSE(hs.deflate.agreed());
    EXPECT_EQ(hs.response, std::string(kPlain) + "\r\n");
    // Only bad offers: the connection goes ahead without the extension.
    hs = ws_handshake(upgrade({"permessage-deflate; server_max_window_bits=99"}), {}, true);
    ASSERT_TRUE(hs.ok);
    EXPECT_FALSE(hs.deflate.agreed());
    EXPECT_EQ(hs.response, std::string(kPlain) + "\r\n");
    // Offers spread over several header lines are one list.
    hs = ws_handshake(upgrade({"permessage-deflate; bad", "x-other",
                               "permessage-deflate; server_max_window_bits=9"}),
                      {}, true);
    EXPECT_EQ(hs.deflate.window_bits, 9);
    EXPECT_NE(hs.response.find("server_max_window_bits=9\r\n\r\n"), std::string::npos);
}

TEST(WsInflatingDecoder, CompressedMessagesArriveInflated) {
    Recorder r;
    std::string wire = frame(0xC1, client_deflate(kText));        // FIN + RSV1 + text
    wire += frame(0x82, "plain");                                 // uncompressed, same connection
    wire += frame(0xC2, client_deflate(std::string(3000, 'b')));  // binary
    wire += frame(0x41, client_deflate(kText).substr(0, 5));      // fragmented: RSV1 on the first
    wire += frame(0x89, "ping between fragments");
    wire += frame(0x80, client_deflate(kText).substr(5));
    wire += frame(0xC1, std::string(1, '\0'));  // the empty message
    EXPECT_EQ(decode(wire, &r), 0);
    ASSERT_EQ(r.messages.size(), 5u);
    EXPECT_EQ(r.messages[0], "1:" + kText);
    EXPECT_EQ(r.messages[1], "2:plain");
    EXPECT_EQ(r.messages[2], "2:" + std::string(3000, 'b'));
    EXPECT_EQ(r.messages[3], "1:" + kText);
    EXPECT_EQ(r.messages[4], "1:");
}

TEST(WsInflatingDecoder, Rsv1WhereItHasNoMeaningIsAProtocolError) {
    Recorder r;
    // Not agreed.
    EXPECT_EQ(decode(frame(0xC1, client_deflate("hi")), &r, false), kWsProtocolError);
    // On a control frame, on a continuation frame.
    EXPECT_EQ(decode(frame(0xC9, "x"), &r), kWsProtocolError);
    EXPECT_EQ(decode(frame(0xC8, std::string("\x03\xe8", 2)), &r), kWsProtocolError);
    EXPECT_EQ(decode(frame(0x01, "a") + frame(0xC0, "b"), &r), kWsProtocolError);
    EXPECT_EQ(decode(frame(0x41, client_deflate("ab").substr(0, 1)) + frame(0xC0, "b"), &r),
              kWsProtocolError);
    // RSV2 and RSV3 stay reserved.
    EXPECT_EQ(decode(frame(0xA1, "x"), &r), kWsProtocolError);
    EXPECT_EQ(decode(frame(0xD1, client_deflate("x")), &r), kWsProtocolError);
    EXPECT_TRUE(r.messages.empty());
}

TEST(WsInflatingDecoder, BadCompressedDataAndBadTextAre1007) {
    Recorder r;
    EXPECT_EQ(decode(frame(0xC1, "\x07garbage"), &r), kWsInvalidData);
    EXPECT_EQ(decode(frame(0xC1, client_deflate("\xff\xfe not utf-8")), &r), kWsInvalidData);
    // Each fragment of a compressed text message may end anywhere, even inside a
    // code point or in bytes that are not UTF-8: only the inflated whole is checked.
    std::string z = client_deflate(kText);
    EXPECT_EQ(decode(frame(0x41, z.substr(0, 1)) + frame(0x80, z.substr(1)), &r), 0);
    // A binary message is not checked at all.
    EXPECT_EQ(decode(frame(0xC2, client_deflate("\xff\xfe")), &r), 0);
    EXPECT_EQ(r.messages.back(), "2:\xff\xfe");
}

TEST(WsInflatingDecoder, InflatedSizeIsBoundedBy1009) {
    Recorder r;
    std::string m(5000, 'x');
    EXPECT_EQ(decode(frame(0xC1, client_deflate(m)), &r, true, 5000), 0);
    EXPECT_EQ(decode(frame(0xC1, client_deflate(m)), &r, true, 4999), kWsTooBig);
    // 1 KiB that would inflate to 1 MiB.
    EXPECT_EQ(decode(frame(0xC2, deflate_bomb(1)), &r, true, 64 << 10), kWsTooBig);
    ASSERT_EQ(r.messages.size(), 1u);
}

// Under max_message a message may still inflate to at most 64 times its
// size (plus 4 KiB): a client cannot make the worker inflate a megabyte for
// each kilobyte it sends.
TEST(WsInflatingDecoder, InflationRatioIsBounded) {
    Recorder r;
    std::string json;
    while (json.size() < 200000) json += "{\"user\":" + std::to_string(json.size() % 977) + ",\"ok\":true},";
    EXPECT_EQ(decode(frame(0xC1, client_deflate(json)), &r, true, 1 << 20), 0);  // real text: fine
    std::string z = client_deflate(std::string(900000, 'a'));
    ASSERT_GT(900000u, z.size() * 64 + 4096);  // far beyond the ratio
    EXPECT_EQ(decode(frame(0xC1, z), &r, true, 1 << 20), kWsTooBig);
    ASSERT_EQ(r.messages.size(), 1u);
    EXPECT_EQ(r.messages[0], "1:" + json);
}

TEST(WsInflatingDecoder, IdleDecoderStaysSixteenBytes) {
    static_assert(sizeof(WsDecoder) == 16, "the deflate flag lives in the padding");
    WsDecoder d;
    d.set_deflate(true);
    EXPECT_EQ(d.buffered(), 0u);
}
