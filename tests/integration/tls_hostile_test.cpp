// Hostile and broken clients on a wss:// port (issue #13): plain HTTP, random
// bytes, a ClientHello cut short, silence, resets at every phase of TLS and
// WebSocket, many handshakes left half-open. Each such connection is closed
// (at the latest after limits.handshake_timeout, 2 s here), counted in
// tls_handshake_failures, and never disturbs the others: a bystander wss
// client is served after each test, a new client is greeted, and the worker
// is the same process (and PusherInstance sees no death).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/integration/tls_fixture.h"

using namespace pusher::testing;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

const char* const kUpgrade =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

std::string random_bytes(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
}

class TlsHostile : public ::testing::Test {
  protected:
    void SetUp() override {
        TlsPusherOptions o;
        // Deadlines are kept in whole seconds and swept once a second, so a
        // timeout of T closes between T-1 and T+1 s after the connect: 2 s
        // makes "closed by the timer, not at once" (> 1 s) a fact to assert.
        o.extra_json = "\"limits\": {\"handshake_timeout\": 2},";
        t = std::make_unique<TlsPusher>(o);
        ASSERT_EQ(t->start(), "");
        ASSERT_TRUE(t->connect(bystander));
        pid = t->p->worker_pid("pusher", 0);
        failures = t->ws_stat("tls_handshake_failures");
        ASSERT_GE(failures, 0) << "no tls_handshake_failures in status --json:\n"
                               << t->p->cli("status --json").out;
        ready = true;
    }

    void TearDown() override {
        if (!ready) return;
        EXPECT_TRUE(served("still-fine"));
        WsClient fresh;
        EXPECT_TRUE(t->connect(fresh));
        EXPECT_EQ(t->p->worker_pid("pusher", 0), pid) << "the worker was replaced\n" << t->log();
    }

    ::testing::AssertionResult served(const std::string& text) {
        std::string r = t->get("/?content=" + text);
        if (r != "ok") return ::testing::AssertionFailure() << "publish: " << r;
        std::string got = bystander.recv_text(5000);
        if (got != text)
            return ::testing::AssertionFailure()
                   << "bystander got \"" << got << "\" (" << bystander.error() << ")\n"
                   << t->log();
        return ::testing::AssertionSuccess();
    }

    // Waits until the counter reached at least before + n; its value.
    long failures_reach(long n) {
        long now = -1;
        eventually([&] { return (now = t->ws_stat("tls_handshake_failures")) >= failures + n; });
        return now - failures;
    }

    std::unique_ptr<TlsPusher> t;
    WsClient bystander;
    int pid = 0;
    long failures = 0;
    bool ready = false;
};

// Bytes that are not TLS: closed at once (well before the handshake timeout),
// nothing readable in clear, each one failure.
TEST_F(TlsHostile, PlainHttpAndGarbageAreClosedAndCounted) {
    std::vector<std::string> inputs = {kUpgrade, "GET /?content=x HTTP/1.0\r\n\r\n"};
    for (unsigned seed = 1; seed <= 10; ++seed) inputs.push_back(random_bytes(1024, seed));
    inputs.push_back(std::string("\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00", 10));    // ServerHello
    inputs.push_back(std::string("\x17\x03\x03\x00\x10", 5) + std::string(16, 'a'));  // app data
    for (size_t i = 0; i < inputs.size(); ++i) {
        int fd = connect_to(t->p->ws_port);
        ASSERT_GE(fd, 0);
        send_all(fd, inputs[i]);
        std::string got;
        auto t0 = Clock::now();
        EXPECT_TRUE(eof_within(fd, 3000, &got)) << "input " << i << " was not closed";
        EXPECT_LT(Clock::now() - t0, milliseconds(900))
            << "input " << i << " waited for the timeout";
        EXPECT_EQ(got.find("HTTP/1.1"), std::string::npos) << "input " << i << " answered in clear";
        close(fd);
    }
    EXPECT_EQ(failures_reach(inputs.size()), static_cast<long>(inputs.size()));
    EXPECT_TRUE(served("after-garbage"));
}

