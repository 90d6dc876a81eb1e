// Operations with real processes: exit accounting, reload order, signals at
// fork, descriptors, paths and locks, and what stop/reload print while they wait.
#include <gtest/gtest.h>
#include <json/json.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "tests/support/pusher_instance.h"

using namespace pusher::testing;

namespace {

bool eventually(const std::function<bool()>& f, int ms = 5000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!f()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling other processes
    }
    return true;
}

Json::Value status_json(PusherInstance& p) {
    Json::Value root;
    Json::CharReaderBuilder b;
    std::string errs;
    std::istringstream in(p.cli("status --json").out);
    Json::parseFromStream(b, in, &root, &errs);
    return root;
}

// The exit rows of service `name` with that cause, summed; the last row in *row.
long exits(const Json::Value& st, const std::string& name, const std::string& cause,
           Json::Value* row = nullptr) {
    long n = 0;
    for (const Json::Value& e : st["exits"])
        if (e["name"].asString() == name && e["cause"].asString() == cause) {
            n += e["count"].asInt64();
            if (row) *row = e;
        }
    return n;
}

std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

size_t count_of(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
    return n;
}

// A crash, a normal exit and the master's own kill are three different rows,
// in status --json, the status table, /metrics and the log.
TEST(Exits, CountedByCauseInStatusMetricsAndLog) {
    PusherInstance p("\"stop_timeout\": 0.5,", 1);
    p.expect_worker_deaths(1);  // the SIGSEGV below
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    int ws = p.worker_pid("pusher", 0);
    ASSERT_GT(ws, 0);
    kill(ws, SIGSEGV);
    ASSERT_TRUE(eventually([&] {
        int now = p.worker_pid("pusher", 0);
        return now > 0 && now != ws;
    }));
    Json::Value st = status_json(p), row;
    EXPECT_EQ(exits(st, "pusher", "signal", &row), 1) << st;
    EXPECT_EQ(row["status"].asInt(), SIGSEGV);
    EXPECT_EQ(row["signal"].asString(), "SIGSEGV");
    EXPECT_TRUE(row["abnormal"].asBool());
    EXPECT_EQ(st["abnormal_exits"].asInt(), 1);
    EXPECT_NE(p.cli("status").out.find("signal 11 (SIGSEGV)"), std::string::npos);
    ASSERT_TRUE(p.wait_healthy());
    std::string metrics = p.http_get("/metrics");
    EXPECT_NE(metrics.find("pusher_worker_exits_total{node=\"test-" + std::to_string(p.ws_port) +
                           "\",service=\"pusher\",status=\"11\",cause=\"signal\",reason="
                           "\"SIGSEGV\"} 1"),
              std::string::npos)
        << metrics;

    ASSERT_EQ(p.cli("reload").code, 0);  // the old worker leaves with exit code 0
    st = status_json(p);
    EXPECT_EQ(exits(st, "pusher", "normal", &row), 1) << st;
    EXPECT_EQ(row["exit_code"].asInt(), 0);
    EXPECT_FALSE(row["abnormal"].asBool());
    EXPECT_EQ(st["abnormal_exits"].asInt(), 1);

    int stuck = 0;
    ASSERT_TRUE(eventually([&] { return (stuck = p.worker_pid("pusher", 0)) > 0; }));
    kill(stuck, SIGSTOP);  // it cannot obey SIGINT: stop_timeout later the master SIGKILLs it
    ASSERT_EQ(p.stop().code, 0);
    std::string log = file_text(p.dir + "/pusher.log");
    EXPECT_EQ(count_of(log, "[pusher:" + std::to_string(stuck) + "] killed by the master"), 1u)
        << log;
    EXPECT_EQ(count_of(log, "exit with status"), 1u) << log;  // the SIGSEGV only
    EXPECT_NE(log.find("exit with status 11 (killed by signal 11"), std::string::npos) << log;
}

// Running, stopped or sleeping, but not a zombie and not gone.
bool alive(int pid) {
    if (pid <= 0 || kill(pid, 0) != 0) return false;
    std::string stat = file_text("/proc/" + std::to_string(pid) + "/stat");
    return stat.find(") Z") == std::string::npos;
}

