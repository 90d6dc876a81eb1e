// The per-process runtime context, as small as Redis' ae: one libevent base,
// the stats slot this process writes, the limits, a read buffer shared by all
// connections (a connection owns no input buffer of its own), and deferred
// freeing so that a connection closed inside a callback, or in the middle of
// a broadcast loop, is released only once the callbacks have returned.
#pragma once
#include <event2/event.h>

#include <cstdint>
#include <vector>

#include "runtime/config.h"
#include "runtime/stats.h"

namespace pusher::runtime {

class Connection;
class Loop;

// Corks the loop for a scope (see Loop::cork).
class CorkGuard {
  public:
    explicit CorkGuard(Loop& loop);
    ~CorkGuard();
    CorkGuard(const CorkGuard&) = delete;
    CorkGuard& operator=(const CorkGuard&) = delete;

  private:
    Loop& loop_;
};

class Loop {
  public:
    Loop(WorkerSlot* slot, const Limits& limits);
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    event_base* base() const { return base_; }
    WorkerSlot& stats() { return *slot_; }
    // Gauges (connections, bus up) are the slot owner's: during a hand-over or
    // a graceful reload the old process shares the slot with its replacement
    // and must not overwrite what the new one reports. Counters are shared.
    bool owns_slot() const { return slot_ == &own_slot_ || slot_->pid.load() == pid_; }
    const Limits& limits() const { return limits_; }
    Limits& mutable_limits() { return limits_; }  // a service may tune its own copy
    // Connection ids come from the shared slot so they are never reused
    // for the same worker id while the master runs, across re-forks too.
    uint64_t next_connection_id() { return slot_->next_connection_id.fetch_add(1) + 1; }
    // Seconds on a coarse monotonic clock (timeouts only, not latency).
    double now() const;
    // Tests and fuzzers: now() returns `seconds` from here on (a negative value
    // restores the real clock), so timeouts are reached without waiting.
    // libevent's own timers keep real time: call the sweep yourself.
    void set_test_clock(double seconds) { test_now_ = seconds; }

    char* read_buffer() { return read_buf_.data(); }
    size_t read_buffer_size() const { return read_buf_.size(); }

    // A closed connection's close event and its memory wait for the end of
    // the loop turn, when no callback on it can still be running.
    void defer_close(Connection* c);
    // Runs the pending close events now (teardown only, never from a
    // connection's callback).
    void run_closes() { reap(-1, 0, this); }

    // Corking: while corked, sends only queue; uncork() then writes each
    // touched connection once (one writev for all its frames). A service
    // corks around one read's worth of events so that k events to the same
    // peer cost one syscall, not k.
    void cork() { ++corked_; }
    void uncork();
    bool corked() const { return corked_ > 0; }
    void add_corked(Connection* c) { corked_conns_.push_back(c); }
    void run() { event_base_dispatch(base_); }
    void stop() { event_base_loopbreak(base_); }

  private:
    static void reap(evutil_socket_t, short, void* arg);
    event_base* base_;
    WorkerSlot* slot_;
    WorkerSlot own_slot_{};  // used when no shared region is given (unit tests)
    Limits limits_;
    std::vector<char> read_buf_;
    int pid_;  // this process (the Loop is made after the fork)
    std::vector<Connection*> graveyard_;
    double test_now_ = -1;  // < 0: the real clock
    int corked_ = 0;
    std::vector<Connection*> corked_conns_;
    event* reap_ev_;
};

inline CorkGuard::CorkGuard(Loop& loop) : loop_(loop) {
    loop_.cork();
}
inline CorkGuard::~CorkGuard() {
    loop_.uncork();
}

}  // namespace pusher::runtime
