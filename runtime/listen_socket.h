// Listening sockets. The master creates them before forking so that they stay
// open while workers come and go: with SO_REUSEPORT each worker id gets its own
// socket (the kernel balances new connections by hash), and a replaced worker
// inherits the same socket and its accept queue.
#pragma once
#include <string>

namespace pusher::runtime {

// The backlog every listening socket asks for (Workerman's DEFAULT_BACKLOG).
// The kernel silently caps it at net.core.somaxconn, which master/kernel_check.h
// compares with it at start.
constexpr int kListenBacklog = 102400;

// Binds and listens on host:port (IPv4 or IPv6 literal, or "localhost"). Sets
// SO_REUSEADDR, SO_REUSEPORT when reuse_port, O_NONBLOCK and FD_CLOEXEC.
// Returns the fd, or -1 with a message like "127.0.0.1:4236: Address already in use".
int listen_socket(const std::string& host, int port, bool reuse_port, std::string* error);

// True when some socket already listens on host:port (from /proc/net/tcp*).
// With SO_REUSEPORT a second instance could bind the same port silently, so
// the master checks this first.
bool port_listening(const std::string& host, int port);

// The port a socket is bound to (for port 0 in tests).
int socket_port(int fd);

}  // namespace pusher::runtime
