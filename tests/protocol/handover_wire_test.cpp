// The hand-over wire (protocol/handover_wire.h) and the decoder state it
// carries (WsDecoder::save / restore): what a new worker rebuilds must be
// what the old one had, mid-frame and mid-message included, and anything
// truncated or foreign is refused, never read past.
#include "protocol/handover_wire.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/ws_frame.h"
#include "tests/support/ws_bytes.h"

using namespace pusher::protocol;
namespace wire = pusher::protocol::handover;

namespace {

struct Texts : WsDecoder::Sink {
    std::vector<std::string> got;
    void on_message(uint8_t, std::string_view p) override { got.emplace_back(p); }
    void on_ping(std::string_view) override {}
    void on_close(uint16_t, std::string_view) override { got.emplace_back("<close>"); }
};

std::string masked(uint8_t first, const std::string& payload) {
    return pusher::testing::ws_masked_frame(first, payload, "\x11\x22\x33\x44");
}

wire::Conn sample_conn() {
    wire::Conn c;
    c.id = 123456789012ull;
    c.phase = wire::Conn::kOpen;
    c.flags = 0x25;
    c.ready = true;
    c.last_active = 4000000000u;
    c.phase_since = 17;
    c.bytes_in = 1ull << 40;
    c.bytes_out = 99;
    c.input = std::string("\0\x01state", 7);
    c.output = std::string(70000, 'o');
    c.has_uid = true;
    c.uid = "user-1";
    c.groups = {"g1", "g\xc3\xa9"};
    c.has_session = true;
    c.session = "{\"a\":1}";
    return c;
}

}  // namespace

TEST(HandoverWire, ConnectionsRoundTrip) {
    std::vector<wire::Conn> in = {sample_conn(), wire::Conn{}};
    in[1].id = 7;
    in[1].phase = wire::Conn::kHandshake;
    in[1].input = "GET / HTTP/1.1\r\nHost: x\r\n";
    std::vector<wire::Conn> out;
    std::string error;
    ASSERT_TRUE(wire::decode_conns(wire::encode_conns(in), &out, &error)) << error;
    ASSERT_EQ(out.size(), 2u);
    const wire::Conn& a = out[0];
    EXPECT_EQ(a.id, in[0].id);
    EXPECT_EQ(a.flags, in[0].flags);
    EXPECT_TRUE(a.ready);
    EXPECT_EQ(a.last_active, in[0].last_active);
    EXPECT_EQ(a.phase_since, 17u);
    EXPECT_EQ(a.bytes_in, in[0].bytes_in);
    EXPECT_EQ(a.input, in[0].input);
    EXPECT_EQ(a.output, in[0].output);
    EXPECT_TRUE(a.has_uid);
    EXPECT_EQ(a.uid, "user-1");
    EXPECT_EQ(a.groups, in[0].groups);
    EXPECT_TRUE(a.has_session);
    EXPECT_EQ(a.session, in[0].session);
    EXPECT_EQ(out[1].phase, wire::Conn::kHandshake);
    EXPECT_EQ(out[1].input, in[1].input);
    EXPECT_FALSE(out[1].has_uid);
}

TEST(HandoverWire, EveryTruncationAndTrailingByteIsRefused) {
    std::string bytes = wire::encode_conns({sample_conn()});
    std::vector<wire::Conn> out;
    std::string error;
    for (size_t n = 0; n < bytes.size(); n += (n < 64 ? 1 : 997))
        EXPECT_FALSE(wire::decode_conns(bytes.substr(0, n), &out, &error)) << n;
    EXPECT_FALSE(wire::decode_conns(bytes + "x", &out, &error));
    // A count above one batch's descriptors, and a length past the end.
    std::string many = bytes;
    many[0] = static_cast<char>(254);
    EXPECT_FALSE(wire::decode_conns(many, &out, &error));
    std::string huge = bytes;
    huge[4 + 8 + 3 + 8 + 16 + 3] = '\x7f';  // the high byte of input's length
    EXPECT_FALSE(wire::decode_conns(huge, &out, &error));
}

TEST(HandoverWire, EventRoundTrip) {
    php::Value data = php::Value::array();
    data.set(php::Key::from_string("content"), php::Value::string("hello"));
    php::Value ch, got;
    std::string error;
    ASSERT_TRUE(wire::decode_event(wire::encode_event(php::Value::integer(3), data), &ch, &got,
                                   &error))
        << error;
    EXPECT_EQ(ch.as_string(), "3");
    ASSERT_NE(got.get("content"), nullptr);
    EXPECT_EQ(got.get("content")->as_string(), "hello");
    EXPECT_FALSE(wire::decode_event("\x05", &ch, &got, &error));
}

// A message cut anywhere (inside a header, inside a payload, between the
// fragments of a message, inside a UTF-8 sequence) continues in a new
// decoder as if nothing had happened.
TEST(HandoverWire, DecoderStateContinuesAtEveryCut) {
    std::string text = "caf\xc3\xa9 \xe2\x82\xac end";
    std::string stream = masked(0x01, text.substr(0, 5)) + masked(0x80, text.substr(5)) +
                         masked(0x89, "p") + masked(0x81, std::string(300, 'x')) +
                         masked(0x88, std::string("\x03\xe8", 2));
    for (size_t cut = 0; cut <= stream.size(); ++cut) {
        Texts sink;
        WsDecoder::Error err;
        WsDecoder a;
        ASSERT_TRUE(a.feed(stream.data(), cut, 1 << 20, sink, &err)) << cut << err.reason;
        WsDecoder b;
        ASSERT_TRUE(b.restore(a.save(), 1 << 20)) << cut;
        ASSERT_TRUE(b.feed(stream.data() + cut, stream.size() - cut, 1 << 20, sink, &err))
            << cut << ": " << err.reason;
        ASSERT_EQ(sink.got.size(), 3u) << cut;
        EXPECT_EQ(sink.got[0], text) << cut;
        EXPECT_EQ(sink.got[1], std::string(300, 'x')) << cut;
        EXPECT_EQ(sink.got[2], "<close>") << cut;
    }
}

TEST(HandoverWire, DecoderRefusesAForeignState) {
    WsDecoder d;
    EXPECT_FALSE(d.restore("", 1 << 20));
    EXPECT_FALSE(d.restore(std::string("\x02\x00", 2), 1 << 20));  // another version
    std::string ok = WsDecoder().save();
    EXPECT_TRUE(d.restore(ok, 1 << 20));
    EXPECT_FALSE(d.restore(ok + "x", 1 << 20));
}
