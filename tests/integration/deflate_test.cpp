// permessage-deflate against the real server (issue #13): Python's
// `websockets` and Node's `ws` as applications use them, and raw-socket
// clients that look at every frame's RSV1 bit, inflate with zlib as a client
// with exactly the agreed window would, send compressed messages, a zip bomb
// and offers the server must decline. Browsers: tests/browser/deflate.test.mjs.
//
// One ws worker, so every client shares it with a watcher that never offers
// the extension; after each test the watcher still gets plain broadcasts on
// its first connection, the worker's pid is unchanged and the log has no
// "exit with status" line (PusherInstance also counts abnormal exits).
#include <gtest/gtest.h>
#include <json/json.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "tests/support/deflate_bytes.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_bytes.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;

namespace {

const std::string kOffer =
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
const std::string kAnswer =
    "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
    "client_no_context_takeover\r\n";
const std::string kUtf8 = [] {
    std::string s;
    for (int i = 0; i < 20; ++i) s += "h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x98\x80 ";
    return s;
}();
const std::string kBigJson = [] {
    std::string s = "[";
    for (int i = 0; s.size() < 100000; ++i)
        s += "{\"id\":" + std::to_string(i) + ",\"name\":\"r\xc3\xa9sum\xc3\xa9 " +
             std::to_string(i) + "\",\"tags\":[\"a\",\"b\"]},";
    s.back() = ']';
    return s;
}();
const std::string kSmall = "tiny \xc3\xa9";  // under min_size (256)

std::string src_dir() {
    const char* s = getenv("PUSHER_SRC");
    return s ? s : ".";
}

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string form_encode(const std::string& s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char ch : s) {
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.') {
            out += static_cast<char>(ch);
        } else {
            out += '%';
            out += hex[ch >> 4];
            out += hex[ch & 15];
        }
    }
    return out;
}

// Adds a "deflate" object to the instance's websocket service, before start.
void set_ws_deflate(PusherInstance& p, const std::string& deflate_json) {
    Json::Value root, deflate;
    Json::CharReaderBuilder b;
    std::string errs;
    std::istringstream in(slurp(p.config)), d(deflate_json);
    ASSERT_TRUE(Json::parseFromStream(b, in, &root, &errs)) << errs;
    ASSERT_TRUE(Json::parseFromStream(b, d, &deflate, &errs)) << errs;
    for (Json::Value& s : root["services"])
        if (s["type"] == "websocket") s["deflate"] = deflate;
    std::ofstream(p.config) << root;
}

uint16_t close_code(const std::string& payload) {
    return payload.size() >= 2
               ? static_cast<uint16_t>((uint8_t(payload[0]) << 8) | uint8_t(payload[1]))
               : 0;
}

class Deflate : public ::testing::Test {
  protected:
    void SetUp() override { start(""); }

    void start(const std::string& deflate_json) {
        p = std::make_unique<PusherInstance>("", 1);
        if (!deflate_json.empty()) set_ws_deflate(*p, deflate_json);
        ASSERT_EQ(p->start().code, 0) << log();
        ASSERT_TRUE(p->wait_healthy()) << log();
        watcher = std::make_unique<WsClient>();
        ASSERT_TRUE(watcher->connect("127.0.0.1", p->ws_port)) << watcher->error();
        ASSERT_EQ(watcher->recv_text().rfind("workerID:0 connectionID:", 0), 0u);
        pid = p->worker_pid("pusher", 0);
        ASSERT_GT(pid, 0);
    }

    void TearDown() override {
        if (!p) return;
        publish("final broadcast");
        WsFrame f;
        do f = next(*watcher);  // after what the test left unread
        while (f.opcode == 0x1 && f.payload != "final broadcast");
        EXPECT_EQ(f.payload, "final broadcast") << "the watcher was cut\n" << log();
        EXPECT_FALSE(f.rsv1);
        EXPECT_EQ(p->worker_pid("pusher", 0), pid) << "the ws worker was replaced\n" << log();
        EXPECT_EQ(log().find("exit with status"), std::string::npos) << log();
    }

