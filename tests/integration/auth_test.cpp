// Tokens on WebSocket connect (docs/CONFIG.md "auth") on the real server: a
// valid token opens the socket, every refusal is a 401 before the 101 with
// its reason in the body, counted in auth_refused (status --json and
// /metrics), and no refused client, however odd its token, harms the worker.
// Python's `websockets` (Debian's python3-websockets) is the real client.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

#include "tests/support/jwt_sign.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;

namespace {

const std::string kSecret = "integration-test-secret-of-32-bytes-or-more";

std::string src_dir() {
    const char* s = getenv("PUSHER_SRC");
    return s ? s : ".";
}

long long now() {
    return static_cast<long long>(time(nullptr));
}

std::string upgrade(const std::string& target) {
    return "GET " + target +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

// Sends raw bytes and reads until the server closes (or 3 s pass): the
// whole answer, and whether the close came.
std::string exchange(int port, const std::string& raw, bool* closed) {
    *closed = false;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    std::string out;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return close(fd), out;
    (void)!send(fd, raw.data(), raw.size(), MSG_NOSIGNAL);
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        char b[65536];
        ssize_t n = read(fd, b, sizeof b);
        if (n <= 0) {
            *closed = true;
            break;
        }
        out.append(b, static_cast<size_t>(n));
    }
    close(fd);
    return out;
}

std::string py_auth(int port, const std::string& cases) {
    CmdResult r = run("/usr/bin/python3 " + src_dir() + "/tests/clients/py_auth.py " +
                      std::to_string(port) + " " + cases);
    return r.code == 0 ? "" : r.out.empty() ? "exit " + std::to_string(r.code) : r.out;
}

// The value of a /metrics series summed over its lines; -1 if absent.
long metric(const PusherInstance& p, const std::string& name) {
    std::string text = p.http_get("/metrics");
    long sum = -1;
    for (size_t at = text.find("\n" + name); at != std::string::npos;
         at = text.find("\n" + name, at + 1)) {
        size_t sp = text.find(' ', at + 1);
        sum = (sum < 0 ? 0 : sum) + atol(text.c_str() + sp + 1);
    }
    return sum;
}

class Auth : public ::testing::Test {
  protected:
    void start(const std::string& auth) {
        p_ = std::make_unique<PusherInstance>(auth, 1);
        ASSERT_EQ(p_->start().code, 0);
        ASSERT_TRUE(p_->wait_healthy());
        pid_ = p_->worker_pid("pusher");
        ASSERT_GT(pid_, 0);
    }
    long refused() { return p_->worker_stat("pusher", 0, "auth_refused"); }
    void TearDown() override {
        if (p_) {
            EXPECT_EQ(p_->worker_pid("pusher"), pid_) << "the ws worker was replaced";
        }
    }
    std::unique_ptr<PusherInstance> p_;
    int pid_ = 0;
};

}  // namespace

TEST_F(Auth, PythonClientsAndTheCounter) {
    start("\"auth\": {\"hs256_secret\": \"" + kSecret + "\"},");
    std::string good = jwt_hs256(kSecret, jwt_payload("alice", now() + 300));
    std::string expired = jwt_hs256(kSecret, jwt_payload("alice", now() - 10));
    std::string none = jwt_compose(jwt_header("none"), jwt_payload("admin", now() + 300), "");
    EXPECT_EQ(py_auth(p_->ws_port, "welcome:" + good + " 401:" + expired + " 401:- 401:" + none),
              "");
    EXPECT_EQ(refused(), 3);
    // The log names each refusal; the token itself is never logged.
    EXPECT_NE(p_->log_lines("refused: token expired"), "");
    EXPECT_NE(p_->log_lines("refused: token required"), "");
    EXPECT_NE(p_->log_lines("refused: unsupported alg none"), "");
    EXPECT_EQ(p_->log_lines(expired.substr(0, 20)), "");

    bool closed = false;
    std::string answer = exchange(p_->ws_port, upgrade("/?token=" + expired), &closed);
    EXPECT_EQ(answer,
              "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
              "Connection: close\r\n\r\ntoken expired\n");
    EXPECT_TRUE(closed);
    EXPECT_EQ(refused(), 4);
    EXPECT_EQ(metric(*p_, "pusher_auth_refused_total"), 4) << p_->http_get("/metrics");
}

