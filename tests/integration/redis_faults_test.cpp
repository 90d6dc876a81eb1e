// Faults of the Redis bus with real redis-servers: a shard killed and
// restarted, a Redis stopped (SIGSTOP) and continued, a Redis Cluster master
// killed and its replica promoted, a Redis that is not there yet when pusher
// starts, and a Redis that wants a password.
//
// Each fault test keeps WebSocket clients on both ws workers, each read by a
// Collector thread, and publishes through the http worker before, during and
// after the fault. At the end every client's messages must be the published
// ones in published order, none twice, and what a client misses must be
// counted: delivered_to_client + sum(bus_dropped over the workers) >=
// published (docs/ARCHITECTURE.md, "Nothing lost without a count").
//
// The bounds (probe_interval 0.5 s, probe_timeout 1.5 s, redis_bus.h):
// - red: a killed server closes the links at once; a stopped one is found by
//   the probe within probe_interval + probe_timeout, on a probe tick, so
//   within interval + timeout + interval = 2.5 s. kRedMs adds 1 s of slack.
// - green: a link's reconnect back-off is capped at 2 s; the subscription is
//   then proven by the next probe. kGreenMs = 2 s + timeout + 1.5 s slack.
// - delivery: the publishing link is back within the same 2 s and its queue
//   goes out kResubscribeGrace (3 s) later. kDeliveryMs = 2 + 3 + 3 s slack.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis/sharding.h"
#include "tests/integration/redis_bus.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/redis_server.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;
using namespace pusher::testing::redis_bus;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kRedMs = static_cast<int>((2 * kProbeInterval + kProbeTimeout) * 1000) + 1000;
constexpr int kGreenMs = 2000 + static_cast<int>(kProbeTimeout * 1000) + 1500;
constexpr int kDeliveryMs = 2000 + 3000 + 3000;

class RedisFaults : public ::testing::Test {
  protected:
    void start(const std::string& mode, const std::vector<std::string>& servers) {
        p = std::make_unique<PusherInstance>("", 2, "127.0.0.1", bus(mode, servers));
        CmdResult r = p->start();
        ASSERT_EQ(r.code, 0) << r.out;
        ASSERT_TRUE(p->wait_healthy(15000)) << p->log_lines("redis");
        clients = connect_spread("127.0.0.1", p->ws_port, 4);
        for (auto& c : clients) collectors.push_back(std::make_unique<Collector>(*c->ws));
        // Before the fault: everything arrives.
        for (int i = 0; i < 5; ++i) publish("pre" + std::to_string(i));
        ASSERT_TRUE(eventually([&] { return all_have("pre4"); }, 5000));
    }
    void TearDown() override {
        for (auto& c : collectors) c->stop();
    }

    void publish(const std::string& m) {
        published.push_back(m);
        EXPECT_EQ(p->http_get("/?content=" + m), "ok") << m;
    }
    // A paced run of publishes while the bus is out (pacing, not synchronisation).
    void publish_gap(int n, int every_ms) {
        for (int i = 0; i < n; ++i) {
            publish("gap" + std::to_string(i));
            std::this_thread::sleep_for(std::chrono::milliseconds(every_ms));
        }
    }
    bool all_have(const std::string& m) {
        for (auto& c : collectors)
            if (!c->has(m)) return false;
        return true;
    }
    // ms from t0 until /healthz answers want (polled right away); -1 past bound_ms.
    long wait_health(int want, Clock::time_point t0, int bound_ms) {
        if (!eventually([&] { return health(*p) == want; },
                        bound_ms - static_cast<int>(ms_since(t0)), 10))
            return -1;
        return ms_since(t0);
    }
    // Publishes "after<k>" every 100 ms until every client has got one:
    // delivery has resumed. ms from t0; -1 past bound_ms.
    long publish_until_delivered(Clock::time_point t0, int bound_ms) {
        int k = 0;
        while (ms_since(t0) < bound_ms) {
            publish("after" + std::to_string(k++));
            bool all = true;
            auto until = Clock::now() + std::chrono::milliseconds(100);
            do {
                all = true;
                for (auto& c : collectors) {
                    bool found = false;
                    c->first_at("after", &found);
                    all = all && found;
                }
                if (all) return ms_since(t0);
                std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the readers
            } while (Clock::now() < until);
        }
        return -1;
    }
    // The accounting: every client got published's messages in order, none
    // twice, and what it missed is counted in bus_dropped. Prints the numbers.
    void check_accounting(const std::string& what) {
        publish("final");
        EXPECT_TRUE(eventually([&] { return all_have("final"); }, 5000));
        for (auto& c : collectors) c->stop();
        long dropped = sum_workers(*p, "bus_dropped");
        ASSERT_GE(dropped, 0) << "no workers in status --json";
        long least = static_cast<long>(published.size());
        for (size_t i = 0; i < collectors.size(); ++i) {
            std::string who = "client " + std::to_string(i) + " (" + clients[i]->welcome + ")";
            EXPECT_FALSE(collectors[i]->closed()) << who;
            long delivered = check_sequence(published, collectors[i]->got(), who);
            EXPECT_GE(delivered + dropped, static_cast<long>(published.size()))
                << who << ": delivered " << delivered << " of " << published.size()
                << ", bus_dropped " << per_worker(*p, "bus_dropped");
            least = std::min(least, delivered);
        }
        fprintf(stderr, "[ %s ] published %zu, each client got at least %ld, bus_dropped %ld\n",
                what.c_str(), published.size(), least, dropped);
    }

