// Keep-alive (worker/ws_keepalive.cpp, issue 16) at a size CI affords, with
// short intervals (a 1 s ping interval and a 4 s idle timeout for the busy
// worker: 3 s to answer a ping):
//  - a worker kept from running for longer than the idle timeout (SIGSTOP:
//    from its clients' side, a worker busy in one long turn) closes none of
//    its healthy clients, while a client that never answers is closed as
//    dead and counted;
//  - clients that are being pushed to get no keep-alive frames; silent ones
//    get a heartbeat every interval, a ping every fourth;
//  - a client that stops reading while pushed to is cut by TCP, counted once.
// The busy test needs more clients than libevent reads in one turn (4096):
// after a long turn the sweep then runs while pongs still wait unread.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "tests/support/pusher_instance.h"
#include "tests/support/py_seq.h"
#include "tests/support/ws_client.h"
#include "tests/support/ws_tally.h"

using namespace pusher::testing;

namespace {

// 3 s to answer a ping: a healthy client on a loaded CI machine answers in time.
const char* kFastKeepAlive =
    "\"welcome\": \"json\", \"limits\": {\"ping_interval\": 1, \"idle_timeout\": 4},";

long ws_stat(PusherInstance& p, const std::string& field) {
    return p.worker_stat("pusher", 0, field);
}

// Clients read by several tallies of 500, each reading (and answering
// pings) as soon as its clients are in: one tally of 6,000 would leave the
// first clients unanswered while the last connect, longer than the 2 s a
// ping may wait on a slow machine.
struct Tallies {
    std::vector<std::unique_ptr<WsTally>> all;
    bool connect(int port, int n, std::string* error) {
        for (int done = 0; done < n; done += 500) {
            all.push_back(std::make_unique<WsTally>());
            if (!all.back()->connect("127.0.0.1", port, std::min(500, n - done)))
                return *error = all.back()->error(), false;
            all.back()->start();
        }
        return true;
    }
    template <class F>
    bool every(F f) {  // f(tally, index) for every client, all must hold
        for (auto& t : all)
            for (size_t i = 0; i < t->size(); ++i)
                if (!f(*t, i)) return false;
        return true;
    }
};

TEST(KeepAlive, BusyWorkerClosesNoHealthyClientButClosesTheDeadOne) {
    constexpr int kTally = 6000, kPy = 50;
    PusherInstance p(kFastKeepAlive, 1);
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    Tallies tallies;
    std::string error;
    ASSERT_TRUE(tallies.connect(p.ws_port, kTally, &error)) << error;
    PySeq py(p.ws_port, kPy, "default");  // the library's own 20 s pings: a real client's
    ASSERT_EQ(py.welcomes().size(), static_cast<unsigned>(kPy));
    WsClient dead;  // reads its welcome, then never reads nor answers again
    ASSERT_TRUE(dead.connect("127.0.0.1", p.ws_port));
    ASSERT_NE(dead.recv_text(5000), "");

    // The mechanism works: the dead one is closed and counted, and every
    // healthy client has been pinged (not only sent heartbeats) at least once.
    ASSERT_TRUE(eventually([&] { return ws_stat(p, "idle_closes") == 1; }, 20000));
    ASSERT_TRUE(eventually(
        [&] { return tallies.every([](WsTally& t, size_t i) { return t.pings(i) > 0; }); },
        20000));
    EXPECT_NE(p.log_lines("as dead: no answer to ping"), "");

    // Busy for 9 s, more than twice the idle timeout. The sleep is the busy
    // spell itself; nothing waits on it.
    int pid = p.worker_pid("pusher", 0);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(kill(pid, SIGSTOP), 0);
    std::this_thread::sleep_for(std::chrono::seconds(9));
    ASSERT_EQ(kill(pid, SIGCONT), 0);

    // Three keep-alive turns after it (a heartbeat or a ping each): a
    // client wrongly judged dead would be closed within one 1 s round of
    // the deadline cursor.
    auto turns = [&] { return ws_stat(p, "pings_sent") + ws_stat(p, "heartbeats_sent"); };
    long before = turns();
    ASSERT_TRUE(eventually([&] { return turns() >= before + 3 * (kTally + kPy); }, 20000));
    ASSERT_EQ(p.http_get("/?content=after"), "ok");
    for (auto& t : tallies.all) ASSERT_TRUE(t->wait_all("after", 10000));
    EXPECT_TRUE(tallies.every([](WsTally& t, size_t i) { return !t.closed(i); }));
    ASSERT_EQ(p.http_get("/?content=END"), "ok");
    Json::Value r = py.results();
    ASSERT_EQ(r.size(), static_cast<unsigned>(kPy));
    for (const Json::Value& c : r) {
        EXPECT_TRUE(c["close"].isNull()) << c.toStyledString();
        EXPECT_EQ(c["t"].size(), 1u) << c.toStyledString();  // "after"
    }
    EXPECT_EQ(ws_stat(p, "idle_closes"), 1);
    for (auto& t : tallies.all) EXPECT_EQ(t->error(), "");
}

TEST(KeepAlive, ClientsBeingPushedToAreNotPinged) {
    constexpr int kEach = 50;
    // A heartbeat after 3 s of silence (half the interval + 1 s, on a clock
    // of whole seconds): more than 2 s of real silence, ten push gaps.
    PusherInstance p("\"welcome\": \"json\", \"limits\": {\"ping_interval\": 4, \"idle_timeout\": 6},",
                     1);
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    WsTally tally;  // clients 0..49 are pushed to every 200 ms, 50..99 are silent
    ASSERT_TRUE(tally.connect("127.0.0.1", p.ws_port, 2 * kEach)) << tally.error();
    tally.start();
    std::string ids;
    for (int i = 0; i < kEach; ++i) ids += (i ? "," : "") + tally.id(i);
    std::vector<size_t> before(2 * kEach);
    for (int round = 0; round < 50; ++round) {  // 10 s: two and a half intervals
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

// A client whose program stops reading while we push to it: its window
// closes, and TCP gives up on it after idle_timeout (TCP_USER_TIMEOUT,
// which bounds zero-window probes too). Counted and logged as an idle
// close, once.
TEST(KeepAlive, TcpGivesUpOnAClientThatStopsReadingAndItIsCounted) {
    PusherInstance p("\"limits\": {\"ping_interval\": 1, \"idle_timeout\": 3},", 1);
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    WsClient stuck;  // reads its welcome, then nothing: its window fills and stays shut
    ASSERT_TRUE(stuck.connect("127.0.0.1", p.ws_port));
    ASSERT_NE(stuck.recv_text(5000), "");
    std::string chunk(8000, 'x');
    bool closed = false;
    for (int i = 0; i < 300 && !closed; ++i) {  // 64 KB/s, for at most 30 s
        ASSERT_EQ(p.http_get("/?content=" + chunk), "ok");
        closed = ws_stat(p, "idle_closes") >= 1;
        std::this_thread::sleep_for(std::chrono::milliseconds(125));  // the push rate
    }
    ASSERT_TRUE(closed);
    EXPECT_NE(p.log_lines("as dead"), "");
    EXPECT_TRUE(eventually([&] { return ws_stat(p, "connections") == 0; }, 15000));
    EXPECT_EQ(ws_stat(p, "idle_closes"), 1);  // once, whoever saw it first
}

}  // namespace
