// Reload and upgrade without dropping a WebSocket (issue 15): 1,000 clients in
// four client processes (700 read by this process's epoll tally, 300 real
// Python `websockets` clients in three processes), a steady broadcast of
// numbered messages at 50 msg/s, targeted pushes by client id to a sample and
// pushes to users and a group, through three reloads and one binary upgrade
// to a build whose version string differs. Every client gets every broadcast
// once and in order, and every push meant for it; nobody is closed; worker
// pids change, the version too; connection and client ids stay (the pushes
// addressed to ids taken before the reloads arrive).
#include <gtest/gtest.h>
#include <json/json.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_conn.h"
#include "tests/integration/redis_bus.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/py_seq.h"
#include "tests/support/redis_server.h"
#include "tests/support/ws_tally.h"

using namespace pusher::testing;

namespace {

constexpr int kTally = 700, kPyProcs = 3, kPyEach = 100;
constexpr size_t kSample = 20;  // tally clients that also get pushes by client id
constexpr size_t kBound = 10;   // the first of them: user "u<i>", all in group "g"

// Publishes on one keep-alive connection: b<n> to everyone every 20 ms, and
// every 100 ms one push by client id to a sample client (t<k>), then one to
// a user or the group (U<k>, G<k>) in turn.
class Publisher {
  public:
    Publisher(int port, std::vector<std::string> sample) : port_(port), sample_(std::move(sample)) {
        ok_ = api_->connect("127.0.0.1", port);
        thread_ = std::thread([this] { run(); });
    }
    ~Publisher() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    bool ok() const { return ok_ && failures_ == 0; }
    long broadcasts() const { return next_b_; }
    std::vector<std::string> sent_to(size_t i) const { return find(to_client_, i); }
    std::vector<std::string> sent_to_uid(size_t i) const { return find(to_uid_, i); }
    std::vector<std::string> sent_to_group() const { return to_group_; }
    std::string first_failure() const { return first_failure_; }

  private:
    static std::vector<std::string> find(const std::map<size_t, std::vector<std::string>>& m,
                                         size_t i) {
        auto it = m.find(i);
        return it == m.end() ? std::vector<std::string>() : it->second;
    }
    // The http workers are replaced too (a plain reload closes their
    // keep-alive connections): a request on a connection closed before it was
    // read is sent again on a new one, as any HTTP client does.
    void get(const std::string& target) {
        int status = 0;
        std::string body = api_->get(target, &status);
        for (int retry = 0; status == 0 && retry < 20; ++retry) {
            api_ = std::make_unique<HttpConn>();
            if (api_->connect("127.0.0.1", port_)) body = api_->get(target, &status);
        }
        if (status == 200 && body == "ok") return;
        if (failures_++ == 0) first_failure_ = target + " -> " + std::to_string(status) + " " + body;
    }
    void run() {
        auto next = std::chrono::steady_clock::now();
        for (long tick = 0; !stop_; ++tick) {
            // Every 10th is padded past deflate's min_size: the Python clients
            // (permessage-deflate) get it compressed, before and after each reload.
            long n = next_b_++;
            get("/?content=b" + std::to_string(n) + (n % 10 == 9 ? ":" + std::string(300, 'x') : ""));
            if (tick % 5 == 0) {
                long k = tick / 5;
                size_t i = static_cast<size_t>(k) % sample_.size();
                std::string t = "t" + std::to_string(k);
                get("/?to_client_id=" + sample_[i] + "&content=" + t);
                to_client_[i].push_back(t);
                size_t u = static_cast<size_t>(k) % kBound;
                if (k % 2) {
                    get("/?to_uid=u" + std::to_string(u) + "&content=U" + std::to_string(k));
                    to_uid_[u].push_back("U" + std::to_string(k));
                } else {
                    get("/?to_group=g&content=G" + std::to_string(k));
                    to_group_.push_back("G" + std::to_string(k));
                }
            }
            next += std::chrono::milliseconds(20);
            std::this_thread::sleep_until(next);  // the pace of the stream, not a wait for an event
        }
    }