    std::unique_ptr<PusherInstance> p;
    std::vector<std::unique_ptr<Client>> clients;
    std::vector<std::unique_ptr<Collector>> collectors;
    std::vector<std::string> published;
};

// Sharded, 3 shards: the one holding pusher:broadcast is killed (SIGKILL) and
// restarted on its port.
TEST_F(RedisFaults, ShardKilledAndRestartedHealthRedThenDeliveryResumes) {
    std::vector<std::unique_ptr<RedisServer>> shards;
    std::vector<std::string> addresses;
    for (int i = 0; i < 3; ++i) {
        shards.push_back(std::make_unique<RedisServer>());
        addresses.push_back(shards.back()->address());
    }
    start("sharded", addresses);
    RedisServer& victim = *shards.at(pusher::redis::shard_of("pusher:broadcast", 3));

    auto killed = Clock::now();
    victim.kill();
    long red = wait_health(503, killed, kRedMs);
    ASSERT_GE(red, 0) << "/healthz still green " << kRedMs << " ms after the kill";
    publish_gap(10, 50);
    EXPECT_EQ(health(*p), 503);  // still out

    auto restarted = Clock::now();
    victim.restart();
    long green = wait_health(200, restarted, kGreenMs);
    EXPECT_GE(green, 0) << "/healthz not green " << kGreenMs << " ms after the restart\n"
                        << p->log_lines("redis");
    long resumed = publish_until_delivered(restarted, kDeliveryMs);
    EXPECT_GE(resumed, 0) << "nothing delivered " << kDeliveryMs << " ms after the restart";
    fprintf(stderr,
            "[ shard kill ] red %ld ms after the kill; green %ld ms, delivery %ld ms after the "
            "restart\n",
            red, green, resumed);
    check_accounting("shard kill");
}

// Single: the Redis is stopped (SIGSTOP: connections stay open, nothing is
// answered) and continued. Only the probe can find this.
TEST_F(RedisFaults, StoppedRedisIsFoundByTheProbeAndTheGapIsDeliveredOrCounted) {
    RedisServer redis;
    start("single", {redis.address()});
    long failures_before = sum_workers(*p, "bus_probe_failures");

    auto paused = Clock::now();
    redis.pause();
    long red = wait_health(503, paused, kRedMs);
    ASSERT_GE(red, 0) << "/healthz still green " << kRedMs << " ms after SIGSTOP";
    publish_gap(10, 50);
    // Every worker on the bus (both ws workers, the http worker) found it by its probe.
    EXPECT_TRUE(eventually(
        [&] {
            for (auto [name, id] :
                 {std::pair<const char*, int>{"pusher", 0}, {"pusher", 1}, {"publisher", 0}})
                if (p->worker_stat(name, id, "bus_probe_failures") <= 0) return false;
            return true;
        },
        kRedMs, 50))
        << per_worker(*p, "bus_probe_failures");
    EXPECT_GT(sum_workers(*p, "bus_probe_failures"), failures_before);
    EXPECT_NE(p->http_get("/metrics").find("pusher_bus_probe_failures_total{"), std::string::npos);
    EXPECT_EQ(health(*p), 503);

    auto resumed_at = Clock::now();
    redis.resume();
    long green = wait_health(200, resumed_at, kGreenMs);
    EXPECT_GE(green, 0) << "/healthz not green " << kGreenMs << " ms after SIGCONT\n"
                        << p->log_lines("redis");
    long resumed = publish_until_delivered(resumed_at, kDeliveryMs);
    EXPECT_GE(resumed, 0) << "nothing delivered " << kDeliveryMs << " ms after SIGCONT";
    fprintf(stderr,
            "[ sigstop ] red %ld ms after SIGSTOP; green %ld ms, delivery %ld ms after SIGCONT\n",
            red, green, resumed);
    check_accounting("sigstop");
}