// A ClientHello cut in half, a record header promising 16 KiB that never
// come, or nothing at all: the server cannot fail them on content, only on
// time. Closed by the handshake timeout: after more than 1 s, within 4.5 s.
TEST_F(TlsHostile, StalledHandshakesAreClosedAfterTheHandshakeTimeout) {
    std::string hello = tls_client_hello();
    ASSERT_GT(hello.size(), 100u);
    const std::string stalls[] = {"", hello.substr(0, hello.size() / 2), hello.substr(0, 3),
                                  std::string("\x16\x03\x01\x40\x00", 5)};
    for (const std::string& s : stalls) {
        int fd = connect_to(t->p->ws_port);
        ASSERT_GE(fd, 0);
        auto t0 = Clock::now();
        send_all(fd, s);
        std::string got;
        EXPECT_TRUE(eof_within(fd, 4500, &got)) << s.size() << " bytes: still open after 4.5 s";
        EXPECT_GE(Clock::now() - t0, milliseconds(1000)) << s.size() << " bytes: closed early";
        close(fd);
    }
    EXPECT_GE(failures_reach(4), 4) << "timed-out handshakes not counted";
}

// The TLS handshake done, then no upgrade request: the WebSocket handshake
// has the same deadline.
TEST_F(TlsHostile, TlsWithoutAnUpgradeRequestIsClosedAfterTheTimeout) {
    int fd = connect_to(t->p->ws_port);
    ASSERT_GE(fd, 0);
    TlsSession s;
    ASSERT_TRUE(s.handshake(fd, t->client())) << s.error();
    auto t0 = Clock::now();
    bool closed = false;
    char b[256];
    while (!closed && Clock::now() - t0 < milliseconds(4500)) {
        pollfd p{fd, POLLIN, 0};
        if (!s.pending() && poll(&p, 1, 100) <= 0) continue;
        closed = s.read(b, sizeof b) == 0;
    }
    EXPECT_TRUE(closed) << "a TLS client that never upgrades is still open after 4.5 s";
    // The deadline runs from the accept, a little before t0 (the TLS handshake took some).
    EXPECT_GE(Clock::now() - t0, milliseconds(800));
    close(fd);
}

// Polite ends before any WebSocket: close_notify right after the handshake,
// and a ClientHello followed by our FIN. Each is closed by the server.
TEST_F(TlsHostile, CloseNotifyAndFinBeforeTheUpgradeAreClosedPromptly) {
    int fd = connect_to(t->p->ws_port);
    ASSERT_GE(fd, 0);
    {
        TlsSession s;
        ASSERT_TRUE(s.handshake(fd, t->client())) << s.error();
        s.shutdown();
    }
    EXPECT_TRUE(eof_within(fd, 900)) << "close_notify not answered by a close";
    close(fd);
    fd = connect_to(t->p->ws_port);
    ASSERT_GE(fd, 0);
    send_all(fd, tls_client_hello());
    shutdown(fd, SHUT_WR);
    EXPECT_TRUE(eof_within(fd, 900)) << "a half-closed handshake stayed open";
    close(fd);
}

// A TCP reset at every phase of a wss connection's life, five times each.
enum class Phase { Connected, MidHello, AfterHello, AfterTls, MidUpgrade, AfterWelcome, MidFrame };

::testing::AssertionResult reset_at(TlsPusher& t, Phase phase) {
    int port = t.p->ws_port;
    if (phase <= Phase::AfterHello) {
        int fd = connect_to(port);
        if (fd < 0) return ::testing::AssertionFailure() << "connect refused";
        std::string hello = tls_client_hello();
        if (phase == Phase::MidHello) send_all(fd, hello.substr(0, hello.size() / 2));
        if (phase == Phase::AfterHello) {
            send_all(fd, hello);
            pollfd p{fd, POLLIN, 0};  // the ServerHello is on its way: reset in its face
            if (poll(&p, 1, 3000) <= 0) return ::testing::AssertionFailure() << "no ServerHello";
        }
        reset(fd);
        return ::testing::AssertionSuccess();
    }
    if (phase == Phase::AfterTls || phase == Phase::MidUpgrade) {
        int fd = connect_to(port);
        TlsSession s;
        if (fd < 0 || !s.handshake(fd, t.client()))
            return ::testing::AssertionFailure() << "tls: " << s.error();
        std::string up = kUpgrade;
        if (phase == Phase::MidUpgrade) s.write_all(up.data(), up.size() / 2);
        reset(fd);
        return ::testing::AssertionSuccess();
    }
    WsClient c;
    auto ok = t.connect(c);
    if (!ok) return ok;
    if (phase == Phase::MidFrame) {
        std::string payload(1000, 'm');
        c.send_raw(std::string("\x81\xfe\x03\xe8\x00\x00\x00\x00", 8) + payload.substr(0, 500));
    }
    c.abort();
    return ::testing::AssertionSuccess();
}

