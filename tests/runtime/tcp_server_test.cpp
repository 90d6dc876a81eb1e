// The runtime over real loopback sockets. The test thread pumps the loop
// itself (EVLOOP_NONBLOCK) until a condition holds, so there are no threads
// and no sleeps.
#include "runtime/tcp_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <vector>
#include <stdexcept>
#include <string>

#include "runtime/listen_socket.h"

using namespace pusher::runtime;

namespace {

class Echo : public ConnectionHandler, public TcpServer::Acceptor {
  public:
    TcpServer* server = nullptr;
    int accepted = 0, closed = 0, full = 0;
    uint64_t last_id = 0;
    void on_accept(Connection& c) override {
        ++accepted;
        last_id = c.id();
        std::string hello = "id:" + std::to_string(c.id()) + "\n";
        c.send(hello.data(), hello.size());
    }
    void on_data(Connection& c, const char* d, size_t n) override { c.send(d, n); }
    void on_close(Connection& c) override {
        ++closed;
        server->remove(c);
    }
    void on_buffer_full(Connection&) override { ++full; }
};

struct TcpServerTest : ::testing::Test {
    Limits limits;
    std::unique_ptr<Loop> loop;
    std::unique_ptr<TcpServer> server;
    Echo echo;
    int lfd = -1, port = 0;