    int port_;
    std::unique_ptr<HttpConn> api_ = std::make_unique<HttpConn>();
    std::vector<std::string> sample_;
    std::map<size_t, std::vector<std::string>> to_client_, to_uid_;
    std::vector<std::string> to_group_;
    std::atomic<bool> stop_{false};
    std::atomic<long> next_b_{0};
    bool ok_ = false;
    int failures_ = 0;
    std::string first_failure_;
    std::thread thread_;
};

// 0, 1, ..., last: each once, in order.
bool whole_stream(const std::vector<long>& got, long last, std::string* why) {
    for (size_t i = 0; i < got.size(); ++i)
        if (got[i] != static_cast<long>(i)) {
            *why = "at " + std::to_string(i) + " got b" + std::to_string(got[i]);
            return false;
        }
    if (static_cast<long>(got.size()) != last + 1) {
        *why = "got " + std::to_string(got.size()) + " of " + std::to_string(last + 1);
        return false;
    }
    return true;
}

std::vector<long> numbers(const std::vector<std::string>& texts, std::vector<std::string>* rest) {
    std::vector<long> out;
    for (const std::string& t : texts) {
        if (t.size() > 1 && t[0] == 'b' && isdigit(static_cast<unsigned char>(t[1])))
            out.push_back(std::stol(t.substr(1)));
        else if (t != "END")
            rest->push_back(t);
    }
    return out;
}

// The first kBound of the sample: user "u<i>" each, all in group "g" (the
// answers are "ok" only once the owner's subscriptions are in effect).
::testing::AssertionResult bind_sample(int http_port, const std::vector<std::string>& sample) {
    HttpConn api;
    if (!api.connect("127.0.0.1", http_port)) return ::testing::AssertionFailure() << "connect";
    for (size_t i = 0; i < kBound; ++i) {
        std::string bind = "/api/bind_uid?client_id=" + sample[i] + "&uid=u" + std::to_string(i);
        std::string join = "/api/join_group?client_id=" + sample[i] + "&group=g";
        for (const std::string& target : {bind, join}) {
            int st = 0;
            api.get(target, &st);
            if (st != 200) return ::testing::AssertionFailure() << target << " -> " << st;
        }
    }
    return ::testing::AssertionSuccess();
}

std::vector<int> ws_pids(PusherInstance& p) {
    std::vector<int> out;
    Json::Value st = status_json(p);  // kept: a range-for would not keep the temporary alive
    for (const Json::Value& w : st["workers"])
        if (w["name"].asString() == "pusher") out.push_back(w["pid"].asInt());
    return out;
}

long ws_sum(PusherInstance& p, const std::string& field) {
    long n = 0;
    Json::Value st = status_json(p);
    for (const Json::Value& w : st["workers"])
        if (w["name"].asString() == "pusher") n += w[field].asInt64();
    return n;
}

}  // namespace

