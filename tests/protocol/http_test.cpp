#include <gtest/gtest.h>

#include "protocol/http_params.h"
#include "protocol/http_request.h"
#include "protocol/http_response.h"

using namespace pusher::protocol;

static std::vector<HttpRequest> parse_all(const std::string& wire, int* error_status = nullptr,
                                          const HttpLimits& limits = {}) {
    HttpParser p(limits);
    std::vector<HttpRequest> out;
    size_t pos = 0;
    while (pos < wire.size()) {
        size_t used = 0;
        auto r = p.feed(wire.data() + pos, wire.size() - pos, &used);
        pos += used;
        if (r == HttpParser::Result::Request) out.push_back(p.take());
        if (r == HttpParser::Result::Error) {
            if (error_status) *error_status = p.status();
            break;
        }
        if (r == HttpParser::Result::NeedMore) break;
    }
    return out;
}

TEST(HttpRequest, PipelinedKeepAliveAndClose) {
    std::string wire =
        "GET /?content=a HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 11\r\n\r\ncontent=b+c"
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    auto reqs = parse_all(wire);
    ASSERT_EQ(reqs.size(), 3u);
    EXPECT_EQ(reqs[0].path(), "/");
    EXPECT_EQ(reqs[0].query(), "content=a");
    EXPECT_TRUE(reqs[0].keep_alive);
    Params p;
    std::string err;
    ASSERT_TRUE(request_params(reqs[1], &p, &err));
    EXPECT_EQ(p["content"], "b c");
    EXPECT_FALSE(reqs[2].keep_alive);
    EXPECT_EQ(reqs[2].path(), "/metrics");
}

TEST(HttpRequest, SplitAtEveryByte) {
    std::string wire =
        "POST /x?a=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
        "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    for (size_t cut = 1; cut < wire.size(); ++cut) {
        HttpParser p;
        size_t used;
        auto r = p.feed(wire.data(), cut, &used);
        ASSERT_EQ(r, HttpParser::Result::NeedMore) << cut;
        r = p.feed(wire.data() + cut, wire.size() - cut, &used);
        ASSERT_EQ(r, HttpParser::Result::Request) << cut;
        EXPECT_EQ(p.take().body, "abc");
    }
}

TEST(HttpRequest, Http10ClosesUnlessAsked) {
    auto a = parse_all("GET / HTTP/1.0\r\n\r\n");
    ASSERT_EQ(a.size(), 1u);
    EXPECT_FALSE(a[0].keep_alive);
    auto b = parse_all("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_TRUE(b[0].keep_alive);
}

TEST(HttpRequest, MalformedAndOversizedGetTheirStatus) {
    HttpLimits small;
    small.max_header = 200;
    small.max_body = 10;
    small.max_headers = 5;
    struct Case {
        std::string wire;
        int status;
    } cases[] = {
        {"FOO / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/9.9\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nBad\x01Header: x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400},
        {"\x01\x02\x03 garbage\r\n\r\n", 400},
        {"GET /" + std::string(300, 'a') + " HTTP/1.1\r\n\r\n", 431},
        {"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\n", 431},
        {"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n01234567890", 413},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n01234567890\r\n0\r\n\r\n", 413},
    };
    for (const auto& c : cases) {
        int status = 0;
        parse_all(c.wire, &status, small);
        EXPECT_EQ(status, c.status) << c.wire.substr(0, 30);
    }
}

TEST(HttpParams, QueryFormAndJsonAsPhpSeesThem) {
    EXPECT_EQ(url_decode("a+b%20c%zz%4"), "a b c%zz%4");
    Params p;
    parse_urlencoded("content=1&content=2&to_worker_id=0&&=x&flag", &p);
    EXPECT_EQ(p["content"], "2");
    EXPECT_EQ(p["to_worker_id"], "0");
    EXPECT_EQ(p.count("flag"), 1u);
    HttpRequest r;
    r.url = "/?to_client_id=q";
    r.headers = {{"Content-Type", "application/json; charset=utf-8"}};
    r.body = "{\"content\":\"hé\",\"to_connection_id\":12}";
    Params j;
    std::string err;
    ASSERT_TRUE(request_params(r, &j, &err));
    EXPECT_EQ(j["content"], "hé");
    EXPECT_EQ(j["to_connection_id"], "12");
    EXPECT_EQ(j["to_client_id"], "q");
    r.body = "[1,2]";
    EXPECT_FALSE(request_params(r, &j, &err));
    r.body = "{not json";
    EXPECT_FALSE(request_params(r, &j, &err));
}

TEST(HttpParams, ListsFromCommasBracketsAndJsonArrays) {
    Params p;
    ParamLists l;
    parse_urlencoded("to_uid=a,,b&to_group[]=g,1&to_group[]=g2&to_group[]=", &p, &l);
    EXPECT_EQ(param_list(p, l, "to_uid"), (std::vector<std::string>{"a", "b"}));
    // Given as a list, an item keeps its commas (a name that has one).
    EXPECT_EQ(param_list(p, l, "to_group"), (std::vector<std::string>{"g,1", "g2"}));
    EXPECT_TRUE(param_list(p, l, "exclude").empty());
    HttpRequest r;
    r.url = "/";
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"to_uid":["x",7,null,{"n":1}],"session":{"a":[1,2]},"content":"c"})";
    Params j;
    ParamLists jl;
    std::string err;
    ASSERT_TRUE(request_params(r, &j, &err, &jl));
    EXPECT_EQ(param_list(j, jl, "to_uid"), (std::vector<std::string>{"x", "7"}));
    EXPECT_EQ(j["session"], R"({"a":[1,2]})");  // an object as compact JSON
    EXPECT_EQ(j["content"], "c");
    // Without a list out-parameter, arrays are ignored as before.
    Params k;
    ASSERT_TRUE(request_params(r, &k, &err));
    EXPECT_EQ(k.count("to_uid"), 0u);
}

TEST(HttpResponse, OkIsTheOriginalsBytes) {
    EXPECT_EQ(
        kOkKeepAlive,
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\n"
        "Content-Length: 2\r\n\r\nok");
    std::string e = http_error(413, "too big");
    EXPECT_EQ(e.substr(0, 35), "HTTP/1.1 413 Payload Too Large\r\nCon");
    EXPECT_NE(e.find("Connection: close"), std::string::npos);
}
