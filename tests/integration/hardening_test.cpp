// Issue #11's "crash-proof" items that only the real binary shows: a config
// that would fail open is refused at start, the HTTP publish API refuses
// content a browser cannot take, and a hostile peer cannot fill the log.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <vector>

#include "tests/support/pump.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;

namespace {

TEST(ChannelAllowConfig, AMalformedRuleStopsTheStart) {
    for (const char* rule : {"10.0.0.0/", "x/abc", "10.0.0.0/33"}) {
        PusherInstance p(std::string("\"channel_allow\": [\"127.0.0.1\", \"") + rule + "\"],");
        CmdResult r = p.start();
        EXPECT_NE(r.code, 0) << rule;
        EXPECT_NE(r.out.find(std::string("config: channel_allow: \"") + rule + "\""),
                  std::string::npos)
            << r.out;
        EXPECT_EQ(http_request("127.0.0.1", p.http_port, "GET / HTTP/1.0\r\n\r\n"), "")
            << rule << ": the publisher is listening";
    }
}

TEST(ChannelAllowConfig, GoodRulesStart) {
    PusherInstance p("\"channel_allow\": [\"127.0.0.0/8\", \"::1\", \"fd00::/8\"],");
    ASSERT_EQ(p.start().code, 0);
    EXPECT_TRUE(p.wait_healthy());
}

}  // namespace

namespace {

int status_of(const std::string& response) {
    return response.size() > 12 ? atoi(response.c_str() + 9) : 0;
}

std::string post(const std::string& type, const std::string& body) {
    return "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A text frame must hold UTF-8: a browser fails the whole connection on one
// that does not. The publish API refuses such content with a 400.
TEST(PublishUtf8, ContentThatIsNotUtf8IsRefusedAndNeverDelivered) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    WsClient ws;
    ASSERT_TRUE(ws.connect("127.0.0.1", p.ws_port)) << ws.error();
    ws.recv_text();  // the welcome
    const std::string form = "application/x-www-form-urlencoded";
    const std::string json = "application/json";
    std::vector<std::string> refused = {
        "GET /?content=%FF%FE HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /?content=ok%ED%A0%80 HTTP/1.1\r\nHost: x\r\n\r\n",            // a surrogate
        "GET /?content=%E2%82 HTTP/1.1\r\nHost: x\r\n\r\n",                 // truncated
        "GET /?to_client_id=x&content=%C0%AF HTTP/1.1\r\nHost: x\r\n\r\n",  // overlong
        post(form, "content=%FF%FE"),
        post(form, "content=caf%E9"),  // Latin-1
        post(json, "{\"content\": \"\xff\xfe\"}"),
        post(json, "{\"content\": \"a\\udc00\"}"),  // decodes to a lone surrogate
    };
    for (const std::string& raw : refused) {
        std::string r = http_request("127.0.0.1", p.http_port, raw);
        EXPECT_EQ(status_of(r), 400) << raw << "\n" << r;
        EXPECT_NE(r.find("content is not valid UTF-8"), std::string::npos) << raw << "\n" << r;
    }
    // Valid multi-byte content still goes out, and it is the first thing the
    // client gets: none of the refused ones was delivered.
    std::string valid = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80";
    EXPECT_EQ(p.http_get("/?content=h%C3%A9llo%20%E2%82%AC%20%F0%9F%98%80"), "ok");
    EXPECT_EQ(ws.recv_text(), valid);
    std::string r =
        http_request("127.0.0.1", p.http_port, post(json, "{\"content\": \"\\u00e9\"}"));
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(ws.recv_text(), "\xC3\xA9");
    std::string metrics = p.http_get("/metrics");
    EXPECT_NE(
        metrics.find("pusher_publish_refused_total{node=\"test-" + std::to_string(p.ws_port) +
                     "\",service=\"publisher\",worker=\"0\"} " + std::to_string(refused.size())),
        std::string::npos)
        << metrics;
}

int connect_blocking(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// true when the peer closed within the deadline.
bool closed_by_peer(int fd) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    char b[4096];
    while (std::chrono::steady_clock::now() < end) {
        pollfd pf{fd, POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0) continue;
        ssize_t n = read(fd, b, sizeof b);
        if (n <= 0) return true;
    }
    return false;
}

size_t count_lines(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++n;
    return n;
}

// Every bad request is answered and closed, and each closing is a log line
// a hostile peer can cause at will: the log must stay bounded.
TEST(PeerLog, TenThousandBadRequestsLeaveABoundedLog) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    const std::string bad_frame("\0\0\0\2", 4);  // a channel frame length below 4
    const std::string bad_http = "NOT HTTP\r\n\r\n";
    const int total = 10000, batch = 250;
    auto t0 = std::chrono::steady_clock::now();
    int closed = 0;
    for (int done = 0; done < total; done += batch) {
        std::vector<int> fds;
        for (int i = 0; i < batch; ++i) {
            bool bus = (done + i) % 2 == 0;
            int fd = connect_blocking(bus ? p.channel_port : p.http_port);
            ASSERT_GE(fd, 0);
            const std::string& bytes = bus ? bad_frame : bad_http;
            ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
            fds.push_back(fd);
        }
        for (int fd : fds) {
            closed += closed_by_peer(fd);
            close(fd);
        }
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(closed, total);
    std::ifstream f(p.dir + "/pusher.log");
    std::string log((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t peer_lines = count_lines(log, ": closing 127.0.0.1:");
    size_t all_lines = count_lines(log, "\n");
    // Two processes (channel, publisher), each: a burst, then a rate, and at
    // most a notice and a summary around each line it writes.
    double per_process = 3 * (20 + 10 * (seconds + 1));
    std::cerr << total << " bad requests in " << seconds << " s: " << peer_lines
              << " per-peer lines, " << all_lines << " lines in all\n";
    EXPECT_GT(peer_lines, 0u);
    EXPECT_LE(peer_lines, 2 * (20 + 10 * (seconds + 1))) << seconds << " s";
    EXPECT_LE(all_lines, 2 * per_process + 50) << seconds << " s";
    EXPECT_LT(all_lines, static_cast<size_t>(total / 4));
    EXPECT_NE(log.find("suppressing similar lines"), std::string::npos);
    EXPECT_NE(log.find(" similar lines\n"), std::string::npos);
    EXPECT_NE(log.find("log: suppressed "), std::string::npos) << log.substr(0, 2000);
}

}  // namespace
