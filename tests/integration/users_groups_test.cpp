// Users, groups and presence (issue 14) on one host with two ws workers and
// JSON welcomes: every operation and push kind from real Python `websockets`
// clients (tests/clients/py_pool.py, Debian's python3-websockets), exactly-once
// delivery to a client in several targets, exclude, errors, GatewayWorker's
// aliases, close_client, sessions, the join -> push race on one keep-alive
// API connection, and presence answers that follow clients as they come and go.
#include "tests/integration/users_groups.h"

#include <gtest/gtest.h>
#include <json/json.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/support/http_conn.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;
using namespace pusher::testing::users;

namespace {

std::string src_dir() {
    const char* s = getenv("PUSHER_SRC");
    return s ? s : ".";
}

// tests/clients/py_pool.py: real Python clients that report what each got.
class PyPool {
  public:
    PyPool(int port, int clients, const std::string& marker) {
        std::string cmd = "/usr/bin/python3 " + src_dir() + "/tests/clients/py_pool.py " +
                          std::to_string(port) + " " + std::to_string(clients) + " 2 " + marker +
                          " 2>&1";
        f_ = popen(cmd.c_str(), "r");
        std::string line = read_line();
        welcomes_ = parse(line);
        if (!welcomes_.isArray()) ADD_FAILURE() << "py_pool.py: " << line;
        // Interleaved by worker: clients 0 and 1 are on different workers.
        std::vector<Json::Value::ArrayIndex> by[2];
        for (Json::Value::ArrayIndex i = 0; i < welcomes_.size(); ++i)
            by[welcomes_[i]["worker_id"].asInt() ? 1 : 0].push_back(i);
        for (size_t k = 0; k < std::max(by[0].size(), by[1].size()); ++k)
            for (auto& b : by)
                if (k < b.size()) order_.push_back(b[k]);
    }
    ~PyPool() {
        if (f_) pclose(f_);
    }
    bool ok() const { return welcomes_.isArray() && order_.size() >= 2; }
    size_t size() const { return order_.size(); }
    std::string id(size_t k) const { return welcomes_[order_[k]]["client_id"].asString(); }
    int worker(size_t k) const { return welcomes_[order_[k]]["worker_id"].asInt(); }
    // Once the marker went out: what client k got ({"got": [...], "close": ...}).
    Json::Value result(size_t k) {
        if (results_.isNull()) {
            std::string line = read_line();
            results_ = parse(line);
            if (!results_.isArray()) ADD_FAILURE() << "py_pool.py: " << line;
            pclose(f_);
            f_ = nullptr;
        }
        return results_.isArray() ? results_[order_[k]] : Json::Value();
    }

