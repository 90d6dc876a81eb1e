#include "runtime/loop.h"

#include <unistd.h>

#include <csignal>
#include <ctime>

#include "runtime/connection.h"

namespace pusher::runtime {

// Workerman 5 reads 87380 bytes at a time; one buffer serves every connection.
static constexpr size_t kReadBufferSize = 87380;

Loop::Loop(WorkerSlot* slot, const Limits& limits)
    : base_(event_base_new()),
      slot_(slot ? slot : &own_slot_),
      limits_(limits),
      read_buf_(kReadBufferSize),
      pid_(getpid()) {
    signal(SIGPIPE, SIG_IGN);  // a peer that went away is seen as EPIPE on write
    reap_ev_ = event_new(base_, -1, 0, reap, this);
}

Loop::~Loop() {
    reap(-1, 0, this);
    event_free(reap_ev_);
    event_base_free(base_);
}

double Loop::now() const {
    if (test_now_ >= 0) return test_now_;
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // a few ns: no syscall, ms resolution
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void Loop::uncork() {
    if (--corked_ > 0) return;
    std::vector<Connection*> touched;
    touched.swap(corked_conns_);
    for (Connection* c : touched)
        c->flush_corked();  // closed ones are still allocated: freed by reap
}

void Loop::defer_close(Connection* c) {
    if (graveyard_.empty()) event_active(reap_ev_, 0, 0);
    graveyard_.push_back(c);
}

// An on_close may close other connections (a bus link, a subscriber): they
// join the graveyard and are handled in the same pass.
void Loop::reap(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<Loop*>(arg);
    while (!self->graveyard_.empty()) {
        std::vector<Connection*> dead;
        dead.swap(self->graveyard_);
        for (Connection* c : dead) {
            c->fire_close();
            delete c;
        }
    }
}

}  // namespace pusher::runtime
