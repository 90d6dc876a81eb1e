// A reconnect storm: 10k WebSocket clients connect at once to 2 workers; all
// get in and are greeted, none is lost, and a broadcast then reaches them all.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/pusher_instance.h"

using namespace pusher::testing;

namespace {

constexpr int kClients = 10000;

struct Peer {
    int fd = -1;
    std::string in;
    int frames = 0;
};

// Counts complete unmasked server frames in p.in (the 101 head first).
void count_frames(Peer& p) {
    size_t pos = 0;
    if (p.frames == 0) {
        size_t h = p.in.find("\r\n\r\n");
        if (h == std::string::npos) return;
        pos = h + 4;
        p.frames = -1;  // head seen
    }
    for (;;) {
        if (p.in.size() - pos < 2) break;
        size_t len = uint8_t(p.in[pos + 1]) & 0x7F, hdr = 2;
        if (len == 126) {
            if (p.in.size() - pos < 4) break;
            len = (uint8_t(p.in[pos + 2]) << 8) | uint8_t(p.in[pos + 3]);
            hdr = 4;
        }
        if (p.in.size() - pos < hdr + len) break;
        pos += hdr + len;
        p.frames = p.frames < 0 ? 1 : p.frames + 1;
    }
    p.in.erase(0, pos);
}

TEST(Storm, TenThousandClientsConnectAtOnceAndAllAreServed) {
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur < kClients + 200) GTEST_SKIP() << "needs " << kClients + 200 << " descriptors";
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    int ep = epoll_create1(0);
    std::vector<Peer> peers(kClients);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(p.ws_port));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    const std::string req =
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    for (int i = 0; i < kClients; ++i) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        ASSERT_GE(fd, 0);
        connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        peers[i].fd = fd;
        epoll_event ev{};
        ev.events = EPOLLOUT | EPOLLIN;
        ev.data.u32 = static_cast<uint32_t>(i);
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    auto pump = [&](int want_frames, int seconds) {
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
        int done = 0;
        std::vector<epoll_event> evs(1024);
        while (done < kClients && std::chrono::steady_clock::now() < end) {
            int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
            for (int k = 0; k < n; ++k) {
                Peer& peer = peers[evs[k].data.u32];
                if (evs[k].events & EPOLLOUT) {  // connected: send the handshake once
                    if (write(peer.fd, req.data(), req.size()) != static_cast<ssize_t>(req.size()))
                        continue;
                    epoll_event ev{};
                    ev.events = EPOLLIN;
                    ev.data.u32 = evs[k].data.u32;
                    epoll_ctl(ep, EPOLL_CTL_MOD, peer.fd, &ev);
                }
                char buf[4096];
                ssize_t r;
                while ((r = read(peer.fd, buf, sizeof buf)) > 0)
                    peer.in.append(buf, static_cast<size_t>(r));
                int before = peer.frames;
                count_frames(peer);
                if (before < want_frames && peer.frames >= want_frames) ++done;
            }
        }
        int ok = 0;
        for (Peer& peer : peers) ok += peer.frames >= want_frames;
        return ok;
    };
    EXPECT_EQ(pump(1, 60), kClients);  // everyone greeted
    EXPECT_EQ(p.http_get("/?content=storm-over"), "ok");
    EXPECT_EQ(pump(2, 30), kClients);  // and reached by a broadcast
    for (Peer& peer : peers) close(peer.fd);
    close(ep);
}

}  // namespace