    std::string log() const { return p ? slurp(p->dir + "/pusher.log") : ""; }

    // POSTs a form publish (content of any size); fields are already encoded.
    void publish_form(const std::string& fields) {
        std::string r = http_request("127.0.0.1", p->http_port,
                                     "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                     "Content-Type: application/x-www-form-urlencoded\r\n"
                                     "Content-Length: " +
                                         std::to_string(fields.size()) + "\r\n\r\n" + fields);
        ASSERT_NE(r.find("\r\n\r\nok"), std::string::npos) << r;
    }
    void publish(const std::string& content) { publish_form("content=" + form_encode(content)); }

    // The next data frame, skipping pings.
    static WsFrame next(WsClient& c) {
        for (;;) {
            WsFrame f = c.recv(5000);
            if (f.opcode != 0x9 && f.opcode != 0xA) return f;
        }
    }

    // A raw client offering `offer`; its welcome read. Connection id in *id.
    std::unique_ptr<WsClient> client(const std::string& offer, uint64_t* id = nullptr) {
        auto c = std::make_unique<WsClient>();
        EXPECT_TRUE(c->connect("127.0.0.1", p->ws_port, "/", offer)) << c->error();
        WsFrame w = next(*c);
        EXPECT_EQ(w.payload.rfind("workerID:0 connectionID:", 0), 0u) << w.payload;
        EXPECT_FALSE(w.rsv1);  // the welcome is under min_size
        if (id)
            *id = strtoull(w.payload.c_str() + w.payload.find("connectionID:") + 13, nullptr, 10);
        return c;
    }

    // The next frame is `want`: compressed (inflated with a window of
    // window_bits) or plain, as `compressed` says.
    ::testing::AssertionResult gets(WsClient& c, const std::string& want, bool compressed,
                                    int window_bits = 15) {
        WsFrame f = next(c);
        if (f.opcode != 0x1)
            return ::testing::AssertionFailure()
                   << "opcode " << f.opcode << " " << close_code(f.payload);
        if (f.rsv1 != compressed)
            return ::testing::AssertionFailure()
                   << "RSV1 " << f.rsv1 << " for " << want.size() << " bytes";
        std::string got = f.payload;
        if (compressed) {
            try {
                got = client_inflate(f.payload, window_bits);
            } catch (const std::exception& e) {
                return ::testing::AssertionFailure()
                       << e.what() << " (window " << window_bits << ")";
            }
        }
        if (got != want)
            return ::testing::AssertionFailure()
                   << "got " << got.size() << " bytes, not " << want.size();
        return ::testing::AssertionSuccess();
    }

    std::unique_ptr<PusherInstance> p;
    std::unique_ptr<WsClient> watcher;
    int pid = 0;
};

}  // namespace

// ---- real clients -------------------------------------------------------------------

TEST_F(Deflate, PythonWebsocketsClients) {
    CmdResult r = run("/usr/bin/python3 " + src_dir() + "/tests/clients/py_deflate.py " +
                      std::to_string(p->ws_port) + " " + std::to_string(p->http_port));
    EXPECT_EQ(r.code, 0) << r.out << log();
    EXPECT_NE(r.out.find("ok 3 clients"), std::string::npos) << r.out;
    // The watcher got the same broadcasts, plain (the script's JSON is its own).
    EXPECT_TRUE(gets(*watcher, kUtf8, false));
    WsFrame json = next(*watcher);
    EXPECT_FALSE(json.rsv1);
    EXPECT_GT(json.payload.size(), 100000u);
    EXPECT_EQ(json.payload.substr(0, 2), "[{");
    EXPECT_TRUE(gets(*watcher, kSmall, false));
    EXPECT_TRUE(gets(*watcher, "after sends", false));
}

