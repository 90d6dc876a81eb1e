// Keep-alive (worker/ws_keepalive.cpp, issue 16) at a size CI affords, with
// a 1 s ping interval and a 3 s idle timeout (2 s to answer a ping):
//  - a worker kept from running for longer than the idle timeout (SIGSTOP:
//    from its clients' side, a worker busy in one long turn) closes none of
//    its healthy clients, while a client that never answers is closed as
//    dead and counted;
//  - clients that are being pushed to get no keep-alive frames; silent ones
//    get a heartbeat (an unsolicited pong) each turn, a ping every fourth.
// The busy test needs more clients than libevent reads in one turn (4096):
// after a long turn the sweep then runs while pongs still wait unread.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/pusher_instance.h"
#include "tests/support/py_seq.h"
#include "tests/support/ws_client.h"
#include "tests/support/ws_tally.h"

using namespace pusher::testing;

namespace {

const char* kFastKeepAlive =
    "\"welcome\": \"json\", \"limits\": {\"ping_interval\": 1, \"idle_timeout\": 3},";

long ws_stat(PusherInstance& p, const std::string& field) {
    return p.worker_stat("pusher", 0, field);
}

TEST(KeepAlive, BusyWorkerClosesNoHealthyClientButClosesTheDeadOne) {
    constexpr int kTally = 6000, kPy = 50;
    PusherInstance p(kFastKeepAlive, 1);
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    WsTally tally;
    ASSERT_TRUE(tally.connect("127.0.0.1", p.ws_port, kTally)) << tally.error();
    tally.start();
    PySeq py(p.ws_port, kPy, "default");  // the library's own 20 s pings: a real client's
    ASSERT_EQ(py.welcomes().size(), static_cast<unsigned>(kPy));
    WsClient dead;  // reads its welcome, then never reads nor answers again
    ASSERT_TRUE(dead.connect("127.0.0.1", p.ws_port));
    ASSERT_NE(dead.recv_text(5000), "");

    // The mechanism works: the dead one is closed and counted, and every
    // healthy client has been pinged at least once.
    ASSERT_TRUE(eventually([&] { return ws_stat(p, "idle_closes") == 1; }, 15000));
    ASSERT_TRUE(eventually([&] {
        for (size_t i = 0; i < tally.size(); ++i)
            if (tally.pings(i) == 0) return false;
        return true;
    }, 15000));
    EXPECT_NE(p.log_lines("as dead: no answer to ping"), "");

    // Busy for 7 s, more than twice the idle timeout. The sleep is the busy
    // spell itself; nothing waits on it.
    int pid = p.worker_pid("pusher", 0);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(kill(pid, SIGSTOP), 0);
    std::this_thread::sleep_for(std::chrono::seconds(7));
    ASSERT_EQ(kill(pid, SIGCONT), 0);

    // Three keep-alive turns after it (a heartbeat or a ping each): a
    // client wrongly judged dead would be closed within one 1 s round of
    // the deadline cursor.
    auto turns = [&] { return ws_stat(p, "pings_sent") + ws_stat(p, "heartbeats_sent"); };
    long before = turns();
    ASSERT_TRUE(eventually([&] { return turns() >= before + 3 * (kTally + kPy); }, 20000));
    ASSERT_EQ(p.http_get("/?content=after"), "ok");
    ASSERT_TRUE(tally.wait_all("after", 10000));
    for (size_t i = 0; i < tally.size(); ++i) EXPECT_FALSE(tally.closed(i)) << "tally client " << i;
    ASSERT_EQ(p.http_get("/?content=END"), "ok");
    Json::Value r = py.results();
    ASSERT_EQ(r.size(), static_cast<unsigned>(kPy));
    for (const Json::Value& c : r) {
        EXPECT_TRUE(c["close"].isNull()) << c.toStyledString();
        EXPECT_EQ(c["t"].size(), 1u) << c.toStyledString();  // "after"
    }
    EXPECT_EQ(ws_stat(p, "idle_closes"), 1);
    EXPECT_EQ(tally.error(), "");
}

TEST(KeepAlive, ClientsBeingPushedToAreNotPinged) {
    constexpr int kEach = 50;
    // Pinged after 1.5 s of silence, judged on a clock of whole seconds:
    // a ping needs more than 1 s of real silence, five times the push gap.
    PusherInstance p("\"welcome\": \"json\", \"limits\": {\"ping_interval\": 3, \"idle_timeout\": 5},",
                     1);
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    WsTally tally;  // clients 0..49 are pushed to every 200 ms, 50..99 are silent
    ASSERT_TRUE(tally.connect("127.0.0.1", p.ws_port, 2 * kEach)) << tally.error();
    tally.start();
    std::string ids;
    for (int i = 0; i < kEach; ++i) ids += (i ? "," : "") + tally.id(i);
    std::vector<size_t> before(2 * kEach);
    for (int round = 0; round < 50; ++round) {  // 10 s: three ping intervals
        ASSERT_EQ(p.http_get("/?to_client_id=" + ids + "&content=p" + std::to_string(round)), "ok");
        if (round == 0) {
            ASSERT_TRUE(eventually([&] {
                for (int i = 0; i < kEach; ++i)
                    if (tally.got(i).empty()) return false;
                return true;
            }));
            for (size_t i = 0; i < before.size(); ++i) before[i] = tally.keepalives(i);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the push rate
    }
    ASSERT_EQ(p.http_get("/?content=END"), "ok");
    ASSERT_TRUE(tally.wait_all("END", 5000));
    for (int i = 0; i < kEach; ++i)
        EXPECT_EQ(tally.keepalives(i), before[i]) << "pushed client " << i;
    for (int i = kEach; i < 2 * kEach; ++i)
        EXPECT_GE(tally.keepalives(i), before[i] + 2) << "silent client " << i;
    for (size_t i = 0; i < tally.size(); ++i) EXPECT_FALSE(tally.closed(i));
    EXPECT_EQ(ws_stat(p, "idle_closes"), 0);
}

}  // namespace
