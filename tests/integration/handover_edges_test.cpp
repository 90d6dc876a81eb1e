// Hand-over edge cases (issue 15): what a connection is in the middle of when
// the reload comes crosses it intact (half a frame, half a handshake, half a
// fragmented message, output the client has not read yet); a process that
// dies in the middle of a hand-over leaves a serving slot and counts; wss://
// clients, which cannot be handed over, and the clients of `stop -g` are told
// goodbye one by one over close_window.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/tls_fixture.h"
#include "tests/support/pump.h"
#include "tests/support/ws_bytes.h"
#include "tests/support/ws_tally.h"

using namespace pusher::testing;

namespace {

std::string masked(uint8_t first, const std::string& payload) {
    return ws_masked_frame(first, payload, "\x01\x02\x03\x04");
}

long ws_sum(PusherInstance& p, const std::string& field) {
    Json::Value st = status_json(p);
    long n = 0;
    for (const Json::Value& w : st["workers"])
        if (w["name"].asString() == "pusher") n += w[field].asInt64();
    return n;
}

// A blocking loopback client socket (reads time out after 5 s).
int raw_connect(int port) {
    int fd = dial(port);
    pollfd pf{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (poll(&pf, 1, 5000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

// Starts p from its own copy of the binary (an upgrade replaces that copy).
::testing::AssertionResult start_own_copy(PusherInstance& p) {
    if (run("cp " + p.bin + " " + p.dir + "/pusher").code != 0)
        return ::testing::AssertionFailure() << "copy";
    p.bin = p.dir + "/pusher";
    if (p.start().code != 0 || !p.wait_healthy()) return ::testing::AssertionFailure() << "start";
    return ::testing::AssertionSuccess();
}

// Puts the "+next" build where p's binary is, as a deploy does (a rename).
::testing::AssertionResult install_next(PusherInstance& p) {
    if (run("cp " + pusher_bin() + "-next " + p.dir + "/p.new && mv " + p.dir + "/p.new " + p.bin)
            .code != 0)
        return ::testing::AssertionFailure() << "install";
    return ::testing::AssertionSuccess();
}

// Reads until `until` appears (or the peer closes / 5 s pass).
std::string read_until(int fd, const std::string& until) {
    std::string got;
    char buf[4096];
    while (got.find(until) == std::string::npos) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
    }
    return got;
}

// Environment for one instance's start (inherited by its master and workers).
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
    ~ScopedEnv() { unsetenv(name_); }

  private:
    const char* name_;
};

// Each client's close frame, read by its own thread (so one client read late
// does not hide when the others got theirs): seconds after t0, answered as
// a client does. The payloads go to *payloads.
std::vector<double> close_times(std::vector<std::unique_ptr<WsClient>>& clients,
                                std::chrono::steady_clock::time_point t0,
                                std::vector<std::string>* payloads) {
    std::vector<double> at(clients.size(), -1);
    payloads->assign(clients.size(), "");
    std::vector<std::thread> readers;
    for (size_t i = 0; i < clients.size(); ++i)
        readers.emplace_back([&, i] {
            WsFrame f = clients[i]->recv(8000);
            if (f.opcode != 0x8) return;
            at[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            (*payloads)[i] = f.payload;
            clients[i]->send_frame(0x8, f.payload.substr(0, 2));
        });
    for (std::thread& t : readers) t.join();
    return at;
}

// A started one-worker instance (JSON welcome) whose test kills one worker,
// and n clients on it, reading.
#define START_WITH_TALLY(p, tally, n)                                       \
    PusherInstance p("\"welcome\": \"json\",", 1);                       \
    p.expect_worker_deaths(1);                                              \
    ASSERT_EQ(p.start().code, 0);                                           \
    ASSERT_TRUE(p.wait_healthy());                                          \
    WsTally tally;                                                          \
    ASSERT_TRUE(tally.connect("127.0.0.1", p.ws_port, n)) << tally.error(); \
    tally.start()

}  // namespace

// Half a ping frame, half a handshake and the first fragment of a message
// are in the old worker when the reload comes; the rest goes to the new one.
TEST(HandoverEdges, HalfAFrameHalfAHandshakeAndAFragmentCrossTheReload) {
    PusherInstance p("", 1);
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    WsClient ping, frag;
    ASSERT_TRUE(ping.connect("127.0.0.1", p.ws_port));
    ASSERT_TRUE(frag.connect("127.0.0.1", p.ws_port));
    ASSERT_NE(ping.recv_text().find("connected"), std::string::npos);
    ASSERT_NE(frag.recv_text().find("connected"), std::string::npos);
    std::string ping_frame = masked(0x89, "across");
    ASSERT_TRUE(ping.send_raw(ping_frame.substr(0, 3)));  // inside the header
    ASSERT_TRUE(frag.send_raw(masked(0x01, "first half, ")));
    int hs = raw_connect(p.ws_port);
    ASSERT_GE(hs, 0);
    std::string request =
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    ASSERT_EQ(write(hs, request.data(), 40), 40);
    int before = p.worker_pid("pusher", 0);
    // The worker has read every byte sent so far before the reload asks (a
    // ping round trip on a third connection proves it: one loop, in order).
    WsClient probe;
    ASSERT_TRUE(probe.connect("127.0.0.1", p.ws_port));
    probe.recv_text();
    ASSERT_TRUE(probe.send_frame(0x9, "sync"));
    ASSERT_EQ(probe.recv(3000).opcode, 0xA);

    CmdResult r = p.cli("reload");
    ASSERT_EQ(r.code, 0) << r.out;
    ASSERT_NE(p.worker_pid("pusher", 0), before);

    ASSERT_TRUE(ping.send_raw(ping_frame.substr(3)));
    WsFrame pong = ping.recv(3000);
    EXPECT_EQ(pong.opcode, 0xA);
    EXPECT_EQ(pong.payload, "across");
    ASSERT_TRUE(frag.send_raw(masked(0x80, "second half")));
    ASSERT_TRUE(frag.send_frame(0x9, "after"));
    WsFrame f = frag.recv(3000);
    EXPECT_EQ(f.opcode, 0xA) << "the fragmented message was not continued: " << f.payload;
    ASSERT_EQ(write(hs, request.data() + 40, request.size() - 40),
              static_cast<ssize_t>(request.size() - 40));
    std::string answer = read_until(hs, "connected\n");
    EXPECT_NE(answer.find("101 Switching Protocol"), std::string::npos) << answer;
    EXPECT_NE(answer.find("workerID:0 connectionID:"), std::string::npos) << answer;
    close(hs);
    EXPECT_EQ(ws_sum(p, "handover_adopted"), 4);
    EXPECT_EQ(ws_sum(p, "handovers"), 1);
}

// A client that does not read: the server's queue for it crosses the
// reload, and every message arrives, whole and in order.
TEST(HandoverEdges, OutputTheClientHasNotReadYetArrivesWhole) {
    PusherInstance p("", 1);
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    WsClient slow;
    slow.rcvbuf = 4096;
    slow.mss = 1460;
    ASSERT_TRUE(slow.connect("127.0.0.1", p.ws_port));
    ASSERT_NE(slow.recv_text().find("connected"), std::string::npos);
    const int kMessages = 40;
    for (int i = 0; i < kMessages; ++i) {
        std::string content = "m" + std::to_string(i) + "-" + std::string(12000, 'a' + i % 26);
        ASSERT_EQ(p.http_get("/?content=" + content), "ok");
    }
    ASSERT_TRUE(eventually([&] { return ws_sum(p, "send_queue_bytes") > 0; }))
        << "nothing was queued: the test proves nothing";
    CmdResult r = p.cli("reload");
    ASSERT_EQ(r.code, 0) << r.out;
    for (int i = 0; i < kMessages; ++i) {
        std::string got = slow.recv_text(5000);
        ASSERT_EQ(got, "m" + std::to_string(i) + "-" + std::string(12000, 'a' + i % 26))
            << "message " << i << " (" << got.size() << " bytes)";
    }
    ASSERT_EQ(p.http_get("/?content=after"), "ok");
    EXPECT_EQ(slow.recv_text(5000), "after");
}

// The new worker dies after adopting the first batch: the slot is served
// again, the reload finishes, the clients that were in flight are closed
// (they reconnect), and it is counted.
TEST(HandoverEdges, NewWorkerDyingMidwayLeavesAServingSlot) {
    ScopedEnv fault("PUSHER_TEST_HANDOVER", "new_dies_after_first_batch");
    START_WITH_TALLY(p, tally, 600);
    CmdResult r = p.cli("reload");
    EXPECT_EQ(r.code, 0) << r.out << p.log_lines("hand-over");
    ASSERT_TRUE(tally.wait_all("never sent", 10000)) << "clients left hanging" << p.log_lines("");
    for (size_t i = 0; i < tally.size(); ++i) EXPECT_TRUE(tally.closed(i)) << i;
    ASSERT_TRUE(p.wait_healthy());
    WsClient again;
    ASSERT_TRUE(again.connect("127.0.0.1", p.ws_port)) << again.error();
    EXPECT_NE(again.recv_text().find("welcome"), std::string::npos);
    EXPECT_GE(ws_sum(p, "handover_failures"), 1);
    EXPECT_GE(ws_sum(p, "handover_lost"), 253);
    EXPECT_NE(p.log_lines("hand-over failed").find("not confirmed"), std::string::npos);
}

// The new worker dies before anything was handed over: the old worker keeps
// its clients and the slot, and nobody is closed.
TEST(HandoverEdges, NewWorkerDyingBeforeTheFreezeClosesNobody) {
    ScopedEnv fault("PUSHER_TEST_HANDOVER", "new_dies_at_start");
    START_WITH_TALLY(p, tally, 100);
    int old = p.worker_pid("pusher", 0);
    CmdResult r = p.cli("reload");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(p.worker_pid("pusher", 0), old) << p.log_lines("");
    ASSERT_EQ(p.http_get("/?content=still-served"), "ok");
    ASSERT_TRUE(tally.wait_all("still-served", 10000));
    for (size_t i = 0; i < tally.size(); ++i) EXPECT_FALSE(tally.closed(i)) << i;
    EXPECT_NE(p.log_lines("serves the slot again"), "");
    EXPECT_GE(ws_sum(p, "handover_failures"), 1);
}

// The old worker dies after sending the first batch: the new one serves
// the 253 it adopted (they keep getting broadcasts), the rest reconnect.
TEST(HandoverEdges, OldWorkerDyingMidwayLeavesTheAdoptedServed) {
    ScopedEnv fault("PUSHER_TEST_HANDOVER", "old_dies_after_first_batch");
    START_WITH_TALLY(p, tally, 600);
    CmdResult r = p.cli("reload");
    EXPECT_EQ(r.code, 0) << r.out;
    ASSERT_TRUE(eventually([&] { return ws_sum(p, "handover_failures") >= 1; }));
    ASSERT_EQ(p.http_get("/?content=still-here"), "ok");
    // Those in flight when it died are closed; the adopted ones get the push.
    ASSERT_TRUE(tally.wait_all("still-here", 10000));
    size_t served = 0, closed = 0;
    for (size_t i = 0; i < tally.size(); ++i) {
        if (tally.closed(i)) {
            ++closed;
            continue;
        }
        std::vector<std::string> got = tally.got(i);
        served += !got.empty() && got.back() == "still-here";
    }
    EXPECT_EQ(served, 253u) << p.log_lines("") << p.cli("status").out;
    EXPECT_EQ(closed, 600u - 253u);
    EXPECT_EQ(ws_sum(p, "handover_adopted"), 253);
    EXPECT_NE(p.log_lines("hand-over incomplete").find("serving the 253"), std::string::npos);
}

// wss:// cannot be handed over: on reload the old worker tells each client
// 1001 with a reconnect hint, spread over close_window, and counts them.
TEST(HandoverEdges, TlsClientsAreToldGoodbyeOneByOne) {
    TlsPusherOptions o;
    o.extra_json = "\"reload\": {\"close_window\": 1.5},";
    TlsPusher t(o);
    ASSERT_EQ(t.start(), "");
    const int kClients = 30;
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<WsClient>());
        ASSERT_TRUE(t.connect(*clients.back()));
    }
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> payloads;
    std::vector<double> at;
    std::thread reader([&] { at = close_times(clients, t0, &payloads); });
    CmdResult r = t.p->cli("reload");
    reader.join();
    ASSERT_EQ(r.code, 0) << r.out << t.log();
    for (size_t i = 0; i < clients.size(); ++i) {
        ASSERT_GE(at[i], 0) << "client " << i << " got no close frame";
        EXPECT_EQ(payloads[i].substr(2), "server restarting, reconnect");
        EXPECT_EQ((uint8_t(payloads[i][0]) << 8) | uint8_t(payloads[i][1]), 1001);
    }
    double first = *std::min_element(at.begin(), at.end());
    double last = *std::max_element(at.begin(), at.end());
    EXPECT_GT(last - first, 0.7) << "closes were not spread over close_window";
    EXPECT_LT(last, 5.0);
    EXPECT_TRUE(eventually([&] { return t.ws_stat("paced_closes") == kClients; }));
    EXPECT_EQ(t.ws_stat("handovers"), 0);
    WsClient again;
    EXPECT_TRUE(t.connect(again));  // the new worker serves
}

// `stop -g`: every WebSocket client is told 1001 one by one over close_window.
TEST(HandoverEdges, GracefulStopPacesItsGoodbyes) {
    PusherInstance p("\"reload\": {\"close_window\": 1},", 1);
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    const int kClients = 20;
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<WsClient>());
        ASSERT_TRUE(clients.back()->connect("127.0.0.1", p.ws_port));
        clients.back()->recv_text();
    }
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> payloads;
    std::vector<double> at;
    std::thread reader([&] { at = close_times(clients, t0, &payloads); });
    EXPECT_EQ(p.cli("stop -g").code, 0);
    reader.join();
    for (double t : at) ASSERT_GE(t, 0) << "a client got no close frame";
    double spread = *std::max_element(at.begin(), at.end()) - *std::min_element(at.begin(), at.end());
    EXPECT_GT(spread, 0.5) << "closes were not spread over close_window";
}

