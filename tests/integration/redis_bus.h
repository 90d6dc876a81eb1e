// Shared by the integration tests of the Redis bus engine (redis_bus_test.cpp,
// redis_layout_test.cpp, redis_faults_test.cpp): the bus config, clients that
// know their welcome, status --json sums, and a collector that records every
// text frame a client gets (for the fault tests' published / delivered /
// counted comparison).
#pragma once
#include <gtest/gtest.h>
#include <json/json.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

namespace pusher::testing::redis_bus {

// Small probe settings keep the fault tests quick: a dead subscription is
// found within probe_interval + probe_timeout = 2 s.
constexpr double kProbeInterval = 0.5, kProbeTimeout = 1.5;

inline std::string bus(const std::string& mode, const std::vector<std::string>& servers,
                       const std::string& extra = "") {
    std::string s = "{\"engine\": \"redis\", \"mode\": \"" + mode + "\", \"servers\": [";
    for (size_t i = 0; i < servers.size(); ++i) s += (i ? ", \"" : "\"") + servers[i] + "\"";
    char probe[96];
    snprintf(probe, sizeof probe, "], \"probe_interval\": %g, \"probe_timeout\": %g",
             kProbeInterval, kProbeTimeout);
    return s + probe + extra + "}";
}

inline int health(const PusherInstance& p, std::string* body = nullptr) {
    int status = 0;
    std::string b = p.http_get("/healthz", &status);
    if (body) *body = b;
    return status;
}

// A numeric field summed over every live worker (e.g. "bus_dropped"); -1 if
// status --json named no worker.
inline long sum_workers(PusherInstance& p, const std::string& field) {
    long sum = 0;
    Json::Value st = status_json(p);  // kept: a range-for over a temporary's member dangles
    if (st["workers"].empty()) return -1;
    for (const Json::Value& w : st["workers"])
        if (w[field].isNumeric()) sum += static_cast<long>(w[field].asInt64());
    return sum;
}

// A field per worker, as "name[id]=value ...", for failure messages.
inline std::string per_worker(PusherInstance& p, const std::string& field) {
    std::string s;
    Json::Value st = status_json(p);
    for (const Json::Value& w : st["workers"])
        s += w["name"].asString() + "[" + w["worker_id"].asString() + "]=" +
             (w[field].isNumeric() ? std::to_string(w[field].asInt64()) : w[field].asString()) +
             " ";
    return s;
}

inline long ms_since(std::chrono::steady_clock::time_point t0) {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count());
}

// A WebSocket client with what its welcome said (text or JSON welcome).
struct Client {
    std::unique_ptr<WsClient> ws = std::make_unique<WsClient>();
    std::string welcome;
    int worker = -1;
    long conn = -1;
    std::string id;  // JSON welcome only
};

inline std::unique_ptr<Client> connect_client(const std::string& host, int port) {
    auto c = std::make_unique<Client>();
    EXPECT_TRUE(c->ws->connect(host, port)) << c->ws->error();
    c->welcome = c->ws->recv_text();
    if (!c->welcome.empty() && c->welcome[0] == '{') {
        Json::Value w;
        Json::CharReaderBuilder b;
        std::string errs;
        std::istringstream in(c->welcome);
        if (Json::parseFromStream(b, in, &w, &errs) && w["type"].asString() == "welcome") {
            c->worker = w["worker_id"].asInt();
            c->conn = static_cast<long>(w["connection_id"].asInt64());
            c->id = w["client_id"].asString();
        }
    } else {
        sscanf(c->welcome.c_str(), "workerID:%d connectionID:%ld connected", &c->worker, &c->conn);
    }
    EXPECT_GE(c->worker, 0) << "welcome: " << c->welcome;
    return c;
}

// n clients, until both workers (0 and 1) have some (at most 4n tries).
inline std::vector<std::unique_ptr<Client>> connect_spread(const std::string& host, int port,
                                                           int n) {
    std::vector<std::unique_ptr<Client>> out;
    std::set<int> workers;
    for (int i = 0; i < 4 * n && (static_cast<int>(out.size()) < n || workers.size() < 2); ++i) {
        out.push_back(connect_client(host, port));
        workers.insert(out.back()->worker);
    }
    EXPECT_GE(workers.size(), 2u) << "every client landed on one worker";
    return out;
}

// Records every text frame its client receives, on a thread of its own, until
// stopped (the client is then the collector's alone).
class Collector {
  public:
    explicit Collector(WsClient& ws) : ws_(ws), thread_([this] { loop(); }) {}
    ~Collector() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::vector<std::string> got() const {
        std::lock_guard<std::mutex> l(m_);
        return got_;
    }
    bool has(const std::string& m) const {
        std::lock_guard<std::mutex> l(m_);
        for (auto& g : got_)
            if (g == m) return true;
        return false;
    }
    // When the first frame whose text starts with prefix arrived (*found: whether one did).
    std::chrono::steady_clock::time_point first_at(const std::string& prefix, bool* found) const {
        std::lock_guard<std::mutex> l(m_);
        for (size_t i = 0; i < got_.size(); ++i)
            if (got_[i].rfind(prefix, 0) == 0) {
                *found = true;
                return at_[i];
            }
        *found = false;
        return {};
    }
    bool closed() const { return closed_; }

  private:
    void loop() {
        while (!stop_) {
            WsFrame f = ws_.recv(50);
            if (f.opcode == -1) continue;
            if (f.opcode < 0) {
                closed_ = true;
                return;
            }
            if (f.opcode != 0x1) continue;
            std::lock_guard<std::mutex> l(m_);
            got_.push_back(f.payload);
            at_.push_back(std::chrono::steady_clock::now());
        }
    }
    WsClient& ws_;
    mutable std::mutex m_;
    std::vector<std::string> got_;
    std::vector<std::chrono::steady_clock::time_point> at_;
    std::atomic<bool> stop_{false}, closed_{false};
    std::thread thread_;
};

// got must be published's messages in published's order, each at most once
// (nothing unknown, no duplicate, no reordering). Returns how many arrived;
// -1 (and a test failure naming the client) otherwise.
inline long check_sequence(const std::vector<std::string>& published,
                           const std::vector<std::string>& got, const std::string& who) {
    std::unordered_map<std::string, size_t> index;
    for (size_t i = 0; i < published.size(); ++i) index[published[i]] = i;
    long last = -1;
    std::set<std::string> seen;
    for (const std::string& m : got) {
        auto it = index.find(m);
        if (it == index.end()) {
            ADD_FAILURE() << who << ": got '" << m << "', never published";
            return -1;
        }
        if (!seen.insert(m).second) {
            ADD_FAILURE() << who << ": got '" << m << "' twice";
            return -1;
        }
        if (static_cast<long>(it->second) < last) {
            ADD_FAILURE() << who << ": got '" << m << "' after '" << published[last]
                          << "': out of order";
            return -1;
        }
        last = static_cast<long>(it->second);
    }
    return static_cast<long>(got.size());
}

}  // namespace pusher::testing::redis_bus
