#include "tests/support/ws_fleet.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>

#include "tests/support/ws_client.h"

namespace pusher::testing {

int64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string fleet_message(long seq, size_t size) {
    std::string m = "s" + std::to_string(seq) + "t" + std::to_string(monotonic_ns()) + "p";
    if (m.size() < size) m.append(size - m.size(), 'p');
    return m;
}

WsFleet::~WsFleet() {
    stop();
    for (Client& c : clients_)
        if (c.fd >= 0) close(c.fd);
    if (epoll_ >= 0) close(epoll_);
    if (wake_ >= 0) close(wake_);
}

bool WsFleet::connect(const std::string& host, int port, int n) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = UINT32_MAX;  // the stop signal
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    clients_.resize(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        WsClient ws;
        if (!ws.connect(host, port))
            return error_ = "client " + std::to_string(i) + ": " + ws.error(), false;
        if (ws.recv_text().empty())
            return error_ = "client " + std::to_string(i) + ": no welcome", false;
        Client& c = clients_[static_cast<size_t>(i)];
        c.fd = ws.release(&c.buf);
        fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
        ev.data.u32 = static_cast<uint32_t>(i);
        epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
    }
    reader_ = std::thread([this] { run(); });
    return true;
}

void WsFleet::stop() {
    if (!reader_.joinable()) return;
    uint64_t one = 1;
    (void)!write(wake_, &one, sizeof one);
    reader_.join();
}

std::string WsFleet::error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
}

bool WsFleet::wait_for(long last, int timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                 [&] { return all_through_ >= last || !error_.empty(); });
    return all_through_ >= last && error_.empty();
}

std::vector<int64_t> WsFleet::latencies_us(long from, long to) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<int64_t> out;
    for (const Sample& s : samples_)
        if (s.seq >= from && s.seq < to) out.push_back(s.us);
    std::sort(out.begin(), out.end());
    return out;
}

void WsFleet::run() {
    epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(epoll_, evs, 256, -1);
        if (n < 0 && errno == EINTR) continue;
        std::lock_guard<std::mutex> lock(mu_);
        for (int i = 0; i < n; ++i) {
            uint32_t index = evs[i].data.u32;
            if (index == UINT32_MAX) return;
            read_client(clients_[index], static_cast<int>(index));
        }
        while (all_through_ + 1 < static_cast<long>(got_.size()) &&
               got_[static_cast<size_t>(all_through_ + 1)] == static_cast<int>(clients_.size()))
            ++all_through_;
        cv_.notify_all();
    }
}

void WsFleet::read_client(Client& c, int index) {
    char b[65536];
    for (;;) {
        ssize_t r = read(c.fd, b, sizeof b);
        if (r < 0 && errno == EAGAIN) break;
        if (r <= 0) return fail(c, index, "closed by the server");
        c.buf.append(b, static_cast<size_t>(r));
    }
    int64_t now = monotonic_ns();
    size_t at = 0;
    while (!c.failed) {  // every complete frame in the buffer; servers do not mask
        const auto* h = reinterpret_cast<const uint8_t*>(c.buf.data() + at);
        size_t have = c.buf.size() - at, head = 2;
        if (have < 2) break;
        uint64_t len = h[1] & 0x7F;
        if (len == 126) head = 4;
        if (len == 127) head = 10;
        if (have < head) break;
        if (head > 2) len = 0;
        for (size_t k = 2; k < head; ++k) len = (len << 8) | h[k];
        if (have - head < len) break;
        frame(c, index, h[0] & 0x0F, c.buf.data() + at + head, static_cast<size_t>(len), now);
        at += head + static_cast<size_t>(len);
    }
    c.buf.erase(0, at);
}

void WsFleet::frame(Client& c, int index, uint8_t opcode, const char* p, size_t n, int64_t now) {
    if (opcode == 0x9 || opcode == 0xA) return;  // pings need no answer within a test
    if (opcode != 0x1) return fail(c, index, "opcode " + std::to_string(opcode));
    std::string text(p, n);
    char* end = nullptr;
    long seq = text[0] == 's' ? strtol(text.c_str() + 1, &end, 10) : -1;
    if (!end || *end != 't') return fail(c, index, "not a fleet message: " + text.substr(0, 40));
    if (seq != c.next)
        return fail(c, index,
                    "expected s" + std::to_string(c.next) + ", got s" + std::to_string(seq));
    int64_t sent = strtoll(end + 1, nullptr, 10);
    ++c.next;
    if (got_.size() <= static_cast<size_t>(seq)) got_.resize(static_cast<size_t>(seq) + 1);
    ++got_[static_cast<size_t>(seq)];
    samples_.push_back({static_cast<int32_t>(seq), static_cast<int32_t>((now - sent) / 1000)});
}

void WsFleet::fail(Client& c, int index, const std::string& why) {
    c.failed = true;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
    if (error_.empty()) error_ = "client " + std::to_string(index) + ": " + why;
}

}  // namespace pusher::testing