  private:
    std::string read_line() {
        std::string line;
        char b[65536];
        while (f_ && fgets(b, sizeof b, f_)) {
            line += b;
            if (!line.empty() && line.back() == '\n') break;
        }
        return line;
    }
    FILE* f_ = nullptr;
    Json::Value welcomes_, results_;
    std::vector<Json::Value::ArrayIndex> order_;
};

std::vector<std::string> texts(const Json::Value& a) {
    std::vector<std::string> out;
    for (const Json::Value& s : a) out.push_back(s.asString());
    return out;
}

class UsersGroups : public ::testing::Test {
  protected:
    void SetUp() override { start("\"welcome\": \"json\", \"api_timeout\": 0.5,"); }
    void start(const std::string& extra) {
        p = std::make_unique<PusherInstance>(extra, 2);
        ASSERT_EQ(p->start().code, 0);
        ASSERT_TRUE(p->wait_healthy());
        ASSERT_TRUE(api.connect("127.0.0.1", p->http_port));
    }
    // An operation or push that must answer "ok".
    void ok(const std::string& target, const std::string& headers = "") {
        int status = 0;
        std::string body = api.get(target, &status, headers);
        EXPECT_EQ(status, 200) << target << ": " << body << api.error();
        EXPECT_EQ(body, "ok") << target;
    }
    int status_of(const std::string& target, std::string* body = nullptr,
                  const std::string& headers = "") {
        int status = 0;
        std::string b = api.get(target, &status, headers);
        if (body) *body = b;
        return status;
    }
    // A presence query: its JSON, which must cover both ws workers.
    Json::Value query(const std::string& target) {
        int status = 0;
        std::string body = api.get(target, &status);
        EXPECT_EQ(status, 200) << target << ": " << body;
        Json::Value v = parse(body);
        EXPECT_TRUE(v["complete"].asBool()) << target << ": " << body;
        EXPECT_EQ(v["workers"].asInt(), 2) << target << ": " << body;
        EXPECT_EQ(v["answered"].asInt(), 2) << target << ": " << body;
        return v;
    }
    // The publish API has heard both ws workers' roster announcements.
    bool roster_known() {
        return eventually(
            [&] {
                Json::Value v = parse(api.get("/api/client_count"));
                return v["complete"].asBool() && v["workers"].asInt() == 2;
            },
            10000, 100);
    }
    long client_count() { return parse(api.get("/api/client_count"))["count"].asInt64(); }
    std::unique_ptr<PusherInstance> p;
    HttpConn api;
};

TEST_F(UsersGroups, EveryPushKindReachesExactlyItsRecipientsOnce) {
    PyPool py(p->ws_port, 8, "END");
    ASSERT_TRUE(py.ok());
    ASSERT_GE(py.size(), 8u);
    ASSERT_NE(py.worker(0), py.worker(1));
    auto id = [&](size_t k) { return py.id(k); };
    ok("/api/bind_uid?client_id=" + id(0) + "&uid=alice");
    ok("/api/bindUid?client_id=" + id(1) + "&uid=alice");  // GatewayWorker's name
    ok("/api/bind_uid?client_id=" + id(2) + "&uid=bob");
    ok("/api/bind_uid?client_id=" + id(3) + "&uid=carol");
    ok("/api/unbind_uid?client_id=" + id(3));
    ok("/api/bind_uid?client_id=" + id(4) + "&uid=dave");
    for (size_t k : {0, 2, 4}) ok("/api/join_group?client_id=" + id(k) + "&group=red");
    for (size_t k : {1, 4, 5}) ok("/api/joinGroup?client_id=" + id(k) + "&group=blue");
    ok("/api/join_group?client_id=" + id(6) + "&group=green");
    ok("/api/leave_group?client_id=" + id(6) + "&group=green");

    std::map<size_t, std::vector<std::string>> want;
    auto push = [&](const std::string& query, const std::string& content, std::vector<size_t> to) {
        ok("/?" + query + "&content=" + content);
        for (size_t k : to) want[k].push_back(content);
    };
    push("to_uid=alice", "P1", {0, 1});
    push("to_uid=alice,bob", "P2", {0, 1, 2});
    push("to_group=red", "P3", {0, 2, 4});
    push("to_group[]=red&to_group[]=blue", "P4", {0, 1, 2, 4, 5});
    // Client 4 is in red, in blue and is dave; client 0 is alice and in red: once each.
    push("to_uid=alice,dave&to_group=red,blue", "P5", {0, 1, 2, 4, 5});
    push("to_group=red&exclude=" + id(0), "P6", {2, 4});
    push("to_uid=alice,bob&to_group=blue&exclude=" + id(1) + "," + id(4), "P7", {0, 2, 5});
    std::vector<size_t> all_but_01;
    for (size_t k = 2; k < py.size(); ++k) all_but_01.push_back(k);
    push("exclude=" + id(0) + "," + id(1), "P8", all_but_01);  // everyone but those
    push("to_client_id=" + id(6) + "," + id(7), "P9", {6, 7});
    push("to_uid=carol", "P10", {});    // unbound
    push("to_group=green", "P11", {});  // left
    // A JSON body and a form body.
    std::string json = "{\"to_uid\":[\"bob\"],\"to_group\":[\"blue\"],\"content\":\"P12\"}";
    int status = 0;
    std::string body;
    ASSERT_TRUE(
        api.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: " +
                 std::to_string(json.size()) + "\r\n\r\n" + json));
    ASSERT_TRUE(api.read(&status, &body)) << api.error();
    EXPECT_EQ(body, "ok");
    for (size_t k : {1, 2, 4, 5}) want[k].push_back("P12");
    std::string form = "to_uid=dave&to_group=red&content=P13";
    ASSERT_TRUE(
        api.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 "application/x-www-form-urlencoded\r\nContent-Length: " +
                 std::to_string(form.size()) + "\r\n\r\n" + form));
    ASSERT_TRUE(api.read(&status, &body)) << api.error();
    EXPECT_EQ(body, "ok");
    for (size_t k : {0, 2, 4}) want[k].push_back("P13");
    ok("/?content=END");  // after everything above, to everyone

    for (size_t k = 0; k < py.size(); ++k) {
        Json::Value r = py.result(k);
        std::vector<std::string> expected = want[k];
        expected.push_back("END");
        EXPECT_EQ(texts(r["got"]), expected) << "client " << k << " " << id(k);
        EXPECT_TRUE(r["close"].isNull()) << r;
    }
}

