// The life of a worker process: build the loop and the service, serve until a
// signal says stop (now, or after draining), then leave. Modelled on the
// worker cycle of nginx (ngx_worker_process_cycle): the master decides, the
// worker only obeys signals and reports through its stats slot.
#include "worker/worker_main.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

#include "runtime/fd_pass.h"
#include "runtime/log.h"
#include "runtime/service.h"
#include "runtime/timer.h"

namespace pusher::worker {

using runtime::log_line;
using runtime::Loop;
using runtime::Service;
using runtime::SlotState;
using runtime::Timer;
using runtime::WorkerContext;

std::string connection_row_header() {
    return "pid\tworker\tworker_id\tconnection_id\tprotocol\tpeer\tlocal\tbytes_in\tbytes_"
           "out\tsend_"
           "q\tstate";
}

namespace {

constexpr int kWorkerSignals[] = {SIGINT,  SIGTERM, SIGHUP, SIGUSR1,
                                  SIGQUIT, SIGUSR2, SIGIO,  SIGURG};

class WorkerProcess {
  public:
    explicit WorkerProcess(const WorkerContext& ctx)
        : ctx_(ctx),
          loop_(ctx.slot, ctx.config->limits),
          drain_check_(loop_, [this] { check_drained(); }),
          orphan_check_(loop_, [this] { check_master(); }) {}

    int run() {
        ctx_.slot->pid.store(getpid());
        ctx_.slot->started_at.store(static_cast<uint64_t>(time(nullptr)));
        runtime::copy_build(ctx_.slot->build, sizeof ctx_.slot->build);
        ctx_.slot->state.store(static_cast<uint32_t>(SlotState::Starting));
        service_ = ctx_.make_service(loop_, ctx_);
        std::string error;
        if (!service_->start(&error)) {
            log_line("worker[" + ctx_.service().name + ":" + std::to_string(getpid()) +
                     "] cannot start: " + error);
            return 2;
        }
        install_signals();
        watch_control();
        orphan_check_.start(1.0, true);  // PDEATHSIG can miss a master that died before it was set
        ctx_.slot->listening.store(1);
        ctx_.slot->state.store(static_cast<uint32_t>(SlotState::Running));
        loop_.run();
        // Freeing the signal events restores the default actions: from here
        // on a late SIGIO or SIGUSR1 must wait, not kill us on the way out.
        set_signals_blocked(true);
        if (control_ev_) event_free(control_ev_);
        control_ev_ = nullptr;
        service_->close_all();
        service_.reset();
        // During a graceful reload the replacement already owns the slot.
        if (ctx_.slot->pid.load() == getpid()) {
            ctx_.slot->listening.store(0);
            ctx_.slot->state.store(static_cast<uint32_t>(SlotState::Stopped));
        }
        return 0;
    }

  private:
    // The master forks us with its signals blocked; they are unblocked only
    // now that the loop handles them, so one sent in between is not lost and
    // does not kill us with its default action (SIGIO's is to terminate).
    void install_signals() {
        for (int s : kWorkerSignals) {
            event* ev = evsignal_new(loop_.base(), s, on_signal, this);
            event_add(ev, nullptr);
            signal_events_.push_back(std::unique_ptr<event, decltype(&event_free)>(ev, event_free));
        }
        set_signals_blocked(false);
    }

    static void set_signals_blocked(bool blocked) {
        sigset_t set;
        sigemptyset(&set);
        for (int s : kWorkerSignals) sigaddset(&set, s);
        sigaddset(&set, SIGCHLD);
        sigprocmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &set, nullptr);
    }

    static void on_signal(evutil_socket_t sig, short, void* arg) {
        auto* self = static_cast<WorkerProcess*>(arg);
        switch (sig) {
            case SIGQUIT:
            case SIGUSR2:
                return self->drain();
            case SIGIO:
                return self->dump_connections();
            case SIGURG:
                return self->service_->reload_certs();
            default:
                return self->stop_now();  // SIGINT, SIGTERM, SIGHUP, SIGUSR1
        }
    }

