// Real clients doing what real clients do (issue #11): Python's `websockets`,
// Node's `ws` and raw sockets close, reset, half-close, trickle and see the
// server stop or reload, while long-lived watcher clients of the same worker
// stay connected. After each: every watcher still gets the next broadcast on
// its original connection, the worker's pid is unchanged, and the log has no
// "exit with status" line (the master re-forks a dead worker silently, so a
// crash is only visible that way). Browsers: tests/browser/clients.test.mjs.
//
// One ws worker, so every client shares it with the watchers. The Python
// client is Debian's python3-websockets under /usr/bin/python3; Node's ws is
// installed by tests/clients/setup.sh from its lock file.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/pusher_instance.h"
#include "tests/support/ws_bytes.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;

namespace {

constexpr int kWatchers = 3;
const char* const kUpgrade =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

std::string src_dir() {
    const char* s = getenv("PUSHER_SRC");
    return s ? s : ".";
}

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// A blocking loopback connection; -1 if refused.
int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// close() after SO_LINGER {1, 0}: the kernel sends a TCP RST, not a FIN.
void reset(int fd) {
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

bool send_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

// A client frame, masked as RFC 6455 requires.
std::string masked_frame(uint8_t first_byte, const std::string& payload, uint64_t declared_len) {
    return ws_masked_frame(first_byte, payload, declared_len, "\x0a\x1b\x2c\x3d");
}
std::string masked_frame(uint8_t first_byte, const std::string& payload) {
    return masked_frame(first_byte, payload, payload.size());
}

// Reads until EOF or the deadline; true on EOF (or a reset).
bool eof_within(int fd, int ms, std::string* got) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        char b[65536];
        ssize_t n = read(fd, b, sizeof b);
        if (n <= 0) return true;
        got->append(b, static_cast<size_t>(n));
    }
    return false;
}

uint16_t close_code(const std::string& payload) {
    return payload.size() >= 2
               ? static_cast<uint16_t>((uint8_t(payload[0]) << 8) | uint8_t(payload[1]))
               : 0;
}

class RealClients : public ::testing::Test {
  protected:
    void SetUp() override {
        p = std::make_unique<PusherInstance>("", 1);
        ASSERT_EQ(p->start().code, 0) << log();
        ASSERT_TRUE(p->wait_healthy()) << log();
        connect_watchers();
        pid = p->worker_pid("pusher", 0);
        ASSERT_GT(pid, 0);
    }

    void TearDown() override {
        if (p && !stopped) {
            // The watchers are still on their first connection and still served.
            EXPECT_TRUE(watchers_served("final broadcast"));
            EXPECT_EQ(p->worker_pid("pusher", 0), pid) << "the ws worker was replaced\n" << log();
        }
        std::string l = log();
        EXPECT_EQ(l.find("exit with status"), std::string::npos) << "a worker died:\n" << l;
    }

    std::string log() const { return p ? slurp(p->dir + "/pusher.log") : ""; }

    void connect_watchers() {
        watchers.clear();
        for (int i = 0; i < kWatchers; ++i) {
            watchers.push_back(std::make_unique<WsClient>());
            ASSERT_TRUE(watchers.back()->connect("127.0.0.1", p->ws_port))
                << watchers.back()->error();
            std::string w = watchers.back()->recv_text();
            ASSERT_EQ(w.rfind("workerID:0 connectionID:", 0), 0u) << w;
        }
    }

    // Reads frames until text `want`; false on a close, a timeout or garbage.
    static ::testing::AssertionResult gets(WsClient& c, const std::string& want) {
        for (;;) {
            WsFrame f = c.recv(5000);
            if (f.opcode == 0x1 && f.payload == want) return ::testing::AssertionSuccess();
            if (f.opcode == 0x1 || f.opcode == 0x9 || f.opcode == 0xA) continue;  // earlier ones
            return ::testing::AssertionFailure()
                   << "waiting for \"" << want << "\": "
                   << (f.opcode == -1    ? "timeout"
                       : f.opcode == -2  ? "connection closed"
                       : f.opcode == 0x8 ? "close frame " + std::to_string(close_code(f.payload))
                                         : "opcode " + std::to_string(f.opcode));
        }
    }

