// The Redis engine in process, against real redis-servers: delivery and
// order, the probe that finds a stopped Redis, the bounded queue, publishes
// lost with a dead link counted, AUTH, sharded placement, unsubscribe.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "redis/sharding.h"
#include "tests/redis/engine_fixture.h"

using namespace pusher;
using protocol::php::Key;
using protocol::php::Value;
using RedisServer = pusher::testing::RedisServer;

namespace {

class EngineTest : public pusher::testing::EngineFixture {
  protected:
    // A subscriber to "broadcast" collecting contents, connected and proven.
    redis::Engine& subscriber(const runtime::BusConfig& b, std::vector<std::string>* got) {
        auto& e = engine(b);
        e.on(Value::string("broadcast"), [got](const Value&, const Value& d) {
            const Value* c = d.get("content");
            got->push_back(c ? c->as_string() : "?");
        });
        e.connect();
        EXPECT_TRUE(pump([&] { return e.connected(); })) << "subscriber never healthy";
        return e;
    }
};

TEST_F(EngineTest, DeliversEveryPublishInOrderAndPlainTextAsContent) {
    RedisServer r;
    auto& b = bus({at(r)});
    std::vector<std::string> got;
    subscriber(b, &got);
    auto& pub = engine(b);
    pub.connect();
    ASSERT_TRUE(pump([&] { return pub.connected(); }));
    for (int i = 0; i < 200; ++i) pub.publish({Value::string("broadcast")}, data(std::to_string(i)));
    ASSERT_TRUE(pump([&] { return got.size() == 200; })) << got.size();
    for (int i = 0; i < 200; ++i) ASSERT_EQ(got[i], std::to_string(i));
    // Any Redis client can publish: serialized data, or the content itself.
    EXPECT_EQ(r.cli("PUBLISH", "pusher:broadcast", "a:1:{s:7:\"content\";s:2:\"hi\";}").out, "1");
    EXPECT_EQ(r.cli("PUBLISH", "pusher:broadcast", "plain words").out, "1");
    ASSERT_TRUE(pump([&] { return got.size() == 202; }));
    EXPECT_EQ(got[200], "hi");
    EXPECT_EQ(got[201], "plain words");
    EXPECT_EQ(dropped(), 0u);
    EXPECT_EQ(probe_failures(), 0u);
}

TEST_F(EngineTest, IntegerAndStringEventsAreOneChannel) {
    RedisServer r;
    auto& b = bus({at(r)});
    int n = 0;
    auto& sub = engine(b);
    sub.on(Value::integer(3), [&](const Value&, const Value&) { ++n; });
    sub.connect();
    ASSERT_TRUE(pump([&] { return sub.connected(); }));
    EXPECT_EQ(r.cli("PUBLISH", "pusher:3", "x").out, "1");
    ASSERT_TRUE(pump([&] { return n == 1; }));
    auto& pub = engine(b);
    pub.publish({Value::string("3")}, data("y"));  // "3" is the array key 3, as in PHP
    ASSERT_TRUE(pump([&] { return n == 2; }));
}

// SIGSTOP: every socket stays open, nothing answers. The probe finds it,
// health turns red and it is counted; what was published meanwhile goes out
// once Redis is back (after the resubscribe grace).
TEST_F(EngineTest, AStoppedRedisIsFoundByTheProbeAndNothingIsLost) {
    RedisServer r;
    auto& b = bus({at(r)});
    std::vector<std::string> got;
    auto& sub = subscriber(b, &got);
    auto& pub = engine(b);
    pub.connect();
    ASSERT_TRUE(pump([&] { return pub.connected(); }));
    r.pause();
    // probe_interval + probe_timeout, and a margin for a busy machine.
    EXPECT_TRUE(pump([&] { return !sub.connected() && !pub.connected(); }, 3000));
    EXPECT_GE(probe_failures(), 1u);
    for (int i = 0; i < 5; ++i) pub.publish({Value::string("broadcast")}, data("gap" + std::to_string(i)));
    r.resume();
    ASSERT_TRUE(pump([&] { return got.size() == 5; }, 15000)) << got.size();
    EXPECT_EQ(got[0], "gap0");
    EXPECT_EQ(got[4], "gap4");
    EXPECT_TRUE(pump([&] { return sub.connected() && pub.connected(); }));
    EXPECT_EQ(dropped(), 0u);
}

// Redis takes the connection and the PUBLISH, then dies before answering:
// Redis may or may not have delivered them, so they are counted as dropped.
TEST_F(EngineTest, PublishesNeverConfirmedAreCountedWhenTheLinkDies) {
    RedisServer r;
    auto& b = bus({at(r)});
    b.probe_timeout = 30;  // the kill, not the probe, ends the link here
    auto& pub = engine(b);
    pub.connect();
    ASSERT_TRUE(pump([&] { return pub.connected(); }));
    r.pause();
    for (int i = 0; i < 3; ++i) pub.publish({Value::string("broadcast")}, data("x"));
    pump([] { return false; }, 100);  // the turn's write goes out
    EXPECT_FALSE(pub.idle());          // three replies owed
    r.kill();
    ASSERT_TRUE(pump([&] { return dropped() == 3; })) << dropped();
}

TEST_F(EngineTest, TheQueueWhileRedisIsDownIsBoundedAndTheRestCounted) {
    RedisServer r;
    int port = r.port();
    r.kill();
    loop->mutable_limits().channel_pending_publishes = 10;
    runtime::BusConfig& b = *configs.emplace_back(std::make_unique<runtime::BusConfig>());
    b.engine = runtime::BusEngine::Redis;
    b.redis.push_back({"127.0.0.1", port});
    auto& pub = engine(b);
    pub.connect();
    for (int i = 0; i < 15; ++i) pub.publish({Value::string("broadcast")}, data("x"));
    EXPECT_EQ(dropped(), 5u);
    EXPECT_FALSE(pub.idle());
    pub.close();  // a leaving worker: what never went out is counted too
    EXPECT_EQ(dropped(), 15u);
}

TEST_F(EngineTest, AWrongPasswordNeverCountsAsUp) {
    RedisServer r({"--requirepass", "s3cret"});
    auto& wrong = bus({at(r)});
    wrong.password = "nope";
    auto& e = engine(wrong);
    e.connect();
    EXPECT_FALSE(pump([&] { return e.connected(); }, 1500));
    auto& right = bus({at(r)});
    right.password = "s3cret";
    auto& ok = engine(right);
    ok.connect();
    EXPECT_TRUE(pump([&] { return ok.connected(); }));
}

// Each channel is subscribed on the shard jump_hash(fnv1a64(name), n) names,
// and nowhere else; an unsubscribe reaches that shard.
TEST_F(EngineTest, ShardedPlacesEachChannelOnItsShardOnly) {
    RedisServer s0, s1, s2;
    std::vector<RedisServer*> shards = {&s0, &s1, &s2};
    auto& b = bus({at(s0), at(s1), at(s2)}, runtime::RedisMode::Sharded);
    auto& sub = engine(b);
    std::vector<std::string> names;
    for (int i = 0; i < 12; ++i) {
        names.push_back("pusher:" + std::to_string(i));
        sub.on(Value::integer(i), [](const Value&, const Value&) {});
    }
    sub.connect();
    ASSERT_TRUE(pump([&] { return sub.connected(); }));
    std::vector<int> per_shard(3, 0);
    for (auto& n : names) {
        int want = redis::shard_of(n, 3);
        ++per_shard[want];
        for (int s = 0; s < 3; ++s) {
            std::string subs = shards[s]->cli("PUBSUB", "NUMSUB", n).out;
            EXPECT_EQ(subs, n + "\n" + (s == want ? "1" : "0")) << n << " on shard " << s;
        }
    }
    for (int s = 0; s < 3; ++s) EXPECT_GT(per_shard[s], 0) << "12 channels all missed shard " << s;
    sub.unsubscribe(Value::integer(0));
    int s0_of_0 = redis::shard_of("pusher:0", 3);
    EXPECT_TRUE(pump([&] {
        return shards[s0_of_0]->cli("PUBSUB", "NUMSUB", "pusher:0").out == "pusher:0\n0";
    }));
}

}  // namespace
