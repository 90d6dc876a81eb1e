// Operations with real processes: exit accounting, reload order, signals at
// fork, descriptors, paths and locks, and what stop/reload print while they wait.
#include <gtest/gtest.h>
#include <json/json.h>
#include <signal.h>
#include <unistd.h>

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

}  // namespace