    // Publishes `tag` and checks that every watcher gets it.
    ::testing::AssertionResult watchers_served(const std::string& tag) {
        std::string content;  // percent-encoded
        for (unsigned char ch : tag) {
            static const char hex[] = "0123456789ABCDEF";
            if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.') {
                content += static_cast<char>(ch);
            } else {
                content += '%';
                content += hex[ch >> 4];
                content += hex[ch & 15];
            }
        }
        std::string r = p->http_get("/?content=" + content);
        if (r != "ok") return ::testing::AssertionFailure() << "publish answered " << r;
        for (size_t i = 0; i < watchers.size(); ++i) {
            auto res = gets(*watchers[i], tag);
            if (!res) return res << " (watcher " << i << ")\n" << log();
        }
        return ::testing::AssertionSuccess();
    }

    // Answers the server's close frame like a well-behaved client; its code.
    static int answer_close(WsClient& c) {
        for (;;) {
            WsFrame f = c.recv(10000);
            if (f.opcode == 0x8) {
                c.send_frame(0x8, f.payload.substr(0, 2));
                return close_code(f.payload);
            }
            if (f.opcode < 0) return f.opcode;
        }
    }

    std::unique_ptr<PusherInstance> p;
    std::vector<std::unique_ptr<WsClient>> watchers;
    int pid = 0;
    bool stopped = false;
};

// ---- Python websockets ------------------------------------------------------------

class PythonClient : public RealClients, public ::testing::WithParamInterface<const char*> {};

