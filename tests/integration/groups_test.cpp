// Users, groups and presence (docs/API.md) on the real server, as a hostile
// API caller drives them: what a push addressed to users or groups does when
// it names none, what session data is accepted, and that requests pipelined
// on one connection keep their order across the operations that wait for
// the bus.
#include <gtest/gtest.h>
#include <json/json.h>

#include <signal.h>

#include <memory>
#include <string>

#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;

namespace {

class GroupsTest : public ::testing::Test {
  protected:
    void SetUp() override { start(""); }
    void start(const std::string& extra) {
        p = std::make_unique<PusherInstance>("\"welcome\": \"json\"," + extra);
        CmdResult r = p->start();
        ASSERT_EQ(r.code, 0) << r.out;
        ASSERT_TRUE(p->wait_healthy());
    }
    // A connected client and its client id (from the JSON welcome).
    std::unique_ptr<WsClient> client(std::string* id) {
        auto c = std::make_unique<WsClient>();
        EXPECT_TRUE(c->connect("127.0.0.1", p->ws_port)) << c->error();
        Json::Value w;
        Json::Reader().parse(c->recv_text(), w);
        *id = w["client_id"].asString();
        EXPECT_FALSE(id->empty());
        return c;
    }
    // One request with a body; the whole response.
    std::string post(const std::string& target, const std::string& type, const std::string& body) {
        return http_request("127.0.0.1", p->http_port,
                            "POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                                "Content-Type: " + type + "\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body);
    }
    static int status_of(const std::string& response) {
        return response.size() > 12 ? atoi(response.c_str() + 9) : 0;
    }
    std::unique_ptr<PusherInstance> p;
};

// to_uid= (an empty variable in the caller's code), [] or "," names nobody:
// the push must not become a broadcast (what exclude alone is). It was one:
// every client of the cluster got content meant for one user.
TEST_F(GroupsTest, PushToUsersOrGroupsNamingNoneReachesNobody) {
    std::string id;
    auto c = client(&id);
    int status = 0;
    EXPECT_EQ(p->http_get("/?to_uid=&content=secret1", &status).substr(0, 6), "to_uid");
    EXPECT_EQ(status, 400);
    p->http_get("/?to_group=,&content=secret2", &status);
    EXPECT_EQ(status, 400);
    p->http_get("/?to_uid[]=&content=secret3", &status);
    EXPECT_EQ(status, 400);
    EXPECT_EQ(status_of(post("/", "application/json", R"({"to_uid": [], "content": "secret4"})")),
              400);
    EXPECT_EQ(status_of(post("/", "application/json",
                             R"({"to_group": [["g"]], "content": "secret5"})")),
              400);
    // Naming one of the two lists is enough; the empty other one is ignored.
    EXPECT_EQ(p->http_get("/api/bind_uid?client_id=" + id + "&uid=u1", &status), "ok");
    EXPECT_EQ(p->http_get("/?to_uid=u1&to_group=&content=mine", &status), "ok");
    EXPECT_EQ(c->recv_text(), "mine");
    EXPECT_EQ(p->http_get("/?exclude=&content=everyone"), "ok");  // exclude alone: a broadcast
    EXPECT_EQ(c->recv_text(), "everyone");
}

// Session data is one strict JSON object: nothing after it, no comments, and
// nesting that would make jsoncpp throw is a 400 on a connection that stays
// (it was a connection closed without an answer, counted as input_errors).
TEST_F(GroupsTest, SessionIsOneStrictJsonObject) {
    std::string id;
    auto c = client(&id);
    auto set = [&](const std::string& session) {
        std::string body = "client_id=" + id + "&session=" + session;
        return status_of(post("/api/set_session", "application/x-www-form-urlencoded", body));
    };
    EXPECT_EQ(set("{\"a\":1}"), 200);
    EXPECT_EQ(set("{\"a\":1}%20garbage"), 400);
    EXPECT_EQ(set("{\"a\":1}/*c*/"), 400);
    EXPECT_EQ(set("{\"a\":1,\"a\":2}"), 400);
    EXPECT_EQ(set("[1]"), 400);
    std::string deep = "{\"a\":" + std::string(2000, '[') + std::string(2000, ']') + "}";
    EXPECT_EQ(set(deep), 400);
    std::string k4096 = "{\"k\":\"" + std::string(4096 - 8, 'x') + "\"}";
    EXPECT_EQ(set(k4096), 200);
    EXPECT_EQ(set("{\"k\":\"" + std::string(4097 - 8, 'x') + "\"}"), 400);
    EXPECT_EQ(p->worker_stat("publisher", 0, "input_errors"), 0);
    std::string got = p->http_get("/api/get_session?client_id=" + id);
    EXPECT_NE(got.find(std::string(4096 - 8, 'x')), std::string::npos) << got.substr(0, 200);
}

// join, push to the group, leave, pipelined 300 times on one connection:
// every answer comes in order, and every push reaches the client, in order.
TEST_F(GroupsTest, PipelinedJoinPushLeaveKeepTheirOrder) {
    std::string id;
    auto c = client(&id);
    std::string raw;
    const int kRounds = 300;
    for (int i = 0; i < kRounds; ++i) {
        std::string g = "g" + std::to_string(i);
        raw += "GET /api/join_group?client_id=" + id + "&group=" + g + " HTTP/1.1\r\nHost: x\r\n\r\n";
        raw += "GET /?to_group=" + g + "&content=m" + std::to_string(i) +
               " HTTP/1.1\r\nHost: x\r\n\r\n";
        raw += "GET /api/leave_group?client_id=" + id + "&group=" + g +
               " HTTP/1.1\r\nHost: x\r\n\r\n";
    }
    raw += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    std::string out = http_request("127.0.0.1", p->http_port, raw);
    size_t answers = 0;
    for (size_t at = out.find("HTTP/1.1 200"); at != std::string::npos;
         at = out.find("HTTP/1.1 200", at + 1))
        ++answers;
    EXPECT_EQ(answers, 3u * kRounds + 1) << out.substr(0, 300);
    for (int i = 0; i < kRounds; ++i) ASSERT_EQ(c->recv_text(), "m" + std::to_string(i));
}

// A worker holding many channels (users and groups) subscribes to all of
// them again when its bus link comes back. In one frame that was above
// channel_max_frame: the channel server closed the link, and again at every
// reconnect: the worker stayed off the bus for good (no push, no broadcast).
TEST_F(GroupsTest, ManyChannelsAreSubscribedAgainAfterTheBusRestarts) {
    start("\"limits\": {\"channel_max_frame\": 16384},");
    std::string id;
    auto c = client(&id);
    std::string raw, name(124, 'g');
    for (int i = 0; i < 250; ++i) {  // 250 channels of ~130 bytes: some 32 KB, 2x the limit
        char n[16];
        snprintf(n, sizeof n, "%04d", i);
        raw += "GET /api/join_group?client_id=" + id + "&group=" + name + n +
               " HTTP/1.1\r\nHost: x\r\n\r\n";
    }
    raw += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    http_request("127.0.0.1", p->http_port, raw);
    EXPECT_EQ(p->http_get("/?to_group=" + name + "0249&content=before"), "ok");
    EXPECT_EQ(c->recv_text(), "before");
    p->expect_worker_deaths(1);
    int channel = p->worker_pid("ChannelServer");
    ASSERT_GT(channel, 0);
    kill(channel, SIGKILL);
    ASSERT_TRUE(eventually([&] { return p->worker_pid("ChannelServer") > 0 &&
                                        p->worker_pid("ChannelServer") != channel; }));
    ASSERT_TRUE(p->wait_healthy(8000)) << p->log_lines("over the limit");
    EXPECT_EQ(p->http_get("/?to_group=" + name + "0249&content=after"), "ok");
    EXPECT_EQ(c->recv_text(), "after");
}

}  // namespace