TEST_F(UsersGroups, SessionsAndCloseClient) {
    PyPool py(p->ws_port, 3, "END");
    ASSERT_TRUE(py.ok());
    std::string a = py.id(0), b = py.id(1), c = py.id(2);
    ok("/api/set_session?client_id=" + a + "&session=%7B%22n%22%3A1%2C%22name%22%3A%22x%22%7D");
    std::string body;
    EXPECT_EQ(status_of("/api/get_session?client_id=" + a, &body), 200);
    Json::Value s = parse(body);
    EXPECT_EQ(s["client_id"].asString(), a) << body;
    EXPECT_EQ(s["session"]["n"].asInt(), 1) << body;
    EXPECT_EQ(s["session"]["name"].asString(), "x") << body;
    EXPECT_EQ(s["session"].size(), 2u) << body;
    EXPECT_EQ(status_of("/api/getSession?client_id=" + b, &body), 200);
    EXPECT_TRUE(parse(body)["session"].isNull()) << body;
    EXPECT_TRUE(parse(body).isMember("session")) << body;
    // setSession / updateSession replace it.
    ok("/api/updateSession?client_id=" + a + "&session=%7B%22k%22%3A%22v%22%7D");
    EXPECT_EQ(status_of("/api/get_session?client_id=" + a, &body), 200);
    EXPECT_EQ(parse(body)["session"], parse("{\"k\":\"v\"}")) << body;

    ok("/api/close_client?client_id=" + b);
    ok("/api/closeClient?client_id=" + c);
    ok("/?content=END");
    EXPECT_EQ(texts(py.result(0)["got"]), std::vector<std::string>{"END"});
    EXPECT_TRUE(py.result(0)["close"].isNull());
    for (size_t k : {1, 2}) {
        Json::Value r = py.result(k);
        EXPECT_EQ(r["got"].size(), 0u) << r;
        EXPECT_EQ(r["close"][0].asInt(), 1000) << r;
        EXPECT_EQ(r["close"][1].asString(), "closed by server") << r;
    }
    // Gone: operations on it find no such client.
    EXPECT_TRUE(eventually([&] { return status_of("/api/get_session?client_id=" + b) == 404; }));
    EXPECT_EQ(status_of("/api/join_group?client_id=" + b + "&group=x", &body), 404);
    EXPECT_EQ(body, "no such client\n");
}

