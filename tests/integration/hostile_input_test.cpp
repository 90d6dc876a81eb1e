// Hostile input on every listener: each gets its answer or is closed, and
// never disturbs the others.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "protocol/channel_message.h"
#include "protocol/frame.h"
#include "protocol/php_value.h"
#include "tests/support/pump.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;

namespace {

// Reads until EOF or the deadline; true when the server closed.
bool closed_within(int fd, int ms, std::string* got = nullptr) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        char b[4096];
        ssize_t n = read(fd, b, sizeof b);
        if (n <= 0) return true;
        if (got) got->append(b, static_cast<size_t>(n));
    }
    return false;
}

class HostileTest : public ::testing::Test {
  protected:
    void SetUp() override {
        p = std::make_unique<PusherInstance>(
            "\"limits\": {\"handshake_timeout\": 1, \"http_max_header\": 2048, \"ws_max_message\": "
            "4096},");
        ASSERT_EQ(p->start().code, 0);
        ASSERT_TRUE(p->wait_healthy());
        ASSERT_TRUE(bystander.connect("127.0.0.1", p->ws_port));
        bystander.recv_text();
    }
    void TearDown() override {
        // Whatever happened, a well-behaved client is still served.
        EXPECT_EQ(p->http_get("/?content=still-fine"), "ok");
        EXPECT_EQ(bystander.recv_text(), "still-fine");
    }
    std::unique_ptr<PusherInstance> p;
    WsClient bystander;
};

TEST_F(HostileTest, SlowlorisIsCutOffOnEveryHttpListener) {
    for (int port : {p->ws_port, p->http_port}) {
        int fd = dial(port);
        std::string head = "GET / HTTP/1.1\r\nHost: x\r\n";
        auto t0 = std::chrono::steady_clock::now();
        bool closed = false;
        for (char ch : head) {  // a byte every 150 ms never completes the request
            if (write(fd, &ch, 1) != 1 || closed_within(fd, 150)) {
                closed = true;
                break;
            }
        }
        if (!closed) closed = closed_within(fd, 3000);
        EXPECT_TRUE(closed) << port;
        EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
        close(fd);
    }
}

TEST_F(HostileTest, OversizedAndMalformedRequestsGetTheirStatus) {
    std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 300; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    many += "\r\n";
    std::string r = http_request("127.0.0.1", p->http_port, many);
    EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 431");
    r = http_request("127.0.0.1", p->http_port,
                     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n");
    EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 413");
    r = http_request("127.0.0.1", p->http_port,
                     std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
    EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 400");
    r = http_request("127.0.0.1", p->ws_port, many);
    EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 431");
}

TEST_F(HostileTest, WebSocketFrameAbuseClosesWithTheRightCode) {
    struct Case {
        uint8_t opcode;
        std::string payload;
        bool fin, mask;
        uint16_t code;
    } cases[] = {
        {0x1, std::string(5000, 'x'), true, true, 1009},  // over ws_max_message
        {0x3, "x", true, true, 1002},                     // reserved opcode
        {0x9, "x", false, true, 1002},                    // fragmented ping
        {0x0, "x", true, true, 1002},                     // continuation first
        {0x1, "\xc3\x28", true, true, 1007},              // invalid UTF-8
        {0x1, "x", true, false, 1002},                    // unmasked
    };
    for (const Case& c : cases) {
        WsClient w;
        ASSERT_TRUE(w.connect("127.0.0.1", p->ws_port));
        w.recv_text();
        w.send_frame(c.opcode, c.payload, c.fin, c.mask);
        WsFrame f = w.recv();
        ASSERT_EQ(f.opcode, 0x8) << int(c.opcode);
        EXPECT_EQ((uint8_t(f.payload[0]) << 8) | uint8_t(f.payload[1]), c.code) << int(c.opcode);
        EXPECT_EQ(w.recv().opcode, -2);  // and the connection is closed
    }
    WsClient rsv;
    ASSERT_TRUE(rsv.connect("127.0.0.1", p->ws_port));
    rsv.recv_text();
    rsv.send_raw(std::string("\xc1\x81\x00\x00\x00\x00x", 7));  // RSV1 without an extension
    EXPECT_EQ(rsv.recv().opcode, 0x8);
}

TEST_F(HostileTest, GarbageOnTheBusClosesOnlyThatPeer) {
    for (std::string junk :
         {std::string("\x00\x00\x00\x01", 4), std::string("\xff\xff\xff\xff", 4),
          pusher::protocol::frame_encode("a:1:{garbage"),
          pusher::protocol::frame_encode("O:8:\"Evil\\Obj\":1:{s:1:\"x\";i:1;}")}) {
        int fd = dial(p->channel_port);
        ASSERT_EQ(write(fd, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
        EXPECT_TRUE(closed_within(fd, 2000));
        close(fd);
    }
}

// jsoncpp throws (instead of failing) past its nesting limit: a 201-byte body
// used to abort the http worker. Now it is a 400 and the worker lives on.
TEST_F(HostileTest, DeeplyNestedJsonBodyIsA400NotACrash) {
    int pid = p->worker_pid("publisher");
    ASSERT_GT(pid, 0);
    for (std::string body : {std::string(100, '[') + std::string(100, ']'),
                             std::string(3000, '[') + std::string(3000, ']'),
                             "{\"content\":" + std::string(500, '[') + std::string(500, ']') + "}"}) {
        std::string r = http_request(
            "127.0.0.1", p->http_port,
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
        EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 400") << body.size();
    }
    EXPECT_EQ(p->worker_pid("publisher"), pid) << "the http worker died";
}

// Bus content that is not UTF-8 (a PHP Channel\Client may publish any bytes)
// must never leave as a text frame: browsers fail the whole connection on it.
TEST_F(HostileTest, BusContentThatIsNotUtf8GoesOutAsABinaryFrame) {
    using pusher::protocol::php::Key;
    using pusher::protocol::php::Value;
    Value data = Value::array();
    data.set(Key::from_string("content"), Value::string("\xff\xfe bytes"));
    std::string msg = pusher::protocol::frame_encode(pusher::protocol::channel::build_client_message(
        "publish", {Value::string("broadcast")}, &data));
    int fd = dial(p->channel_port);
    ASSERT_EQ(write(fd, msg.data(), msg.size()), static_cast<ssize_t>(msg.size()));
    WsFrame f = bystander.recv();
    while (f.opcode == 0x9) f = bystander.recv();
    EXPECT_EQ(f.opcode, 0x2);
    EXPECT_EQ(f.payload, "\xff\xfe bytes");
    close(fd);
}

}  // namespace
