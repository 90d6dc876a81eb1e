#include "tests/support/http_conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

namespace pusher::testing {

HttpConn::~HttpConn() {
    if (fd_ >= 0) ::close(fd_);
}

bool HttpConn::connect(const std::string& host, int port) {
    if (fd_ >= 0) ::close(fd_);
    buf_.clear();
    eof_ = false;
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &a.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        error_ = "connect failed";
        return false;
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
}

std::string HttpConn::get_request(const std::string& target, const std::string& headers) {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n";
}

bool HttpConn::send(const std::string& raw) {
    size_t off = 0;
    while (off < raw.size()) {
        ssize_t n = ::send(fd_, raw.data() + off, raw.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return error_ = "send failed", false;
        off += static_cast<size_t>(n);
    }
    return true;
}

bool HttpConn::read(int* status, std::string* body, int timeout_ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        size_t h = buf_.find("\r\n\r\n");
        if (h != std::string::npos) {
            if (buf_.compare(0, 9, "HTTP/1.1 ") != 0)
                return error_ = "not an HTTP answer: " + buf_.substr(0, 80), false;
            size_t len = 0;
            bool have_len = false;
            for (size_t at = buf_.find("\r\n"); at < h; at = buf_.find("\r\n", at + 2)) {
                static const char kLen[] = "content-length:";
                if (strncasecmp(buf_.c_str() + at + 2, kLen, sizeof kLen - 1) == 0) {
                    len = strtoul(buf_.c_str() + at + 2 + sizeof kLen - 1, nullptr, 10);
                    have_len = true;
                }
            }
            if (!have_len) return error_ = "no Content-Length: " + buf_.substr(0, h), false;
            if (buf_.size() >= h + 4 + len) {
                *status = atoi(buf_.c_str() + 9);
                *body = buf_.substr(h + 4, len);
                buf_.erase(0, h + 4 + len);
                return true;
            }
        }
        int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        end - std::chrono::steady_clock::now())
                                        .count());
        if (left <= 0) return error_ = "timeout; have: " + buf_.substr(0, 200), false;
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, left) <= 0) continue;
        char b[65536];
        ssize_t n = ::read(fd_, b, sizeof b);
        if (n <= 0) {
            eof_ = true;
            return error_ = "closed by the server; have: " + buf_.substr(0, 200), false;
        }
        buf_.append(b, static_cast<size_t>(n));
    }
}

std::string HttpConn::get(const std::string& target, int* status, const std::string& headers) {
    int s = 0;
    std::string body;
    if (!send(get_request(target, headers)) || !read(&s, &body)) s = 0;
    if (status) *status = s;
    return body;
}

}  // namespace pusher::testing
