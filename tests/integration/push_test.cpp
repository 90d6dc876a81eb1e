// The push system end to end: the real binary, real sockets, a real WebSocket
// client. Publishing waits for /healthz (every worker subscribed on the bus)
// rather than sleeping.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;

namespace {

struct Welcome {
    int worker = -1;
    long conn = -1;
};
Welcome parse_welcome(const std::string& s) {
    Welcome w;
    sscanf(s.c_str(), "workerID:%d connectionID:%ld connected", &w.worker, &w.conn);
    return w;
}

class PushTest : public ::testing::Test {
  protected:
    void start(const std::string& extra = "") {
        p = std::make_unique<PusherInstance>(extra);
        pusher::testing::CmdResult r = p->start();
        ASSERT_EQ(r.code, 0) << r.out;
        ASSERT_TRUE(p->wait_healthy());
    }
    std::unique_ptr<WsClient> client(std::string* welcome = nullptr) {
        auto c = std::make_unique<WsClient>();
        EXPECT_TRUE(c->connect("127.0.0.1", p->ws_port)) << c->error();
        std::string w = c->recv_text();
        if (welcome) *welcome = w;
        return c;
    }
    std::unique_ptr<PusherInstance> p;
};

TEST_F(PushTest, WelcomeThenBroadcastToEveryClientExactlyOnce) {
    start();
    std::vector<std::unique_ptr<WsClient>> clients;
    std::set<int> workers;
    for (int i = 0; i < 8; ++i) {
        std::string w;
        clients.push_back(client(&w));
        Welcome parsed = parse_welcome(w);
        ASSERT_GE(parsed.worker, 0) << w;
        ASSERT_EQ(w, "workerID:" + std::to_string(parsed.worker) +
                         " connectionID:" + std::to_string(parsed.conn) + " connected\n");
        workers.insert(parsed.worker);
    }
    EXPECT_EQ(p->http_get("/?content=hello%20all"), "ok");
    for (auto& c : clients) EXPECT_EQ(c->recv_text(), "hello all");
    for (auto& c : clients) EXPECT_EQ(c->recv(200).opcode, -1);  // nothing more: exactly once
}

// Publishes pipelined on one connection reach the worker in one bus read and
// leave as one write per client; status still counts every message.
TEST_F(PushTest, BatchedBroadcastsAreDeliveredInOrderAndCountedPerMessage) {
    p = std::make_unique<PusherInstance>("", 1);
    ASSERT_EQ(p->start().code, 0);
    ASSERT_TRUE(p->wait_healthy());
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < 3; ++i) clients.push_back(client());
    const int kMessages = 20;
    std::string pipelined;
    for (int i = 0; i < kMessages; ++i)
        pipelined += "GET /?content=m" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n" +
                     (i + 1 == kMessages ? "Connection: close\r\n" : "") + "\r\n";
    std::string answers = http_request("127.0.0.1", p->http_port, pipelined);
    size_t oks = 0;
    for (size_t at = 0; (at = answers.find("\r\n\r\nok", at)) != std::string::npos; ++at) ++oks;
    ASSERT_EQ(oks, size_t(kMessages)) << answers;
    for (auto& c : clients)
        for (int i = 0; i < kMessages; ++i) ASSERT_EQ(c->recv_text(), "m" + std::to_string(i));
    // 3 welcomes + 3 x 20 broadcasts, counted before the writes that delivered them.
    EXPECT_EQ(p->worker_stat("pusher", 0, "messages_out"), 3 + 3 * kMessages);
}

TEST_F(PushTest, TargetedPushAsTheOriginal) {
    start();
    std::string wa, wb;
    auto a = client(&wa);
    auto b = client(&wb);
    Welcome A = parse_welcome(wa);
    std::string target = "/?to_worker_id=" + std::to_string(A.worker) +
                         "&to_connection_id=" + std::to_string(A.conn) + "&content=just+you";
    EXPECT_EQ(p->http_get(target), "ok");
    EXPECT_EQ(a->recv_text(), "just you");
    EXPECT_EQ(b->recv(300).opcode, -1);
}

TEST_F(PushTest, ClientIdPushReachesExactlyOneAndStaleIdsNobody) {
    start("\"welcome\": \"json\",");
    std::string wa, wb;
    auto a = client(&wa);
    auto b = client(&wb);
    ASSERT_NE(wa.find("\"type\":\"welcome\""), std::string::npos) << wa;
    size_t k = wa.find("\"client_id\":\"") + 13;
    std::string id = wa.substr(k, wa.find('"', k) - k);
    EXPECT_EQ(p->http_get("/?to_client_id=" + id + "&content=yours"), "ok");
    EXPECT_EQ(a->recv_text(), "yours");
    EXPECT_EQ(b->recv(300).opcode, -1);
    a.reset();  // gone: its id must reach nobody, not a newcomer
    auto c = client();
    EXPECT_EQ(p->http_get("/?to_client_id=" + id + "&content=stale"), "ok");
    EXPECT_EQ(c->recv(300).opcode, -1);
    EXPECT_EQ(b->recv(100).opcode, -1);
}

