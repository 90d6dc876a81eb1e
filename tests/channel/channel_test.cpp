// The Channel server and client against each other over real loopback
// sockets, in one process: the test pumps the loop until events arrive.
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>

#include "channel/client.h"
#include "channel/server.h"
#include "protocol/channel_message.h"
#include "protocol/frame.h"
#include "runtime/listen_socket.h"
#include "tests/support/pump.h"

using namespace pusher;
using protocol::php::Value;
using pusher::testing::pump_until;

namespace {

struct Got {
    std::string channel;
    std::string content;
};

class ChannelTest : public ::testing::Test {
  protected:
    runtime::Config config;
    std::unique_ptr<runtime::Loop> loop;
    std::unique_ptr<channel::Server> server;
    int lfd = -1, port = 0;

    void SetUp() override {
        config.channel_allow = {"127.0.0.1"};
        loop = std::make_unique<runtime::Loop>(nullptr, config.limits);
        start_server(0);
    }
    void start_server(int want_port) {
        std::string err;
        lfd = runtime::listen_socket("127.0.0.1", want_port, false, &err);
        ASSERT_GE(lfd, 0) << err;
        port = runtime::socket_port(lfd);
        server = std::make_unique<channel::Server>(*loop, lfd, config);
        server->start(&err);
    }
    void stop_server() {
        server->close_all();
        event_base_loop(loop->base(), EVLOOP_NONBLOCK);
        server.reset();
        close(lfd);
        lfd = -1;
    }
    void TearDown() override {
        clients.clear();
        if (server) stop_server();
        loop.reset();
    }
    channel::Client& client() {
        clients.push_back(std::make_unique<channel::Client>(*loop, "127.0.0.1", port));
        clients.back()->connect();
        return *clients.back();
    }
    bool pump(const std::function<bool()>& f, int ms = 3000) {
        return pump_until(loop->base(), f, ms);
    }
    static Value data(const std::string& content) {
        Value d = Value::array();
        d.set(protocol::php::Key::from_string("content"), Value::string(content));
        return d;
    }
    runtime::Bus::Handler recorder(std::vector<Got>* out) {
        return [out](const Value& ch, const Value& d) {
            out->push_back({ch.as_string(), d.get("content") ? d.get("content")->as_string() : ""});
        };
    }
    std::vector<std::unique_ptr<channel::Client>> clients;
};

TEST_F(ChannelTest, PublishReachesEverySubscriberIncludingThePublisher) {
    std::vector<Got> a, b;
    auto& ca = client();
    auto& cb = client();
    ca.on(Value::string("news"), recorder(&a));
    cb.on(Value::string("news"), recorder(&b));
    ASSERT_TRUE(
        pump([&] { return ca.connected() && cb.connected() && server->channel_count() == 1; }));
    ca.publish({Value::string("news")}, data("one"));
    ASSERT_TRUE(pump([&] { return a.size() == 1 && b.size() == 1; }));
    EXPECT_EQ(a[0].content, "one");
    EXPECT_EQ(b[0].channel, "news");
}

TEST_F(ChannelTest, IntAndStringChannelNamesAreOneChannel) {
    std::vector<Got> got;
    auto& sub = client();
    sub.on(Value::integer(0), recorder(&got));  // $worker->id
    auto& pub = client();
    ASSERT_TRUE(
        pump([&] { return sub.connected() && pub.connected() && server->channel_count() == 1; }));
    pub.publish({Value::string("0")}, data("from http"));  // $_GET['to_worker_id']
    pub.publish({Value::string("007")}, data("not the same"));
    pub.publish({Value::string("a"), Value::integer(0), Value::string("0")}, data("multi"));
    ASSERT_TRUE(pump([&] { return got.size() == 3; }));
    EXPECT_EQ(got[0].content, "from http");
    EXPECT_EQ(got[1].content, "multi");
    EXPECT_EQ(got[2].content, "multi");  // one frame per channel of the publish
}

TEST_F(ChannelTest, PublishLoopGoesRoundRobinLikeTheOriginal) {
    std::vector<Got> got[3];
    for (auto& g : got) client().on(Value::string("jobs"), recorder(&g));
    auto& pub = client();
    ASSERT_TRUE(pump([&] { return clients[2]->connected() && pub.connected(); }));
    // Subscribe order must be A, B, C: wait until the server has all three.
    ASSERT_TRUE(pump([&] { return server->channel_count() == 1; }));
    std::string order;
    for (int i = 0; i < 4; ++i) {
        size_t before = got[0].size() + got[1].size() + got[2].size();
        pub.publish_loop({Value::string("jobs")}, data(std::to_string(i)));
        ASSERT_TRUE(pump([&] { return got[0].size() + got[1].size() + got[2].size() > before; }));
        for (int k = 0; k < 3; ++k)
            if (!got[k].empty() && got[k].back().content == std::to_string(i))
                order += char('A' + k);
    }
    EXPECT_EQ(order, "BCAB");
}

TEST_F(ChannelTest, QueuesAreFifoWithOneMessagePerReserve) {
    std::vector<Got> got;
    auto& worker = client();
    auto& producer = client();
    for (int i = 0; i < 3; ++i)
        producer.enqueue({Value::string("q")}, data("job" + std::to_string(i)));
    ASSERT_TRUE(pump([&] { return producer.connected() && server->queue_count() == 1; }));
    worker.watch(Value::string("q"), recorder(&got), true);
    ASSERT_TRUE(pump([&] { return got.size() == 3; }));
    EXPECT_EQ(got[0].content, "job0");
    EXPECT_EQ(got[2].content, "job2");
    EXPECT_EQ(got[0].channel, "q");
}

TEST_F(ChannelTest, ReconnectResubscribesRewatchesAndFlushesPending) {
    std::vector<Got> events, jobs;
    auto& sub = client();
    sub.on(Value::string("news"), recorder(&events));
    sub.watch(Value::string("work"), recorder(&jobs), true);
    auto& pub = client();
    ASSERT_TRUE(
        pump([&] { return sub.connected() && pub.connected() && server->channel_count() == 1; }));
    int old_port = port;
    stop_server();
    ASSERT_TRUE(pump([&] { return !sub.connected() && !pub.connected(); }));
    // Published by the subscriber itself: its re-subscribe goes out before its
    // pending publishes, so all five must come back.
    for (int i = 0; i < 5; ++i)
        sub.publish({Value::string("news")}, data("while down " + std::to_string(i)));
    EXPECT_EQ(sub.pending(), 5u);
    start_server(old_port);
    ASSERT_TRUE(pump([&] { return sub.connected() && pub.connected(); }, 5000));
    ASSERT_TRUE(pump([&] { return events.size() == 5; }, 3000)) << events.size();
    EXPECT_EQ(events[4].content, "while down 4");
    pub.enqueue({Value::string("work")}, data("after restart"));
    ASSERT_TRUE(pump([&] { return jobs.size() == 1; }));  // the watch was re-sent
}

TEST_F(ChannelTest, PendingPublishesAreBoundedAndOverflowCounted) {
    loop->mutable_limits().channel_pending_publishes = 3;
    stop_server();
    auto& pub = client();
    for (int i = 0; i < 5; ++i) pub.publish({Value::string("x")}, data("m"));
    EXPECT_EQ(pub.pending(), 3u);
    EXPECT_EQ(loop->stats().bus_dropped.load(), 2u);
    start_server(0);
}

// Raw peers: exact bytes in, exact bytes out, and bad input closes only that peer.
TEST_F(ChannelTest, SpeaksTheOriginalBytes) {
    int sub = pusher::testing::dial(port), pub = pusher::testing::dial(port);
    std::string s = protocol::frame_encode(
        "a:2:{s:4:\"type\";s:9:\"subscribe\";s:8:\"channels\";a:1:{i:0;s:9:\"broadcast\";}}");
    ASSERT_EQ(write(sub, s.data(), s.size()), static_cast<ssize_t>(s.size()));
    ASSERT_TRUE(pump([&] { return server->channel_count() == 1; }));
    std::string p = protocol::frame_encode(
        "a:3:{s:4:\"type\";s:7:\"publish\";s:8:\"channels\";a:1:{i:0;s:9:\"broadcast\";}s:4:"
        "\"data\";a:2:{"
        "s:16:\"to_connection_id\";i:1;s:7:\"content\";s:2:\"hi\";}}");
    ASSERT_EQ(write(pub, p.data(), p.size()), static_cast<ssize_t>(p.size()));
    std::string got;
    pusher::testing::read_pumped(loop->base(), sub, &got, 131);
    EXPECT_EQ(
        got,
        std::string("\0\0\0\x83", 4) +
            "a:3:{s:4:\"type\";s:5:\"event\";s:7:\"channel\";s:9:\"broadcast\";s:4:\"data\";a:2:{"
            "s:16:\"to_connection_id\";i:1;s:7:\"content\";s:2:\"hi\";}}");
    close(sub);
    close(pub);
}

TEST_F(ChannelTest, BadInputClosesOnlyThatConnection) {
    std::vector<Got> got;
    auto& good = client();
    good.on(Value::string("c"), recorder(&got));
    ASSERT_TRUE(pump([&] { return good.connected() && server->channel_count() == 1; }));
    std::vector<std::string> bad = {
        std::string("\0\0\0\0", 4),
        std::string("\0\0\0\3xyz", 7),
        std::string("\x7f\xff\xff\xff", 4),
        protocol::frame_encode("random garbage"),
        protocol::frame_encode("a:99999999:{i:0;"),
        protocol::frame_encode(std::string(5000, '[')),
    };
    std::string deep;
    for (int i = 0; i < 500; ++i) deep += "a:1:{i:0;";
    bad.push_back(protocol::frame_encode(deep));
    for (const std::string& b : bad) {
        int fd = pusher::testing::dial(port);
        ASSERT_EQ(write(fd, b.data(), b.size()), static_cast<ssize_t>(b.size()));
        std::string out;
        EXPECT_FALSE(pusher::testing::read_pumped(loop->base(), fd, &out, 1)) << "not closed";
        close(fd);
    }
    clients.push_back(std::make_unique<channel::Client>(*loop, "127.0.0.1", port));
    clients.back()->connect();
    ASSERT_TRUE(pump([&] { return clients.back()->connected(); }));
    clients.back()->publish({Value::string("c")}, data("still works"));
    ASSERT_TRUE(pump([&] { return got.size() == 1; }));
}

TEST_F(ChannelTest, PeersOutsideTheAllowlistAreRefused) {
    config.channel_allow = {"127.0.0.9"};
    int fd = pusher::testing::dial(port);
    std::string out;
    EXPECT_FALSE(pusher::testing::read_pumped(loop->base(), fd, &out, 1));
    close(fd);
}

}  // namespace

