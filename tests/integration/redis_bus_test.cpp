// The Redis bus engine end to end, on each of its modes, with real
// redis-servers started by the test (tests/support/redis_server.h): one
// server (single), three independent servers (sharded), a Redis Cluster of 3
// masters + 3 replicas (cluster). On each, the seed's behaviour as on the
// channel engine (push_test.cpp): welcome, broadcast to every client of every
// worker exactly once, legacy and client-id targeted pushes to exactly their
// client; and what only Redis allows: an application publishing with its own
// Redis client (redis-cli), PHP-serialized or plain text.
#include "tests/integration/redis_bus.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "redis/sharding.h"
#include "tests/support/php.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/redis_server.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;
using namespace pusher::testing::redis_bus;

namespace {

// PHP serialize(["content" => c]): what the http service publishes; s:N counts bytes.
std::string serialized_broadcast(const std::string& c) {
    return "a:1:{s:7:\"content\";s:" + std::to_string(c.size()) + ":\"" + c + "\";}";
}
std::string serialized_to_connection(long conn, const std::string& c) {
    std::string id = std::to_string(conn);
    return "a:2:{s:16:\"to_connection_id\";s:" + std::to_string(id.size()) + ":\"" + id +
           "\";s:7:\"content\";s:" + std::to_string(c.size()) + ":\"" + c + "\";}";
}

// Nothing more for any of them: the first waits a while, the rest only drain
// what has arrived meanwhile.
void expect_nothing_more(std::vector<std::unique_ptr<Client>>& clients, size_t skip = SIZE_MAX) {
    int wait = 200;
    for (size_t i = 0; i < clients.size(); ++i) {
        if (i == skip) continue;
        WsFrame f = clients[i]->ws->recv(wait);
        EXPECT_EQ(f.opcode, -1) << "client " << i << " (" << clients[i]->welcome
                                << ") got more: " << f.payload;
        wait = 10;
    }
}

class RedisModes : public ::testing::TestWithParam<const char*> {
  protected:
    // The Redis servers of each mode are shared by the suite's tests (a
    // cluster takes seconds to form); each test has its own pusher instance.
    static std::vector<std::unique_ptr<RedisServer>>& shared_servers(const std::string& mode) {
        static std::map<std::string, std::vector<std::unique_ptr<RedisServer>>> by_mode;
        return by_mode[mode];
    }
    static std::unique_ptr<RedisCluster>& shared_cluster() {
        static std::unique_ptr<RedisCluster> c;
        return c;
    }
    static void TearDownTestSuite() {
        shared_cluster().reset();
        for (const char* m : {"single", "sharded"}) shared_servers(m).clear();
    }

    void SetUp() override {
        mode = GetParam();
        std::vector<std::string> addresses;
        if (mode == "cluster") {
            if (!shared_cluster()) shared_cluster() = std::make_unique<RedisCluster>();
            cluster = shared_cluster().get();
            addresses = cluster->seeds();
        } else {
            auto& list = shared_servers(mode);
            while (list.size() < (mode == "sharded" ? 3u : 1u))
                list.push_back(std::make_unique<RedisServer>());
            for (auto& s : list) {
                servers.push_back(s.get());
                addresses.push_back(s->address());
            }
        }
        p = std::make_unique<PusherInstance>("\"welcome\": \"json\",", 2, "127.0.0.1",
                                             bus(mode, addresses));
        CmdResult r = p->start();
        ASSERT_EQ(r.code, 0) << r.out;
        ASSERT_TRUE(p->wait_healthy(10000)) << p->log_lines("redis");
    }

    // An application's own publish: redis-cli on the server that holds the
    // channel (sharded: shard_of; cluster: -c SPUBLISH). Returns the number
    // of subscribers Redis says it reached.
    long redis_publish(const std::string& channel, const std::string& payload) {
        RedisCli r;
        if (cluster) {
            r = cluster->spublish(channel, payload);
        } else {
            int shard = pusher::redis::shard_of(channel, static_cast<int>(servers.size()));
            r = servers.at(shard)->cli("PUBLISH", channel, payload);
        }
        EXPECT_EQ(r.code, 0) << r.out << r.err;
        return atol(r.out.c_str());
    }