TEST_F(Deflate, NodeWsClients) {
    CmdResult setup = run(src_dir() + "/tests/clients/setup.sh");
    ASSERT_EQ(setup.code, 0) << "tests/clients/setup.sh failed:\n" << setup.out;
    CmdResult r = run("node " + src_dir() + "/tests/clients/ws_deflate.mjs " +
                      std::to_string(p->ws_port) + " " + std::to_string(p->http_port));
    EXPECT_EQ(r.code, 0) << r.out << log();
    EXPECT_NE(r.out.find("ok 2 ws clients"), std::string::npos) << r.out;
}

// ---- raw clients: every frame's RSV1 --------------------------------------------------

TEST_F(Deflate, EachClientGetsTheFramesItNegotiated) {
    uint64_t id15 = 0;
    auto wide = client(kOffer, &id15);
    auto narrow =
        client("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9\r\n");
    EXPECT_NE(wide->handshake_response().find(kAnswer), std::string::npos)
        << wide->handshake_response();
    EXPECT_NE(narrow->handshake_response().find(
                  "client_no_context_takeover; server_max_window_bits=9\r\n"),
              std::string::npos)
        << narrow->handshake_response();
    EXPECT_EQ(watcher->handshake_response().find("Sec-WebSocket-Extensions"), std::string::npos);
    for (const std::string* m : {&kUtf8, &kBigJson, &kSmall}) {
        publish(*m);
        bool big = m->size() >= 256;
        EXPECT_TRUE(gets(*wide, *m, big)) << m->size();
        EXPECT_TRUE(gets(*narrow, *m, big, 9)) << m->size();
        EXPECT_TRUE(gets(*watcher, *m, false)) << m->size();
    }
    // Broadcasts in a row (batched per bus read: a buffer per variant), in order.
    publish_form("content=" + form_encode(kBigJson));
    publish(kSmall);
    publish(kUtf8);
    for (const std::string* m : {&kBigJson, &kSmall, &kUtf8}) {
        EXPECT_TRUE(gets(*wide, *m, m->size() >= 256));
        EXPECT_TRUE(gets(*narrow, *m, m->size() >= 256, 9));
        EXPECT_TRUE(gets(*watcher, *m, false));
    }
    // A targeted push, compressed for its one connection.
    publish_form("to_worker_id=0&to_connection_id=" + std::to_string(id15) +
                 "&content=" + form_encode(kBigJson));
    EXPECT_TRUE(gets(*wide, kBigJson, true));
    // The close frame the server answers with is never compressed.
    ASSERT_TRUE(wide->send_frame(0x8, std::string("\x03\xe8", 2)));
    WsFrame f = next(*wide);
    EXPECT_EQ(f.opcode, 0x8);
    EXPECT_FALSE(f.rsv1);
    EXPECT_EQ(close_code(f.payload), 1000);
}

TEST_F(Deflate, CompressedClientMessagesAreTaken) {
    auto c = client(kOffer);
    long before = p->worker_stat("pusher", 0, "total_request");
    const std::string mask = "\x12\x34\x56\x78";
    std::string z = client_deflate(kBigJson);
    ASSERT_TRUE(c->send_raw(ws_masked_frame(0xC1, z, mask.data())));                // one frame
    ASSERT_TRUE(c->send_raw(ws_masked_frame(0x41, z.substr(0, 100), mask.data()) +  // fragmented
                            ws_masked_frame(0x80, z.substr(100), mask.data())));
    ASSERT_TRUE(c->send_raw(ws_masked_frame(0xC2, client_deflate(kUtf8, 15, true), mask.data())));
    ASSERT_TRUE(c->send_raw(ws_masked_frame(0x81, kSmall, mask.data())));  // plain, also fine
    EXPECT_TRUE(eventually([&] {
        return p->worker_stat("pusher", 0, "total_request") >= before + 4;
    })) << p->worker_stat("pusher", 0, "total_request")
        << " " << before;
    publish("still served");
    EXPECT_TRUE(gets(*c, "still served", false));
}

// ---- hostile and declined ---------------------------------------------------------------