TEST(Handover, ThreeReloadsAndAnUpgradeCloseNoneLoseNone) {
    PusherInstance p("\"welcome\": \"json\",", 2);
    // A copy of the binary in the instance's directory: the upgrade replaces it there.
    std::string next = p.bin + "-next";
    ASSERT_EQ(run("cp " + p.bin + " " + p.dir + "/pusher").code, 0);
    p.bin = p.dir + "/pusher";
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    std::string version = status_json(p)["version"].asString();

    WsTally tally;
    ASSERT_TRUE(tally.connect("127.0.0.1", p.ws_port, kTally)) << tally.error();
    tally.start();
    std::vector<std::unique_ptr<PySeq>> py;
    for (int i = 0; i < kPyProcs; ++i) {
        py.push_back(std::make_unique<PySeq>(p.ws_port, kPyEach));
        ASSERT_EQ(py.back()->welcomes().size(), static_cast<unsigned>(kPyEach));
    }
    std::vector<std::string> sample;
    for (size_t i = 0; i < kSample; ++i) sample.push_back(tally.id(i * 31));
    ASSERT_TRUE(bind_sample(p.http_port, sample));
    std::vector<int> pids0 = ws_pids(p);

    Publisher pub(p.http_port, sample);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // traffic before the first reload
    for (int r = 0; r < 3; ++r) {
        CmdResult rl = p.cli("reload");
        ASSERT_EQ(rl.code, 0) << rl.out;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // traffic between reloads
    }
    std::vector<int> pids3 = ws_pids(p);
    ASSERT_EQ(run("cp " + next + " " + p.dir + "/pusher.new && mv " + p.dir + "/pusher.new " +
                  p.bin).code,
              0);
    CmdResult up = p.cli("upgrade");
    ASSERT_EQ(up.code, 0) << up.out << p.log_lines("upgrade");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // traffic after the upgrade
    pub.stop();
    ASSERT_TRUE(pub.ok()) << pub.first_failure();
    int st = 0;
    EXPECT_EQ(p.http_get("/?content=END", &st), "ok");  // a new connection: the old one's worker is gone
    ASSERT_EQ(st, 200);
    long last = pub.broadcasts() - 1;
    ASSERT_GT(last, 80);

    // Every tally client: the whole stream, nothing closed; the sample got its pushes.
    ASSERT_TRUE(tally.wait_all("END", 30000)) << tally.error();
    int closed = 0, broken = 0;
    std::string first_broken;
    for (size_t i = 0; i < tally.size(); ++i) {
        closed += tally.closed(i);
        std::vector<std::string> rest;
        std::vector<long> b = numbers(tally.got(i), &rest);
        std::string why;
        if (!whole_stream(b, last, &why) && broken++ == 0)
            first_broken = tally.id(i) + ": " + why;
        auto picked = [&](char kind) {
            std::vector<std::string> out;
            for (const std::string& x : rest)
                if (x[0] == kind) out.push_back(x);
            return out;
        };
        if (i % 31 != 0 || i / 31 >= kSample) {
            EXPECT_TRUE(rest.empty()) << tally.id(i) << " got " << rest[0];
            continue;
        }
        size_t k = i / 31;
        EXPECT_EQ(picked('t'), pub.sent_to(k)) << "by client id " << tally.id(i);
        if (k < kBound) {
            EXPECT_EQ(picked('U'), pub.sent_to_uid(k)) << "user u" << k;
            EXPECT_EQ(picked('G'), pub.sent_to_group()) << "group member " << k;
        }
    }
    EXPECT_EQ(closed, 0);
    EXPECT_EQ(broken, 0) << first_broken;

    // Every Python client: the same.
    for (auto& proc : py) {
        Json::Value res = proc->results();
        ASSERT_EQ(res.size(), static_cast<unsigned>(kPyEach));
        for (const Json::Value& c : res) {
            EXPECT_TRUE(c["close"].isNull()) << c["close"];
            std::vector<long> b;
            for (const Json::Value& n : c["b"]) b.push_back(n.asInt64());
            std::string why;
            EXPECT_TRUE(whole_stream(b, last, &why)) << why;
            EXPECT_EQ(c["t"].size(), 0u);
        }
    }

    // New processes each time, the new build after the upgrade, and the counters.
    std::vector<int> pids4 = ws_pids(p);
    ASSERT_EQ(pids0.size(), 2u);
    for (size_t w = 0; w < pids0.size(); ++w) {
        EXPECT_NE(pids0[w], pids3[w]);
        EXPECT_NE(pids3[w], pids4[w]);
    }
    Json::Value s = status_json(p);
    EXPECT_NE(s["version"].asString(), version);
    EXPECT_NE(s["version"].asString().find("+next"), std::string::npos);
    for (const Json::Value& w : s["workers"]) {
        if (w["name"].asString() == "ChannelServer") continue;  // the bus is not reloadable
        EXPECT_EQ(w["version"].asString(), s["version"].asString()) << w["name"];
    }
    EXPECT_EQ(ws_sum(p, "handovers"), 8);  // 2 workers x (3 reloads + 1 upgrade)
    EXPECT_EQ(ws_sum(p, "handover_failures"), 0);
    EXPECT_EQ(ws_sum(p, "handover_lost"), 0);
    EXPECT_EQ(ws_sum(p, "handover_adopted"), 4 * (kTally + kPyProcs * kPyEach));
    EXPECT_EQ(ws_sum(p, "paced_closes"), 0);
}

