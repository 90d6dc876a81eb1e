// The prefork master, shaped like nginx's ngx_master_process_cycle: it owns
// the listening sockets and the status region, forks one process per
// (service, worker id), and only reacts to signals and child exits:
//   SIGINT/TERM/HUP stop, SIGQUIT graceful stop, SIGUSR1 reload (one worker at
//   a time), SIGUSR2 graceful reload, SIGIO forwarded to workers (connections).
// A worker that dies is re-forked at once with the same id, with back-off when
// it keeps dying at start-up.
#pragma once
#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "runtime/config.h"
#include "runtime/stats.h"

namespace pusher::master {

class ProcessManager {
  public:
    explicit ProcessManager(runtime::Config config);
    ~ProcessManager();

    // Creates the status region and binds every listening socket. Done before
    // daemonizing so that "address in use" reaches the operator's terminal.
    bool prepare(std::string* error);
    // The master loop. ready_fd (or -1) gets "ok\n" once every worker listens,
    // or "error: ...\n". Returns the master's exit code.
    int run(int ready_fd);
    // A descriptor of the master's that workers must not keep (the pid file lock).
    void close_in_workers(int fd) { master_only_fd_ = fd; }
    // The binary to re-execute on `upgrade` (master/upgrade.h), read at start.
    void set_exe(std::string exe);
    // In place of prepare(), in a master that an upgrade just executed: takes
    // over the old image's listeners, workers and status region. run() then
    // reloads every worker with hand-over, so they run this build too.
    bool resume(const struct UpgradeState& state, std::string* error);
    // After resume(): the upgrade did not take (the new image failed and ran
    // this one again); run() reports it instead of reloading.
    void rolled_back(std::string why) { rollback_ = std::move(why); }

  private:
    struct Slot {
        int service = 0;
        int worker_id = 0;
        int listen_fd = -1;
        pid_t pid = 0;
        pid_t old_pid = 0;       // a draining predecessor (graceful reload)
        double started = 0;      // when pid was forked
        double restart_at = -1;  // a scheduled re-fork, -1 when none
        int fast_deaths = 0;     // consecutive deaths within a second of start
        int control_fd = -1;     // our end of pid's control socket (hand-over requests)
        int old_control_fd = -1;  // old_pid's
    };
    enum class State { Running, Reloading, Stopping };

    void handle_signal(int sig);
    void reap();
    void record_exit(const Slot& s, pid_t pid, int status);
    void on_exit(Slot& s, pid_t pid, int status);
    void kill_worker(pid_t pid);
    void tick();
    // handover_fd: given to the child; peer_fd: the other end, closed in it.
    void spawn(Slot& s, int handover_fd = -1, int peer_fd = -1);
    void begin_stop(bool graceful);
    void begin_reload(bool graceful);
    void reload_certs();  // SIGURG
    void begin_upgrade();  // SIGTTIN
    void upgrade_failed(const std::string& why);
    void reread_certs();
    void reload_step();
    void reload_replace(Slot& s, double now);
    bool handover_replace(Slot& s, double now);
    uint64_t handover_outcomes(const Slot& s) const;
    void retire_old(Slot& s);
    bool old_workers_drained(double now);
    void signal_all(int sig);
    bool slot_ready(const Slot& s) const;
    void notify_ready(const std::string& msg);
    bool children_left() const;
    runtime::WorkerSlot& stats(const Slot& s) { return stats_->slots[&s - slots_.data()]; }
    const runtime::WorkerSlot& stats(const Slot& s) const {
        return stats_->slots[&s - slots_.data()];
    }

    runtime::Config config_;
    runtime::StatsRegion* stats_ = nullptr;
    std::vector<Slot> slots_;
    State state_ = State::Running;
    bool graceful_ = false;
    double deadline_ = 0;  // stop: SIGKILL whatever is left after this
    size_t reload_index_ = 0;
    bool reload_waiting_exit_ = false;
    pid_t reload_old_pid_ = 0;  // the process the reload is replacing now
    bool reload_killed_ = false;
    bool reload_handover_ = false;  // the slot being replaced hands its clients over
    uint64_t reload_outcomes_ = 0;   // the slot's handovers + failures before it began
    pid_t reload_new_pid_ = 0;       // the replacement forked for it
    double reload_kill_at_ = 0;
    std::set<pid_t> master_killed_;  // SIGKILLed by us and not yet reaped
    int ready_fd_ = -1;
    int master_only_fd_ = -1;
    std::string exe_;
    int exe_fd_ = -1;  // the running binary, open (a failed upgrade executes it again)
    bool resumed_ = false;    // this image was executed by an upgrade
    bool upgrading_ = false;  // the reload running is the upgrade's
    std::string rollback_;
    double ready_deadline_ = 0;
};

double monotonic_now();

}  // namespace pusher::master
