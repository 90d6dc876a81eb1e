#include "runtime/tcp_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace pusher::runtime {

// Accepting in bursts keeps a connect storm from starving established clients.
static constexpr int kAcceptBurst = 64;
static constexpr timeval kBackOff = {0, 100 * 1000};

// A descriptor kept in reserve: when accept() hits EMFILE, releasing it lets
// us accept the waiting connection and close it at once, so the client is
// refused cleanly instead of hanging in the backlog (libuv does the same).
static int g_reserve_fd = -2;

static void refuse_with_reserve(int listen_fd) {
    if (g_reserve_fd < 0) return;
    close(g_reserve_fd);
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) close(fd);
    g_reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

TcpServer::TcpServer(Loop& loop, int listen_fd, ConnectionHandler* handler, Acceptor* acceptor)
    : loop_(loop), listen_fd_(listen_fd), handler_(handler), acceptor_(acceptor) {
    if (g_reserve_fd == -2) g_reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    listen_ev_ = event_new(loop.base(), listen_fd, EV_READ | EV_PERSIST, on_listen, this);
    resume_ev_ = evtimer_new(loop.base(), on_resume, this);
}

// The handler is being destroyed with us: what is left closes without events.
TcpServer::~TcpServer() {
    event_free(listen_ev_);
    event_free(resume_ev_);
    for (Connection* c : conns_) c->abandon();
    loop_.run_closes();
}

void TcpServer::start_accepting() {
    if (accepting_) return;
    accepting_ = true;
    if (!backing_off_) event_add(listen_ev_, nullptr);
}

void TcpServer::stop_accepting() {
    accepting_ = false;
    event_del(listen_ev_);
}

void TcpServer::on_listen(evutil_socket_t, short, void* arg) {
    static_cast<TcpServer*>(arg)->accept_some();
}

void TcpServer::on_resume(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<TcpServer*>(arg);
    self->backing_off_ = false;
    if (self->accepting_) event_add(self->listen_ev_, nullptr);
}

void TcpServer::back_off() {
    bump(loop_.stats().accept_fail);
    if (errno == EMFILE || errno == ENFILE) {
        refuse_with_reserve(listen_fd_);
        bump(loop_.stats().rejected);
    }
    backing_off_ = true;
    event_del(listen_ev_);
    evtimer_add(resume_ev_, &kBackOff);
}

void TcpServer::accept_some() {
    for (int i = 0; i < kAcceptBurst && accepting_; ++i) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) back_off();  // EMFILE, ENFILE, ENOBUFS
            return;
        }
        if (conns_.size() >= loop_.limits().max_connections) {
            // Refuse cleanly: accept and close, so it does not wait in the backlog.
            bump(loop_.stats().rejected);
            ::close(fd);
            continue;
        }
        adopt(fd);
    }
}

Connection* TcpServer::adopt(int fd) {
    return adopt(fd, loop_.next_connection_id());
}

Connection* TcpServer::adopt(int fd, uint64_t id) {
    auto* c = new Connection(loop_, fd, id, handler_, ConnState::Open);
    if (tls_) {
        SSL* ssl = tls_->accept(fd);
        if (ssl) c->start_tls(ssl);
        else c->close_now();  // out of memory: the close event still comes
    }
    c->index = static_cast<uint32_t>(conns_.size());
    conns_.push_back(c);
    by_id_.emplace(c->id(), c);
    if (loop_.owns_slot()) loop_.stats().connections.store(conns_.size(), std::memory_order_relaxed);
    acceptor_->on_accept(*c);
    return c;
}

void TcpServer::remove(Connection& c) {
    auto it = by_id_.find(c.id());
    if (it == by_id_.end() || it->second != &c) return;
    by_id_.erase(it);
    // Swap-remove: O(1), order does not matter for fan-out.
    Connection* last = conns_.back();
    conns_[c.index] = last;
    last->index = c.index;
    conns_.pop_back();
    if (loop_.owns_slot()) loop_.stats().connections.store(conns_.size(), std::memory_order_relaxed);
}

Connection* TcpServer::find(uint64_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
}

// Teardown: every connection closes now and gets its close event before
// this returns (the service is still whole).
void TcpServer::close_all() {
    for (Connection* c : conns_) c->close_now();
    loop_.run_closes();
}

}  // namespace pusher::runtime
