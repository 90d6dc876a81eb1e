// The test support for real Redis servers (tests/support/redis_server.h):
// what the Redis bus engine's tests will lean on must hold by itself first.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <set>

#include "tests/support/pusher_instance.h"
#include "tests/support/redis_server.h"

using pusher::testing::RedisCluster;
using pusher::testing::RedisClusterOptions;
using pusher::testing::RedisServer;

namespace {

bool alive(int pid) {
    return pid > 0 && kill(pid, 0) == 0;
}

TEST(RedisServerTest, StartsOnAFreeLoopbackPortAndAnswers) {
    RedisServer r;
    EXPECT_NE(r.port(), 6379);
    EXPECT_EQ(r.address(), "127.0.0.1:" + std::to_string(r.port()));
    EXPECT_TRUE(alive(r.pid()));
    auto pong = r.cli("PING");
    EXPECT_EQ(pong.code, 0) << pong.err;
    EXPECT_EQ(pong.out, "PONG");
    // No persistence, no daemon: nothing is written, and the child is ours.
    EXPECT_EQ(r.cli("CONFIG", "GET", "save").out, "save");
    EXPECT_EQ(r.cli("CONFIG", "GET", "appendonly").out, "appendonly\nno");
    // An error reply is an exit code, not text to parse.
    EXPECT_NE(r.cli("NOSUCHCOMMAND").code, 0);
}

TEST(RedisServerTest, ArgumentsReachTheServerAndCliAuthenticates) {
    RedisServer r({"--requirepass", "s3cret"}, "127.0.0.2");
    EXPECT_EQ(r.host(), "127.0.0.2");
    EXPECT_EQ(r.cli("PING").out, "PONG");  // cli() sends the password it was started with
    auto raw =
        pusher::testing::run("redis-cli -h 127.0.0.2 -p " + std::to_string(r.port()) + " PING");
    EXPECT_NE(raw.out.find("NOAUTH"), std::string::npos) << raw.out;
    // Arguments with quotes and spaces arrive whole.
    std::string odd = "a:1:{s:7:\"content\";s:5:\"it's\";}";
    EXPECT_EQ(r.cli("ECHO", odd).out, odd);
}

TEST(RedisServerTest, PauseSilencesItAndResumeBringsItBack) {
    RedisServer r;
    ASSERT_TRUE(r.answers(1000));
    r.pause();
    EXPECT_TRUE(r.paused());
    // The kernel still accepts the connection; the reply never comes.
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(r.answers(300));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
    r.resume();
    EXPECT_FALSE(r.paused());
    EXPECT_TRUE(r.answers(2000));
}

TEST(RedisServerTest, KillThenRestartOnTheSamePort) {
    RedisServer r;
    int port = r.port(), old_pid = r.pid();
    // A client still connected while it dies leaves the server's side of
    // that connection in the kernel (FIN_WAIT2): the restart must bind regardless.
    EXPECT_EQ(r.cli("SET", "k", "v").code, 0);
    redisContext* client = redisConnect("127.0.0.1", port);
    ASSERT_TRUE(client && !client->err);
    r.kill();
    EXPECT_FALSE(r.running());
    EXPECT_FALSE(alive(old_pid));
    EXPECT_FALSE(r.answers(300));
    r.restart();
    EXPECT_EQ(r.port(), port);
    EXPECT_NE(r.pid(), old_pid);
    EXPECT_EQ(r.cli("PING").out, "PONG");
    EXPECT_EQ(r.cli("GET", "k").out, "");  // no persistence: a fresh server
    redisFree(client);
}

TEST(RedisServerTest, StopIsPoliteEvenWhenPaused) {
    RedisServer r;
    int pid = r.pid();
    r.pause();
    auto t0 = std::chrono::steady_clock::now();
    r.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0,
              std::chrono::seconds(5));  // not the SIGKILL fallback
    EXPECT_FALSE(alive(pid));
    EXPECT_NE(r.log_tail().find("ready to exit"), std::string::npos) << r.log_tail();
    r.restart();
    EXPECT_TRUE(r.answers(1000));
}

TEST(RedisServerTest, NothingOutlivesTheObject) {
    int pid;
    std::string dir;
    {
        RedisServer r;
        pid = r.pid();
        dir = r.dir();
        r.pause();  // even a stopped one
    }
    EXPECT_FALSE(alive(pid));
    EXPECT_NE(access(dir.c_str(), F_OK), 0);
}

TEST(RedisServerTest, RefusesPort6379) {
    EXPECT_THROW(RedisServer({}, "127.0.0.1", 6379), std::invalid_argument);
}

TEST(RedisServerTest, AFailedStartSaysWhy) {
    try {
        RedisServer r({"--no-such-option", "1"});
        FAIL() << "started";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("no-such-option"), std::string::npos) << e.what();
    }
}