TEST_F(UsersGroups, ErrorsAnswerWithTheirStatusAndKeepTheConnection) {
    auto c = connect_client("127.0.0.1", p->ws_port);
    ASSERT_FALSE(c->id.empty());
    // <node>-<worker>-<connection>-<instance hex>
    size_t i3 = c->id.rfind('-'), i2 = c->id.rfind('-', i3 - 1), i1 = c->id.rfind('-', i2 - 1);
    std::string node = c->id.substr(0, i1), instance = c->id.substr(i3 + 1);
    std::string worker = c->id.substr(i1 + 1, i2 - i1 - 1);
    std::string body;
    EXPECT_EQ(status_of("/api/no_such_op?client_id=" + c->id, &body), 404);
    EXPECT_EQ(body.rfind("no such API operation", 0), 0u) << body;
    EXPECT_EQ(status_of("/api/bind_uid?uid=u"), 400);
    EXPECT_EQ(status_of("/api/bind_uid?client_id=garbage&uid=u"), 400);
    EXPECT_EQ(status_of("/api/bind_uid?client_id=" + c->id), 400);
    EXPECT_EQ(status_of("/api/bind_uid?client_id=" + c->id + "&uid=" + std::string(129, 'x')), 400);
    EXPECT_EQ(status_of("/api/join_group?client_id=" + c->id), 400);
    EXPECT_EQ(status_of("/api/leave_group?client_id=" + c->id + "&group="), 400);
    EXPECT_EQ(status_of("/api/set_session?client_id=" + c->id + "&session=notjson"), 400);
    EXPECT_EQ(status_of("/api/set_session?client_id=" + c->id + "&session=%5B1%5D"), 400);
    EXPECT_EQ(status_of("/api/is_uid_online"), 400);
    EXPECT_EQ(status_of("/api/group_count"), 400);
    EXPECT_EQ(status_of("/api/group_clients?group=" + std::string(129, 'g')), 400);
    EXPECT_EQ(status_of("/?to_uid=" + std::string(129, 'u') + "&content=x"), 400);
    // Well formed, but no such client: another connection, another instance.
    EXPECT_EQ(status_of("/api/bind_uid?client_id=" + node + "-" + worker + "-999999-" + instance +
                            "&uid=u",
                        &body),
              404);
    EXPECT_EQ(body, "no such client\n");
    std::string other = instance == "1" ? "2" : "1";
    EXPECT_EQ(status_of("/api/get_session?client_id=" + node + "-" + worker + "-1-" + other), 404);
    // A worker nobody runs: its owner never answers, 504 after api_timeout (0.5 s).
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(status_of("/api/bind_uid?client_id=" + node + "-7-1-" + instance + "&uid=u", &body),
              504)
        << body;
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_GE(took, 0.4);
    EXPECT_LT(took, 3.0);
    // All of it on one keep-alive connection, which still works.
    ok("/api/bind_uid?client_id=" + c->id + "&uid=u");
    ok("/?to_uid=u&content=still");
    EXPECT_EQ(c->ws->recv_text(), "still");
}

TEST_F(UsersGroups, ApiKeyGuardsOperationsQueriesAndPushes) {
    p.reset();
    start("\"welcome\": \"json\", \"api_key\": \"sekrit\",");
    auto c = connect_client("127.0.0.1", p->ws_port);
    std::string key = "X-Api-Key: sekrit\r\n", bearer = "Authorization: Bearer sekrit\r\n";
    EXPECT_EQ(status_of("/api/bind_uid?client_id=" + c->id + "&uid=k"), 401);
    EXPECT_EQ(
        status_of("/api/bind_uid?client_id=" + c->id + "&uid=k", nullptr, "X-Api-Key: wrong\r\n"),
        401);
    EXPECT_EQ(status_of("/api/client_count"), 401);
    // Refused pushes close the connection (as every publish error does).
    HttpConn other;
    ASSERT_TRUE(other.connect("127.0.0.1", p->http_port));
    int status = 0;
    other.get("/?to_uid=k&content=nokey", &status);
    EXPECT_EQ(status, 401);
    ok("/api/bind_uid?client_id=" + c->id + "&uid=k", key);
    EXPECT_EQ(status_of("/api/is_uid_online?uid=k", nullptr, bearer), 200);
    ok("/?to_uid=k&content=with-key", bearer);
    EXPECT_EQ(c->ws->recv_text(), "with-key");  // not "nokey", which would come first
}

