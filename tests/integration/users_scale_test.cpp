// Users and groups at scale (issue 14): 10,000 WebSocket clients on two ws
// workers (one epoll reader, tests/support/ws_tally.h), 1,000 users and 100
// groups; every client is bound to one user and joins two groups through the
// API (pipelined on keep-alive connections). A push to each of 50 users and
// 20 groups, one push to two users and two groups at once, then a broadcast
// marker: every client got exactly the pushes meant for it, once each.
// PUSHER_SCALE_CLIENTS overrides the number of clients (a multiple of 1,000).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/users_groups.h"
#include "tests/support/http_conn.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_tally.h"

using namespace pusher::testing;
using namespace pusher::testing::users;

namespace {

constexpr int kUsers = 1000, kGroups = 100;
constexpr int kPushedUsers = 50, kPushedGroups = 20;
constexpr int kApiConnections = 4, kBatch = 256;

int clients_wanted() {
    const char* s = getenv("PUSHER_SCALE_CLIENTS");
    return s ? atoi(s) : 10000;
}

struct Assignment {
    int uid, ga, gb;
};
Assignment assignment(int i) {
    Assignment a{i % kUsers, i % kGroups, (i / kGroups) % kGroups};
    if (a.gb == a.ga) a.gb = (a.ga + 1) % kGroups;
    return a;
}

double since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(UsersScale, TenThousandClientsGetExactlyTheirPushesOnce) {
    const int n = clients_wanted();
    ASSERT_GE(n, kUsers);
    PusherInstance p("\"welcome\": \"json\",", 2);
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    auto t0 = std::chrono::steady_clock::now();
    WsTally tally;
    ASSERT_TRUE(tally.connect("127.0.0.1", p.ws_port, n)) << tally.error();
    tally.start();
    int on_worker0 = 0;
    for (size_t i = 0; i < tally.size(); ++i) on_worker0 += tally.worker(i) == 0;
    EXPECT_GT(on_worker0, 0);
    EXPECT_LT(on_worker0, n);
    double connected = since(t0);

    // 3 operations per client, pipelined kBatch at a time on each connection.
    std::atomic<long> answered{0}, bad{0};
    std::string first_bad;
    std::mutex bad_mu;
    std::vector<std::thread> workers;
    for (int t = 0; t < kApiConnections; ++t)
        workers.emplace_back([&, t] {
            HttpConn api;
            if (!api.connect("127.0.0.1", p.http_port)) return void(++bad);
            std::string batch;
            int pending = 0;
            auto flush = [&] {
                if (!api.send(batch)) pending = 0, ++bad;
                batch.clear();
                for (; pending > 0; --pending) {
                    int status = 0;
                    std::string body;
                    if (api.read(&status, &body, 20000) && status == 200 && body == "ok") {
                        ++answered;
                        continue;
                    }
                    ++bad;
                    std::lock_guard<std::mutex> l(bad_mu);
                    if (first_bad.empty())
                        first_bad = std::to_string(status) + " " + body + api.error();
                    if (status == 0) return;
                }
            };
            for (int i = t; i < n; i += kApiConnections) {
                Assignment a = assignment(i);
                const std::string& id = tally.id(static_cast<size_t>(i));
                batch += HttpConn::get_request("/api/bind_uid?client_id=" + id + "&uid=u" +
                                               std::to_string(a.uid));
                batch += HttpConn::get_request("/api/join_group?client_id=" + id + "&group=g" +
                                               std::to_string(a.ga));
                batch += HttpConn::get_request("/api/join_group?client_id=" + id + "&group=g" +
                                               std::to_string(a.gb));
                pending += 3;
                if (pending >= kBatch) flush();
            }
            flush();
        });
    for (auto& w : workers) w.join();
    ASSERT_EQ(bad.load(), 0) << first_bad;
    ASSERT_EQ(answered.load(), 3L * n);
    double setup = since(t0) - connected;

    HttpConn api;
    ASSERT_TRUE(api.connect("127.0.0.1", p.http_port));
    // Presence agrees.
    Json::Value v = parse(api.get("/api/client_count"));
    EXPECT_EQ(v["count"].asInt(), n) << v;
    EXPECT_EQ(parse(api.get("/api/uid_count"))["count"].asInt(), kUsers);
    int in_g7 = 0;
    for (int i = 0; i < n; ++i) in_g7 += assignment(i).ga == 7 || assignment(i).gb == 7;
    EXPECT_EQ(parse(api.get("/api/group_count?group=g7"))["count"].asInt(), in_g7);

    for (int u = 0; u < kPushedUsers; ++u)
        ASSERT_EQ(api.get("/?to_uid=u" + std::to_string(u) + "&content=U" + std::to_string(u)),
                  "ok");
    for (int g = 0; g < kPushedGroups; ++g)
        ASSERT_EQ(api.get("/?to_group=g" + std::to_string(g) + "&content=G" + std::to_string(g)),
                  "ok");
    ASSERT_EQ(api.get("/?to_uid=u100,u101&to_group=g50,g51&content=M"), "ok");
    ASSERT_EQ(api.get("/?content=END"), "ok");
    ASSERT_TRUE(tally.wait_all("END", 30000)) << tally.error();
    EXPECT_EQ(tally.error(), "");

    long wrong = 0, delivered = 0;
    for (int i = 0; i < n; ++i) {
        Assignment a = assignment(i);
        std::vector<std::string> want;
        if (a.uid < kPushedUsers) want.push_back("U" + std::to_string(a.uid));
        for (int g : {a.ga, a.gb})
            if (g < kPushedGroups) want.push_back("G" + std::to_string(g));
        if (a.uid == 100 || a.uid == 101 || a.ga == 50 || a.ga == 51 || a.gb == 50 || a.gb == 51)
            want.push_back("M");
        want.push_back("END");
        std::vector<std::string> got = tally.got(static_cast<size_t>(i));
        delivered += static_cast<long>(got.size()) - 1;
        EXPECT_TRUE(!got.empty() && got.back() == "END") << "client " << i;
        std::sort(want.begin(), want.end());
        std::sort(got.begin(), got.end());
        if (got != want && ++wrong <= 5) {
            std::string g, w;
            for (auto& s : got) g += s + " ";
            for (auto& s : want) w += s + " ";
            ADD_FAILURE() << "client " << i << " (" << tally.id(static_cast<size_t>(i)) << ") got ["
                          << g << "], meant [" << w << "]";
        }
        EXPECT_FALSE(tally.closed(static_cast<size_t>(i)));
    }
    EXPECT_EQ(wrong, 0);
    std::printf(
        "[ scale    ] %d clients: connected in %.1f s, %d operations in %.1f s, "
        "%ld pushes delivered, total %.1f s\n",
        n, connected, 3 * n, setup, delivered, since(t0));
}

}  // namespace
