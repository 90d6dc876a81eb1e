#include "tests/support/ws_tally.h"

#include <fcntl.h>
#include <json/json.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <sstream>

#include "tests/support/ws_bytes.h"
#include "tests/support/ws_client.h"

namespace pusher::testing {

WsTally::~WsTally() {
    stop();
    for (Client& c : clients_)
        if (c.fd >= 0) close(c.fd);
    if (epoll_ >= 0) close(epoll_);
    if (wake_ >= 0) close(wake_);
}

bool WsTally::connect(const std::string& host, int port, int n) {
    for (int i = 0; i < n; ++i) {
        WsClient ws;
        if (!ws.connect(host, port))
            return error_ = "client " + std::to_string(clients_.size()) + ": " + ws.error(), false;
        std::string welcome = ws.recv_text(10000);
        Json::Value w;
        Json::CharReaderBuilder b;
        std::string errs;
        std::istringstream in(welcome);
        if (!Json::parseFromStream(b, in, &w, &errs) || w["type"].asString() != "welcome")
            return error_ = "not a JSON welcome: " + welcome, false;
        Client c;
        c.id = w["client_id"].asString();
        c.worker = w["worker_id"].asInt();
        c.fd = ws.release(&c.buf);
        fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
        clients_.push_back(std::move(c));
    }
    return true;
}

void WsTally::start() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = UINT32_MAX;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    for (size_t i = 0; i < clients_.size(); ++i) {
        ev.data.u32 = static_cast<uint32_t>(i);
        epoll_ctl(epoll_, EPOLL_CTL_ADD, clients_[i].fd, &ev);
    }
    {
        // Bytes that came with the welcome.
        std::lock_guard<std::mutex> lock(mu_);
        for (Client& c : clients_)
            if (!c.buf.empty()) read_client(c);
    }
    reader_ = std::thread([this] { run(); });
}

void WsTally::stop() {
    if (!reader_.joinable()) return;
    uint64_t one = 1;
    (void)!write(wake_, &one, sizeof one);
    reader_.join();
}

bool WsTally::wait_all(const std::string& marker, int timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    if (marker != marker_) {
        marker_ = marker;
        done_ = 0;
        for (Client& c : clients_) {
            c.done = c.closed;
            for (const std::string& m : c.got) c.done = c.done || m == marker;
            done_ += c.done;
        }
    }
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                 [&] { return done_ == clients_.size(); });
    return done_ == clients_.size();
}

std::vector<std::string> WsTally::got(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return clients_[i].got;
}

bool WsTally::closed(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return clients_[i].closed;
}

std::string WsTally::error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
}

void WsTally::run() {
    epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(epoll_, evs, 256, -1);
        if (n < 0 && errno == EINTR) continue;
        std::lock_guard<std::mutex> lock(mu_);
        for (int i = 0; i < n; ++i) {
            uint32_t index = evs[i].data.u32;
            if (index == UINT32_MAX) return;
            read_client(clients_[index]);
        }
        cv_.notify_all();
    }
}

size_t WsTally::pings(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return clients_[i].pings;
}

size_t WsTally::keepalives(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return clients_[i].pings + clients_[i].beats;
}

void WsTally::read_client(Client& c) {
    if (c.closed) return;
    char b[65536];
    for (;;) {
        ssize_t r = read(c.fd, b, sizeof b);
        if (r < 0 && errno == EAGAIN) break;
        if (r <= 0) {
            c.closed = true;
            break;
        }
        c.buf.append(b, static_cast<size_t>(r));
    }
    size_t at = 0;
    for (;;) {  // every complete frame; servers do not mask, pushes are not fragmented
        const auto* h = reinterpret_cast<const uint8_t*>(c.buf.data() + at);
        size_t have = c.buf.size() - at, head = 2;
        if (have < 2) break;
        uint64_t len = h[1] & 0x7f;
        if (len == 126) head = 4;
        if (len == 127) head = 10;
        if (have < head) break;
        if (len == 126) len = (uint64_t(h[2]) << 8) | h[3];
        if (len == 127) {
            len = 0;
            for (int k = 2; k < 10; ++k) len = (len << 8) | h[k];
        }
        if (have < head + len) break;
        uint8_t opcode = h[0] & 0x0f;
        if ((h[0] & 0x80) == 0 && error_.empty()) error_ = "fragmented frame to " + c.id;
        std::string payload(c.buf.data() + at + head, len);
        at += head + len;
        if (opcode == 0x1) {
            c.got.push_back(payload);
            if (!c.done && !marker_.empty() && payload == marker_) c.done = true, ++done_;
        } else if (opcode == 0x9) {  // as a real client does: pong, at once
            ++c.pings;
            std::string pong = ws_masked_frame(0x8A, payload);
            if (write(c.fd, pong.data(), pong.size()) != static_cast<ssize_t>(pong.size()) &&
                error_.empty())
                error_ = "pong not written whole by " + c.id;
        } else if (opcode == 0xA) {  // unsolicited: the server's one-way heartbeat
            ++c.beats;
        } else if (opcode == 0x8) {
            c.closed = true;
        }
    }
    c.buf.erase(0, at);
    if (c.closed) epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
    if (c.closed && !c.done && !marker_.empty()) c.done = true, ++done_;
}

}  // namespace pusher::testing
