#include "runtime/connection.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "runtime/log.h"
#include "runtime/tls_stream.h"

namespace pusher::runtime {

// Every connection pays for each byte here (100k idle connections a host):
// 232 bytes is glibc's 240-byte chunk. TLS added only an SSL* and a few bits.
static_assert(sizeof(SendQueue) == 24, "an empty send queue is three words");
static_assert(sizeof(Connection) <= 232, "a Connection must stay in the 240-byte malloc chunk");

Connection::Connection(Loop& loop, int fd, uint64_t id, ConnectionHandler* handler, ConnState state)
    : loop_(loop),
      handler_(handler),
      fd_(fd),
      state_(state),
      writing_(false),
      reading_(true),
      corked_(false),
      read_wants_write_(false),
      write_wants_read_(false),
      tls_failed_(false),
      tls_ready_(false),
      id_(id) {
    last_active = static_cast<uint32_t>(loop.now());
    short what = state == ConnState::Connecting ? EV_WRITE : EV_READ | EV_PERSIST;
    writing_ = state == ConnState::Connecting;
    event_assign(&ev_, loop.base(), fd, what, on_event, this);
    event_add(&ev_, nullptr);
}

Connection::~Connection() {
    tls_release(ssl_, false);
    if (fd_ >= 0) {
        event_del(&ev_);
        ::close(fd_);
    }
}

Connection* Connection::connect(Loop& loop, const sockaddr* addr, socklen_t addr_len,
                                ConnectionHandler* handler, std::string* error) {
    int fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *error = std::string("socket: ") + strerror(errno);
        return nullptr;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, addr, addr_len) != 0 && errno != EINPROGRESS) {
        *error = std::string("connect: ") + strerror(errno);
        ::close(fd);
        return nullptr;
    }
    return new Connection(loop, fd, 0, handler, ConnState::Connecting);
}

void Connection::on_event(evutil_socket_t, short what, void* arg) {
    auto* c = static_cast<Connection*>(arg);
    if (c->state_ == ConnState::Connecting) return c->finish_connect();
    if (what & EV_WRITE) c->handle_write();
    if ((what & EV_READ) && c->state_ == ConnState::Open) c->handle_read();
}

void Connection::finish_connect() {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        error_ = static_cast<uint8_t>(err);  // for on_close, which runs later
        return close_now();
    }
    state_ = ConnState::Open;
    writing_ = !out_.empty();  // data sent while connecting waits in the queue
    update_events();
    handler_->on_connect(*this);
}

void Connection::handle_read() {
    for (int round = 0; round < 4 && state_ == ConnState::Open && reading_; ++round) {
        ssize_t n = read_some();
        if (n < 0) break;               // nothing more now
        if (n == 0) return close_now();  // EOF or an error
        bytes_in_ += static_cast<size_t>(n);
        bump(loop_.stats().bytes_in, static_cast<uint64_t>(n));
        last_active = static_cast<uint32_t>(loop_.now());
        if (!deliver(loop_.read_buffer(), static_cast<size_t>(n))) return;
        // A short plain read emptied the socket. TLS hands over one record
        // per read, so it goes on until the socket is empty (or 4 rounds:
        // stay fair to the others; the rest wakes us again).
        if (!ssl_ && static_cast<size_t>(n) < loop_.read_buffer_size()) break;
    }
    if (write_wants_read_ && state_ != ConnState::Closed) {
        write_wants_read_ = false;  // the handshake moved on: what waits may go out
        handle_write();
    }
}

// Kept for on_close (ETIMEDOUT: TCP gave up on an unresponsive peer).
void Connection::note_error(int err) {
    if (error_ == 0 && err > 0 && err < 256) error_ = static_cast<uint8_t>(err);
}

