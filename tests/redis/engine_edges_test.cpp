// The Redis engine at its edges, each case found by a review of the first
// version: seeds that answer with nothing usable, braces in the probe base,
// handlers that unsubscribe, a link that dies in the turn of a publish, close
// with publishes of the turn, a burst larger than the socket takes.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "redis/sharding.h"
#include "tests/redis/engine_fixture.h"

using namespace pusher;
using protocol::php::Key;
using protocol::php::Value;
using pusher::testing::RedisCluster;
using pusher::testing::RedisClusterOptions;
using RedisServer = pusher::testing::RedisServer;

namespace {

class EngineEdgeTest : public pusher::testing::EngineFixture {};

// A seed that answers, but not with a usable map (a non-cluster Redis, a
// node on the minority side of a partition, a LOADING node), is left for the
// next candidate: the engine does not stay on it.
TEST_F(EngineEdgeTest, AClusterSeedWithNoUsableMapIsLeftForTheNext) {
    RedisServer plain;
    RedisClusterOptions o;
    o.masters = 3;
    o.replicas = 0;
    RedisCluster cluster(o);
    // Control: the cluster node alone works.
    {
        auto& b = bus({at(cluster.node(0))}, runtime::RedisMode::Cluster);
        auto& e = engine(b);
        e.on(Value::string("broadcast"), [](const Value&, const Value&) {});
        e.connect();
        ASSERT_TRUE(pump([&] { return e.connected(); }, 10000)) << "cluster mode never healthy";
    }
    auto& b = bus({at(plain), at(cluster.node(0))}, runtime::RedisMode::Cluster);
    auto& e = engine(b);
    e.on(Value::string("broadcast"), [](const Value&, const Value&) {});
    e.connect();
    EXPECT_TRUE(pump([&] { return e.connected(); }, 10000))
        << "stuck asking the non-cluster first seed; the second seed is never tried";
}

// A '{' in the probe base (node_name or prefix are free text) would pin
// every probe name to one slot: the engine takes the braces out.
TEST_F(EngineEdgeTest, ABraceInTheNodeNameDoesNotPinTheProbes) {
    RedisClusterOptions o;
    o.masters = 3;
    o.replicas = 0;
    RedisCluster cluster(o);
    auto& b = bus({at(cluster.node(0))}, runtime::RedisMode::Cluster);
    // make_bus: prefix + ":probe:" + node_name + ":" + pid, node_name "web{1}".
    auto& e = engine(b, "pusher:probe:web{1}:4242");
    for (int i = 0; i < 24; ++i) e.on(Value::integer(i), [](const Value&, const Value&) {});
    auto t0 = std::chrono::steady_clock::now();
    e.connect();
    bool ok = pump([&] { return e.connected(); }, 10000);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
    EXPECT_TRUE(ok) << "never healthy after " << ms << " ms; probe failures "
                    << loop->stats().bus_probe_failures.load() << ", reconnects "
                    << loop->stats().channel_reconnects.load();
}

// A handler may unsubscribe its own channel: the channel it was handed stays
// valid while it runs.
TEST_F(EngineEdgeTest, AHandlerMayUnsubscribeItsOwnChannel) {
    RedisServer r;
    auto& b = bus({at(r)});
    auto& e = engine(b);
    std::string seen;
    e.on(Value::string("once-only-channel-name"), [&](const Value& ch, const Value&) {
        e.unsubscribe(ch);
        seen = ch.as_string();  // the channel as the bus gave it
    });
    e.connect();
    ASSERT_TRUE(pump([&] { return e.connected(); }));
    EXPECT_EQ(r.cli("PUBLISH", "pusher:once-only-channel-name", "x").out, "1");
    ASSERT_TRUE(pump([&] { return !seen.empty(); }));
    EXPECT_EQ(seen, "once-only-channel-name");
}

// A publish made in the loop turn in which its publishing link dies (EOF read
// in the same turn, before the flush) never reached Redis: it waits for the
// next link instead of being counted as dropped.
TEST_F(EngineEdgeTest, APublishNeverWrittenWaitsForTheNextLink) {
    RedisServer r1, r2;
    auto& b2 = bus({at(r2)});
    b2.probe_interval = 10;
    b2.probe_timeout = 30;
    auto& p = engine(b2);
    p.connect();
    ASSERT_TRUE(pump([&] { return p.connected(); }));
    auto& b1 = bus({at(r1)});
    auto& s = engine(b1);
    int relayed = 0;
    s.on(Value::string("trigger"), [&](const Value&, const Value&) {
        p.publish({Value::string("x")}, data("relay"));
        ++relayed;
    });
    s.connect();
    ASSERT_TRUE(pump([&] { return s.connected(); }));
    pump([] { return false; }, 300);
    uint64_t before = dropped();
    // Both happen while the loop is not running: one turn sees p's EOF and s's message.
    r2.kill();
    ASSERT_EQ(r1.cli("PUBLISH", "pusher:trigger", "go").out, "1");
    ASSERT_TRUE(pump([&] { return relayed == 1; }));
    pump([] { return false; }, 300);
    EXPECT_EQ(dropped() - before, 0u)
        << "never written (Redis was already gone), but counted dropped rather than queued";
    EXPECT_FALSE(p.idle()) << "nothing waits for the next link";
}

// close() writes the turn's commands first, as the channel client does.
TEST_F(EngineEdgeTest, CloseWritesTheTurnsPublishesFirst) {
    RedisServer r;
    auto& b = bus({at(r)});
    std::vector<std::string> got;
    auto& sub = engine(b);
    sub.on(Value::string("broadcast"), [&](const Value&, const Value& d) {
        got.push_back(d.get("content")->as_string());
    });
    sub.connect();
    ASSERT_TRUE(pump([&] { return sub.connected(); }));
    auto& pub = engine(b);
    pub.connect();
    ASSERT_TRUE(pump([&] { return pub.connected(); }));
    pub.publish({Value::string("broadcast")}, data("last words"));
    pub.close();
    pump([&] { return !got.empty(); }, 1000);
    EXPECT_EQ(got.size(), 1u) << "dropped " << dropped();
}


// A burst larger than the socket takes in one turn (the queue of an outage
// going out after the grace) is held and written as the socket drains: the
// link is not taken for stalled and nothing is lost.
TEST_F(EngineEdgeTest, ABurstBeyondTheSocketIsHeldNotLost) {
    RedisServer r;
    auto& b = bus({at(r)});
    b.probe_interval = 10;
    b.probe_timeout = 30;
    std::vector<std::string> got;
    auto& sub = engine(b);
    sub.on(Value::string("broadcast"), [&](const Value&, const Value&) { got.push_back("x"); });
    sub.connect();
    ASSERT_TRUE(pump([&] { return sub.connected(); }));
    auto& pub = engine(b);
    pub.connect();
    ASSERT_TRUE(pump([&] { return pub.connected(); }));
    uint64_t reconnects = loop->stats().channel_reconnects.load();
    const int n = 5000;  // 5 MB in one turn: within the queue bound, beyond the socket
    std::string big(1000, 'p');
    for (int i = 0; i < n; ++i) pub.publish({Value::string("broadcast")}, data(big));
    event_base_loop(loop->base(), EVLOOP_NONBLOCK | EVLOOP_ONCE);  // the turn's write
    pub.publish({Value::string("broadcast")}, data("one more"));  // the next turn
    pump([&] { return got.size() == size_t(n + 1); }, 10000);
    EXPECT_EQ(got.size(), size_t(n + 1)) << "dropped " << dropped();
    EXPECT_EQ(dropped(), 0u);
    EXPECT_EQ(loop->stats().channel_reconnects.load(), reconnects) << "the link was restarted";
}

}  // namespace
