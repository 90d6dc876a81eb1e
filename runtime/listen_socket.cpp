#include "runtime/listen_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pusher::runtime {

static int fail(int fd, std::string* error, const std::string& where) {
    if (error) *error = where + ": " + strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
}

int listen_socket(const std::string& host, int port, bool reuse_port, std::string* error) {
    std::string where = host + ":" + std::to_string(port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) {
        if (error) *error = where + ": " + gai_strerror(rc);
        return -1;
    }
    int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        return fail(-1, error, where);
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    // Accepted sockets inherit TCP_NODELAY on Linux: pushes must not wait for Nagle.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
        freeaddrinfo(res);
        return fail(fd, error, where);
    }
    freeaddrinfo(res);
    if (::listen(fd, kListenBacklog) != 0) return fail(fd, error, where);
    return fd;
}

// Lines look like "0: 0100007F:3A98 00000000:0000 0A ..." (address in host
// byte order as hex, port as hex, state 0A = LISTEN).
static bool listening_in(const char* file, uint32_t addr, bool v4, int port) {
    FILE* f = fopen(file, "r");
    if (!f) return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char local[64];
        unsigned state = 0;
        if (sscanf(line, " %*d: %63s %*s %x", local, &state) != 2 || state != 0x0A) continue;
        char* colon = strrchr(local, ':');
        if (!colon || static_cast<int>(strtoul(colon + 1, nullptr, 16)) != port) continue;
        *colon = '\0';
        if (!v4) {
            found = true;  // IPv6: any listener on the port is a clash
        } else {
            uint32_t a = static_cast<uint32_t>(strtoul(local, nullptr, 16));
            found = a == 0 || addr == 0 || a == addr;
        }
    }
    fclose(f);
    return found;
}

bool port_listening(const std::string& host, int port) {
    in_addr a{};
    bool v4 = inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &a) == 1;
    uint32_t addr = v4 ? a.s_addr : 0;  // /proc prints the raw in-memory value
    return listening_in("/proc/net/tcp", addr, v4, port) ||
           listening_in("/proc/net/tcp6", 0, false, port);
}

int socket_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

}  // namespace pusher::runtime