TEST_F(UsersGroups, AliasesAreTheOperationsAndQueries) {
    ASSERT_TRUE(roster_known());
    auto c = connect_client("127.0.0.1", p->ws_port);
    ok("/api/bindUid?client_id=" + c->id + "&uid=al");
    Json::Value v = query("/api/isUidOnline?uid=al");
    EXPECT_TRUE(v["online"].asBool()) << v;
    EXPECT_EQ(string_set(v["client_ids"]), std::set<std::string>{c->id}) << v;
    v = query("/api/getClientIdByUid?uid=al");
    EXPECT_EQ(string_set(v["client_ids"]), std::set<std::string>{c->id}) << v;
    ok("/api/joinGroup?client_id=" + c->id + "&group=ag");
    EXPECT_EQ(query("/api/getClientCountByGroup?group=ag")["count"].asInt(), 1);
    v = query("/api/getClientIdListByGroup?group=ag");
    EXPECT_EQ(string_set(v["client_ids"]), std::set<std::string>{c->id}) << v;
    v = query("/api/getAllUidCount");
    EXPECT_EQ(v["count"].asInt(), 1) << v;
    EXPECT_EQ(string_set(v["uids"]), std::set<std::string>{"al"}) << v;
    EXPECT_EQ(query("/api/getAllClientCount")["count"].asInt(), 1);
    ok("/api/leaveGroup?client_id=" + c->id + "&group=ag");
    EXPECT_EQ(query("/api/getClientCountByGroup?group=ag")["count"].asInt(), 0);
    ok("/api/unbindUid?client_id=" + c->id);
    EXPECT_FALSE(query("/api/isUidOnline?uid=al")["online"].asBool());
    ok("/api/setSession?client_id=" + c->id + "&session=%7B%7D");
    EXPECT_EQ(parse(api.get("/api/getSession?client_id=" + c->id))["session"],
              Json::Value(Json::objectValue));
    ok("/api/closeClient?client_id=" + c->id);
    WsFrame f = c->ws->recv();
    ASSERT_EQ(f.opcode, 0x8);
    ASSERT_GE(f.payload.size(), 2u);
    EXPECT_EQ((uint8_t(f.payload[0]) << 8) | uint8_t(f.payload[1]), 1000);
    EXPECT_EQ(f.payload.substr(2), "closed by server");
}

TEST_F(UsersGroups, JoinOrBindThenPushOnOneConnectionNeverLosesThePush) {
    auto clients = one_per_worker("127.0.0.1", p->ws_port, 2);
    ASSERT_EQ(clients.size(), 2u);
    join_push_race("127.0.0.1", p->http_port, clients, 100, "ch");
}

