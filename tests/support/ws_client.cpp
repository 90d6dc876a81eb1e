#include "tests/support/ws_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "protocol/base64.h"
#include "protocol/ws_handshake.h"
#include "tests/support/tls_client.h"

namespace pusher::testing {

WsClient::WsClient() = default;

WsClient::~WsClient() {
    close();
}

void WsClient::close() {
    if (tls_) tls_->shutdown();
    tls_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void WsClient::abort() {
    tls_.reset();  // SSL_free writes nothing
    if (fd_ < 0) return;
    linger l{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd_);
    fd_ = -1;
}

int WsClient::release(std::string* pending) {
    if (tls_) return -1;
    int fd = fd_;
    fd_ = -1;
    pending->swap(buf_);
    buf_.clear();
    return fd;
}

static int connect_tcp(const std::string& host, int port, int rcvbuf, int mss) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return -1;
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (mss > 0) setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
    if (::connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        ::close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

bool WsClient::connect(const std::string& host, int port, const std::string& path,
                       const std::string& extra) {
    fd_ = connect_tcp(host, port, rcvbuf, mss);
    if (fd_ < 0) return error_ = "connect refused", false;
    return upgrade(host, path, extra);
}

bool WsClient::connect_tls(const std::string& host, int port, const TlsOptions& o,
                           const std::string& path, const std::string& extra) {
    fd_ = connect_tcp(host, port, rcvbuf, mss);
    if (fd_ < 0) return error_ = "connect refused", false;
    tls_ = std::make_unique<TlsSession>();
    if (!tls_->handshake(fd_, o)) return error_ = "tls: " + tls_->error(), false;
    return upgrade(host, path, extra);
}

ssize_t WsClient::read_some(char* buf, size_t n) {
    return tls_ ? tls_->read(buf, n) : ::read(fd_, buf, n);
}

bool WsClient::readable(int timeout_ms) {
    if (tls_ && tls_->pending()) return true;
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, timeout_ms) > 0;
}

bool WsClient::upgrade(const std::string& host, const std::string& path, const std::string& extra) {
    std::random_device rd;
    uint8_t nonce[16];
    for (auto& b : nonce) b = static_cast<uint8_t>(rd());
    std::string key = protocol::base64_encode(nonce, 16);
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + host +
                      "\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: " +
                      key + "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n";
    if (!send_raw(req)) return false;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (buf_.find("\r\n\r\n") == std::string::npos) {
        if (std::chrono::steady_clock::now() > end) return error_ = "handshake timeout", false;
        if (!readable(100)) continue;
        char b[4096];
        ssize_t n = read_some(b, sizeof b);
        if (n == 0 || (n < 0 && errno != EAGAIN))
            return error_ = "closed during handshake: " + buf_, false;
        if (n > 0) buf_.append(b, static_cast<size_t>(n));
    }
    size_t end_of_head = buf_.find("\r\n\r\n") + 4;
    response_ = buf_.substr(0, end_of_head);
    buf_.erase(0, end_of_head);
    if (response_.rfind("HTTP/1.1 101", 0) != 0) return error_ = "refused: " + response_, false;
    if (response_.find("Sec-WebSocket-Accept: " + protocol::ws_accept_key(key) + "\r\n") ==
        std::string::npos)
        return error_ = "bad Sec-WebSocket-Accept", false;
    return true;
}

bool WsClient::send_raw(const std::string& bytes) {
    if (tls_) return tls_->write_all(bytes.data(), bytes.size()) || (error_ = "send failed", false);
    size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return error_ = "send failed", false;
        off += static_cast<size_t>(n);
    }
    return true;
}

bool WsClient::send_frame(uint8_t opcode, const std::string& payload, bool fin, bool mask) {
    std::string f(1, static_cast<char>((fin ? 0x80 : 0) | opcode));
    size_t n = payload.size();
    uint8_t m = mask ? 0x80 : 0;
    if (n < 126) {
        f += static_cast<char>(m | n);
    } else if (n <= 0xFFFF) {
        f += static_cast<char>(m | 126);
        f += static_cast<char>(n >> 8);
        f += static_cast<char>(n & 0xFF);
    } else {
        f += static_cast<char>(m | 127);
        for (int i = 7; i >= 0; --i) f += static_cast<char>(uint64_t(n) >> (8 * i));
    }
    char key[4] = {0x12, 0x34, 0x56, 0x78};
    if (mask) f.append(key, 4);
    for (size_t i = 0; i < n; ++i)
        f += mask ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i];
    return send_raw(f);
}

bool WsClient::read_exact(size_t n, std::string* out, int timeout_ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (buf_.size() < n) {
        int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        end - std::chrono::steady_clock::now())
                                        .count());
        if (left <= 0) return false;
        if (!readable(left)) return false;
        char b[65536];
        ssize_t r = read_some(b, sizeof b);
        if (r < 0 && errno == EAGAIN) continue;  // a TLS record not complete yet
        if (r <= 0) {
            error_ = "closed";
            return false;
        }
        buf_.append(b, static_cast<size_t>(r));
    }
    *out = buf_.substr(0, n);
    buf_.erase(0, n);
    return true;
}

WsFrame WsClient::recv(int timeout_ms) {
    WsFrame f;
    std::string h;
    error_.clear();
    if (!read_exact(2, &h, timeout_ms)) return f.opcode = error_.empty() ? -1 : -2, f;
    f.opcode = uint8_t(h[0]) & 0x0F;
    f.rsv1 = (uint8_t(h[0]) & 0x40) != 0;
    uint64_t len = uint8_t(h[1]) & 0x7F;
    if (uint8_t(h[1]) & 0x80) return f.opcode = -3, f;  // servers must not mask
    std::string ext;
    if (len == 126 && read_exact(2, &ext, timeout_ms))
        len = (uint8_t(ext[0]) << 8) | uint8_t(ext[1]);
    if (len == 127 && read_exact(8, &ext, timeout_ms)) {
        len = 0;
        for (char c : ext) len = (len << 8) | uint8_t(c);
    }
    if (!read_exact(static_cast<size_t>(len), &f.payload, timeout_ms)) f.opcode = -2;
    return f;
}

std::string WsClient::recv_text(int timeout_ms) {
    for (;;) {
        WsFrame f = recv(timeout_ms);
        if (f.opcode == 0x9 || f.opcode == 0xA) continue;
        return f.opcode == 0x1 ? f.payload : "";
    }
}

}  // namespace pusher::testing
