#include "tests/support/pump.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace pusher::testing {

int dial(int port, const char* host) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host, &a.sin_addr);
    connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    return fd;
}

bool read_pumped(event_base* base, int fd, std::string* out, size_t want, int ms) {
    bool eof = false;
    pump_until(
        base,
        [&] {
            char b[65536];
            ssize_t n = read(fd, b, sizeof b);
            if (n > 0) out->append(b, static_cast<size_t>(n));
            if (n == 0 || (n < 0 && errno != EAGAIN)) eof = true;
            return eof || out->size() >= want;
        },
        ms);
    return !eof;
}

// A port for a test server, from 20000-32767: below the kernel's ephemeral
// range (32768-60999 here), so no outgoing connection of this or another test
// can take it between this check and the server's bind (ports from bind(0)
// came from that range, and "Address already in use" flaked the suite on a
// machine with many sockets in use). Test jobs that run at once
// (scripts/run_tests.sh) each take a slice of it: PUSHER_PORT_SLICE=k/n.
int free_port() {
    static unsigned lo = 20000, size = 12768;
    static bool sliced = false;
    if (!sliced) {
        sliced = true;
        unsigned k = 0, n = 1;
        if (const char* s = getenv("PUSHER_PORT_SLICE"))
            if (sscanf(s, "%u/%u", &k, &n) == 2 && n > 0 && k < n) {
                size = 12768 / n;
                lo = 20000 + k * size;
            }
    }
    static unsigned next = static_cast<unsigned>(getpid() * 7919u);
    for (unsigned tries = 0; tries < size; ++tries) {
        int port = static_cast<int>(lo + next++ % size);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<uint16_t>(port));
        bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        close(fd);
        if (ok) return port;
    }
    return 0;
}

}  // namespace pusher::testing