    // Stop: every client is told goodbye (a WebSocket gets close 1001) and the
    // worker leaves once they are all closed, or after a short bounded wait
    // that stays inside the master's stop_timeout. A second signal leaves now.
    void stop_now() {
        if (leaving_) return loop_.stop();
        leaving_ = true;
        leave_deadline_ = loop_.now() + std::min(1.0, ctx_.config->stop_timeout / 2);
        service_->stop_accepting();
        service_->go_away();
        drain_check_.start(0.02, true);
        check_drained();
    }

    // Graceful: stop accepting, let clients finish; at the deadline the rest
    // are told goodbye as in stop_now. WebSocket clients never finish by
    // themselves: they are told goodbye one by one over close_window.
    void drain() {
        if (draining_ || leaving_) return;
        draining_ = true;
        drain_deadline_ = loop_.now() + ctx_.config->graceful_timeout;
        if (loop_.owns_slot()) ctx_.slot->state.store(static_cast<uint32_t>(SlotState::Draining));
        service_->stop_accepting();
        service_->go_away_paced(std::min(ctx_.config->close_window, ctx_.config->graceful_timeout));
        drain_check_.start(0.05, true);
        check_drained();
    }

    // The master's socket: a reload with hand-over sends the socket to our
    // replacement over it ('H' with one descriptor).
    void watch_control() {
        if (ctx_.control_fd < 0) return;
        control_ev_ = event_new(loop_.base(), ctx_.control_fd, EV_READ | EV_PERSIST, on_control,
                                this);
        event_add(control_ev_, nullptr);
    }

    static void on_control(evutil_socket_t fd, short, void* arg) {
        auto* self = static_cast<WorkerProcess*>(arg);
        char what = 0;
        int passed = -1;
        ssize_t n = runtime::recv_fd(fd, &what, &passed);
        if (n == 0) {
            event_del(self->control_ev_);  // the master is gone: check_master acts on it
            return;
        }
        if (n < 0) return;
        if (what == 'H' && passed >= 0) return self->hand_over(passed);
        if (passed >= 0) close(passed);
    }

    // Our clients go to the replacement; we leave once the bus is cut over.
    // A worker that cannot (TLS, already leaving) closes the socket, which
    // the replacement sees at once, and stops as for a plain reload.
    void hand_over(int fd) {
        if (leaving_ || draining_ || !service_->hand_over(fd, [this] { stop_now(); })) {
            close(fd);
            stop_now();
        }
    }

    // Draining: clients gone (or the deadline) → leaving. Leaving: clients
    // gone and what they published written to the bus (or the deadline) →
    // out; what is still unwritten then is counted as dropped by the bus client.
    void check_drained() {
        double now = loop_.now();
        if (!leaving_) {
            if (service_->client_count() == 0 || now >= drain_deadline_) stop_now();
            return;
        }
        if ((service_->client_count() == 0 && service_->finish_upstream()) ||
            now >= leave_deadline_)
            loop_.stop();
    }

    void check_master() {
        if (getppid() == 1 || (ctx_.stats && getppid() != ctx_.stats->master_pid.load() &&
                               ctx_.stats->master_pid.load() != 0)) {
            log_line("master is gone, worker exits");
            loop_.stop();
        }
    }

    void dump_connections() {
        if (ctx_.connections_file.empty()) return;
        std::string rows;
        service_->dump_connections(rows);
        std::string tmp = ctx_.connections_file + ".tmp";
        FILE* f = fopen(tmp.c_str(), "w");
        if (!f) return;
        fwrite(rows.data(), 1, rows.size(), f);
        fclose(f);
        rename(tmp.c_str(), ctx_.connections_file.c_str());
    }

    const WorkerContext& ctx_;
    Loop loop_;
    std::unique_ptr<Service> service_;
    Timer drain_check_, orphan_check_;
    bool draining_ = false, leaving_ = false;
    double drain_deadline_ = 0, leave_deadline_ = 0;
    std::vector<std::unique_ptr<event, decltype(&event_free)>> signal_events_;
    event* control_ev_ = nullptr;
};

}  // namespace

int worker_run(const WorkerContext& ctx) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    WorkerProcess process(ctx);
    return process.run();
}

}  // namespace pusher::worker