// The token's sub and groups are the client's user and groups (issue 14): the
// welcome says so, and pushes sent once it arrived reach the client.
TEST_F(Auth, ATokenBindsItsUserAndGroups) {
    start("\"welcome\": \"json\", \"auth\": {\"hs256_secret\": \"" + kSecret + "\"},");
    std::string groups = R"("groups": ["g1", "g2"])";
    std::string token = jwt_hs256(kSecret, jwt_payload("alice", now() + 300, groups));
    CmdResult r = run("/usr/bin/python3 " + src_dir() + "/tests/clients/py_identity.py " +
                      std::to_string(p_->ws_port) + " " + std::to_string(p_->http_port) + " " +
                      token);
    EXPECT_EQ(r.out, "uid=alice groups=g1,g2 got=u,g1,g2,end\n");
    std::string online = p_->http_get("/api/is_uid_online?uid=alice");
    EXPECT_NE(online.find("\"online\":false"), std::string::npos) << online;  // it left
    // A name that cannot be a bus channel name is refused before the upgrade.
    std::string bad = jwt_hs256(kSecret, jwt_payload("al\\u0001ice", now() + 300));
    EXPECT_EQ(py_auth(p_->ws_port, "401:" + bad), "");
    EXPECT_NE(p_->log_lines("refused: sub or a group name"), "");
}

TEST_F(Auth, AHugeTokenIsRefusedAndTheWorkerLives) {
    start("\"auth\": {\"hs256_secret\": \"" + kSecret + "\"},");
    bool closed = false;
    std::string answer =
        exchange(p_->ws_port, upgrade("/?token=" + std::string(15000, 'A')), &closed);
    EXPECT_EQ(answer.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << answer;
    EXPECT_NE(answer.find("\r\n\r\ntoken too long\n"), std::string::npos) << answer;
    EXPECT_TRUE(closed);
    // Percent-encoded like any query value; garbage in every segment.
    answer = exchange(p_->ws_port, upgrade("/?token=%00.%FF.." + std::string(300, '.')), &closed);
    EXPECT_NE(answer.find("\r\n\r\nmalformed token\n"), std::string::npos) << answer;
    EXPECT_EQ(refused(), 2);
    WsClient ws;
    std::string good = jwt_hs256(kSecret, jwt_payload("bob", now() + 300));
    ASSERT_TRUE(ws.connect("127.0.0.1", p_->ws_port, "/?x=1&token=" + good)) << ws.error();
    EXPECT_NE(ws.recv_text().find("connected"), std::string::npos);
}

TEST_F(Auth, Es256KeyFileAndAnonymousAllowed) {
    JwtTestKey key = jwt_ec_key();
    p_ = std::make_unique<PusherInstance>(
        "\"auth\": {\"public_key\": \"jwt.pem\", \"anonymous\": true, \"leeway\": 60},", 1);
    std::ofstream(p_->dir + "/jwt.pem") << key.public_pem;
    ASSERT_EQ(p_->start().code, 0) << p_->log_lines("config");
    ASSERT_TRUE(p_->wait_healthy());
    pid_ = p_->worker_pid("pusher");
    std::string good = jwt_sign(key, jwt_payload("carol", now() - 30));  // within the leeway
    std::string hs = jwt_hs256(key.public_pem, jwt_payload("mallory", now() + 300));
    EXPECT_EQ(py_auth(p_->ws_port, "welcome:- welcome:" + good + " 401:" + hs), "");
    EXPECT_NE(p_->log_lines("refused: alg HS256 not configured"), "");
    EXPECT_EQ(refused(), 1);
}

TEST_F(Auth, ATokenWithoutAuthConfiguredFailsClosed) {
    start("");
    bool closed = false;
    std::string token = jwt_hs256(kSecret, jwt_payload("dave", now() + 300));
    std::string answer = exchange(p_->ws_port, upgrade("/?token=" + token), &closed);
    EXPECT_NE(answer.find("401 Unauthorized"), std::string::npos) << answer;
    EXPECT_NE(answer.find("\r\n\r\ntokens are not configured\n"), std::string::npos) << answer;
    EXPECT_TRUE(closed);
    EXPECT_EQ(py_auth(p_->ws_port, "welcome:-"), "");  // anonymous as before
    EXPECT_EQ(refused(), 1);
}

TEST(AuthConfigStart, ABadSectionStopsTheStart) {
    PusherInstance p("\"auth\": {\"hs256_secret\": \"too short\"},", 1);
    CmdResult r = p.start();
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.out.find("config: auth.hs256_secret: must be at least 32 bytes"),
              std::string::npos)
        << r.out;
}