TEST_F(Deflate, AZipBombIsRefusedWith1009AndCostsNothing) {
    auto c = client(kOffer);
    std::string bomb = deflate_bomb(1000);    // ~1 MB that would inflate to 1000 MiB
    ASSERT_LT(bomb.size(), size_t(1) << 20);  // within ws_max_message as a frame
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(c->send_raw(ws_masked_frame(0xC1, bomb, "\x0a\x1b\x2c\x3d")));
    WsFrame f = next(*c);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    EXPECT_EQ(f.opcode, 0x8);
    EXPECT_EQ(close_code(f.payload), 1009);
    EXPECT_EQ(f.payload.substr(2), "message too big");
    EXPECT_LT(ms, 2000);
    EXPECT_EQ(next(*c).opcode, -2) << "the server closes the connection";
    // The worker's memory never held the gigabyte (a resident set in bytes).
    Json::Value st = status_json(*p);
    for (const Json::Value& w : st["workers"]) {
        if (w["name"] == "pusher") {
            EXPECT_LT(w["memory"].asInt64(), 64 << 20);
        }
    }
}

TEST_F(Deflate, BadOffersAreDeclinedAndTheConnectionWorksWithout) {
    for (const char* offer :
         {"permessage-deflate; server_max_window_bits=8", "permessage-deflate; mystery=1",
          "permessage-deflate; client_max_window_bits=20",
          "permessage-deflate; server_no_context_takeover; server_no_context_takeover"}) {
        auto c = client(std::string("Sec-WebSocket-Extensions: ") + offer + "\r\n");
        EXPECT_EQ(c->handshake_response().find("Sec-WebSocket-Extensions"), std::string::npos)
            << offer;
        publish(kUtf8);
        EXPECT_TRUE(gets(*c, kUtf8, false)) << offer;
        EXPECT_TRUE(gets(*watcher, kUtf8, false));
        // Without the extension RSV1 means nothing: 1002.
        ASSERT_TRUE(c->send_raw(ws_masked_frame(0xC1, client_deflate("hi"), "\x01\x02\x03\x04")));
        WsFrame f = next(*c);
        EXPECT_EQ(f.opcode, 0x8);
        EXPECT_EQ(close_code(f.payload), 1002) << offer;
    }
}

TEST_F(Deflate, CorruptDataAndRsv1OnAContinuationCloseTheClientOnly) {
    auto corrupt = client(kOffer);
    ASSERT_TRUE(corrupt->send_raw(ws_masked_frame(0xC1, "\x07garbage", "\x01\x02\x03\x04")));
    WsFrame f = next(*corrupt);
    EXPECT_EQ(close_code(f.payload), 1007);
    auto continuation = client(kOffer);
    ASSERT_TRUE(continuation->send_raw(ws_masked_frame(0x01, "a", "\x01\x02\x03\x04") +
                                       ws_masked_frame(0xC0, "b", "\x01\x02\x03\x04")));
    f = next(*continuation);
    EXPECT_EQ(close_code(f.payload), 1002);
}

// ---- config ---------------------------------------------------------------------------

TEST_F(Deflate, DisabledInTheConfigNothingIsNegotiated) {
    TearDown();
    start("{\"enabled\": false}");
    auto c = client(kOffer);
    EXPECT_EQ(c->handshake_response().find("Sec-WebSocket-Extensions"), std::string::npos);
    publish(kBigJson);
    EXPECT_TRUE(gets(*c, kBigJson, false));
    EXPECT_TRUE(gets(*watcher, kBigJson, false));
}

TEST_F(Deflate, MinSizeAndLevelFromTheConfig) {
    TearDown();
    start("{\"min_size\": 1000, \"level\": 1}");
    auto c = client(kOffer);
    std::string under(999, 'a'), at(1000, 'a');
    publish(under);
    EXPECT_TRUE(gets(*c, under, false));
    publish(at);
    EXPECT_TRUE(gets(*c, at, true));
    EXPECT_TRUE(gets(*watcher, under, false));
    EXPECT_TRUE(gets(*watcher, at, false));
}