// Plain reload replaces one slot at a time: while the first worker cannot
// leave (stopped), the others keep their processes; the master kills only
// that old worker after stop_timeout, and then the others follow.
TEST(Reload, PlainReloadReplacesOneSlotAtATimeAndKillsOnlyTheOldWorker) {
    PusherInstance p("\"stop_timeout\": 1,", 3);
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    int orig[3];
    for (int i = 0; i < 3; ++i) ASSERT_GT(orig[i] = p.worker_pid("pusher", i), 0);
    kill(orig[0], SIGSTOP);
    std::thread reload([&] { EXPECT_EQ(p.cli("reload").code, 0); });
    bool others_kept = true;
    bool first_gone = eventually(
        [&] {
            others_kept &= alive(orig[1]) && alive(orig[2]);
            return !alive(orig[0]);
        },
        8000);
    reload.join();
    EXPECT_TRUE(first_gone) << "the stopped old worker was never killed";
    EXPECT_TRUE(others_kept) << "another slot was replaced before the first was done";
    for (int i = 0; i < 3; ++i) {
        int now = p.worker_pid("pusher", i);
        EXPECT_GT(now, 0);
        EXPECT_NE(now, orig[i]);
    }
    Json::Value st = status_json(p);
    EXPECT_EQ(exits(st, "pusher", "master_kill"), 1) << st["exits"];
    EXPECT_EQ(exits(st, "pusher", "normal"), 2) << st["exits"];
    EXPECT_EQ(p.log_lines("killed by the master"),
              p.log_lines("[pusher:" + std::to_string(orig[0]) + "] killed by the master"));
}

// A reload that reaches a slot waiting out its start-up back-off must not
// SIGKILL the worker forked when the back-off ends (it used to, again and
// again: thousands of kills a second), and must not wait for the back-off.
TEST(Reload, WhileASlotIsInBackOffKillsNoNewWorker) {
    PusherInstance p("\"stop_timeout\": 0.3,", 2);
    p.expect_worker_deaths(2);  // the two kill -9 below
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    int first = p.worker_pid("pusher", 0), second = 0;
    ASSERT_GT(first, 0);
    kill(first, SIGKILL);
    ASSERT_TRUE(eventually([&] {
        second = p.worker_pid("pusher", 0);
        return second > 0 && second != first;
    }));
    kill(second, SIGKILL);  // milliseconds after its fork: at least 1 s of back-off follows
    ASSERT_TRUE(eventually([&] { return p.log_lines("keeps dying at start").size() > 0; }));
    CmdResult r = run("timeout 10 " + pusher_bin() + " reload -c " + p.config);
    EXPECT_EQ(r.code, 0) << r.out;
    ASSERT_TRUE(eventually([&] { return p.wait_healthy(); }, 10000));
    Json::Value st = status_json(p);
    EXPECT_EQ(exits(st, "pusher", "master_kill"), 0) << st["exits"];
    EXPECT_EQ(exits(st, "pusher", "signal"), 2) << st["exits"];
    EXPECT_LE(exits(st, "pusher", "normal"), 2) << st["exits"];
}

int master_pid(const PusherInstance& p) {
    return atoi(file_text(p.dir + "/pusher.pid").c_str());
}

// SIGIO (what `pusher connections` sends) forwarded to a worker between its
// fork and its handlers must not kill it: the default action of SIGIO is to
// terminate. Workers are forked again and again by reloads meanwhile.
TEST(Signals, SigioWhileWorkersStartKillsNone) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    int master = master_pid(p);
    ASSERT_GT(master, 0);
    std::atomic<bool> done{false};
    std::thread spam([&] {
        while (!done) {
            kill(master, SIGIO);
            std::this_thread::sleep_for(std::chrono::microseconds(200));  // pacing, not waiting
        }
    });
    for (int i = 0; i < 6; ++i) EXPECT_EQ(p.cli("reload").code, 0);
    EXPECT_EQ(p.cli("connections").code, 0);
    done = true;
    spam.join();
    Json::Value st = status_json(p);
    EXPECT_EQ(st["abnormal_exits"].asInt(), 0) << st["exits"];
}

}  // namespace
