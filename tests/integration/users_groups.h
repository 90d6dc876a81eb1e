// Shared by the tests of users, groups and presence (issue 14) on the Channel
// bus (users_groups_test.cpp, cluster_users_test.cpp) and the Redis engine
// (redis_users_test.cpp): JSON answers, client ids, and the join -> push race
// on one keep-alive API connection.
#pragma once
#include <gtest/gtest.h>
#include <json/json.h>

#include <algorithm>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/http_conn.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

namespace pusher::testing::users {

inline Json::Value parse(const std::string& s) {
    Json::Value v;
    Json::CharReaderBuilder b;
    std::string errs;
    std::istringstream in(s);
    if (!Json::parseFromStream(b, in, &v, &errs)) return Json::Value();
    return v;
}

inline std::set<std::string> string_set(const Json::Value& a) {
    std::set<std::string> out;
    for (const Json::Value& s : a) out.insert(s.asString());
    return out;
}

// A raw client with its JSON welcome's client id and worker.
struct Client {
    std::unique_ptr<WsClient> ws = std::make_unique<WsClient>();
    std::string id;
    int worker = -1;
};

inline std::unique_ptr<Client> connect_client(const std::string& host, int port) {
    auto c = std::make_unique<Client>();
    EXPECT_TRUE(c->ws->connect(host, port)) << c->ws->error();
    Json::Value w = parse(c->ws->recv_text());
    EXPECT_EQ(w["type"].asString(), "welcome");
    c->id = w["client_id"].asString();
    c->worker = w["worker_id"].asInt();
    return c;
}

// One client on each of the workers 0 .. workers-1 (connecting until each has one).
inline std::vector<std::unique_ptr<Client>> one_per_worker(const std::string& host, int port,
                                                           int workers) {
    std::vector<std::unique_ptr<Client>> by_worker(static_cast<size_t>(workers));
    std::vector<std::unique_ptr<Client>> extra;  // kept open: they steer the next connects
    for (int i = 0; i < 40 * workers; ++i) {
        auto c = connect_client(host, port);
        if (c->worker < 0 || c->worker >= workers) break;
        auto& slot = by_worker[static_cast<size_t>(c->worker)];
        if (!slot)
            slot = std::move(c);
        else
            extra.push_back(std::move(c));
        bool all = true;
        for (auto& s : by_worker) all = all && s;
        if (all) return by_worker;
    }
    ADD_FAILURE() << "no client landed on some worker";
    return {};
}

// Text frames until `marker` (excluded); a timeout or a close ends it, with
// "<timeout>" or "<closed>" appended.
inline std::vector<std::string> until_marker(WsClient& ws, const std::string& marker,
                                             int timeout_ms = 5000) {
    std::vector<std::string> got;
    for (;;) {
        WsFrame f = ws.recv(timeout_ms);
        if (f.opcode == -1) return got.push_back("<timeout>"), got;
        if (f.opcode < 0 || f.opcode == 0x8) return got.push_back("<closed>"), got;
        if (f.opcode != 0x1) continue;
        if (f.payload == marker) return got;
        got.push_back(f.payload);
    }
}

// For buses that do not keep the order of different channels (the sharded
// Redis engine): texts until `marker` has come and `n` others have, then
// whatever else comes within 300 ms; the others, sorted ("<timeout>" added if
// they fell short).
inline std::vector<std::string> collect_sorted(WsClient& ws, const std::string& marker, size_t n,
                                               int timeout_ms = 5000) {
    std::vector<std::string> got;
    bool marked = false;
    for (;;) {
        bool enough = marked && got.size() >= n;
        WsFrame f = ws.recv(enough ? 300 : timeout_ms);
        if (f.opcode == -1) {
            if (!enough) got.push_back("<timeout>");
            break;
        }
        if (f.opcode < 0 || f.opcode == 0x8) {
            got.push_back("<closed>");
            break;
        }
        if (f.opcode != 0x1) continue;
        if (f.payload == marker && !marked)
            marked = true;
        else
            got.push_back(f.payload);
    }
    std::sort(got.begin(), got.end());
    return got;
}

// The join -> push race, 3 x rounds times, on one keep-alive connection to the
// publish API: join_group then to_group (a fresh group each round), bind_uid
// then to_uid (a fresh user), and join (answered) then leave_group then
// to_group, each pair sent three ways: the second request after the first's
// answer, right after the first (two writes), and both in one write. Every
// push after a join or bind must arrive, none after a leave; the clients
// alternate between the given ones (one per worker).
inline void join_push_race(const std::string& http_host, int http_port,
                           std::vector<std::unique_ptr<Client>>& clients, int rounds,
                           const std::string& tag) {
    ASSERT_FALSE(clients.empty());
    HttpConn api;
    ASSERT_TRUE(api.connect(http_host, http_port));
    std::vector<std::vector<std::string>> expected(clients.size());
    auto pair = [&](int round, const std::string& first, const std::string& second) {
        std::string a = HttpConn::get_request(first), b = HttpConn::get_request(second);
        int s1 = 0, s2 = 0;
        std::string r1, r2;
        switch (round % 3) {
            case 0:
                ASSERT_TRUE(api.send(a) && api.read(&s1, &r1)) << api.error();
                ASSERT_TRUE(api.send(b) && api.read(&s2, &r2)) << api.error();
                break;
            case 1:
                ASSERT_TRUE(api.send(a) && api.send(b)) << api.error();
                ASSERT_TRUE(api.read(&s1, &r1) && api.read(&s2, &r2)) << api.error();
                break;
            default:
                ASSERT_TRUE(api.send(a + b)) << api.error();
                ASSERT_TRUE(api.read(&s1, &r1) && api.read(&s2, &r2)) << api.error();
        }
        EXPECT_EQ(s1, 200) << first << ": " << r1;
        EXPECT_EQ(r1, "ok") << first;
        EXPECT_EQ(s2, 200) << second << ": " << r2;
        EXPECT_EQ(r2, "ok") << second;
    };
    for (int i = 0; i < rounds; ++i) {
        size_t k = static_cast<size_t>(i) % clients.size();
        const std::string& id = clients[k]->id;
        std::string n = tag + std::to_string(i);
        std::string join = "j-" + n, user = "b-" + n, left = "l-" + n;
        pair(i, "/api/join_group?client_id=" + id + "&group=g-" + n,
             "/?to_group=g-" + n + "&content=" + join);
        expected[k].push_back(join);
        pair(i, "/api/bind_uid?client_id=" + id + "&uid=u-" + n,
             "/?to_uid=u-" + n + "&content=" + user);
        expected[k].push_back(user);
        ASSERT_EQ(api.get("/api/join_group?client_id=" + id + "&group=lg-" + n), "ok");
        pair(i, "/api/leave_group?client_id=" + id + "&group=lg-" + n,
             "/?to_group=lg-" + n + "&content=" + left);
        if (::testing::Test::HasFatalFailure()) return;
    }
    ASSERT_EQ(api.get("/?content=race-end-" + tag), "ok");
    for (size_t k = 0; k < clients.size(); ++k) {
        std::sort(expected[k].begin(), expected[k].end());
        EXPECT_EQ(collect_sorted(*clients[k]->ws, "race-end-" + tag, expected[k].size()),
                  expected[k])
            << "client " << clients[k]->id;
    }
}

}  // namespace pusher::testing::users
