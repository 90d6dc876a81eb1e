#include "runtime/fd_link.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pusher::runtime {

static constexpr size_t kHeader = 7;
static constexpr size_t kMaxFds = 253;
// A frame's body: the largest is a batch of connections with their queued
// output (each bounded by max_send_queue); this only stops a garbage length.
static constexpr uint32_t kMaxBody = 1u << 30;

FdLink::FdLink(Loop& loop, int fd, OnMessage on_message, OnClose on_close)
    : loop_(loop), fd_(fd), on_message_(std::move(on_message)), on_close_(std::move(on_close)) {
    ev_ = event_new(loop.base(), fd, EV_READ | EV_PERSIST, on_event, this);
    event_add(ev_, nullptr);
}

FdLink::~FdLink() {
    close();
    if (ev_) event_free(ev_);
}

void FdLink::close() {
    if (fd_ < 0) return;
    event_del(ev_);
    ::close(fd_);
    fd_ = -1;
    for (Out& o : out_)
        for (int f : o.fds) ::close(f);
    out_.clear();
    out_bytes_ = 0;
    for (int f : in_fds_) ::close(f);
    in_fds_.clear();
}

bool FdLink::send(uint8_t type, std::string body, std::vector<int> fds) {
    if (fd_ < 0 || fds.size() > kMaxFds) {
        for (int f : fds) ::close(f);
        return false;
    }
    Out o;
    o.bytes.reserve(kHeader + body.size());
    uint32_t n = static_cast<uint32_t>(body.size());
    for (int i = 0; i < 4; ++i) o.bytes.push_back(static_cast<char>(n >> (8 * i)));
    o.bytes.push_back(static_cast<char>(type));
    o.bytes.push_back(static_cast<char>(fds.size() & 0xff));
    o.bytes.push_back(static_cast<char>(fds.size() >> 8));
    o.bytes += body;
    o.fds = std::move(fds);
    out_bytes_ += o.bytes.size();
    out_.push_back(std::move(o));
    if (!writing_) {
        in_send_ = true;
        handle_write();  // write first; the rest waits for EV_WRITE
        in_send_ = false;
    }
    return true;
}

void FdLink::handle_write() {
    if (!defer_fail_.empty() && !in_send_) return fail(defer_fail_);
    while (fd_ >= 0 && !out_.empty()) {
        Out& o = out_.front();
        iovec iov{o.bytes.data() + o.off, o.bytes.size() - o.off};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * kMaxFds)];
        if (!o.fds.empty()) {
            size_t len = sizeof(int) * o.fds.size();
            msg.msg_control = ctl;
            msg.msg_controllen = CMSG_SPACE(len);
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(len);
            memcpy(CMSG_DATA(c), o.fds.data(), len);
        }
        ssize_t w = sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            // ETOOMANYREFS: too many descriptors in flight for this user;
            // the peer taking some frees room, as a full socket does.
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ETOOMANYREFS)
                return watch_write(true);
            std::string why = std::string("hand-over link: ") + strerror(errno);
            // Inside send() the caller is in the middle of something: the
            // failure is reported from the loop, once it has returned.
            if (in_send_) {
                defer_fail_ = why;
                return watch_write(true);
            }
            return fail(why);
        }
        for (int f : o.fds) ::close(f);  // in flight now: the peer holds its own
        o.fds.clear();
        o.off += static_cast<size_t>(w);
        out_bytes_ -= static_cast<size_t>(w);
        if (o.off == o.bytes.size()) out_.pop_front();
    }
    watch_write(false);
}

void FdLink::watch_write(bool on) {
    if (on == writing_ || fd_ < 0) return;
    writing_ = on;
    event_del(ev_);
    event_assign(ev_, loop_.base(), fd_, EV_READ | EV_PERSIST | (on ? EV_WRITE : 0), on_event,
                 this);
    event_add(ev_, nullptr);
}

void FdLink::on_event(evutil_socket_t, short what, void* arg) {
    auto* self = static_cast<FdLink*>(arg);
    if (what & EV_WRITE) self->handle_write();
    if ((what & EV_READ) && self->fd_ >= 0) self->handle_read();
}

void FdLink::handle_read() {
    char buf[65536];
    for (int round = 0; round < 16 && fd_ >= 0; ++round) {
        iovec iov{buf, sizeof buf};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * kMaxFds)];
        msg.msg_control = ctl;
        msg.msg_controllen = sizeof ctl;
        ssize_t n = recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        // A failed recvmsg leaves msg_controllen as we set it: the buffer
        // still holds the last call's descriptors, long since taken. Only a
        // call that read something carries descriptors.
        if (n <= 0) return fail(n == 0 ? "hand-over link: peer closed" : strerror(errno));
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            const int* fds = reinterpret_cast<const int*>(CMSG_DATA(c));
            for (size_t i = 0; i < k; ++i) in_fds_.push_back(fds[i]);
        }
        if (msg.msg_flags & MSG_CTRUNC) return fail("hand-over link: descriptors truncated");
        in_.append(buf, static_cast<size_t>(n));
        parse();
    }
}

void FdLink::parse() {
    size_t pos = 0;
    while (fd_ >= 0 && in_.size() - pos >= kHeader) {
        const auto* h = reinterpret_cast<const uint8_t*>(in_.data() + pos);
        uint32_t len = h[0] | h[1] << 8 | h[2] << 16 | uint32_t(h[3]) << 24;
        size_t nfds = h[5] | h[6] << 8;
        if (len > kMaxBody || nfds > kMaxFds) return fail("hand-over link: bad frame");
        if (in_.size() - pos < kHeader + len) break;
        // The descriptors came with the frame's first byte, so they are here.
        if (in_fds_.size() < nfds) return fail("hand-over link: descriptors missing");
        Message m;
        m.type = h[4];
        m.body.assign(in_, pos + kHeader, len);
        for (size_t i = 0; i < nfds; ++i) {
            m.fds.push_back(in_fds_.front());
            in_fds_.pop_front();
        }
        pos += kHeader + len;
        on_message_(m);
        for (int f : m.fds)
            if (f >= 0) ::close(f);  // whatever the handler did not take (it sets -1)
    }
    in_.erase(0, pos);
    if (pos > 0 && batch_end_) batch_end_();
}

bool FdLink::peer_gone() const {
    if (fd_ < 0 || !defer_fail_.empty()) return true;
    char c;
    ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void FdLink::fail(const std::string& why) {
    if (fd_ < 0) return;
    close();
    on_close_(why);
}

}  // namespace pusher::runtime
