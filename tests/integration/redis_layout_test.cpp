// The shipped Redis layouts, run as shipped: config/cluster-redis/ (two ws
// hosts, two http hosts, one Redis) and config/cluster-redis-sharded/ (the
// same on three Redis shards), copied to a temporary directory with their
// Redis addresses rewritten to the test's redis-servers. The hosts listen on
// the shipped addresses (127.0.0.2..5, as config/cluster/ and cluster_test.cpp:
// gtest runs tests one at a time, so the two never overlap), on free ports in
// place of 4236/4237: a pusher or benchmark on 0.0.0.0:4236 elsewhere on the
// machine would take those.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/redis_bus.h"
#include "tests/support/php.h"
#include "tests/support/pump.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/redis_server.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;
using namespace pusher::testing::redis_bus;

namespace {

const char* const kHosts[] = {"ws1", "ws2", "http1", "http2"};

class RedisLayout : public ::testing::Test {
  protected:
    // Copies layout's configs, each shipped address replaced by the test's.
    void start(const std::string& layout,
               std::vector<std::pair<std::string, std::string>> rewrite) {
        ws_port = free_port();
        http_port = free_port();
        for (const char* h : {"127.0.0.2", "127.0.0.3"})
            rewrite.emplace_back(std::string(h) + ":4236", h + (":" + std::to_string(ws_port)));
        for (const char* h : {"127.0.0.4", "127.0.0.5"})
            rewrite.emplace_back(std::string(h) + ":4237", h + (":" + std::to_string(http_port)));
        char tmpl[] = "/tmp/pusher-redis-layout-XXXXXX";
        run_dir = mkdtemp(tmpl);
        for (const char* host : kHosts) {
            std::ifstream in(source_dir() + "/config/" + layout + "/" + host + ".json");
            std::stringstream ss;
            ss << in.rdbuf();
            std::string text = ss.str();
            ASSERT_FALSE(text.empty()) << layout << "/" << host;
            // Found in the shipped text first, replaced last to first: a new
            // address may look like a shipped one (port 6381 for 6380).
            std::vector<std::pair<size_t, size_t>> at;  // position, index in rewrite
            size_t listens = 0;
            for (size_t i = 0; i < rewrite.size(); ++i) {
                size_t pos = text.find("\"" + rewrite[i].first + "\"");
                bool listen = i >= rewrite.size() - 4;  // one of them, in its own host's file
                if (listen && pos == std::string::npos) continue;
                ASSERT_NE(pos, std::string::npos)
                    << layout << "/" << host << ": no " << rewrite[i].first;
                listens += listen;
                at.emplace_back(pos + 1, i);
            }
            ASSERT_EQ(listens, 1u) << layout << "/" << host << ": " << text;
            std::sort(at.rbegin(), at.rend());
            for (auto& [pos, i] : at) text.replace(pos, rewrite[i].first.size(), rewrite[i].second);
            std::ofstream(run_dir + "/" + host + ".json") << text;
        }
        for (const char* host : kHosts) {
            CmdResult r = cli(host, "start -d -q");
            ASSERT_EQ(r.code, 0) << host << ": " << r.out;
            started.push_back(host);
        }
        // /healthz of an http host covers its own workers only: the ws hosts'
        // subscriptions are in their status.
        for (const char* h : {"127.0.0.4", "127.0.0.5"})
            ASSERT_TRUE(eventually([&] { return get(h, "/healthz") == "ok\n"; }, 10000)) << h;
        for (const char* h : {"ws1", "ws2"})
            ASSERT_TRUE(eventually(
                [&] {
                    std::string s = cli(h, "status --json").out;
                    return s.find("\"channel_connected\" : false") == std::string::npos &&
                           s.find("\"channel_connected\" : true") != std::string::npos;
                },
                10000, 50))
                << h << ": " << cli(h, "status --json").out;
    }
    void TearDown() override {
        for (auto it = started.rbegin(); it != started.rend(); ++it) cli(*it, "stop -q");
        // No worker died on its own (pusher_instance.h checks this for its instances).
        if (!run_dir.empty()) {
            CmdResult died = run("cat " + run_dir + "/*.log 2>/dev/null | grep 'exit with status'");
            EXPECT_NE(died.code, 0) << died.out;
            run("rm -rf " + run_dir);
        }
    }
    CmdResult cli(const std::string& host, const std::string& args) {
        return run(pusher_bin() + " " + args + " -c " + run_dir + "/" + host + ".json");
    }
    std::string get(const std::string& host, const std::string& target) {
        std::string r = http_request(
            host, http_port, "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        size_t h = r.find("\r\n\r\n");
        return h == std::string::npos ? "" : r.substr(h + 4);
    }
    // A broadcast through either http host reaches every client on both ws
    // hosts (both workers of each) exactly once.
    void broadcast_reaches_every_client_once() {
        std::vector<std::unique_ptr<Client>> clients;
        for (const char* host : {"127.0.0.2", "127.0.0.3"})
            for (auto& c : connect_spread(host, ws_port, 6)) clients.push_back(std::move(c));
        for (auto& c : clients)
            EXPECT_EQ(c->welcome, "workerID:" + std::to_string(c->worker) +
                                      " connectionID:" + std::to_string(c->conn) + " connected\n");
        EXPECT_EQ(get("127.0.0.4", "/?content=via-http1"), "ok");
        EXPECT_EQ(get("127.0.0.5", "/?content=via-http2"), "ok");
        int wait = 200;
        for (auto& c : clients) {
            // One channel, one publisher each: both arrive, in either order.
            std::string a = c->ws->recv_text(), b = c->ws->recv_text();
            if (a > b) std::swap(a, b);
            EXPECT_EQ(a, "via-http1") << c->welcome;
            EXPECT_EQ(b, "via-http2") << c->welcome;
            EXPECT_EQ(c->ws->recv(wait).opcode, -1) << "exactly once: " << c->welcome;
            wait = 10;
        }
    }
    std::string run_dir;
    std::vector<std::string> started;
    int ws_port = 0, http_port = 0;
};

TEST_F(RedisLayout, ShippedSingleRedisLayoutCarriesBroadcastsBetweenHosts) {
    RedisServer redis;
    start("cluster-redis", {{"127.0.0.1:6379", redis.address()}});
    broadcast_reaches_every_client_once();
    // Both ws hosts' workers are subscribed on the one Redis: 2 hosts x 2 workers.
    EXPECT_EQ(redis.cli("PUBSUB", "NUMSUB", "pusher:broadcast").out, "pusher:broadcast\n4");
}

TEST_F(RedisLayout, ShippedShardedLayoutCarriesBroadcastsBetweenHosts) {
    RedisServer s0, s1, s2;
    start("cluster-redis-sharded", {{"127.0.0.1:6380", s0.address()},
                                    {"127.0.0.1:6381", s1.address()},
                                    {"127.0.0.1:6382", s2.address()}});
    broadcast_reaches_every_client_once();
    // pusher:broadcast is on shard 0 (docs/CONFIG.md), with all 4 ws workers.
    EXPECT_EQ(s0.cli("PUBSUB", "NUMSUB", "pusher:broadcast").out, "pusher:broadcast\n4");
    EXPECT_EQ(s1.cli("PUBSUB", "NUMSUB", "pusher:broadcast").out, "pusher:broadcast\n0");
}

}  // namespace