TEST_F(PushTest, PublishApiAnswersAndFormsAsContracted) {
    start();
    auto a = client();
    std::string ok =
        http_request("127.0.0.1", p->http_port, "GET /?content=0 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(
        ok,
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\n"
        "Content-Length: 2\r\n\r\nok");
    EXPECT_EQ(a->recv_text(), "0");  // content=0 is published (PHP's empty("0") is not kept)
    EXPECT_EQ(p->http_get("/?content="), "ok");
    EXPECT_EQ(a->recv(200).opcode, -1);  // empty content: nothing published
    std::string form =
        http_request("127.0.0.1", p->http_port,
                     "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
                     "application/x-www-form-urlencoded\r\nContent-Length: 12\r\n\r\ncontent=form");
    EXPECT_NE(form.find("Connection: close"), std::string::npos);
    EXPECT_EQ(a->recv_text(), "form");
    http_request(
        "127.0.0.1", p->http_port,
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
        "Content-Length: 18\r\n\r\n{\"content\":\"json\"}");
    EXPECT_EQ(a->recv_text(), "json");
    std::string bad = http_request("127.0.0.1", p->http_port, "BREW / HTTP/1.1\r\n\r\n");
    EXPECT_EQ(bad.substr(0, 12), "HTTP/1.1 400");
}

TEST_F(PushTest, ApiKeyIsRequiredWhenConfigured) {
    start("\"api_key\": \"s3cret\",");
    auto a = client();
    int status = 0;
    p->http_get("/?content=nope", &status);
    EXPECT_EQ(status, 401);
    http_request(
        "127.0.0.1", p->http_port,
        "GET /?content=yes HTTP/1.1\r\nHost: x\r\nX-Api-Key: s3cret\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(a->recv_text(), "yes");
    http_request("127.0.0.1", p->http_port,
                 "GET /?content=bearer HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                 "s3cret\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(a->recv_text(), "bearer");
}

TEST_F(PushTest, MetricsAndHealth) {
    start();
    auto a = client();
    int status = 0;
    EXPECT_EQ(p->http_get("/healthz", &status), "ok\n");
    EXPECT_EQ(status, 200);
    std::string m = p->http_get("/metrics", &status);
    EXPECT_EQ(status, 200);
    EXPECT_NE(m.find("pusher_connections{"), std::string::npos);
    EXPECT_NE(m.find("pusher_bus_connected{"), std::string::npos);
    EXPECT_NE(p->http_get("/demo").find("from '/client/pusher.js'"), std::string::npos);
}

// The browser client is served (as a module script: a JavaScript MIME type) and
// its path does not publish, unlike every other unknown path.
TEST_F(PushTest, ServesTheBrowserClient) {
    start();
    auto a = client();
    std::string r = http_request("127.0.0.1", p->http_port,
                                 "GET /client/pusher.js?content=x HTTP/1.1\r\nHost: x\r\n"
                                 "Connection: close\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.substr(0, 200);
    EXPECT_NE(r.find("Content-Type: text/javascript;charset=utf-8\r\n"), std::string::npos);
    EXPECT_NE(r.find("export class PusherClient"), std::string::npos);
    p->http_get("/?content=after");
    EXPECT_EQ(a->recv_text(), "after");  // and not "x"
}

TEST_F(PushTest, WebSocketControlFramesAndViolations) {
    start();
    auto a = client();
    a->send_frame(0x9, "ab");
    WsFrame pong = a->recv();
    EXPECT_EQ(pong.opcode, 0xA);
    EXPECT_EQ(pong.payload, "ab");
    a->send_frame(0x8, std::string("\x03\xe8", 2));
    WsFrame close = a->recv();
    EXPECT_EQ(close.opcode, 0x8);
    EXPECT_EQ(close.payload, std::string("\x03\xe8", 2));
    EXPECT_EQ(a->recv().opcode, -2);

    auto b = client();
    b->send_frame(0x1, "unmasked", true, false);
    WsFrame f = b->recv();
    EXPECT_EQ(f.opcode, 0x8);
    EXPECT_EQ(f.payload.substr(0, 2), std::string("\x03\xea", 2));  // 1002
    auto c = client();
    c->send_frame(0x1, "\xff\xfe");
    f = c->recv();
    EXPECT_EQ(f.payload.substr(0, 2), std::string("\x03\xef", 2));  // 1007
    // Others are untouched.
    auto d = client();
    EXPECT_EQ(p->http_get("/?content=still"), "ok");
    EXPECT_EQ(d->recv_text(), "still");
}

TEST_F(PushTest, BadHandshakesGetTheOriginalAnswers) {
    start();
    std::string r = http_request("127.0.0.1", p->ws_port,
                                 "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(r.substr(0, 28), "HTTP/1.1 400 Bad Request\r\n\r\n");
    r = http_request(
        "127.0.0.1", p->ws_port,
        "GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Version: 7\r\n\r\n");
    EXPECT_EQ(r.substr(0, 30), "HTTP/1.1 426 Upgrade Required\r");
}

}  // namespace

namespace {

TEST(AccessControl, WebSocketOriginsAreCheckedWhenConfigured) {
    PusherInstance p("\"allowed_origins\": [\"https://app.example\"],");
    ASSERT_EQ(p.start().code, 0);
    WsClient good;
    EXPECT_TRUE(good.connect("127.0.0.1", p.ws_port, "/", "Origin: https://app.example\r\n"))
        << good.error();
    WsClient evil;
    EXPECT_FALSE(evil.connect("127.0.0.1", p.ws_port, "/", "Origin: https://evil.example\r\n"));
    EXPECT_NE(evil.error().find("403 Forbidden"), std::string::npos) << evil.error();
}

}  // namespace