// `upgrade` to a binary that fails its check, and to one whose config moved a
// listener: refused with the reason, the old build keeps running, and a
// client connected throughout is not touched.
TEST(HandoverEdges, AnUpgradeThatFailsItsCheckChangesNothing) {
    PusherInstance p("", 1);
    ASSERT_TRUE(start_own_copy(p));
    WsClient c;
    ASSERT_TRUE(c.connect("127.0.0.1", p.ws_port));
    ASSERT_NE(c.recv_text().find("connected"), std::string::npos);
    Json::Value before = status_json(p);

    // A "binary" that cannot start.
    std::string broken = p.dir + "/broken";
    {
        std::ofstream f(broken);
        f << "#!/bin/sh\necho 'cannot load libfoo.so' >&2\nexit 1\n";
    }
    ASSERT_EQ(run("chmod +x " + broken + " && mv " + broken + " " + p.bin).code, 0);
    CmdResult up = run(pusher_bin() + " upgrade -c " + p.config);
    EXPECT_NE(up.code, 0);
    EXPECT_NE(up.out.find("upgrade refused"), std::string::npos) << up.out;
    EXPECT_NE(up.out.find("cannot load libfoo.so"), std::string::npos) << up.out;
    EXPECT_NE(p.log_lines("upgrade refused").find("still running"), std::string::npos);

    // A working binary, but the config on disk moved the websocket port.
    ASSERT_TRUE(install_next(p));
    std::string moved = slurp(p.config);
    std::string listen = "127.0.0.1:" + std::to_string(p.ws_port) + "\"";
    ASSERT_NE(moved.find(listen), std::string::npos);
    moved.replace(moved.find(listen), listen.size(),
                  "127.0.0.1:" + std::to_string(p.ws_port + 1) + "\"");
    std::string saved = slurp(p.config);
    {
        std::ofstream f(p.config);
        f << moved;
    }
    up = run(pusher_bin() + " upgrade -c " + p.config);
    {
        std::ofstream f(p.config);
        f << saved;  // back, so that the instance is stopped by its config
    }
    EXPECT_NE(up.code, 0);
    EXPECT_NE(up.out.find("use restart"), std::string::npos) << up.out << p.log_lines("upgrade");

    Json::Value after = status_json(p);
    EXPECT_EQ(after["version"], before["version"]);
    EXPECT_EQ(after["master_pid"], before["master_pid"]);
    EXPECT_EQ(p.worker_pid("pusher", 0), before["workers"][1]["pid"].asInt());
    ASSERT_EQ(p.http_get("/?content=untouched"), "ok");
    EXPECT_EQ(c.recv_text(), "untouched");
}

