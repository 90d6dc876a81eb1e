// Users, groups and presence (issue 14) across the five-host layout of
// cluster_test.cpp (config/cluster/ on 127.0.0.1-5), with copies of the ws
// hosts' configs changed to JSON welcomes and 4 workers each (8 ws workers):
// operations and queries through one http host and pushes through the other
// reach clients of either ws host, and a push to a user is read from the bus
// only by the workers that hold its clients (status --json's bus_routed_in).
#include <gtest/gtest.h>
#include <json/json.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "tests/integration/users_groups.h"
#include "tests/support/http_conn.h"
#include "tests/support/php.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;
using namespace pusher::testing::users;

namespace {

constexpr int kWorkersPerHost = 4;
const char* const kWsHosts[] = {"127.0.0.2", "127.0.0.3"};

class ClusterUsers : public ::testing::Test {
  protected:
    std::string run_dir;
    void SetUp() override {
        char tmpl[] = "/tmp/pusher-cluster-users-XXXXXX";
        run_dir = mkdtemp(tmpl);
        run("cp " + source_dir() + "/config/cluster/*.json " + run_dir);
        for (const char* h : {"ws1", "ws2"})
            run("sed -e 's/\"node_name\"/\"welcome\": \"json\", \"node_name\"/' -e "
                "'s/\"count\": 2/\"count\": " +
                std::to_string(kWorkersPerHost) + "/' " + source_dir() + "/config/cluster/" + h +
                ".json > " + run_dir + "/" + h + ".json");
        for (const char* host : {"channel", "ws1", "ws2", "http1", "http2"}) {
            CmdResult r = cli(host, "start -d -q");
            ASSERT_EQ(r.code, 0) << host << ": " << r.out;
        }
        for (const char* h : {"127.0.0.4", "127.0.0.5"}) ASSERT_TRUE(healthy(h)) << h;
        ASSERT_TRUE(http1.connect("127.0.0.4", 4237));
        ASSERT_TRUE(http2.connect("127.0.0.5", 4237));
        // Both http hosts know all 8 ws workers (roster announcements: other processes).
        for (HttpConn* h : {&http1, &http2})
            ASSERT_TRUE(eventually(
                [&] {
                    Json::Value v = parse(h->get("/api/client_count"));
                    return v["complete"].asBool() && v["workers"].asInt() == 2 * kWorkersPerHost;
                },
                15000, 100));
    }
    void TearDown() override {
        for (const char* host : {"http2", "http1", "ws2", "ws1", "channel"}) cli(host, "stop -q");
        run("rm -rf " + run_dir);
    }
    CmdResult cli(const std::string& host, const std::string& args) {
        return run("cd " + run_dir + " && " + pusher_bin() + " " + args + " -c " + run_dir + "/" +
                   host + ".json");
    }
    static bool healthy(const std::string& http_host) {
        return eventually(
            [&] {
                HttpConn h;
                int status = 0;
                return h.connect(http_host, 4237) && (h.get("/healthz", &status), status == 200);
            },
            10000, 20);
    }
    // A field of every worker of a host's status --json: worker_id -> value.
    std::map<int, long> stat(const std::string& host, const std::string& field) {
        std::map<int, long> out;
        Json::Value st = parse(cli(host, "status --json").out);
        for (const Json::Value& w : st["workers"])
            out[w["worker_id"].asInt()] = static_cast<long>(w[field].asInt64());
        return out;
    }
    // A metric of /metrics summed over the host's workers.
    static long metric(const std::string& http_host, const std::string& name) {
        HttpConn h;
        if (!h.connect(http_host, 4237)) return -1;
        std::string text = h.get("/metrics");
        long sum = 0;
        for (size_t at = text.find("\n" + name + "{"); at != std::string::npos;
             at = text.find("\n" + name + "{", at + 1))
            sum += atol(text.c_str() + text.find("} ", at) + 2);
        return sum;
    }
    static void ok(HttpConn& h, const std::string& target) {
        int status = 0;
        std::string body = h.get(target, &status);
        EXPECT_EQ(status, 200) << target << ": " << body << h.error();
        EXPECT_EQ(body, "ok") << target;
    }
    static Json::Value query(HttpConn& h, const std::string& target) {
        Json::Value v = parse(h.get(target));
        EXPECT_TRUE(v["complete"].asBool()) << target << ": " << v;
        EXPECT_EQ(v["answered"].asInt(), 2 * kWorkersPerHost) << target << ": " << v;
        return v;
    }
    HttpConn http1, http2;
};

TEST_F(ClusterUsers, OperationsThroughOneHttpHostPushesThroughTheOther) {
    auto a = connect_client(kWsHosts[1], 4236);  // on ws2
    auto b = connect_client(kWsHosts[0], 4236);  // on ws1
    auto c = connect_client(kWsHosts[1], 4236);  // on ws2, joins nothing
    ASSERT_EQ(a->id.rfind("ws2-", 0), 0u) << a->id;
    ok(http1, "/api/bind_uid?client_id=" + a->id + "&uid=x");
    ok(http1, "/api/bind_uid?client_id=" + b->id + "&uid=x");
    ok(http1, "/api/join_group?client_id=" + a->id + "&group=gx");
    ok(http2, "/api/set_session?client_id=" + a->id + "&session=%7B%22h%22%3A2%7D");
    Json::Value v = parse(http1.get("/api/get_session?client_id=" + a->id));
    EXPECT_EQ(v["session"]["h"].asInt(), 2) << v;

    v = query(http2, "/api/uid_clients?uid=x");
    EXPECT_EQ(string_set(v["client_ids"]), (std::set<std::string>{a->id, b->id})) << v;
    EXPECT_EQ(query(http1, "/api/group_count?group=gx")["count"].asInt(), 1);
    EXPECT_EQ(query(http1, "/api/client_count")["count"].asInt(), 3);

    ok(http2, "/?to_uid=x&to_group=gx&content=both");  // a is in both: once
    ok(http2, "/?to_uid=x&exclude=" + b->id + "&content=not-b");
    // The marker through the pushes' host: two publishers' events may interleave either way.
    ok(http2, "/?content=END");
    EXPECT_EQ(until_marker(*a->ws, "END"), (std::vector<std::string>{"both", "not-b"}));
    EXPECT_EQ(until_marker(*b->ws, "END"), std::vector<std::string>{"both"});
    EXPECT_EQ(until_marker(*c->ws, "END"), std::vector<std::string>{});

    // The join -> push race, the operation through http1's connection and the
    // push on the same connection: every ws host has to be subscribed.
    std::vector<std::unique_ptr<Client>> pair;
    pair.push_back(std::move(a));
    pair.push_back(std::move(b));
    join_push_race("127.0.0.4", 4237, pair, 30, "cl");

    EXPECT_EQ(until_marker(*c->ws, "race-end-cl"), std::vector<std::string>{});
    ok(http1, "/api/close_client?client_id=" + c->id);
    EXPECT_EQ(c->ws->recv().opcode, 0x8);
}

TEST_F(ClusterUsers, PushToAUserIsReadOnlyByTheWorkersHoldingIt) {
    // Clients until every one of the 8 workers holds some.
    std::map<std::pair<int, int>, std::vector<std::unique_ptr<Client>>> by;  // (host, worker)
    for (int i = 0; i < 400 && by.size() < 2u * kWorkersPerHost; ++i) {
        int host = i % 2;
        auto c = connect_client(kWsHosts[host], 4236);
        ASSERT_GE(c->worker, 0);
        by[{host, c->worker}].push_back(std::move(c));
    }
    ASSERT_EQ(by.size(), 2u * kWorkersPerHost) << "some worker got no client";
    // The user's clients: on worker 1 of ws1 (two of them if it has two) and worker 3 of ws2.
    std::set<std::pair<int, int>> owners = {{0, 1}, {1, 3}};
    std::vector<Client*> mine;
    for (auto& o : owners)
        for (size_t k = 0; k < std::min<size_t>(2, by[o].size()); ++k)
            mine.push_back(by[o][k].get());
    for (Client* c : mine) ok(http1, "/api/bind_uid?client_id=" + c->id + "&uid=routed");

    auto routed = [&](int host) { return stat(host ? "ws2" : "ws1", "bus_routed_in"); };
    std::map<int, long> before[2] = {routed(0), routed(1)};
    std::map<int, long> pub_before = stat("http2", "bus_publishes");
    long metric_before = metric("127.0.0.5", "pusher_bus_publishes_total");
    ASSERT_EQ(before[0].size(), static_cast<size_t>(kWorkersPerHost));
    ASSERT_EQ(before[1].size(), static_cast<size_t>(kWorkersPerHost));
    ok(http2, "/?to_uid=routed&content=to-routed");
    std::map<int, long> pub_after = stat("http2", "bus_publishes");
    long published = 0;
    for (auto& [w, n] : pub_after) published += n - pub_before[w];
    EXPECT_EQ(published, 1);
    EXPECT_EQ(metric("127.0.0.5", "pusher_bus_publishes_total") - metric_before, 1);
    for (Client* c : mine) EXPECT_EQ(c->ws->recv_text(), "to-routed") << c->id;

    // Each owner read it once from the bus; nobody else read it at all.
    for (int host = 0; host < 2; ++host) {
        std::map<int, long> after = routed(host);
        for (int w = 0; w < kWorkersPerHost; ++w) {
            long grew = after[w] - before[host][w];
            EXPECT_EQ(grew, owners.count({host, w}) ? 1 : 0) << "ws" << host + 1 << " worker " << w;
        }
    }
    ok(http1, "/?content=END");
    for (auto& entry : by)  // the user's clients: nothing more either
        for (auto& c : entry.second)
            EXPECT_EQ(until_marker(*c->ws, "END"), std::vector<std::string>{}) << c->id;
}

}  // namespace
