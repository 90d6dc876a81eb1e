#include "tests/support/pump.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

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

int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

}  // namespace pusher::testing