TEST_F(TlsHostile, ResetAtEveryPhaseKeepsTheWorker) {
    const Phase phases[] = {Phase::Connected, Phase::MidHello,   Phase::AfterHello,
                            Phase::AfterTls,  Phase::MidUpgrade, Phase::AfterWelcome,
                            Phase::MidFrame};
    const char* names[] = {"connected",   "mid-hello",     "after-hello", "after-tls",
                           "mid-upgrade", "after-welcome", "mid-frame"};
    for (size_t i = 0; i < 7; ++i) {
        for (int k = 0; k < 5; ++k) ASSERT_TRUE(reset_at(*t, phases[i])) << names[i];
        ASSERT_TRUE(served(std::string("after-reset-") + names[i]));
    }
    // Resets in the middle of a handshake (mid-hello, after-hello) are failed handshakes.
    EXPECT_GE(failures_reach(2 * 5), 2 * 5);
}

// WebSocket clients ending politely over TLS: each close frame is answered,
// as in clear and as the original does, with 1000 ("88 02 03 e8"), then the
// server closes.
TEST_F(TlsHostile, ClosingHandshakesOverTlsAreAnswered) {
    for (uint16_t code : {1000, 1001, 4000}) {
        WsClient c;
        ASSERT_TRUE(t->connect(c));
        std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
        ASSERT_TRUE(c.send_frame(0x8, payload + "bye"));
        WsFrame f = c.recv(5000);
        ASSERT_EQ(f.opcode, 0x8) << "no close frame back";
        EXPECT_EQ(f.payload, std::string("\x03\xe8", 2)) << code;
        EXPECT_EQ(c.recv(5000).opcode, -2) << "the server did not close after its close frame";
    }
    // A frame the server must refuse closes that client with 1002, over TLS as in clear.
    WsClient bad;
    ASSERT_TRUE(t->connect(bad));
    bad.send_frame(0x3, "x");  // reserved opcode
    WsFrame f = bad.recv(5000);
    ASSERT_EQ(f.opcode, 0x8);
    EXPECT_EQ((uint8_t(f.payload[0]) << 8) | uint8_t(f.payload[1]), 1002);
}

// Many handshakes left half-open at once: they do not block a good client
// (handshakes are not done one at a time), and all are closed by the timeout.
TEST_F(TlsHostile, ManyHalfOpenHandshakesDoNotBlockAGoodClient) {
    constexpr int kHalfOpen = 200;
    std::string half = tls_client_hello();
    half.resize(half.size() / 2);
    std::vector<int> fds;
    for (int i = 0; i < kHalfOpen; ++i) {
        int fd = connect_to(t->p->ws_port);
        ASSERT_GE(fd, 0) << i;
        send_all(fd, half);
        fds.push_back(fd);
    }
    auto t0 = Clock::now();
    WsClient good;
    ASSERT_TRUE(t->connect(good));
    EXPECT_LT(Clock::now() - t0, milliseconds(1000)) << "the good client waited for the timeout";
    EXPECT_TRUE(served("amid-half-open"));
    int closed = 0;
    auto deadline = t0 + milliseconds(5500);
    for (int fd : fds) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
        closed += eof_within(fd, left > 0 ? static_cast<int>(left) : 0);
        close(fd);
    }
    EXPECT_EQ(closed, kHalfOpen) << "half-open handshakes still open 5.5 s later";
    EXPECT_GE(failures_reach(kHalfOpen), kHalfOpen);
    EXPECT_EQ(good.recv_text(5000), "amid-half-open");  // the good one stayed
}

// The counter as operators see it: /metrics agrees with status --json.
TEST_F(TlsHostile, FailuresShowInStatusAndMetrics) {
    for (unsigned seed = 1; seed <= 3; ++seed) {
        int fd = connect_to(t->p->ws_port);
        send_all(fd, random_bytes(512, seed));
        EXPECT_TRUE(eof_within(fd, 3000));
        close(fd);
    }
    EXPECT_EQ(failures_reach(3), 3);
    // The http service (in clear here) adds its zero.
    EXPECT_EQ(t->metric("pusher_tls_handshake_failures_total"), failures + 3) << t->get("/metrics");
}

}  // namespace