// The same cut over the Redis engine (one server, and three shards: the cut
// channel is published on every shard, and each stream is cut at its own
// marker): 400 clients through three reloads, nothing lost or repeated.
class RedisHandover : public ::testing::TestWithParam<const char*> {};

TEST_P(RedisHandover, ThreeReloadsCloseNoneLoseNone) {
    std::string mode = GetParam();
    std::vector<std::unique_ptr<RedisServer>> servers;
    std::vector<std::string> addresses;
    for (int i = 0; i < (mode == "sharded" ? 3 : 1); ++i) {
        servers.push_back(std::make_unique<RedisServer>());
        addresses.push_back(servers.back()->address());
    }
    PusherInstance p("\"welcome\": \"json\",", 2, "127.0.0.1", redis_bus::bus(mode, addresses));
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy(10000)) << p.log_lines("redis");
    WsTally tally;
    ASSERT_TRUE(tally.connect("127.0.0.1", p.ws_port, 400)) << tally.error();
    tally.start();
    std::vector<std::string> sample;
    for (size_t i = 0; i < kSample; ++i) sample.push_back(tally.id(i * 19));
    ASSERT_TRUE(bind_sample(p.http_port, sample));
    Publisher pub(p.http_port, sample);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // traffic before the first reload
    for (int r = 0; r < 3; ++r) {
        CmdResult rl = p.cli("reload");
        ASSERT_EQ(rl.code, 0) << rl.out;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // traffic between reloads
    }
    pub.stop();
    ASSERT_TRUE(pub.ok()) << pub.first_failure();
    int st = 0;
    EXPECT_EQ(p.http_get("/?content=END", &st), "ok");
    long last = pub.broadcasts() - 1;
    ASSERT_TRUE(tally.wait_all("END", 30000)) << tally.error();
    int broken = 0;
    std::string first_broken;
    for (size_t i = 0; i < tally.size(); ++i) {
        EXPECT_FALSE(tally.closed(i)) << i;
        std::vector<std::string> rest;
        std::vector<long> b = numbers(tally.got(i), &rest);
        std::string why;
        if (!whole_stream(b, last, &why) && broken++ == 0) first_broken = tally.id(i) + ": " + why;
        if (i % 19 != 0 || i / 19 >= kSample) continue;
        size_t k = i / 19;
        std::vector<std::string> t, u, g;
        for (const std::string& x : rest) (x[0] == 't' ? t : x[0] == 'U' ? u : g).push_back(x);
        EXPECT_EQ(t, pub.sent_to(k)) << "by client id, " << mode;
        if (k < kBound) {
            EXPECT_EQ(u, pub.sent_to_uid(k)) << "user u" << k << ", " << mode;
            EXPECT_EQ(g, pub.sent_to_group()) << "group member " << k << ", " << mode;
        }
    }
    EXPECT_EQ(broken, 0) << first_broken;
    EXPECT_EQ(ws_sum(p, "handovers"), 6);
    EXPECT_EQ(ws_sum(p, "handover_failures"), 0);
}

INSTANTIATE_TEST_SUITE_P(Engines, RedisHandover, ::testing::Values("single", "sharded"),
                         [](const auto& info) { return std::string(info.param); });