// One cluster for the cluster tests: forming it takes seconds.
class RedisClusterTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { cluster_ = new RedisCluster(); }
    static void TearDownTestSuite() {
        delete cluster_;
        cluster_ = nullptr;
    }
    // A cluster that failed to form failed SetUpTestSuite already; its tests stop here.
    void SetUp() override { ASSERT_NE(cluster_, nullptr); }
    static RedisCluster* cluster_;
};
RedisCluster* RedisClusterTest::cluster_ = nullptr;

TEST_F(RedisClusterTest, FormsThreeMastersWithAReplicaEach) {
    RedisCluster& c = *cluster_;
    std::cout << "[ info     ] cluster formed in " << c.formation_time().count() << " ms\n";
    EXPECT_EQ(c.size(), 6u);
    EXPECT_EQ(c.seeds().size(), 6u);
    auto m = c.masters();
    ASSERT_EQ(m.size(), 3u) << c.describe();
    for (auto& a : m) EXPECT_GE(c.index_of(a), 0) << a;
    EXPECT_TRUE(c.converged()) << c.describe();
    for (size_t i = 0; i < c.size(); ++i) {
        EXPECT_NE(c.node(i).port(), 6379);
        EXPECT_NE(c.node(i).cli("CLUSTER", "INFO").out.find("cluster_state:ok"), std::string::npos);
    }
}

TEST_F(RedisClusterTest, SpublishFollowsMovedToTheOwningShard) {
    RedisCluster& c = *cluster_;
    // Channels on every shard, so at least two need a redirect from the first node.
    std::set<std::string> owners;
    for (const char* ch : {"a", "b", "c", "d", "e", "f", "g", "h"}) {
        std::string channel = std::string("pusher:") + ch;
        owners.insert(c.master_of_slot(c.keyslot(channel)));
        auto r = c.spublish(channel, "a:1:{s:7:\"content\";s:5:\"hello\";}");
        EXPECT_EQ(r.code, 0) << channel << ": " << r.out << r.err;
        EXPECT_EQ(r.out, "0") << channel;  // nobody subscribed, but it was accepted
    }
    EXPECT_EQ(owners.size(), 3u);
}

TEST_F(RedisClusterTest, SpublishReachesAShardSubscriber) {
    RedisCluster& c = *cluster_;
    std::string channel = "pusher:sub-test";
    std::string owner = c.master_of_slot(c.keyslot(channel));
    RedisServer& shard = c.node(static_cast<size_t>(c.index_of(owner)));
    // A plain hiredis subscriber on the owning master.
    timeval tv{5, 0};
    redisContext* sub = redisConnectWithTimeout("127.0.0.1", shard.port(), tv);
    ASSERT_TRUE(sub && !sub->err);
    redisSetTimeout(sub, tv);
    auto* ack = static_cast<redisReply*>(redisCommand(sub, "SSUBSCRIBE %s", channel.c_str()));
    ASSERT_NE(ack, nullptr);
    freeReplyObject(ack);
    auto r = c.spublish(channel, "hello");
    EXPECT_EQ(r.out, "1") << r.err;
    void* msg = nullptr;
    ASSERT_EQ(redisGetReply(sub, &msg), REDIS_OK);
    auto* m = static_cast<redisReply*>(msg);
    ASSERT_EQ(m->type, REDIS_REPLY_ARRAY);
    ASSERT_EQ(m->elements, 3u);
    EXPECT_EQ(std::string(m->element[0]->str), "smessage");
    EXPECT_EQ(std::string(m->element[1]->str), channel);
    EXPECT_EQ(std::string(m->element[2]->str), "hello");
    freeReplyObject(m);
    redisFree(sub);
}

// Last in the suite: it leaves a master dead.
TEST_F(RedisClusterTest, KillingAMasterPromotesItsReplica) {
    RedisCluster& c = *cluster_;
    std::string channel = "pusher:broadcast";
    int slot = c.keyslot(channel);
    std::string before = c.master_of_slot(slot);
    size_t killed = c.kill_master_owning_slot(slot);
    EXPECT_EQ(c.node(killed).address(), before);
    long ms = c.wait_failover(30000);
    ASSERT_GE(ms, 0);
    std::cout << "[ info     ] failover took " << ms << " ms\n";
    std::string after = c.master_of_slot(slot);
    EXPECT_NE(after, before);
    EXPECT_GE(c.index_of(after), 0);
    EXPECT_EQ(c.masters().size(), 3u) << c.describe();
    auto r = c.spublish(channel, "after failover");
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    // The old master comes back as a replica of the new one.
    c.node(killed).restart();
    EXPECT_TRUE(pusher::testing::eventually(
        [&] {
            return c.node(killed).command({"ROLE"}).text.rfind("slave", 0) == 0 && c.converged();
        },
        30000, 100))
        << c.describe();
}

}  // namespace