TEST_F(UsersGroups, PresenceFollowsClientsAsTheyComeAndGo) {
    ASSERT_TRUE(roster_known());
    auto spread = one_per_worker("127.0.0.1", p->ws_port, 2);
    ASSERT_EQ(spread.size(), 2u);
    std::vector<std::unique_ptr<Client>> c;
    for (auto& s : spread) c.push_back(std::move(s));
    for (int i = 0; i < 4; ++i) c.push_back(connect_client("127.0.0.1", p->ws_port));
    ASSERT_TRUE(eventually([&] { return client_count() == 6; }));
    ok("/api/bind_uid?client_id=" + c[0]->id + "&uid=pu");
    ok("/api/bind_uid?client_id=" + c[1]->id + "&uid=pu");
    for (size_t k : {0, 2, 3}) ok("/api/join_group?client_id=" + c[k]->id + "&group=pg");
    Json::Value v = query("/api/is_uid_online?uid=pu");
    EXPECT_TRUE(v["online"].asBool());
    EXPECT_EQ(v["uid"].asString(), "pu");
    EXPECT_EQ(string_set(v["client_ids"]), (std::set<std::string>{c[0]->id, c[1]->id})) << v;
    EXPECT_EQ(string_set(query("/api/uid_clients?uid=pu")["client_ids"]),
              (std::set<std::string>{c[0]->id, c[1]->id}));
    EXPECT_EQ(query("/api/group_count?group=pg")["count"].asInt(), 3);
    EXPECT_EQ(string_set(query("/api/group_clients?group=pg")["client_ids"]),
              (std::set<std::string>{c[0]->id, c[2]->id, c[3]->id}));
    v = query("/api/uid_count");
    EXPECT_EQ(v["count"].asInt(), 1) << v;
    EXPECT_EQ(query("/api/client_count")["count"].asInt(), 6);
    EXPECT_FALSE(query("/api/is_uid_online?uid=nobody")["online"].asBool());
    EXPECT_EQ(query("/api/group_count?group=empty")["count"].asInt(), 0);

    // Two more come.
    c.push_back(connect_client("127.0.0.1", p->ws_port));
    c.push_back(connect_client("127.0.0.1", p->ws_port));
    ok("/api/bind_uid?client_id=" + c[6]->id + "&uid=pu2");
    ok("/api/join_group?client_id=" + c[7]->id + "&group=pg");
    EXPECT_EQ(query("/api/client_count")["count"].asInt(), 8);
    v = query("/api/uid_count");
    EXPECT_EQ(string_set(v["uids"]), (std::set<std::string>{"pu", "pu2"})) << v;
    EXPECT_EQ(query("/api/group_count?group=pg")["count"].asInt(), 4);

    // Client 0 leaves (a FIN): once its server side is gone, it is in no answer.
    c[0]->ws->close();
    ASSERT_TRUE(eventually([&] { return client_count() == 7; }));
    EXPECT_EQ(query("/api/group_count?group=pg")["count"].asInt(), 3);
    EXPECT_EQ(string_set(query("/api/group_clients?group=pg")["client_ids"]),
              (std::set<std::string>{c[2]->id, c[3]->id, c[7]->id}));
    EXPECT_EQ(string_set(query("/api/uid_clients?uid=pu")["client_ids"]),
              std::set<std::string>{c[1]->id});
    // Client 1 is closed by the server: pu is offline.
    ok("/api/close_client?client_id=" + c[1]->id);
    EXPECT_EQ(c[1]->ws->recv().opcode, 0x8);
    c[1]->ws->close();
    ASSERT_TRUE(eventually([&] { return client_count() == 6; }));
    v = query("/api/is_uid_online?uid=pu");
    EXPECT_FALSE(v["online"].asBool()) << v;
    EXPECT_EQ(v["client_ids"].size(), 0u) << v;
    v = query("/api/uid_count");
    EXPECT_EQ(string_set(v["uids"]), std::set<std::string>{"pu2"}) << v;
    // Client 2 resets.
    c[2]->ws->abort();
    ASSERT_TRUE(eventually([&] { return client_count() == 5; }));
    EXPECT_EQ(string_set(query("/api/group_clients?group=pg")["client_ids"]),
              (std::set<std::string>{c[3]->id, c[7]->id}));
    EXPECT_EQ(query("/api/group_count?group=pg")["count"].asInt(), 2);
    // And a push to the group reaches just those.
    ok("/?to_group=pg&content=left");
    EXPECT_EQ(c[3]->ws->recv_text(), "left");
    EXPECT_EQ(c[7]->ws->recv_text(), "left");
    ok("/?content=mark");
    for (size_t k : {4, 5, 6}) EXPECT_EQ(c[k]->ws->recv_text(), "mark");
}

}  // namespace

// The default config's text welcome names a client by worker and connection
// id only: every operation takes that address too (docs/API.md).
class UsersGroupsTextWelcome : public UsersGroups {
  protected:
    void SetUp() override { start("\"api_timeout\": 0.5,"); }
};

