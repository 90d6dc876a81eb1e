// Users and groups (issue 14) on the Redis bus engine, single and sharded: the
// join -> push race on one keep-alive API connection (the owner's SUBSCRIBE
// must be in effect on Redis before the answer), and a push to a group whose
// members are on both ws workers.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/redis_bus.h"
#include "tests/integration/users_groups.h"
#include "tests/support/http_conn.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/redis_server.h"

using namespace pusher::testing;
using namespace pusher::testing::users;

namespace {

class RedisUsers : public ::testing::TestWithParam<const char*> {
  protected:
    void SetUp() override {
        std::string mode = GetParam();
        std::vector<std::string> addresses;
        for (int i = 0; i < (mode == "sharded" ? 3 : 1); ++i) {
            servers.push_back(std::make_unique<RedisServer>());
            addresses.push_back(servers.back()->address());
        }
        p = std::make_unique<PusherInstance>("\"welcome\": \"json\",", 2, "127.0.0.1",
                                             redis_bus::bus(mode, addresses));
        CmdResult r = p->start();
        ASSERT_EQ(r.code, 0) << r.out;
        ASSERT_TRUE(p->wait_healthy(10000)) << p->log_lines("redis");
    }
    std::vector<std::unique_ptr<RedisServer>> servers;
    std::unique_ptr<PusherInstance> p;
};

TEST_P(RedisUsers, JoinOrBindThenPushOnOneConnectionNeverLosesThePush) {
    auto clients = one_per_worker("127.0.0.1", p->ws_port, 2);
    ASSERT_EQ(clients.size(), 2u);
    join_push_race("127.0.0.1", p->http_port, clients, 100, GetParam());
}

TEST_P(RedisUsers, GroupPushReachesItsMembersOnBothWorkersOnce) {
    auto spread = one_per_worker("127.0.0.1", p->ws_port, 2);
    ASSERT_EQ(spread.size(), 2u);
    auto outsider = connect_client("127.0.0.1", p->ws_port);
    HttpConn api;
    ASSERT_TRUE(api.connect("127.0.0.1", p->http_port));
    for (auto& c : spread) {
        EXPECT_EQ(api.get("/api/join_group?client_id=" + c->id + "&group=rg"), "ok");
        EXPECT_EQ(api.get("/api/join_group?client_id=" + c->id + "&group=rg2"), "ok");
    }
    EXPECT_EQ(api.get("/api/bind_uid?client_id=" + spread[0]->id + "&uid=ru"), "ok");
    EXPECT_EQ(api.get("/?to_group=rg&content=group-push"), "ok");
    // In both groups and the user: once (the channels may be on different shards).
    EXPECT_EQ(api.get("/?to_group=rg,rg2&to_uid=ru&content=multi"), "ok");
    EXPECT_EQ(api.get("/?content=END"), "ok");
    for (auto& c : spread)
        EXPECT_EQ(collect_sorted(*c->ws, "END", 2),
                  (std::vector<std::string>{"group-push", "multi"}))
            << c->id;
    EXPECT_EQ(collect_sorted(*outsider->ws, "END", 0), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(Engines, RedisUsers, ::testing::Values("single", "sharded"));

}  // namespace
