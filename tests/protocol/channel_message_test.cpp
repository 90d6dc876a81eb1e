#include "protocol/channel_message.h"

#include <gtest/gtest.h>

#include <sstream>

#include "protocol/frame.h"
#include "tests/support/php.h"

using namespace pusher::protocol;
using namespace pusher::protocol::channel;
using pusher::protocol::php::Value;

static std::string hex(const std::string& s) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) out += {d[c >> 4], d[c & 15]};
    return out;
}

TEST(ChannelMessage, BuildsTheSpecBytes) {
    std::string sub = frame_encode(build_client_message("subscribe", {Value::string("broadcast")}));
    EXPECT_EQ(
        sub,
        std::string("\0\0\0\x4e", 4) +
            "a:2:{s:4:\"type\";s:9:\"subscribe\";s:8:\"channels\";a:1:{i:0;s:9:\"broadcast\";}}");
    EXPECT_EQ(build_client_message("subscribe", {Value::integer(0)}),
              "a:2:{s:4:\"type\";s:9:\"subscribe\";s:8:\"channels\";a:1:{i:0;i:0;}}");
    Value data = Value::array();
    data.set(php::Key::from_string("to_connection_id"), Value::integer(1));
    data.set(php::Key::from_string("content"), Value::string("hi"));
    std::string pub = build_client_message("publish", {Value::string("broadcast")}, &data);
    EXPECT_EQ(pub.size() + 4, 144u);
    ClientMessage m;
    std::string err;
    ASSERT_TRUE(parse_client_message(pub, &m, &err)) << err;
    EXPECT_EQ(m.type, "publish");
    ASSERT_EQ(m.channels.size(), 1u);
    std::string event = build_delivery("event", m.channels[0], m);
    EXPECT_EQ(
        event,
        std::string("\0\0\0\x83", 4) +
            "a:3:{s:4:\"type\";s:5:\"event\";s:7:\"channel\";s:9:\"broadcast\";s:4:\"data\";a:2:{"
            "s:16:\"to_connection_id\";i:1;s:7:\"content\";s:2:\"hi\";}}");
    EXPECT_EQ(build_reserve().size() + 4, 0x23u);
}

TEST(ChannelMessage, AcceptsKeysInAnyOrderAndIgnoresExtras) {
    std::string body =
        "a:4:{s:4:\"data\";s:3:\"job\";s:5:\"extra\";i:1;s:8:\"channels\";a:1:{i:0;s:1:\"q\";}"
        "s:4:\"type\";s:7:\"enqueue\";}";
    ClientMessage m;
    std::string err;
    ASSERT_TRUE(parse_client_message(body, &m, &err)) << err;
    EXPECT_EQ(m.type, "enqueue");
    EXPECT_EQ(m.data_raw, "s:3:\"job\";");
    EXPECT_EQ(
        build_delivery("queue", m.channels[0], m).substr(4),
        "a:3:{s:4:\"type\";s:5:\"queue\";s:7:\"channel\";s:1:\"q\";s:4:\"data\";s:3:\"job\";}");
}

TEST(ChannelMessage, RenumbersReferencesExactlyAsPhp) {
    if (!pusher::testing::have_php()) GTEST_SKIP() << "php-cli not installed";
    const char* publishes[] = {
        "a:3:{s:4:\"type\";s:7:\"publish\";s:8:\"channels\";a:1:{i:0;s:1:\"c\";}s:4:\"data\";a:3:{"
        "s:1:\"x\";"
        "i:1;s:1:\"o\";O:8:\"stdClass\":1:{s:1:\"a\";i:1;}s:1:\"p\";r:7;}}",
        "a:3:{s:4:\"type\";s:7:\"publish\";s:8:\"channels\";a:3:{i:0;s:1:\"a\";i:1;i:5;i:2;s:1:"
        "\"c\";}"
        "s:4:\"data\";a:2:{i:0;O:8:\"stdClass\":0:{}i:1;r:8;}}",
        "a:3:{s:4:\"type\";s:7:\"publish\";s:8:\"channels\";a:1:{i:0;s:1:\"c\";}s:4:\"data\";a:2:{"
        "s:1:\"a\";"
        "a:1:{i:0;i:1;}s:1:\"b\";R:6;}}",
    };
    for (const char* pub : publishes) {
        ClientMessage m;
        std::string err;
        ASSERT_TRUE(parse_client_message(pub, &m, &err)) << err;
        EXPECT_TRUE(m.has_refs);
        std::istringstream php_out(pusher::testing::run_php("channel_event.php", hex(pub)));
        std::string line;
        size_t i = 0;
        while (std::getline(php_out, line)) {
            ASSERT_LT(i, m.channels.size());
            EXPECT_EQ(build_delivery("event", m.channels[i], m).substr(4),
                      pusher::testing::hex_decode(line));
            ++i;
        }
        EXPECT_EQ(i, m.channels.size());
    }
}

TEST(ChannelMessage, ParsesDeliveriesWithOrWithoutTrailingNewline) {
    std::string body =
        "a:3:{s:4:\"type\";s:5:\"event\";s:7:\"channel\";s:1:\"0\";s:4:\"data\";a:2:{"
        "s:16:\"to_connection_id\";s:1:\"1\";s:7:\"content\";s:2:\"hi\";}}";
    for (std::string b : {body, body + "\n"}) {
        Delivery d;
        std::string err;
        ASSERT_TRUE(parse_delivery(b, &d, &err)) << err;
        EXPECT_EQ(d.type, "event");
        EXPECT_EQ(d.channel.as_string(), "0");
        EXPECT_EQ(d.data.get("content")->as_string(), "hi");
    }
}

TEST(ChannelMessage, RejectsBodiesThatAreNotMessages) {
    ClientMessage m;
    std::string err;
    EXPECT_FALSE(parse_client_message("i:1;", &m, &err));
    EXPECT_FALSE(parse_client_message("a:0:{}", &m, &err));
    EXPECT_FALSE(parse_client_message("garbage", &m, &err));
}