TEST_P(PythonClient, ClosesCleanlyAndTheWatchersAreNotCut) {
    CmdResult r = run("/usr/bin/python3 " + src_dir() + "/tests/clients/py_close.py " +
                      std::to_string(p->ws_port) + " " + std::to_string(p->http_port) + " " +
                      GetParam() + " 3");
    EXPECT_EQ(r.code, 0) << r.out << log();
    EXPECT_EQ(r.out.find("FAIL"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(std::string("ok ") + GetParam() + " #2"), std::string::npos) << r.out;
    EXPECT_TRUE(watchers_served(std::string("after python ") + GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Close, PythonClient,
                         ::testing::Values("normal", "code_reason", "immediate", "in_flight"),
                         [](const auto& info) { return std::string(info.param); });

// ---- Node ws ------------------------------------------------------------------------

class NodeClient : public RealClients {
  protected:
    static void SetUpTestSuite() {
        CmdResult r = run(src_dir() + "/tests/clients/setup.sh");
        setup_ok = r.code == 0;
        setup_out = r.out;
    }
    void SetUp() override {
        ASSERT_TRUE(setup_ok) << "tests/clients/setup.sh failed:\n" << setup_out;
        RealClients::SetUp();
    }
    std::string node(const std::string& scenario, int repeat, const std::string& cmd = "") {
        return "node " + src_dir() + "/tests/clients/ws_close.mjs " + std::to_string(p->ws_port) +
               " " + std::to_string(p->http_port) + " " + scenario + " " + std::to_string(repeat) +
               (cmd.empty() ? "" : " -- " + cmd);
    }
    static bool setup_ok;
    static std::string setup_out;
};
bool NodeClient::setup_ok = false;
std::string NodeClient::setup_out;

class NodeClose : public NodeClient, public ::testing::WithParamInterface<const char*> {};

TEST_P(NodeClose, ClosesAsAskedAndTheWatchersAreNotCut) {
    CmdResult r = run(node(GetParam(), 3));
    EXPECT_EQ(r.code, 0) << r.out << log();
    EXPECT_NE(r.out.find(std::string("ok ") + GetParam() + " #2"), std::string::npos) << r.out;
    EXPECT_TRUE(watchers_served(std::string("after node ") + GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Close, NodeClose,
                         ::testing::Values("normal", "code_1000", "code_reason", "immediate",
                                           "in_flight", "terminate", "terminate_in_flight"),
                         [](const auto& info) { return std::string(info.param); });

// `pusher stop` while a Node client is connected: it gets 1001 "going away"
// and a clean closing handshake; so do the watchers, and stop finishes.
TEST_F(NodeClient, StopSaysGoingAway) {
    auto client = std::async(std::launch::async, [&] {
        return run(node("stop", 1, pusher_bin() + " stop -c " + p->config));
    });
    for (auto& w : watchers) EXPECT_EQ(answer_close(*w), 1001);
    CmdResult r = client.get();
    stopped = true;
    EXPECT_EQ(r.code, 0) << r.out << log();
    EXPECT_NE(r.out.find("got 1001 'going away' clean"), std::string::npos) << r.out;
    EXPECT_EQ(p->worker_pid("pusher", 0), 0) << "still running after stop";
}

// `pusher reload` replaces the worker holding the client and hands the
// connection over (issue 15): the Node client and the raw watchers stay
// open, and a broadcast after the reload reaches all of them.
TEST_F(NodeClient, ReloadKeepsTheClientConnected) {
    CmdResult r = run(node("reload", 1, pusher_bin() + " reload -c " + p->config));
    EXPECT_EQ(r.code, 0) << r.out << log();
    EXPECT_NE(r.out.find("kept through: pusher reloaded; got the broadcast"), std::string::npos)
        << r.out;
    int fresh = p->worker_pid("pusher", 0);
    EXPECT_GT(fresh, 0);
    EXPECT_NE(fresh, pid) << "reload did not replace the worker";
    pid = fresh;
    EXPECT_TRUE(watchers_served("after the reload"));
}

// ---- raw sockets: resets at every phase ---------------------------------------------------

// Each way of dying: connects, goes as far as the phase, then sends a TCP RST.
enum class Phase { MidUpgrade, AfterUpgrade, AfterWelcome, AfterPing, AfterClose, MidFrame };
const Phase kPhases[] = {Phase::MidUpgrade, Phase::AfterUpgrade, Phase::AfterWelcome,
                         Phase::AfterPing,  Phase::AfterClose,   Phase::MidFrame};

::testing::AssertionResult reset_at(int port, Phase phase) {
    std::string up = kUpgrade;
    if (phase == Phase::MidUpgrade || phase == Phase::AfterUpgrade) {
        int fd = connect_to(port);
        if (fd < 0) return ::testing::AssertionFailure() << "connect refused";
        send_all(fd, phase == Phase::MidUpgrade ? up.substr(0, up.size() / 2) : up);
        reset(fd);
        return ::testing::AssertionSuccess();
    }
    WsClient c;
    if (!c.connect("127.0.0.1", port)) return ::testing::AssertionFailure() << c.error();
    std::string w = c.recv_text();
    if (w.rfind("workerID:", 0) != 0) return ::testing::AssertionFailure() << "welcome: " << w;
    if (phase == Phase::AfterPing) c.send_raw(masked_frame(0x89, "ping?"));
    if (phase == Phase::AfterClose) c.send_raw(masked_frame(0x88, std::string("\x03\xe8", 2)));
    if (phase == Phase::MidFrame) {
        std::string f = masked_frame(0x81, std::string(1000, 'm'));
        c.send_raw(f.substr(0, f.size() / 2));
    }
    reset(c.release(&w));
    return ::testing::AssertionSuccess();
}

TEST_F(RealClients, ResetAtEveryPhaseKeepsTheWorker) {
    const char* names[] = {"mid-upgrade", "after-upgrade", "after-welcome",
                           "after-ping",  "after-close",   "mid-frame"};
    for (size_t i = 0; i < 6; ++i) {
        for (int k = 0; k < 5; ++k) ASSERT_TRUE(reset_at(p->ws_port, kPhases[i])) << names[i];
        ASSERT_TRUE(watchers_served(std::string("after reset ") + names[i]));
    }
}

// Many resets, every phase in turn: a worker that dies a little later (a
// dangling session touched by a timer or the next write) shows up here.
TEST_F(RealClients, TwoHundredResetsInALoop) {
    for (int i = 0; i < 200; ++i) {
        ASSERT_TRUE(reset_at(p->ws_port, kPhases[i % 6])) << i;
        if (i % 50 == 49) {
            ASSERT_TRUE(watchers_served("reset loop " + std::to_string(i)));
        }
    }
    EXPECT_EQ(p->worker_pid("pusher", 0), pid);
}

// What a sloppy client library may write in one go: a close frame with more
// frames behind it (a ping, a text, a second close). The server answers the
// first close with 1000 and closes; what follows it is ignored.
TEST_F(RealClients, FramesPipelinedBehindACloseAreIgnored) {
    for (int i = 0; i < 5; ++i) {
        WsClient c;
        ASSERT_TRUE(c.connect("127.0.0.1", p->ws_port));
        ASSERT_EQ(c.recv_text().rfind("workerID:", 0), 0u);
        std::string burst = masked_frame(0x88, std::string("\x03\xe8", 2)) +
                            masked_frame(0x89, "after close") + masked_frame(0x81, "late text") +
                            masked_frame(0x88, std::string("\x0f\xa0", 2));
        ASSERT_TRUE(c.send_raw(burst));
        WsFrame f = c.recv(5000);
        ASSERT_EQ(f.opcode, 0x8) << f.payload;
        EXPECT_EQ(close_code(f.payload), 1000);
        f = c.recv(5000);
        EXPECT_EQ(f.opcode, -2) << "after its close frame the server sent opcode " << f.opcode;
    }
    EXPECT_TRUE(watchers_served("after pipelined close"));
}

// The upgrade request and a close frame in one write (a client that gives up
// at once): the server answers 101, the welcome, then close 1000, and closes.
TEST_F(RealClients, CloseFrameInTheSameWriteAsTheUpgrade) {
    for (int i = 0; i < 5; ++i) {
        int fd = connect_to(p->ws_port);
        ASSERT_GE(fd, 0);
        ASSERT_TRUE(send_all(fd, kUpgrade + masked_frame(0x88, std::string("\x03\xe8", 2))));
        std::string got;
        EXPECT_TRUE(eof_within(fd, 5000, &got)) << "not closed";
        close(fd);
        EXPECT_EQ(got.rfind("HTTP/1.1 101", 0), 0u) << got;
        // The last frame is the server's close 1000: 88 02 03 e8.
        EXPECT_EQ(got.size() >= 4 ? got.substr(got.size() - 4) : got,
                  std::string("\x88\x02\x03\xe8", 4));
    }
    EXPECT_TRUE(watchers_served("after upgrade+close"));
}

// Fifty clients reset at once while broadcasts are being written to them: the
// fan-out meets dead sockets in the middle of its loop.
TEST_F(RealClients, MassResetDuringBroadcasts) {
    for (int round = 0; round < 3; ++round) {
        std::vector<std::unique_ptr<WsClient>> crowd;
        for (int i = 0; i < 50; ++i) {
            crowd.push_back(std::make_unique<WsClient>());
            ASSERT_TRUE(crowd.back()->connect("127.0.0.1", p->ws_port));
            ASSERT_EQ(crowd.back()->recv_text().rfind("workerID:", 0), 0u);
        }
        auto flood = std::async(std::launch::async, [&] {
            int ok = 0;
            for (int i = 0; i < 20; ++i)
                ok += p->http_get("/?content=mass" + std::to_string(i) + std::string(8000, 'x')) ==
                      "ok";
            return ok;
        });
        ASSERT_EQ(crowd[0]->recv_text().rfind("mass0", 0), 0u);  // the flood has reached them
        std::string rest;
        for (auto& c : crowd) reset(c->release(&rest));
        EXPECT_EQ(flood.get(), 20);
        ASSERT_TRUE(watchers_served("after mass reset " + std::to_string(round)));
    }
}

// shutdown(SHUT_WR) after the handshake: the client will send nothing more;
// the server closes its side.
TEST_F(RealClients, HalfCloseAfterHandshakeIsClosedByTheServer) {
    WsClient c;
    ASSERT_TRUE(c.connect("127.0.0.1", p->ws_port));
    ASSERT_EQ(c.recv_text().rfind("workerID:", 0), 0u);
    ASSERT_EQ(shutdown(c.fd(), SHUT_WR), 0);
    std::string got;
    EXPECT_TRUE(eof_within(c.fd(), 5000, &got)) << "the server kept a half-closed client open";
    EXPECT_TRUE(watchers_served("after half close"));
}

// A 512 KiB text message written in 1448-byte pieces (an Ethernet segment's
// payload): the watchers keep getting broadcasts during the trickle, and the
// message is accepted (under ws_max_message, 1 MiB): counted, connection open.
TEST_F(RealClients, TrickledLargeMessageIsAcceptedWhileWatchersAreServed) {
    WsClient c;
    ASSERT_TRUE(c.connect("127.0.0.1", p->ws_port));
    ASSERT_EQ(c.recv_text().rfind("workerID:", 0), 0u);
    long before = p->worker_stat("pusher", 0, "total_request");
    int one = 1;  // every piece its own segment
    setsockopt(c.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string frame = masked_frame(0x81, std::string(512 * 1024, 't'));
    int piece = 0;
    for (size_t off = 0; off < frame.size(); off += 1448, ++piece) {
        ASSERT_TRUE(c.send_raw(frame.substr(off, 1448))) << "at byte " << off;
        if (piece % 40 == 0) {
            ASSERT_TRUE(watchers_served("trickle " + std::to_string(piece)));
        }
    }
    EXPECT_TRUE(watchers_served("after trickle"));
    // The trickler itself was served all along and is still open.
    EXPECT_TRUE(gets(c, "after trickle"));
    EXPECT_EQ(p->worker_stat("pusher", 0, "total_request"), before + 1);
}

// The same trickle above ws_max_message: closed with 1009, the others unaffected.
TEST_F(RealClients, TrickledOversizedMessageIsClosedWith1009) {
    WsClient c;
    ASSERT_TRUE(c.connect("127.0.0.1", p->ws_port));
    ASSERT_EQ(c.recv_text().rfind("workerID:", 0), 0u);
    const size_t size = 1536 * 1024;  // over the 1 MiB default
    std::string frame = masked_frame(0x81, std::string(size, 'o'), size);
    WsFrame f;
    for (size_t off = 0; off < frame.size(); off += 1448) {
        if (!c.send_raw(frame.substr(off, 1448))) break;  // already closed
        pollfd pf{c.fd(), POLLIN, 0};
        if (poll(&pf, 1, 0) > 0) break;  // the server said something: read it
    }
    do f = c.recv(5000);
    while (f.opcode == 0x1 || f.opcode == 0x9);
    ASSERT_EQ(f.opcode, 0x8) << "no close frame";
    EXPECT_EQ(close_code(f.payload), 1009);
    EXPECT_TRUE(watchers_served("after oversized"));
}

}  // namespace