    std::string mode;
    std::vector<RedisServer*> servers;
    RedisCluster* cluster = nullptr;
    std::unique_ptr<PusherInstance> p;
};

TEST_P(RedisModes, PushesReachExactlyTheirClients) {
    auto clients = connect_spread("127.0.0.1", p->ws_port, 8);
    for (auto& c : clients)
        EXPECT_EQ(c->welcome,
                  "{\"client_id\":\"" + c->id + "\",\"connection_id\":" + std::to_string(c->conn) +
                      ",\"type\":\"welcome\",\"worker_id\":" + std::to_string(c->worker) + "}");

    // Broadcast: every client of every worker, exactly once.
    EXPECT_EQ(p->http_get("/?content=hello%20all"), "ok");
    for (auto& c : clients) EXPECT_EQ(c->ws->recv_text(), "hello all") << c->welcome;
    expect_nothing_more(clients);

    // As the original: on channel W, worker W looks up connection C.
    Client& a = *clients[0];
    EXPECT_EQ(p->http_get("/?to_worker_id=" + std::to_string(a.worker) +
                          "&to_connection_id=" + std::to_string(a.conn) + "&content=just+you"),
              "ok");
    EXPECT_EQ(a.ws->recv_text(), "just you");
    expect_nothing_more(clients, 0);

    // A client id: only the worker that owns it.
    Client& b = *clients.back();
    ASSERT_FALSE(b.id.empty()) << b.welcome;
    EXPECT_EQ(p->http_get("/?to_client_id=" + b.id + "&content=yours"), "ok");
    EXPECT_EQ(b.ws->recv_text(), "yours");
    expect_nothing_more(clients, clients.size() - 1);
}

TEST_P(RedisModes, AnApplicationPublishesWithItsOwnRedisClient) {
    auto clients = connect_spread("127.0.0.1", p->ws_port, 6);
    // PHP-serialized, as the http service publishes it: both ws workers are subscribed.
    EXPECT_EQ(redis_publish("pusher:broadcast", serialized_broadcast("from-redis-cli")), 2);
    for (auto& c : clients) EXPECT_EQ(c->ws->recv_text(), "from-redis-cli") << c->welcome;
    expect_nothing_more(clients);

    // A payload that is no PHP serialization is the content itself.
    EXPECT_EQ(redis_publish("pusher:broadcast", "plain text, \"quoted\" {x}"), 2);
    for (auto& c : clients) EXPECT_EQ(c->ws->recv_text(), "plain text, \"quoted\" {x}");
    expect_nothing_more(clients);

    // The legacy targeted push, published as the original's http worker does.
    Client& a = *clients[1];
    EXPECT_EQ(redis_publish("pusher:" + std::to_string(a.worker),
                            serialized_to_connection(a.conn, "cli-just-you")),
              1);
    EXPECT_EQ(a.ws->recv_text(), "cli-just-you");
    expect_nothing_more(clients, 1);
}

// Where the channels live: in sharded mode each on exactly the shard
// shard_of() names (the probe channels included, which are placed that way
// on purpose); in cluster mode on the master of the channel's slot.
TEST_P(RedisModes, ChannelsAreSubscribedWhereTheHashPlacesThem) {
    std::string route0, route1;
    {
        // The ws workers' client-id routes carry the node name ("test-<ws port>").
        std::string node = "test-" + std::to_string(p->ws_port);
        route0 = "pusher:client:" + node + ":0";
        route1 = "pusher:client:" + node + ":1";
    }
    const std::vector<std::string> expected = {"pusher:broadcast", "pusher:0", "pusher:1", route0,
                                               route1};
    if (mode == "cluster") {
        for (const std::string& ch : expected) {
            std::string owner = cluster->master_of_slot(cluster->keyslot(ch));
            int i = cluster->index_of(owner);
            ASSERT_GE(i, 0) << ch << " owner " << owner;
            RedisReply r = cluster->node(i).command({"PUBSUB", "SHARDCHANNELS", "pusher:*"});
            EXPECT_NE(("\n" + r.text + "\n").find("\n" + ch + "\n"), std::string::npos)
                << ch << " is not subscribed on its slot's master " << owner << ": " << r.text;
        }
        return;
    }
    std::vector<std::set<std::string>> on(servers.size());
    for (size_t s = 0; s < servers.size(); ++s) {
        RedisReply r = servers[s]->command({"PUBSUB", "CHANNELS", "pusher:*"});
        ASSERT_TRUE(r.answered) << r.text;
        std::string line;
        for (std::istringstream in(r.text); std::getline(in, line);)
            if (!line.empty()) on[s].insert(line);
        for (const std::string& ch : on[s])
            EXPECT_EQ(pusher::redis::shard_of(ch, static_cast<int>(servers.size())),
                      static_cast<int>(s))
                << ch << " is subscribed on server " << s;
    }
    for (const std::string& ch : expected) {
        int where = 0;
        for (auto& s : on) where += static_cast<int>(s.count(ch));
        EXPECT_EQ(where, 1) << ch << " is subscribed on " << where << " servers";
    }
    if (mode == "sharded") {
        // docs/CONFIG.md's worked example.
        EXPECT_EQ(pusher::redis::shard_of("pusher:broadcast", 3), 0);
        EXPECT_EQ(pusher::redis::shard_of("pusher:0", 3), 1);
        EXPECT_EQ(pusher::redis::shard_of("pusher:1", 3), 2);
        for (size_t s = 0; s < on.size(); ++s) EXPECT_FALSE(on[s].empty()) << "shard " << s;
    }
}

INSTANTIATE_TEST_SUITE_P(Redis, RedisModes, ::testing::Values("single", "sharded", "cluster"),
                         [](const ::testing::TestParamInfo<const char*>& i) {
                             return std::string(i.param);
                         });

// Real clients: Python's websockets receive what an application publishes
// with redis-cli, a PHP serialization with multi-byte UTF-8 (s:N counts bytes)
// and plain text, on the default (text) welcome.
TEST(RedisRealClients, PythonWebsocketsReceiveRedisCliPublishes) {
    RedisServer redis;
    PusherInstance p("", 2, "127.0.0.1", bus("single", {redis.address()}));
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy(10000)) << p.log_lines("redis");
    std::string cli = "redis-cli -h 127.0.0.1 -p " + std::to_string(redis.port()) + " ";
    std::string script = "/usr/bin/python3 " + source_dir() + "/tests/clients/py_receive.py " +
                         std::to_string(p.ws_port) + " 4 ";
    // "héllo wörld": 13 bytes, 11 characters.
    CmdResult r = run(script + "'h\xc3\xa9llo w\xc3\xb6rld' " + cli +
                      "PUBLISH pusher:broadcast "
                      "'a:1:{s:7:\"content\";s:13:\"h\xc3\xa9llo w\xc3\xb6rld\";}'");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("ok 4 clients"), std::string::npos) << r.out;
    r = run(script + "'just text' " + cli + "PUBLISH pusher:broadcast 'just text'");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("publisher said '2'"), std::string::npos) << r.out;  // both workers
}

}  // namespace
