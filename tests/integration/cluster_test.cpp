// The original's five-host layout on loopback addresses, started with the
// shipped configs (config/cluster/): one channel host, two ws hosts, two http
// hosts, each a separate pusher instance driven through the CLI.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/php.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;

namespace {

class ClusterTest : public ::testing::Test {
  protected:
    std::string run_dir;
    void SetUp() override {
        char tmpl[] = "/tmp/pusher-cluster-XXXXXX";
        run_dir = mkdtemp(tmpl);
        // Copies of the shipped configs: their pid, log and status files are
        // kept beside them, here, not in the source tree.
        run("cp " + source_dir() + "/config/cluster/*.json " + run_dir);
        for (const char* host : {"channel", "ws1", "ws2", "http1", "http2"}) {
            CmdResult r = cli(host, "start -d -q");
            ASSERT_EQ(r.code, 0) << host << ": " << r.out;
        }
        for (const char* h : {"127.0.0.4", "127.0.0.5"}) ASSERT_TRUE(healthy(h));
    }
    void TearDown() override {
        for (const char* host : {"http2", "http1", "ws2", "ws1", "channel"}) cli(host, "stop -q");
        run("rm -rf " + run_dir);
    }
    CmdResult cli(const std::string& host, const std::string& args) {
        return run(pusher_bin() + " " + args + " -c " + run_dir + "/" + host + ".json");
    }
    static std::string get(const std::string& host, const std::string& target,
                           int* status = nullptr) {
        std::string r = http_request(
            host, 4237, "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        if (status) *status = r.size() > 12 ? atoi(r.c_str() + 9) : 0;
        size_t h = r.find("\r\n\r\n");
        return h == std::string::npos ? "" : r.substr(h + 4);
    }
    static bool healthy(const std::string& http_host) {
        for (int i = 0; i < 300; ++i) {
            int status = 0;
            get(http_host, "/healthz", &status);
            if (status == 200) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling other processes
        }
        return false;
    }
    // Clients spread over both ws hosts and every worker of each.
    std::vector<std::unique_ptr<WsClient>> connect_all(std::vector<std::string>* welcomes) {
        std::vector<std::unique_ptr<WsClient>> out;
        for (const char* host : {"127.0.0.2", "127.0.0.3"})
            for (int i = 0; i < 6; ++i) {
                auto c = std::make_unique<WsClient>();
                EXPECT_TRUE(c->connect(host, 4236)) << c->error();
                welcomes->push_back(c->recv_text());
                out.push_back(std::move(c));
            }
        return out;
    }
    bool ws_hosts_subscribed() {
        for (const char* h : {"ws1", "ws2"}) {
            for (int i = 0; i < 300; ++i) {
                CmdResult s = cli(h, "status --json");
                if (s.out.find("\"channel_connected\" : false") == std::string::npos &&
                    s.out.find("\"channel_connected\" : true") != std::string::npos)
                    break;
                if (i == 299) return false;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
        return true;
    }
};

TEST_F(ClusterTest, BroadcastThroughEitherHttpHostReachesEveryClientOnce) {
    std::vector<std::string> welcomes;
    auto clients = connect_all(&welcomes);
    ASSERT_TRUE(ws_hosts_subscribed());
    EXPECT_EQ(get("127.0.0.4", "/?content=via-http1"), "ok");
    EXPECT_EQ(get("127.0.0.5", "/?content=via-http2"), "ok");
    // Two publishers on two hosts: each message once, in either order (the
    // bus orders them as their links deliver them, not as the answers came).
    for (auto& c : clients) {
        std::set<std::string> got = {c->recv_text(), c->recv_text()};
        EXPECT_EQ(got, (std::set<std::string>{"via-http1", "via-http2"}));
        EXPECT_EQ(c->recv(100).opcode, -1);  // exactly once
    }
}

TEST_F(ClusterTest, LegacyTargetedPushReachesWorkerWOfEveryWsHost) {
    std::vector<std::string> welcomes;
    auto clients = connect_all(&welcomes);
    ASSERT_TRUE(ws_hosts_subscribed());
    // As the original: published on channel W; worker W of every host looks up C.
    int w = -1;
    long c = -1;
    sscanf(welcomes[0].c_str(), "workerID:%d connectionID:%ld", &w, &c);
    EXPECT_EQ(get("127.0.0.4", "/?to_worker_id=" + std::to_string(w) +
                                   "&to_connection_id=" + std::to_string(c) + "&content=legacy"),
              "ok");
    int got = 0;
    for (size_t i = 0; i < clients.size(); ++i) {
        if (welcomes[i] == welcomes[0]) {
            EXPECT_EQ(clients[i]->recv_text(), "legacy");
            ++got;
        } else {
            EXPECT_EQ(clients[i]->recv(100).opcode, -1);
        }
    }
    EXPECT_GE(got, 1);  // ids collide across hosts, as in the original
}

TEST_F(ClusterTest, ClientIdReachesExactlyOneAndDiesWithItsHost) {
    cli("ws1", "stop -q");
    cli("ws2", "stop -q");
    // JSON welcomes carry client ids: restart the ws hosts with the switch on.
    for (const char* h : {"ws1", "ws2"}) {
        std::string cfg = run_dir + "/" + h + ".json";
        run("sed 's/\"node_name\"/\"welcome\": \"json\", \"node_name\"/' " + source_dir() +
            "/config/cluster/" + h + ".json > " + cfg);
        CmdResult r = run("cd " + run_dir + " && " + pusher_bin() + " start -d -q -c " + cfg);
        ASSERT_EQ(r.code, 0) << r.out;
    }
    auto json_cli = [&](const char* h, const char* args) {
        return run("cd " + run_dir + " && " + pusher_bin() + " " + args + " -c " + run_dir + "/" +
                   h + ".json");
    };
    // Every worker of a ws host connected and subscribed (polling other processes).
    auto await_subscribed = [&](const char* h) {
        for (int i = 0;
             i < 300 && json_cli(h, "status --json").out.find("\"channel_connected\" : false") !=
                            std::string::npos;
             ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    };
    std::vector<std::unique_ptr<WsClient>> clients;
    std::vector<std::string> ids;
    for (const char* host : {"127.0.0.2", "127.0.0.3"})
        for (int i = 0; i < 4; ++i) {
            auto c = std::make_unique<WsClient>();
            ASSERT_TRUE(c->connect(host, 4236));
            std::string w = c->recv_text();
            size_t k = w.find("\"client_id\":\"") + 13;
            ids.push_back(w.substr(k, w.find('"', k) - k));
            clients.push_back(std::move(c));
        }
    await_subscribed("ws1");
    await_subscribed("ws2");
    EXPECT_EQ(get("127.0.0.5", "/?to_client_id=" + ids[5] + "&content=only-five"), "ok");
    for (size_t i = 0; i < clients.size(); ++i) {
        if (i == 5)
            EXPECT_EQ(clients[i]->recv_text(), "only-five");
        else
            EXPECT_EQ(clients[i]->recv(80).opcode, -1);
    }
    // The owning ws host restarts: its old ids must reach nobody, new clients included.
    ASSERT_EQ(json_cli("ws2", "restart -d -q").code, 0);
    auto fresh = std::make_unique<WsClient>();
    ASSERT_TRUE(fresh->connect("127.0.0.3", 4236));
    fresh->recv_text();
    await_subscribed("ws2");
    EXPECT_EQ(get("127.0.0.4", "/?to_client_id=" + ids[5] + "&content=stale"), "ok");
    EXPECT_EQ(get("127.0.0.4", "/?content=marker"), "ok");
    EXPECT_EQ(fresh->recv_text(), "marker");  // the stale push, had it arrived, would come first
    json_cli("ws1", "stop -q");
    json_cli("ws2", "stop -q");
}

}  // namespace