// A new image that cannot take over (here: told to refuse) executes the old
// one again, which goes on with the same workers and clients and reports the
// upgrade as refused.
TEST(HandoverEdges, ANewImageThatCannotTakeOverRollsBack) {
    ScopedEnv fault("PUSHER_TEST_UPGRADE_FAIL", "pusher/0.2.0+next");
    PusherInstance p("", 1);
    ASSERT_TRUE(start_own_copy(p));
    WsClient c;
    ASSERT_TRUE(c.connect("127.0.0.1", p.ws_port));
    ASSERT_NE(c.recv_text().find("connected"), std::string::npos);
    Json::Value before = status_json(p);
    ASSERT_TRUE(install_next(p));
    CmdResult up = run(pusher_bin() + " upgrade -c " + p.config);
    EXPECT_NE(up.code, 0);
    EXPECT_NE(up.out.find("could not take over"), std::string::npos) << up.out;
    Json::Value after = status_json(p);
    EXPECT_EQ(after["version"], before["version"]);
    EXPECT_EQ(after["master_pid"], before["master_pid"]);
    EXPECT_EQ(p.worker_pid("pusher", 0), before["workers"][1]["pid"].asInt());
    ASSERT_EQ(p.http_get("/?content=after-rollback"), "ok");
    EXPECT_EQ(c.recv_text(), "after-rollback");
    CmdResult rl = p.cli("reload");  // and the master still works
    EXPECT_EQ(rl.code, 0) << rl.out;
    ASSERT_EQ(p.http_get("/?content=after-reload"), "ok");
    EXPECT_EQ(c.recv_text(), "after-reload");
}