TEST_F(UsersGroupsTextWelcome, OperationsByWorkerAndConnectionId) {
    ASSERT_TRUE(roster_known());
    WsClient a, b;
    ASSERT_TRUE(a.connect("127.0.0.1", p->ws_port)) << a.error();
    ASSERT_TRUE(b.connect("127.0.0.1", p->ws_port)) << b.error();
    auto address = [](const std::string& welcome) {
        int w = -1, c = -1;
        EXPECT_EQ(sscanf(welcome.c_str(), "workerID:%d connectionID:%d connected", &w, &c), 2)
            << welcome;
        return "worker_id=" + std::to_string(w) + "&connection_id=" + std::to_string(c);
    };
    std::string at_a = address(a.recv_text()), at_b = address(b.recv_text());
    ok("/api/bind_uid?" + at_a + "&uid=alice");
    ok("/api/join_group?" + at_a + "&group=room");
    ok("/api/join_group?" + at_b + "&group=room");
    ok("/api/set_session?" + at_b + "&session=%7B%22k%22%3A1%7D");
    std::string body;
    EXPECT_EQ(status_of("/api/get_session?" + at_b, &body), 200);
    EXPECT_EQ(parse(body)["session"]["k"].asInt(), 1) << body;
    EXPECT_TRUE(query("/api/is_uid_online?uid=alice")["online"].asBool());
    EXPECT_EQ(query("/api/group_count?group=room")["count"].asInt(), 2);
    ok("/?to_uid=alice&content=to-alice");
    ok("/?to_group=room&content=to-room");
    ok("/api/leave_group?" + at_a + "&group=room");
    ok("/api/unbind_uid?" + at_a);
    ok("/?to_group=room&to_uid=alice&content=after-leave");
    ok("/?content=end");
    EXPECT_EQ(until_marker(a, "end"), (std::vector<std::string>{"to-alice", "to-room"}));
    EXPECT_EQ(until_marker(b, "end"), (std::vector<std::string>{"to-room", "after-leave"}));
    // Nobody holds it: no answer comes, 504 at api_timeout (not 404: with
    // several hosts, one that lacks it cannot speak for the others).
    EXPECT_EQ(status_of("/api/bind_uid?worker_id=0&connection_id=999999&uid=x"), 504);
    ok("/api/close_client?" + at_b);
    EXPECT_EQ(until_marker(b, "never"), (std::vector<std::string>{"<closed>"}));
}

// Bounds a caller cannot push past (docs/API.md): groups per client, and a
// push addressed two ways at once is refused rather than half-delivered.
TEST_F(UsersGroups, PerClientGroupCapAndMixedAddressing) {
    ASSERT_TRUE(roster_known());
    auto c = connect_client("127.0.0.1", p->ws_port);
    std::string batch;
    for (int g = 0; g < 256; ++g)
        batch += HttpConn::get_request("/api/join_group?client_id=" + c->id + "&group=g" +
                                       std::to_string(g));
    ASSERT_TRUE(api.send(batch));
    for (int g = 0; g < 256; ++g) {
        int status = 0;
        std::string body;
        ASSERT_TRUE(api.read(&status, &body)) << api.error();
        ASSERT_EQ(status, 200) << g << ": " << body;
    }
    std::string body;
    EXPECT_EQ(status_of("/api/join_group?client_id=" + c->id + "&group=one-too-many", &body), 400);
    EXPECT_EQ(body, "too many groups for this client (256)\n");
    ok("/api/join_group?client_id=" + c->id + "&group=g7");  // already in: fine
    EXPECT_EQ(query("/api/group_count?group=g255")["count"].asInt(), 1);
    EXPECT_EQ(status_of("/?to_uid=a&to_client_id=" + c->id + "&content=x"), 400);
    ok("/?to_group=g255&content=in");
    ok("/?content=end");
    EXPECT_EQ(until_marker(*c->ws, "end"), (std::vector<std::string>{"in"}));
}