namespace {

TEST_F(ChannelTest, EventsOfTheStartupGraceAreReplayedToLateSubscribers) {
    // After a restart, a publisher may reconnect before the subscribers have
    // re-subscribed: what it publishes then must not be lost.
    auto& pub = client();
    ASSERT_TRUE(pump([&] { return pub.connected(); }));
    pub.publish({Value::string("broadcast")}, data("early"));
    ASSERT_TRUE(pump([&] { return loop->stats().total_request.load() >= 1; }));
    std::vector<Got> a, b;
    client().on(Value::string("broadcast"), recorder(&a));
    ASSERT_TRUE(pump([&] { return a.size() == 1; }));
    pub.publish({Value::string("broadcast")}, data("second"));
    ASSERT_TRUE(pump([&] { return a.size() == 2; }));
    client().on(Value::string("broadcast"), recorder(&b));  // a second worker, later still
    ASSERT_TRUE(pump([&] { return b.size() == 2; }));
    EXPECT_EQ(a[0].content, "early");
    EXPECT_EQ(b[0].content, "early");
    EXPECT_EQ(b[1].content, "second");
    EXPECT_FALSE(pump([&] { return a.size() > 2; }, 100));  // no duplicates
}

// A user's or group's channel is subscribed while a worker holds a member and
// unsubscribed when the last one leaves: coming back within the grace, the
// worker must not get again what it had already.
TEST_F(ChannelTest, GraceReplaySkipsWhatASubscriberAlreadyHad) {
    auto& pub = client();
    ASSERT_TRUE(pump([&] { return pub.connected(); }));
    std::vector<Got> a;
    auto& w = client();
    w.on(Value::string("group:g"), recorder(&a));
    ASSERT_TRUE(pump([&] { return w.connected(); }));
    pub.publish({Value::string("group:g")}, data("p0"));
    ASSERT_TRUE(pump([&] { return a.size() == 1; }));
    w.unsubscribe(Value::string("group:g"));
    w.on(Value::string("group:g"), recorder(&a));  // members again, same link
    pub.publish({Value::string("group:g")}, data("p1"));
    ASSERT_TRUE(pump([&] { return a.size() == 2; }));
    EXPECT_EQ(a[1].content, "p1");
    EXPECT_FALSE(pump([&] { return a.size() > 2; }, 100));
}

}  // namespace

namespace {

// atoi("") is 0: "10.0.0.0/" used to become 10.0.0.0/0, which allows everyone.
TEST_F(ChannelTest, MalformedAllowRulesAllowNobody) {
    for (const char* rule : {"10.0.0.0/", "x/abc", "10.0.0.0/abc"}) {
        config.channel_allow = {rule};
        int fd = pusher::testing::dial(port);
        std::string out;
        EXPECT_FALSE(pusher::testing::read_pumped(loop->base(), fd, &out, 1)) << rule;
        close(fd);
    }
}

}  // namespace
