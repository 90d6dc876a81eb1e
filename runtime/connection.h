// One TCP connection, accepted or outgoing. Its hot path follows Redis'
// networking.c: write() straight away when nothing is queued, queue only what
// the socket refuses, and watch EV_WRITE only while something is queued.
// An idle connection is this object and nothing else (no buffers).
#pragma once
#include <event2/event.h>
#include <event2/event_struct.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/loop.h"
#include "runtime/send_queue.h"

typedef struct ssl_st SSL;

namespace pusher::runtime {

class Connection;

// A service's per-connection protocol state (its codec, handshake, flags).
// The connection owns it and destroys it with itself, after the close event,
// at the end of the loop turn: so no session is ever freed while a callback
// on its connection, or a decoder inside it, is still running.
class Session {
  public:
    virtual ~Session() = default;
};

// What a service plugs into a connection (Workerman's callbacks). Bytes come
// raw; the service runs its protocol codec over them.
//
// Lifetime contract (uSockets'): one open always ends in exactly one
// on_close. Whoever closes, close_now() only marks the connection Closed and
// releases its socket; on_close runs later in the same loop turn, once every
// callback on the stack has returned, and the connection (and its session)
// is freed right after it. Until then the object stays valid: sends on it
// return false and is_open() is false.
class ConnectionHandler {
  public:
    virtual ~ConnectionHandler() = default;
    virtual void on_connect(Connection&) {}  // outgoing connections: established
    virtual void on_data(Connection& c, const char* data, size_t len) = 0;
    virtual void on_close(Connection& c) = 0;  // exactly once, deferred (see above)
    // The send queue reached the cap and a message was dropped (already counted).
    virtual void on_buffer_full(Connection&) {}
    virtual void on_buffer_drain(Connection&) {}
};

enum class ConnState : uint8_t { Connecting, Open, Closing, Closed };

class Connection {
  public:
    Connection(Loop& loop, int fd, uint64_t id, ConnectionHandler* handler, ConnState state);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Starts a non-blocking connect to a resolved address (the caller resolves
    // without blocking its loop and tries each address in turn). on_connect or
    // on_close follows; nullptr if the socket could not even be created.
    static Connection* connect(Loop& loop, const sockaddr* addr, socklen_t addr_len,
                               ConnectionHandler* handler, std::string* error);

    // From now on the connection speaks TLS through ssl (its own, freed with
    // it): the server side of the handshake runs in the first reads. Call
    // before any byte is read or sent.
    void start_tls(SSL* ssl) { ssl_ = ssl; }
    bool tls() const { return ssl_ != nullptr; }
    // A TLS connection whose handshake is not finished (its deadline is the
    // service's, measured from phase_since).
    bool tls_handshaking() const { return ssl_ && !tls_ready_; }

    // false: dropped (queue over the cap, counted as send_fail) or not open.
    bool send(const char* data, size_t len);
    bool send(SharedBuffer* buf);  // shared: queued by reference, never copied
    void close();                  // flush what is queued, then close
    void close_now();              // close at once; on_close follows at the end of the turn
    // The handler is going away (its owner is being destroyed): close at once
    // and never call it again.
    void abandon();
    // For a peer that stopped reading: discards what is queued behind the
    // message the socket is in the middle of, queues `last` (e.g. a close
    // frame) and closes once it is written. What stays is that one message and
    // `last`; the owner decides how long a Closing connection may wait.
    void close_discarding(const char* last, size_t len);
    // Hand-over (worker/handover.h): the connection leaves this process
    // alive. Appends what is queued and not yet written to *unsent, removes
    // the event and returns the socket without closing it (the caller
    // passes it on, then closes its copy); no close event follows and the
    // object is freed at the end of the turn. TLS connections cannot be
    // handed over (their cipher state lives in this process's OpenSSL).
    int hand_off(std::string* unsent);
    // The adopting side: counters as the old process left them.
    void set_counters(uint64_t in, uint64_t out) { bytes_in_ = in, bytes_out_ = out; }
    void pause_reading();
    void resume_reading();
    void flush_corked();  // Loop::uncork() calls it

    uint64_t id() const { return id_; }
    int fd() const { return fd_; }
    ConnState state() const { return state_; }
    bool is_open() const { return state_ == ConnState::Open; }
    size_t queued() const { return out_.bytes(); }
    uint64_t bytes_in() const { return bytes_in_; }
    uint64_t bytes_out() const { return bytes_out_; }
    Loop& loop() const { return loop_; }
    std::string peer() const;
    std::string local() const;

    void set_session(std::unique_ptr<Session> s) { session_ = std::move(s); }
    // The service's own session type; it set it in on_accept.
    template <class T>
    T& session() const {
        return static_cast<T&>(*session_);
    }

    uint32_t index = 0;        // position in the owner's table
    // Loop seconds of the last sign of life: bytes read from the peer, or
    // bytes the kernel took for it (a peer that does not acknowledge them is
    // cut by TCP itself, within TCP_USER_TIMEOUT where the service sets it).
    uint32_t last_active = 0;
    // A service-defined mark kept in the object itself, so a fan-out loop can
    // test it without touching the session (one cache miss less per delivery).
    bool ready = false;
    uint8_t flags = 0;  // service-defined bits (in the padding: costs nothing)
    // Why the connection failed (errno), for on_close: an outgoing connect,
    // or a read or write error (ETIMEDOUT: TCP gave up on the peer); 0 otherwise.
    uint8_t connect_error() const { return error_; }

  private:
    uint8_t error_ = 0;  // beside flags, in the same padding

  public:
    // Loop seconds when the current phase began (a handshake, or Closing: set
    // by close()); timeouts are measured from it, not from each byte.
    uint32_t phase_since = 0;

  private:
    friend class Loop;
    void fire_close();  // the deferred close event: Loop's end of turn calls it
    static void on_event(evutil_socket_t fd, short what, void* arg);
    void handle_read();
    bool deliver(const char* data, size_t len);
    void fail_input(const char* what);
    void handle_write();
    void finish_connect();
    bool over_cap();
    void watch(bool write);
    void update_events();
    void queue_tail(SharedBuffer* buf, const char* data, size_t len, size_t written);
    ssize_t write_direct(const char* data, size_t len);
    ssize_t read_some();
    ssize_t read_tls();
    void tls_broke(bool failed, bool handshaking);
    void note_error(int err);
    void note_handshake();
    ssize_t flush_queue();
    ssize_t flush_tls();

    Loop& loop_;
    ConnectionHandler* handler_;
    int fd_;
    ConnState state_;
    bool writing_ : 1;  // EV_WRITE watched
    bool reading_ : 1;
    bool corked_ : 1;  // in the loop's corked list
    // TLS: a read that the handshake stalled on a full socket is retried
    // when it becomes writable, and a write that waits for a read is retried
    // after the next read.
    bool read_wants_write_ : 1;
    bool write_wants_read_ : 1;
    bool tls_failed_ : 1;  // no close_notify after a TLS error
    bool tls_ready_ : 1;   // the handshake finished (post-handshake messages do not undo it)
    uint64_t id_;
    uint64_t bytes_in_ = 0, bytes_out_ = 0;
    SendQueue out_;
    std::unique_ptr<Session> session_;
    SSL* ssl_ = nullptr;
    event ev_;
};

}  // namespace pusher::runtime