// Redis Cluster 3+3: the master owning pusher:broadcast's slot is killed; its
// replica is promoted (node timeout 1 s).
TEST_F(RedisFaults, ClusterMasterKilledReplicaPromotedDeliveryResumes) {
    RedisCluster cluster;
    start("cluster", cluster.seeds());
    int slot = cluster.keyslot("pusher:broadcast");

    auto killed = Clock::now();
    cluster.kill_master_owning_slot(slot);
    long red = wait_health(503, killed, kRedMs);
    ASSERT_GE(red, 0) << "/healthz still green " << kRedMs << " ms after the kill";
    publish_gap(10, 100);
    long failover = cluster.wait_failover(20000);
    ASSERT_GE(failover, 0);

    auto promoted = Clock::now();
    long green = wait_health(200, promoted, kGreenMs);
    EXPECT_GE(green, 0) << "/healthz not green " << kGreenMs << " ms after the failover\n"
                        << p->log_lines("redis");
    long resumed = publish_until_delivered(promoted, kDeliveryMs);
    EXPECT_GE(resumed, 0) << "nothing delivered " << kDeliveryMs << " ms after the failover";
    fprintf(stderr,
            "[ cluster failover ] red %ld ms after the kill; failover %ld ms; green %ld ms, "
            "delivery %ld ms after it\n",
            red, failover, green, resumed);
    check_accounting("cluster failover");
}

// Redis is not there yet when pusher starts (a common boot order). Publishes
// accepted meanwhile wait in the queue; when Redis comes, the ws workers'
// subscriptions come back on their own back-off, so that queue must wait the
// resubscribe grace as after any outage: delivered, or counted.
TEST_F(RedisFaults, RedisStartedAfterPusherQueuedPublishesAreDeliveredOrCounted) {
    RedisServer redis;
    redis.kill();  // the address is known; nothing answers there until restart()
    p = std::make_unique<PusherInstance>("", 4, "127.0.0.1", bus("single", {redis.address()}));
    CmdResult r = p->start();
    ASSERT_EQ(r.code, 0) << r.out;
    clients = connect_spread("127.0.0.1", p->ws_port, 8);  // served while the bus is away
    for (auto& c : clients) collectors.push_back(std::make_unique<Collector>(*c->ws));
    EXPECT_EQ(health(*p), 503);
    publish_gap(20, 100);  // 2 s: the links' back-offs grow meanwhile, each its own

    auto up = Clock::now();
    redis.restart();
    long green = wait_health(200, up, kGreenMs);
    EXPECT_GE(green, 0) << "/healthz not green " << kGreenMs << " ms after Redis came\n"
                        << p->log_lines("redis");
    long resumed = publish_until_delivered(up, kDeliveryMs);
    EXPECT_GE(resumed, 0) << "nothing delivered " << kDeliveryMs << " ms after Redis came";
    fprintf(stderr, "[ redis after pusher ] green %ld ms, delivery %ld ms after Redis came\n",
            green, resumed);
    check_accounting("redis after pusher");
}

// A Redis with --requirepass: the right password works; a wrong one keeps
// /healthz red and the log says why, without the password.
TEST(RedisAuth, RightPasswordWorksWrongOneStaysRedAndIsNeverLogged) {
    const std::string right = "s3cret-Pa55-right", wrong = "wr0ng-Pa55-guess";
    RedisServer redis({"--requirepass", right});
    PusherInstance good("", 1, "127.0.0.1",
                        bus("single", {redis.address()}, ", \"password\": \"" + right + "\""));
    PusherInstance bad("", 1, "127.0.0.1",
                       bus("single", {redis.address()}, ", \"password\": \"" + wrong + "\""));
    ASSERT_EQ(good.start().code, 0);
    ASSERT_EQ(bad.start().code, 0);

    ASSERT_TRUE(good.wait_healthy(10000)) << good.log_lines("redis");
    WsClient c;
    ASSERT_TRUE(c.connect("127.0.0.1", good.ws_port)) << c.error();
    c.recv_text();
    EXPECT_EQ(good.http_get("/?content=authenticated"), "ok");
    EXPECT_EQ(c.recv_text(), "authenticated");

    // The refusal is logged (by each worker), with Redis's reason.
    ASSERT_TRUE(eventually([&] { return !bad.log_lines("refused the handshake").empty(); }, 5000))
        << bad.log_lines("redis");
    std::string refused = bad.log_lines("refused the handshake");
    EXPECT_NE(refused.find("WRONGPASS"), std::string::npos) << refused;
    std::string why;
    EXPECT_EQ(health(bad, &why), 503);
    EXPECT_NE(why.find("not connected to the bus"), std::string::npos) << why;
    // It stays red: observed over two probe timeouts and a reconnect or two.
    EXPECT_FALSE(bad.wait_healthy(static_cast<int>(2 * kProbeTimeout * 1000)));
    // The password appears nowhere it could leak: logs, status, metrics, health.
    for (PusherInstance* i : {&good, &bad}) {
        EXPECT_EQ(i->log_lines(right), "");
        EXPECT_EQ(i->log_lines(wrong), "");
        EXPECT_EQ(i->log_lines("Pa55"), "");
        EXPECT_EQ(i->cli("status --json").out.find("Pa55"), std::string::npos);
        EXPECT_EQ(i->http_get("/metrics").find("Pa55"), std::string::npos);
    }
    EXPECT_EQ(why.find("Pa55"), std::string::npos);
}

}  // namespace
