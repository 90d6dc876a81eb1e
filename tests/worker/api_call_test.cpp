#include "worker/api_call.h"

#include <gtest/gtest.h>

#include "worker/api_wire.h"
#include "worker/roster.h"

using namespace pusher::worker;
using pusher::protocol::php::Value;

namespace {

Value answer(const std::string& node, int worker, bool ok, Value result) {
    Value d = Value::array();
    api::put(d, "rid", "1");
    api::put(d, "node", node);
    api::put(d, "worker_id", Value::integer(worker));
    api::put(d, "ok", Value::integer(ok ? 1 : 0));
    api::put(d, "result", std::move(result));
    return d;
}

std::string body(const std::string& response) {
    return response.substr(response.find("\r\n\r\n") + 4);
}

}  // namespace

TEST(ApiCall, QueryCompletesWhenEveryRosterWorkerAnswered) {
    ApiCall c;
    c.query = true;
    c.op = api::kGroupCount;
    c.arg = "room";
    c.expected = {"a/0", "a/1"};
    EXPECT_FALSE(c.add(answer("a", 0, true, Value::integer(3))));
    EXPECT_FALSE(c.add(answer("a", 0, true, Value::integer(3))));  // a duplicate counts once
    EXPECT_TRUE(c.add(answer("a", 1, true, Value::integer(2))));
    EXPECT_EQ(body(c.render(false)),
              "{\"answered\":2,\"complete\":true,\"count\":5,\"group\":\"room\",\"workers\":2}\n");
}

TEST(ApiCall, PartialAnswerNamesTheMissingWorkers) {
    ApiCall c;
    c.query = true;
    c.op = api::kUidClients;
    c.arg = "alice";
    c.expected = {"a/0", "b/3"};
    c.add(answer("a", 0, true, api::list_value({"id1"})));
    std::string r = body(c.render(true));
    EXPECT_NE(r.find("\"complete\":false"), std::string::npos) << r;
    EXPECT_NE(r.find("\"missing\":[\"b/3\"]"), std::string::npos) << r;
    EXPECT_NE(r.find("\"online\":true"), std::string::npos) << r;
}

TEST(ApiCall, UidCountIsTheUnionOfWorkers) {
    ApiCall c;
    c.query = true;
    c.op = api::kUids;
    c.expected = {"a/0", "a/1"};
    c.add(answer("a", 0, true, api::list_value({"u1", "u2"})));
    c.add(answer("a", 1, true, api::list_value({"u2", "u3"})));
    EXPECT_NE(body(c.render(false)).find("\"count\":3"), std::string::npos);
}

TEST(ApiCall, OperationAnswers) {
    ApiCall ok;
    ok.op = api::kJoin;
    EXPECT_TRUE(ok.add(answer("a", 0, true, Value::null())));
    EXPECT_EQ(body(ok.render(false)), "ok");
    ApiCall gone;
    gone.op = api::kBindUid;
    gone.add(answer("a", 0, false, Value::string("no such client")));
    EXPECT_EQ(gone.render(false).substr(0, 12), "HTTP/1.1 404");
    ApiCall silent;
    silent.op = api::kBindUid;
    EXPECT_EQ(silent.render(true).substr(0, 12), "HTTP/1.1 504");
    ApiCall session;
    session.op = api::kGetSession;
    session.arg = "id";
    session.add(answer("a", 0, true, Value::string("{\"k\":\"v\"}")));
    EXPECT_EQ(body(session.render(false)), "{\"client_id\":\"id\",\"session\":{\"k\":\"v\"}}\n");
}

TEST(Roster, ForgetsLeaversAndTheLongSilent) {
    Roster r;
    auto hello = [](const std::string& node, int w, bool leaving) {
        Value d = Value::array();
        api::put(d, "node", node);
        api::put(d, "worker_id", Value::integer(w));
        api::put(d, "leaving", Value::integer(leaving));
        return d;
    };
    r.heard(hello("a", 0, false), 100);
    r.heard(hello("a", 1, false), 100);
    r.heard(hello("b", 0, false), 95);
    EXPECT_EQ(r.alive(100), (std::set<std::string>{"a/0", "a/1", "b/0"}));
    r.heard(hello("a", 1, true), 101);
    EXPECT_EQ(r.alive(101), (std::set<std::string>{"a/0", "b/0"}));
    EXPECT_EQ(r.alive(95 + api::kRosterExpiry + 1), (std::set<std::string>{"a/0"}));
}
