// The per-process runtime context, as small as Redis' ae: one libevent base,
// the stats slot this process writes, the limits, a read buffer shared by all
// connections (a connection owns no input buffer of its own), and deferred
// freeing so that a connection closed inside a callback, or in the middle of
// a broadcast loop, is released only once the callbacks have returned.
#pragma once
#include <event2/event.h>

#include <cstdint>
#include <vector>

#include "worker/config.h"
#include "worker/stats.h"

namespace pusher::worker {

class Connection;

class Loop {
  public:
    Loop(WorkerSlot* slot, const Limits& limits);
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    event_base* base() const { return base_; }
    WorkerSlot& stats() { return *slot_; }
    const Limits& limits() const { return limits_; }
    Limits& mutable_limits() { return limits_; }  // a service may tune its own copy
    // Connection ids come from the shared slot so they are never reused
    // for the same worker id while the master runs, across re-forks too.
    uint64_t next_connection_id() { return slot_->next_connection_id.fetch_add(1) + 1; }
    // Seconds on a coarse monotonic clock (timeouts only, not latency).
    double now() const;

    char* read_buffer() { return read_buf_.data(); }
    size_t read_buffer_size() const { return read_buf_.size(); }

    void defer_free(Connection* c);
    void run() { event_base_dispatch(base_); }
    void stop() { event_base_loopbreak(base_); }

  private:
    static void reap(evutil_socket_t, short, void* arg);
    event_base* base_;
    WorkerSlot* slot_;
    WorkerSlot own_slot_{};  // used when no shared region is given (unit tests)
    Limits limits_;
    std::vector<char> read_buf_;
    std::vector<Connection*> graveyard_;
    event* reap_ev_;
};

}  // namespace pusher::worker
