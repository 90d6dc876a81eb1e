// Events routed per second through a Channel server: 1 publisher, S
// subscribers, D-byte data, publishes pipelined with a bounded window.
//   channel_bench HOST PORT [events=200000] [subscribers=4] [bytes=100]
// Prints one line: events/s published and deliveries/s routed.
// With --redis first, the same load goes through a Redis server's
// PUBLISH/SUBSCRIBE instead (side by side with the channel service).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "protocol/channel_message.h"
#include "protocol/frame.h"

using namespace pusher::protocol;

static int dial(const char* host, int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void write_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = write(fd, s.data() + off, s.size() - off);
        if (n <= 0) exit(1);
        off += static_cast<size_t>(n);
    }
}

// Counts complete "message" pushes in a RESP stream (payloads are 'x's, so
// the marker cannot occur inside them); keeps a partial tail between reads.
struct RespCounter {
    std::string tail;
    long feed(const char* p, size_t n) {
        tail.append(p, n);
        long count = 0;
        size_t pos = 0, hit;
        static const std::string marker = "$7\r\nmessage\r\n";
        while ((hit = tail.find(marker, pos)) != std::string::npos) {
            ++count;
            pos = hit + marker.size();
        }
        tail.erase(0, pos == 0 ? (tail.size() > 16 ? tail.size() - 16 : 0) : pos);
        return count;
    }
};

int main(int argc, char** argv) {
    bool redis = argc > 1 && std::string(argv[1]) == "--redis";
    if (redis) {
        --argc;
        ++argv;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: %s HOST PORT [events] [subscribers] [bytes]\n", argv[0]);
        return 2;
    }
    const char* host = argv[1];
    int port = atoi(argv[2]);
    long events = argc > 3 ? atol(argv[3]) : 200000;
    int subs = argc > 4 ? atoi(argv[4]) : 4;
    size_t bytes = argc > 5 ? static_cast<size_t>(atol(argv[5])) : 100;
    std::vector<int> sub_fds;
    std::vector<FrameDecoder> decoders(static_cast<size_t>(subs));
    std::vector<RespCounter> resp(static_cast<size_t>(subs));
    for (int i = 0; i < subs; ++i) {
        sub_fds.push_back(dial(host, port));
        write_all(sub_fds.back(), redis ? std::string("SUBSCRIBE bench\r\n")
                                        : frame_encode(channel::build_client_message(
                                              "subscribe", {php::Value::string("bench")})));
    }
    int pub = dial(host, port);
    // A ping round trip per subscriber would need replies; instead send one
    // warm-up event and wait until every subscriber has it.
    php::Value data = php::Value::string(std::string(bytes, 'x'));
    std::string one = redis ? "PUBLISH bench " + std::string(bytes, 'x') + "\r\n"
                            : frame_encode(channel::build_client_message(
                                  "publish", {php::Value::string("bench")}, &data));
    std::vector<long> got(static_cast<size_t>(subs), 0);
    char buf[1 << 16];
    auto drain = [&](int timeout_ms) {
        if (redis) {  // Redis answers every PUBLISH: keep the publisher's socket empty
            char sink[1 << 16];
            while (recv(pub, sink, sizeof sink, MSG_DONTWAIT) > 0) {
            }
        }
        std::vector<pollfd> p;
        for (int fd : sub_fds) p.push_back({fd, POLLIN, 0});
        if (poll(p.data(), p.size(), timeout_ms) <= 0) return;
        for (size_t i = 0; i < p.size(); ++i) {
            if (!(p[i].revents & POLLIN)) continue;
            ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n <= 0) exit(1);
            if (redis) {
                got[i] += resp[i].feed(buf, static_cast<size_t>(n));
                continue;
            }
            decoders[i].feed(buf, static_cast<size_t>(n));
            std::string_view body;
            while (decoders[i].next(&body)) ++got[i];
        }
    };
    auto min_got = [&] {
        long m = got[0];
        for (long g : got) m = std::min(m, g);
        return m;
    };
    write_all(pub, one);
    while (min_got() < 1) drain(1000);
    const long window = 2000;  // in flight, so the publisher cannot outrun the subscribers
    std::string batch;
    for (int i = 0; i < 64; ++i) batch += one;
    auto t0 = std::chrono::steady_clock::now();
    long sent = 0;
    while (min_got() < events + 1) {
        if (sent < events && sent - (min_got() - 1) < window) {
            write_all(pub, batch);
            sent += 64;
            drain(0);
        } else {
            drain(1000);
        }
        if (sent > events) events = sent;  // whole batches
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf(
        "%s events=%ld subscribers=%d bytes=%zu seconds=%.3f events_per_s=%.0f "
        "deliveries_per_s=%.0f\n",
        redis ? "redis_bench" : "channel_bench", events, subs, bytes, secs, events / secs,
        events * subs / secs);
    return 0;
}
