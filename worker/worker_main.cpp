// TEMPORARY stub of the worker entry (replaced by the real runtime): accepts
// connections and holds them, writes the welcome line, handles stop signals.
#include "worker/worker_main.h"

#include <event2/event.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <string>

namespace pusher::worker {

std::string connection_row_header() {
    return "pid\tworker\tworker_id\tconnection_id\tprotocol\tpeer\tlocal\tbytes_in\tbytes_out\tsend_q\tstate";
}

static void on_accept(evutil_socket_t fd, short, void* arg) {
    auto* ctx = static_cast<const WorkerContext*>(arg);
    int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return;
    uint64_t id = ctx->slot->next_connection_id.fetch_add(1) + 1;
    std::string w = "workerID:" + std::to_string(ctx->worker_id) + " connectionID:" + std::to_string(id) + " connected\n";
    (void)!write(c, w.data(), w.size());
    bump(ctx->slot->connections);
}

static void on_stop(evutil_socket_t, short, void* arg) { event_base_loopbreak(static_cast<event_base*>(arg)); }

int worker_run(const WorkerContext& ctx) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    event_base* base = event_base_new();
    event* ev = event_new(base, ctx.listen_fd, EV_READ | EV_PERSIST, on_accept, const_cast<WorkerContext*>(&ctx));
    event_add(ev, nullptr);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) event_add(evsignal_new(base, s, on_stop, base), nullptr);
    ctx.slot->listening.store(1);
    event_base_dispatch(base);
    return 0;
}

}  // namespace pusher::worker