    // handler: the fixture's echo, or a test's own (it must outlive the test body).
    void start(Echo* handler = nullptr) {
        Echo* h = handler ? handler : &echo;
        loop = std::make_unique<Loop>(nullptr, limits);
        std::string err;
        lfd = listen_socket("127.0.0.1", 0, false, &err);
        ASSERT_GE(lfd, 0) << err;
        port = socket_port(lfd);
        server = std::make_unique<TcpServer>(*loop, lfd, h, h);
        h->server = server.get();
        server->start_accepting();
    }
    void TearDown() override {
        server.reset();
        loop.reset();
        if (lfd >= 0) close(lfd);
    }
    bool pump_until(const std::function<bool()>& done, int ms = 3000) {
        auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (!done()) {
            if (std::chrono::steady_clock::now() > end) return false;
            event_base_loop(loop->base(), EVLOOP_NONBLOCK);
        }
        return true;
    }
    int dial() {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        return fd;
    }
    std::string read_some(int fd, size_t want) {
        std::string got;
        pump_until([&] {
            char b[4096];
            ssize_t n = read(fd, b, sizeof b);
            if (n > 0) got.append(b, static_cast<size_t>(n));
            return got.size() >= want || n == 0;
        });
        return got;
    }
};

TEST_F(TcpServerTest, AcceptsEchoesAndNumbersConnectionsFromOne) {
    start();
    int a = dial(), b = dial();
    EXPECT_EQ(read_some(a, 5), "id:1\n");
    EXPECT_EQ(read_some(b, 5), "id:2\n");
    ASSERT_EQ(write(a, "ping", 4), 4);
    EXPECT_EQ(read_some(a, 4), "ping");
    EXPECT_EQ(server->size(), 2u);
    close(a);
    ASSERT_TRUE(pump_until([&] { return echo.closed == 1; }));
    EXPECT_EQ(server->size(), 1u);
    EXPECT_EQ(server->find(1), nullptr);
    EXPECT_NE(server->find(2), nullptr);
    close(b);
}

// A sweep's slice: `count` entries from `from` on, wrapping; every entry
// once per round of slices, none twice within one slice.
TEST_F(TcpServerTest, SlicesVisitEveryConnectionOncePerRound) {
    start();
    std::vector<int> fds;
    for (int i = 0; i < 7; ++i) fds.push_back(dial());
    ASSERT_TRUE(pump_until([&] { return server->size() == 7; }));
    std::map<uint64_t, int> seen;
    size_t cursor = 0;
    for (int round = 0; round < 3; ++round)
        for (size_t k = 0; k < 7; k += 3) {  // slices of 3, 3 and 1 (wrapping)
            size_t count = std::min<size_t>(3, 7 - k);
            std::set<uint64_t> in_slice;
            server->for_slice(cursor, count, [&](Connection& c) {
                EXPECT_TRUE(in_slice.insert(c.id()).second);
                ++seen[c.id()];
            });
            EXPECT_EQ(in_slice.size(), count);
            cursor = (cursor + count) % 7;
        }
    EXPECT_EQ(seen.size(), 7u);
    for (auto& [id, n] : seen) EXPECT_EQ(n, 3) << "connection " << id;
    int visits = 0;
    server->for_slice(5, 100, [&](Connection&) { ++visits; });  // more than there are
    EXPECT_EQ(visits, 7);
    for (int fd : fds) close(fd);
}

TEST_F(TcpServerTest, RefusesAboveMaxConnections) {
    limits.max_connections = 2;
    start();
    int a = dial(), b = dial(), c = dial();
    EXPECT_EQ(read_some(a, 5), "id:1\n");
    EXPECT_EQ(read_some(b, 5), "id:2\n");
    EXPECT_EQ(read_some(c, 5), "");  // closed at once, nothing sent
    EXPECT_EQ(loop->stats().rejected.load(), 1u);
    EXPECT_EQ(server->size(), 2u);
    close(a), close(b), close(c);
}

TEST_F(TcpServerTest, SlowReaderIsCappedAndCounted) {
    limits.max_send_queue = 64 << 10;
    start();
    int a = dial();
    EXPECT_EQ(read_some(a, 5), "id:1\n");
    Connection* c = server->find(1);
    ASSERT_NE(c, nullptr);
    std::string chunk(16 << 10, 'z');
    int refused = 0;
    for (int i = 0; i < 400; ++i) refused += c->send(chunk.data(), chunk.size()) ? 0 : 1;
    EXPECT_GT(refused, 0);
    EXPECT_EQ(echo.full, refused);
    EXPECT_EQ(loop->stats().send_fail.load(), static_cast<uint64_t>(refused));
    // Bounded: at most the cap plus one message is ever queued.
    EXPECT_LE(c->queued(), limits.max_send_queue + chunk.size());
    close(a);
}

TEST_F(TcpServerTest, CloseDiscardingEndsWithWholeMessagesThenTheLastWord) {
    start();
    int a = dial();
    EXPECT_EQ(read_some(a, 5), "id:1\n");
    Connection* c = server->find(1);
    ASSERT_NE(c, nullptr);
    const size_t kChunk = 16 << 10;
    int sent = 0;
    while (c->queued() < 8 * kChunk) {  // the client reads nothing meanwhile
        std::string m(kChunk, static_cast<char>('a' + sent % 26));
        ASSERT_TRUE(c->send(m.data(), m.size()));
        ++sent;
    }
    c->close_discarding("BYE", 3);
    EXPECT_LE(c->queued(), kChunk + 3);  // one message it may be in the middle of, and BYE
    EXPECT_EQ(c->state(), ConnState::Closing);
    std::string got = read_some(a, SIZE_MAX);  // to EOF
    ASSERT_GE(got.size(), 3u);
    EXPECT_EQ(got.substr(got.size() - 3), "BYE");
    size_t body = got.size() - 3;
    EXPECT_EQ(body % kChunk, 0u) << "a message was cut";
    EXPECT_LT(body / kChunk, static_cast<size_t>(sent)) << "nothing was discarded";
    for (size_t i = 0; i < body; i += kChunk)
        EXPECT_EQ(got.find_first_not_of(static_cast<char>('a' + (i / kChunk) % 26), i),
                  i + kChunk == body ? body : i + kChunk);
    EXPECT_EQ(echo.closed, 1);
    close(a);
}

TEST_F(TcpServerTest, SharedBufferReachesEveryConnection) {
    start();
    int fds[5];
    for (int& fd : fds) fd = dial();
    ASSERT_TRUE(pump_until([&] { return echo.accepted == 5; }));
    for (int fd : fds) read_some(fd, 5);
    SharedBuffer* msg = SharedBuffer::copy("broadcast!", 10);
    int sent = 0;
    server->for_each([&](Connection& c) { sent += c.send(msg) ? 1 : 0; });
    msg->unref();
    EXPECT_EQ(sent, 5);
    for (int fd : fds) EXPECT_EQ(read_some(fd, 10), "broadcast!");
    for (int fd : fds) close(fd);
}

TEST_F(TcpServerTest, ClosingInsideFanOutVisitsEveryoneOnce) {
    start();
    int fds[6];
    for (int& fd : fds) fd = dial();
    ASSERT_TRUE(pump_until([&] { return echo.accepted == 6; }));
    int visits = 0;
    server->for_each([&](Connection& c) {
        ++visits;
        if (c.id() % 2 == 0) c.close_now();
    });
    EXPECT_EQ(visits, 6);
    EXPECT_EQ(echo.closed, 0) << "close events wait for the end of the loop turn";
    ASSERT_TRUE(pump_until([&] { return server->size() == 3u; }));
    EXPECT_EQ(echo.closed, 3);
    for (int fd : fds) close(fd);
}

// The use-after-free of issue #11: a service closed a connection inside its
// own data callback (a client's close frame, a failed write) and its session
// was freed while the decoder inside it was still running. Now the session
// belongs to the connection and outlives every callback on it.
struct Canary : Session {
    static int alive;
    uint64_t magic = 0xC0FFEE;
    Canary() { ++alive; }
    ~Canary() override {
        magic = 0;
        --alive;
    }
};
int Canary::alive = 0;

class Closer : public Echo {
  public:
    bool session_intact_after_close = false;
    int closed_during_callback = -1;
    void on_accept(Connection& c) override {
        Echo::on_accept(c);
        c.set_session(std::make_unique<Canary>());
    }
    void on_data(Connection& c, const char*, size_t) override {
        c.close_now();  // e.g. the peer's close frame: answer and close at once
        closed_during_callback = closed;
        session_intact_after_close = c.session<Canary>().magic == 0xC0FFEE && !c.is_open();
        c.send("late", 4);  // refused, harmless
    }
};

TEST_F(TcpServerTest, SessionOutlivesACloseInsideItsOwnCallback) {
    Closer closer;
    start(&closer);
    int fd = dial();
    ASSERT_TRUE(pump_until([&] { return closer.accepted == 1; }));
    EXPECT_EQ(Canary::alive, 1);
    ASSERT_EQ(write(fd, "x", 1), 1);
    ASSERT_TRUE(pump_until([&] { return closer.closed == 1; }));
    EXPECT_TRUE(closer.session_intact_after_close);
    EXPECT_EQ(closer.closed_during_callback, 0) << "on_close ran inside on_data";
    EXPECT_EQ(Canary::alive, 0) << "the session dies with its connection";
    EXPECT_EQ(server->size(), 0u);
    close(fd);
}

class Thrower : public Echo {
  public:
    void on_data(Connection&, const char*, size_t) override {
        throw std::runtime_error("Exceeded stackLimit in readValue().");
    }
};

// Input that a library rejects by throwing closes that connection, counted;
// the loop and every other connection go on.
TEST_F(TcpServerTest, AnExceptionFromInputClosesOnlyThatConnection) {
    Thrower thrower;
    start(&thrower);
    int bad = dial(), good = dial();
    ASSERT_TRUE(pump_until([&] { return thrower.accepted == 2; }));
    ASSERT_EQ(write(bad, "x", 1), 1);
    ASSERT_TRUE(pump_until([&] { return thrower.closed == 1; }));
    EXPECT_EQ(read(loop->stats().input_errors), 1u);
    EXPECT_EQ(server->size(), 1u);
    close(bad);
    close(good);
}

}  // namespace