// > 0 bytes read into the loop's buffer, 0 EOF or error, -1 nothing now.
ssize_t Connection::read_some() {
    if (ssl_) return read_tls();
    ssize_t n = ::read(fd_, loop_.read_buffer(), loop_.read_buffer_size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return -1;
    if (n < 0) note_error(errno);
    return n < 0 ? 0 : n;
}

ssize_t Connection::read_tls() {
    bool handshaking = !tls_ready_;
    TlsWait wait = TlsWait::None;
    ssize_t n = tls_read(ssl_, loop_.read_buffer(), loop_.read_buffer_size(), &wait);
    int err = errno;  // a failed read's socket error (ETIMEDOUT) is still errno here
    note_handshake();
    if (n > 0) return n;
    if (wait == TlsWait::Read) return -1;
    if (wait == TlsWait::Write) {  // the handshake's answer did not fit the socket
        read_wants_write_ = true;
        watch(true);
        return -1;
    }
    if (wait == TlsWait::Failed) note_error(err);
    tls_broke(wait == TlsWait::Failed, handshaking);
    return 0;
}

// Either call may complete the handshake (a write before it drives it too).
void Connection::note_handshake() {
    if (!tls_ready_ && tls_handshake_done(ssl_)) tls_ready_ = true;
}

// The TLS stream ended (failed: with an error). One that ends before its
// handshake finished is counted, whichever call found out.
void Connection::tls_broke(bool failed, bool handshaking) {
    if (failed) tls_failed_ = true;
    // A bare TCP connect-and-close (a port probe, a health check) is no handshake.
    if (!handshaking || !tls_heard_from_peer(ssl_)) return;
    bump(loop_.stats().tls_handshake_failures);
    log_peer("tls: handshake with " + peer() + " failed: " + tls_failure(ssl_));
}

// No exception may unwind into libevent: input that a library rejects by
// throwing closes this connection, counted and logged, and nothing else.
bool Connection::deliver(const char* data, size_t len) {
    try {
        handler_->on_data(*this, data, len);
        return true;
    } catch (const std::exception& e) {
        fail_input(e.what());
    } catch (...) {
        fail_input("unknown exception");
    }
    return false;
}

void Connection::fail_input(const char* what) {
    bump(loop_.stats().input_errors);
    log_peer("closing " + peer() + ": input raised " + what);
    close_now();
}

void Connection::handle_write() {
    if (read_wants_write_) {
        read_wants_write_ = false;
        if (out_.empty()) watch(false);
        handle_read();
        if (state_ == ConnState::Closed || out_.empty()) return;
    }
    size_t before = out_.bytes();
    ssize_t w = flush_queue();
    if (w < 0 && !ssl_) note_error(errno);
    if (w < 0) return close_now();
    if (w > 0) last_active = static_cast<uint32_t>(loop_.now());
    bytes_out_ += static_cast<size_t>(w);
    loop_.stats().send_queue_bytes.fetch_sub(before - out_.bytes(), std::memory_order_relaxed);
    bump(loop_.stats().bytes_out, static_cast<uint64_t>(w));
    if (write_wants_read_) return watch(false);  // handle_read resumes it
    if (!out_.empty()) return;
    watch(false);
    if (state_ == ConnState::Closing) return close_now();
    handler_->on_buffer_drain(*this);
}

ssize_t Connection::flush_queue() {
    return ssl_ ? flush_tls() : out_.flush(fd_);
}

// SSL_write per up to 16 KB gathered from the queue (one TLS record each).
// What SSL_write did not take stays at the front of the queue, unchanged, so
// the retry presents the same bytes, as OpenSSL requires.
ssize_t Connection::flush_tls() {
    static thread_local char gather[16384];
    size_t total = 0;
    write_wants_read_ = false;
    while (!out_.empty()) {
        size_t len = 0;
        const char* p = out_.front(gather, sizeof gather, &len);
        TlsWait wait = TlsWait::None;
        bool handshaking = !tls_ready_;
        ssize_t w = tls_write(ssl_, p, len, &wait);
        int err = errno;
        note_handshake();
        if (w < 0) {
            note_error(err);
            tls_broke(true, handshaking);
            return -1;
        }
        if (w == 0) {
            write_wants_read_ = wait == TlsWait::Read;
            break;
        }
        out_.consume(static_cast<size_t>(w));
        total += static_cast<size_t>(w);
    }
    return static_cast<ssize_t>(total);
}

ssize_t Connection::write_direct(const char* data, size_t len) {
    ssize_t w;
    if (ssl_) {
        TlsWait wait = TlsWait::None;
        bool handshaking = !tls_ready_;
        w = tls_write(ssl_, data, len, &wait);
        note_handshake();
        if (w < 0) tls_broke(true, handshaking);
        if (w == 0) write_wants_read_ = wait == TlsWait::Read;
        if (w <= 0) return w;
        last_active = static_cast<uint32_t>(loop_.now());
        bytes_out_ += static_cast<size_t>(w);
        bump(loop_.stats().bytes_out, static_cast<uint64_t>(w));
        return w;
    }
    do w = ::write(fd_, data, len);
    while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) note_error(errno);
    if (w < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    last_active = static_cast<uint32_t>(loop_.now());  // the kernel took it: see last_active
    bytes_out_ += static_cast<size_t>(w);
    bump(loop_.stats().bytes_out, static_cast<uint64_t>(w));
    return w;
}

// Workerman's rule: "full" is judged on what is already queued, before appending.
bool Connection::over_cap() {
    if (out_.bytes() < loop_.limits().max_send_queue) return false;
    bump(loop_.stats().send_fail);
    handler_->on_buffer_full(*this);
    return true;
}

void Connection::queue_tail(SharedBuffer* buf, const char* data, size_t len, size_t written) {
    if (buf) {
        out_.push(buf, written);
    } else {
        SharedBuffer* copy = SharedBuffer::copy(data + written, len - written);
        out_.push(copy, 0);
        copy->unref();
    }
    bump(loop_.stats().send_queue_bytes, len - written);
    if (!write_wants_read_) watch(true);  // else the next read resumes it
}

bool Connection::send(const char* data, size_t len) {
    if (state_ != ConnState::Open && state_ != ConnState::Connecting) return false;
    if (over_cap()) return false;
    size_t written = 0;
    if (out_.empty() && state_ == ConnState::Open) {
        ssize_t w = write_direct(data, len);
        if (w < 0) {
            close_now();
            return false;
        }
        written = static_cast<size_t>(w);
    }
    if (written < len) queue_tail(nullptr, data, len, written);
    return true;
}

bool Connection::send(SharedBuffer* buf) {
    if (state_ != ConnState::Open && state_ != ConnState::Connecting) return false;
    if (over_cap()) return false;
    if (loop_.corked() && state_ == ConnState::Open && !writing_) {
        out_.push(buf, 0);  // written by flush_corked, with its neighbours
        bump(loop_.stats().send_queue_bytes, buf->size());
        if (!corked_) {
            corked_ = true;
            loop_.add_corked(this);
        }
        return true;
    }
    size_t written = 0;
    if (out_.empty() && state_ == ConnState::Open) {
        ssize_t w = write_direct(buf->data(), buf->size());
        if (w < 0) {
            close_now();
            return false;
        }
        written = static_cast<size_t>(w);
    }
    if (written < buf->size()) queue_tail(buf, buf->data(), buf->size(), written);
    return true;
}

void Connection::flush_corked() {
    corked_ = false;
    if (state_ != ConnState::Open || writing_ || out_.empty()) return;
    handle_write();
    if (state_ == ConnState::Open && !out_.empty() && !write_wants_read_) watch(true);
}

void Connection::watch(bool write) {
    if (write == writing_) return;
    writing_ = write;
    update_events();
}

// libevent forbids re-assigning an added event: delete, assign, add.
void Connection::update_events() {
    if (state_ == ConnState::Closed) return;
    short what = EV_PERSIST | (reading_ ? EV_READ : 0) | (writing_ ? EV_WRITE : 0);
    event_del(&ev_);
    event_assign(&ev_, loop_.base(), fd_, what, on_event, this);
    if (what != EV_PERSIST) event_add(&ev_, nullptr);
}

void Connection::pause_reading() {
    if (!reading_) return;
    reading_ = false;
    update_events();
}

void Connection::resume_reading() {
    if (reading_ || state_ != ConnState::Open) return;
    reading_ = true;
    update_events();
}

void Connection::close() {
    if (state_ == ConnState::Closed || state_ == ConnState::Closing) return;
    // A TLS handshake cannot finish with reading paused: nothing queued
    // before it could ever go out, so there is nothing to wait for.
    if (out_.empty() || state_ == ConnState::Connecting || tls_handshaking()) return close_now();
    pause_reading();
    state_ = ConnState::Closing;
    phase_since = static_cast<uint32_t>(loop_.now());
}

void Connection::close_discarding(const char* last, size_t len) {
    if (state_ != ConnState::Open) return close_now();
    // TLS keeps the whole queue (bounded by the cap): SSL_write may already
    // have encrypted bytes behind the head, and the retry must find them.
    size_t released = ssl_ ? 0 : out_.keep_head();
    loop_.stats().send_queue_bytes.fetch_sub(released, std::memory_order_relaxed);
    if (out_.empty()) {
        ssize_t w = write_direct(last, len);
        if (w < 0) return close_now();
        if (static_cast<size_t>(w) == len) return close_now();
        queue_tail(nullptr, last, len, static_cast<size_t>(w));
    } else {
        queue_tail(nullptr, last, len, 0);
    }
    close();
}

void Connection::close_now() {
    if (state_ == ConnState::Closed) return;
    state_ = ConnState::Closed;
    event_del(&ev_);
    tls_release(ssl_, !tls_failed_);  // close_notify first, on the same fd
    ssl_ = nullptr;
    ::close(fd_);
    fd_ = -1;
    loop_.stats().send_queue_bytes.fetch_sub(out_.bytes(), std::memory_order_relaxed);
    out_.clear();
    loop_.defer_close(this);  // on_close, then delete, once the stack has unwound
}

int Connection::hand_off(std::string* unsent) {
    if (state_ == ConnState::Closed || ssl_) return -1;
    char chunk[16384];
    while (!out_.empty()) {
        size_t len = 0;
        const char* p = out_.front(chunk, sizeof chunk, &len);
        unsent->append(p, len);
        out_.consume(len);
    }
    loop_.stats().send_queue_bytes.fetch_sub(unsent->size(), std::memory_order_relaxed);
    int fd = fd_;
    state_ = ConnState::Closed;
    event_del(&ev_);
    fd_ = -1;
    handler_ = nullptr;
    loop_.defer_close(this);
    return fd;
}

void Connection::abandon() {
    handler_ = nullptr;
    close_now();
}

void Connection::fire_close() {
    if (handler_) handler_->on_close(*this);
}

static std::string format_addr(const sockaddr_storage& ss) {
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss.ss_family == AF_INET) {
        auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
    }
    return std::string(host) + ":" + std::to_string(port);
}

std::string Connection::peer() const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (fd_ < 0 || getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "-";
    return format_addr(ss);
}

std::string Connection::local() const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (fd_ < 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "-";
    return format_addr(ss);
}

}  // namespace pusher::runtime
