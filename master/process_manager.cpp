#include "master/process_manager.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>

#include "master/pid_file.h"
#include "master/service_registry.h"
#include "master/upgrade.h"
#include "runtime/fd_pass.h"
#include "runtime/listen_socket.h"
#include "runtime/log.h"
#include "runtime/tls_context.h"
#include "runtime/version.h"
#include "worker/worker_main.h"

namespace pusher::master {

using runtime::log_line;

static const int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
                               SIGUSR2, SIGIO,  SIGURG, SIGTTIN, SIGCHLD};
static constexpr double kReadyTimeout = 15.0;

double monotonic_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void copy_str(char* dst, size_t cap, const std::string& s) {
    strncpy(dst, s.c_str(), cap - 1);
    dst[cap - 1] = '\0';
}

ProcessManager::ProcessManager(runtime::Config config) : config_(std::move(config)) {}

ProcessManager::~ProcessManager() {
    for (Slot& s : slots_) {
        if (s.listen_fd >= 0) close(s.listen_fd);
        if (s.control_fd >= 0) close(s.control_fd);
        if (s.old_control_fd >= 0) close(s.old_control_fd);
    }
    runtime::stats_close(stats_);
}

bool ProcessManager::prepare(std::string* error) {
    if (config_.services.size() > runtime::kMaxServices) return *error = "too many services", false;
    stats_ = runtime::stats_create(config_.stats_file, error);
    if (!stats_) return false;
    copy_str(stats_->node_name, sizeof stats_->node_name, config_.node_name);
    copy_str(stats_->config_file, sizeof stats_->config_file, config_.config_file);
    stats_->nservices = static_cast<uint32_t>(config_.services.size());
    for (size_t i = 0; i < config_.services.size(); ++i) {
        const runtime::ServiceConfig& svc = config_.services[i];
        runtime::ServiceInfo& info = stats_->services[i];
        copy_str(info.name, sizeof info.name, svc.name);
        copy_str(info.listen, sizeof info.listen, svc.listen());
        info.count = svc.count;
        info.first_slot = static_cast<int32_t>(slots_.size());
        // SO_REUSEPORT would let a second instance share the port silently.
        if (runtime::port_listening(svc.host, svc.port))
            return *error = svc.name + ": cannot listen on " + svc.host + ":" +
                            std::to_string(svc.port) + ": Address already in use",
                   false;
        for (int w = 0; w < svc.count; ++w) {
            if (slots_.size() >= runtime::kMaxSlots) return *error = "too many workers", false;
            Slot s;
            s.service = static_cast<int>(i);
            s.worker_id = w;
            // One SO_REUSEPORT socket per worker id, kept open for the master's life.
            s.listen_fd = runtime::listen_socket(svc.host, svc.port, true, error);
            if (s.listen_fd < 0) return *error = svc.name + ": cannot listen on " + *error, false;
            runtime::WorkerSlot& ws = stats_->slots[slots_.size()];
            ws.service_index = s.service;
            ws.worker_id = w;
            slots_.push_back(s);
        }
    }
    return true;
}

void ProcessManager::spawn(Slot& s, int handover_fd, int peer_fd) {
    runtime::WorkerSlot& ws = stats(s);
    ws.listening.store(0);
    s.restart_at = -1;
    int ctl[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) != 0)
        log_line(std::string("control socket: ") + strerror(errno) + " (no hand-over to it)");
    pid_t pid = fork();
    if (pid < 0) {
        for (int fd : ctl)
            if (fd >= 0) close(fd);
        log_line(std::string("fork failed: ") + strerror(errno) + ", retrying");
        s.pid = 0;  // a graceful reload moved the old process to old_pid: tick() retries
        s.restart_at = monotonic_now() + 1;
        return;
    }
    if (pid == 0) {
        // The master's signals stay blocked (run() blocked them) until the
        // worker's own handlers are in place: one arriving in between, e.g. a
        // forwarded SIGIO, would otherwise take its default action, death.
        // worker_run() unblocks them; until then they wait, pending.
        for (int sig : kSignals) signal(sig, SIG_DFL);
        for (Slot& other : slots_) {
            if (&other != &s && other.listen_fd >= 0) close(other.listen_fd);
            if (other.control_fd >= 0) close(other.control_fd);  // the master's ends
            if (other.old_control_fd >= 0) close(other.old_control_fd);
        }
        if (ctl[0] >= 0) close(ctl[0]);
        if (peer_fd >= 0) close(peer_fd);  // else the new worker never sees the old one go
        if (ready_fd_ >= 0) close(ready_fd_);
        if (master_only_fd_ >= 0) close(master_only_fd_);
        std::string title = "pusher:" + config_.services[s.service].name;
        prctl(PR_SET_NAME, title.c_str());
        runtime::WorkerContext ctx;
        ctx.config = &config_;
        ctx.service_index = s.service;
        ctx.worker_id = s.worker_id;
        ctx.listen_fd = s.listen_fd;
        ctx.control_fd = ctl[1];
        ctx.handover_fd = handover_fd;
        ctx.stats = stats_;
        ctx.slot = &ws;
        ctx.connections_file = config_.stats_file + ".conn." + std::to_string(&s - slots_.data());
        ctx.make_service = service_factory(config_.services[s.service].type);
        ctx.make_bus = bus_factory();
        _exit(worker::worker_run(ctx));
    }
    if (ctl[1] >= 0) close(ctl[1]);
    if (s.control_fd >= 0) close(s.control_fd);
    s.control_fd = ctl[0];
    ws.pid.store(pid);
    s.pid = pid;
    s.started = monotonic_now();
}

int ProcessManager::run(int ready_fd) {
    ready_fd_ = ready_fd;
    ready_deadline_ = monotonic_now() + kReadyTimeout;
    stats_->master_pid.store(getpid());
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kSignals) sigaddset(&set, sig);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    if (resumed_ && !rollback_.empty()) {
        upgrade_failed("the new image could not take over (" + rollback_ +
                       "); the old one runs again");
    } else if (resumed_) {
        log_line("upgrade: now running " + std::string(runtime::build_version()) +
                 "; reloading the workers");
        upgrading_ = true;
        begin_reload(false);
    } else {
        for (Slot& s : slots_) spawn(s);
    }
    while (state_ != State::Stopping || children_left()) {
        timespec wait = {0, 20 * 1000 * 1000};
        siginfo_t info;
        int sig = sigtimedwait(&set, &info, &wait);
        if (sig > 0) handle_signal(sig);
        reap();
        tick();
    }
    if (read_pid_file(config_.pid_file) == getpid()) unlink(config_.pid_file.c_str());
    log_line("pusher has been stopped");
    return 0;
}

void ProcessManager::handle_signal(int sig) {
    switch (sig) {
        case SIGINT:
        case SIGTERM:
        case SIGHUP:
            log_line(std::string("received signal ") + strsignal(sig) + ", stopping");
            return begin_stop(false);
        case SIGQUIT:
            log_line("received SIGQUIT, stopping gracefully");
            return begin_stop(true);
        case SIGUSR1:
            return begin_reload(false);
        case SIGUSR2:
            return begin_reload(true);
        case SIGIO:
            return signal_all(SIGIO);
        case SIGURG:
            return reload_certs();
        case SIGTTIN:
            return begin_upgrade();
        default:
            return;  // SIGCHLD: reap() runs after every wake-up
    }
}

void ProcessManager::reap() {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (Slot& s : slots_) {
            if (s.old_pid == pid) {
                record_exit(s, pid, status);
                retire_old(s);
                break;
            }
            if (s.pid == pid) {
                record_exit(s, pid, status);
                on_exit(s, pid, status);
                break;
            }
        }
        master_killed_.erase(pid);
    }
}

// Counts the exit by (raw status, cause) and logs the ones nobody asked for as
// "exit with status N", the line operators (and the tests) look for.
void ProcessManager::record_exit(const Slot& s, pid_t pid, int status) {
    using runtime::ExitCause;
    ExitCause cause =
        WIFSIGNALED(status)
            ? (WTERMSIG(status) == SIGKILL && master_killed_.count(pid) ? ExitCause::MasterKill
                                                                        : ExitCause::Signal)
            : (WEXITSTATUS(status) == 0 ? ExitCause::Normal : ExitCause::Error);
    const std::string who =
        "worker[" + config_.services[s.service].name + ":" + std::to_string(pid) + "]";
    if (cause == ExitCause::Signal)
        log_line(who + " exit with status " + std::to_string(status) + " (killed by signal " +
                 std::to_string(WTERMSIG(status)) + ", " + strsignal(WTERMSIG(status)) + ")");
    else if (cause == ExitCause::Error)
        log_line(who + " exit with status " + std::to_string(status) + " (exit code " +
                 std::to_string(WEXITSTATUS(status)) + ")");
    else if (cause == ExitCause::MasterKill)
        log_line(who + " killed by the master (SIGKILL after its timeout)");
    runtime::ServiceInfo& info = stats_->services[s.service];
    for (runtime::ExitKind& k : info.exits) {
        bool fresh = k.count.load() == 0;
        if (fresh || (k.status.load() == status && k.cause.load() == uint32_t(cause))) {
            if (fresh) {
                k.status.store(status);
                k.cause.store(uint32_t(cause));
            }
            runtime::bump(k.count);
            return;
        }
    }
    log_line("too many kinds of exit to count for " + std::string(info.name));
}

void ProcessManager::retire_old(Slot& s) {
    s.fast_deaths = 0;  // its slot's process lived long enough to hand over
    s.old_pid = 0;
    stats(s).old_pid.store(0);
    if (s.old_control_fd >= 0) close(s.old_control_fd);
    s.old_control_fd = -1;
}

void ProcessManager::on_exit(Slot& s, pid_t pid, int status) {
    const std::string& name = config_.services[s.service].name;
    s.pid = 0;
    if (s.control_fd >= 0) close(s.control_fd);
    s.control_fd = -1;
    stats(s).listening.store(0);
    if (state_ == State::Stopping) return;
    if (ready_fd_ >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 2) {
        notify_ready("error: worker " + name + "[" + std::to_string(s.worker_id) +
                     "] could not start (see " + config_.log_file + ")");
        return begin_stop(false);
    }
    // A hand-over's replacement died while the old process lives: the old
    // one serves the slot again (it keeps its clients unless it had already
    // handed them over, and then it leaves and is re-forked like any exit).
    if (s.old_pid > 0 && pid == reload_new_pid_ && reload_handover_) {
        log_line("reload: the new worker[" + name + ":" + std::to_string(pid) +
                 "] died during the hand-over; the old one serves the slot again");
        s.pid = s.old_pid;
        s.control_fd = s.old_control_fd;
        s.old_pid = 0;
        s.old_control_fd = -1;
        stats(s).old_pid.store(0);
        stats(s).pid.store(s.pid);
        stats(s).listening.store(1);
        reload_old_pid_ = 0;  // the slot is done for this reload: nothing to wait for
        reload_new_pid_ = 0;
        return;
    }
    // Only the process the reload is replacing is expected to go; its
    // replacement dying is an ordinary death, with back-off.
    bool expected = state_ == State::Reloading && reload_waiting_exit_ && pid == reload_old_pid_;
    double now = monotonic_now();
    if (expected || now - s.started >= 1.0) {
        s.fast_deaths = expected ? s.fast_deaths : 0;
        s.restart_at = now;  // at once, same id
        return;
    }
    // Dying at start-up again and again: wait 1, 2, 4 ... 30 s between tries.
    double delay = std::min(30.0, double(1 << std::min(s.fast_deaths, 5)));
    ++s.fast_deaths;
    log_line("worker[" + name + "] keeps dying at start, next try in " +
             std::to_string(int(delay)) + " s");
    s.restart_at = now + delay;
}

void ProcessManager::tick() {
    double now = monotonic_now();
    if (state_ == State::Stopping) {
        if (now >= deadline_ && children_left()) {
            log_line("workers still running after the timeout: SIGKILL");
            for (const Slot& s : slots_) {
                kill_worker(s.pid);
                kill_worker(s.old_pid);
            }
            deadline_ = now + 3600;
        }
        return;
    }
    for (Slot& s : slots_)
        if (s.pid == 0 && s.restart_at >= 0 && now >= s.restart_at) spawn(s);
    if (state_ == State::Reloading) reload_step();
    if (ready_fd_ >= 0) {
        bool all = true;
        for (const Slot& s : slots_) all &= slot_ready(s);
        if (all)
            notify_ready("ok");
        else if (now > ready_deadline_)
            notify_ready("error: workers did not start listening in time");
    }
}

bool ProcessManager::slot_ready(const Slot& s) const {
    const runtime::WorkerSlot& ws = stats(s);
    return s.pid > 0 && ws.pid.load() == s.pid && ws.listening.load() == 1;
}

void ProcessManager::notify_ready(const std::string& msg) {
    if (ready_fd_ < 0) return;
    std::string line = msg + "\n";
    (void)!write(ready_fd_, line.data(), line.size());
    close(ready_fd_);
    ready_fd_ = -1;
}

void ProcessManager::begin_stop(bool graceful) {
    if (state_ == State::Stopping) return;
    state_ = State::Stopping;
    stats_->master_state.store(2);
    deadline_ = monotonic_now() + (graceful ? config_.graceful_timeout : config_.stop_timeout);
    signal_all(graceful ? SIGQUIT : SIGINT);
}

// Workers are replaced one at a time, in order, with the same ids.
// reload-certs: the master re-reads the files (a worker forked from now on
// starts from them), then every current worker re-reads them for itself and
// answers this round in its slot. Draining predecessors accept nothing new:
// they are left alone.
void ProcessManager::reload_certs() {
    log_line("received SIGURG, reloading TLS certificates");
    reread_certs();
    stats_->tls_generation.fetch_add(1);
    for (const Slot& s : slots_)
        if (s.pid > 0) kill(s.pid, SIGURG);
}

// The master's copy of each pair: replaced only by one that loads.
void ProcessManager::reread_certs() {
    for (runtime::ServiceConfig& s : config_.services) {
        if (!s.tls.enabled()) continue;
        std::string error;
        if (!runtime::tls_read_files(&s.tls, &error))
            log_line("tls: " + s.name + ": keeping the old certificate for new workers: " + error);
    }
}

void ProcessManager::begin_reload(bool graceful) {
    if (state_ != State::Running) return;  // as the original: ignored while reloading
    log_line(graceful ? "reloading gracefully" : "reloading");
    reread_certs();  // the new workers start from the files as they are now, if they load
    state_ = State::Reloading;
    stats_->master_state.store(1);
    graceful_ = graceful;
    reload_index_ = 0;
    reload_waiting_exit_ = false;
    reload_step();
}

// Advances the reload as far as it can now: each reloadable slot in turn is
// replaced, and its new process must be listening before the next slot starts.
// A slot with no process (waiting out a start-up back-off) is skipped: what
// it forks next is new anyway. Only the old process is ever killed for being
// slow to leave; its replacement never is.
void ProcessManager::reload_step() {
    double now = monotonic_now();
    for (; reload_index_ < slots_.size(); ++reload_index_) {
        Slot& s = slots_[reload_index_];
        if (!config_.services[s.service].reloadable) continue;
        if (!reload_waiting_exit_) {
            if (s.pid == 0) continue;
            reload_replace(s, now);
            reload_waiting_exit_ = true;
        }
        // A hand-over's old process leaves on its own once the bus is cut
        // over; the next slot waits for that, so one slot at a time moves.
        pid_t old = reload_handover_ ? s.old_pid : s.pid;
        // Once the new worker is live (or gave up) the old one has
        // stop_timeout to leave, as in a plain reload.
        if (reload_handover_ && handover_outcomes(s) != reload_outcomes_ &&
            reload_kill_at_ > now + config_.stop_timeout)
            reload_kill_at_ = now + config_.stop_timeout;
        if (reload_handover_ && old != 0 && old == reload_old_pid_ && now >= reload_kill_at_ &&
            !reload_killed_ && s.pid == reload_new_pid_ &&
            handover_outcomes(s) == reload_outcomes_) {
            // Neither live nor given up by the deadline: the new worker is
            // stuck. It goes; the old one keeps (or gets back) the slot.
            log_line("worker[" + config_.services[s.service].name + ":" + std::to_string(s.pid) +
                     "] (new) did not take over in time: SIGKILL");
            kill_worker(s.pid);
            reload_killed_ = true;
            return;
        }
        if (old != 0 && old == reload_old_pid_ && now >= reload_kill_at_ && !reload_killed_) {
            log_line("worker[" + config_.services[s.service].name + ":" + std::to_string(old) +
                     "] did not leave in time: SIGKILL");
            kill_worker(old);
            reload_killed_ = true;
        }
        if ((old != 0 && old == reload_old_pid_) || !slot_ready(s)) return;
        // The replacement must be live (or have given up) before the next
        // reload can reach it: a worker still adopting cannot hand over.
        if (reload_handover_ && s.pid == reload_new_pid_ &&
            handover_outcomes(s) == reload_outcomes_ && now < reload_kill_at_)
            return;
        reload_waiting_exit_ = false;
        reload_handover_ = false;
    }
    if (!old_workers_drained(now)) return;
    state_ = State::Running;
    stats_->master_state.store(0);
    stats_->reloads_done.fetch_add(1);
    log_line("reload finished");
    if (upgrading_) {
        upgrading_ = false;
        stats_->upgrades_done.fetch_add(1);
        log_line(std::string("upgrade finished: ") + runtime::build_version());
    }
}

// Graceful: the replacement serves first and the old process drains on the
// same socket. Plain: the old one exits and on_exit re-forks the same id.
void ProcessManager::reload_replace(Slot& s, double now) {
    reload_old_pid_ = s.pid;
    reload_killed_ = false;
    const runtime::ServiceConfig& svc = config_.services[s.service];
    bool ws = svc.type == runtime::ServiceType::WebSocket;
    if (ws && config_.handover && !svc.tls.enabled() && handover_replace(s, now)) return;
    // TLS clients cannot be handed over: the replacement serves first and
    // the old process tells its clients goodbye one by one (close_window).
    if (graceful_ || (ws && svc.tls.enabled())) {
        s.old_pid = s.pid;
        s.old_control_fd = s.control_fd;
        s.control_fd = -1;
        stats(s).old_pid.store(s.old_pid);
        spawn(s);
        kill(s.old_pid, SIGUSR2);
        reload_kill_at_ = now + 3600;  // old_workers_drained() bounds the drain
    } else {
        kill(s.pid, SIGUSR1);
        reload_kill_at_ = now + config_.stop_timeout;
    }
}

// The new process starts with one end of a fresh socket pair, the old one
// gets the other over its control socket and hands its clients over on it
// (worker/handover.h); both serve the slot's listening socket meanwhile.
bool ProcessManager::handover_replace(Slot& s, double now) {
    int sv[2];
    if (s.control_fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        log_line("reload: no hand-over for " + config_.services[s.service].name + "[" +
                 std::to_string(s.worker_id) + "]: " + strerror(errno));
        return false;
    }
    reload_handover_ = true;
    reload_outcomes_ = handover_outcomes(s);
    s.old_pid = s.pid;
    s.old_control_fd = s.control_fd;
    s.control_fd = -1;
    stats(s).old_pid.store(s.old_pid);
    spawn(s, sv[1], sv[0]);
    close(sv[1]);
    if (s.pid == 0) {  // fork failed: the old worker goes on as it was
        close(sv[0]);
        s.pid = s.old_pid;
        s.control_fd = s.old_control_fd;
        s.old_pid = 0;
        s.old_control_fd = -1;
        s.restart_at = -1;
        stats(s).old_pid.store(0);
        stats(s).pid.store(s.pid);
        stats(s).listening.store(1);
        reload_handover_ = false;
        return false;
    }
    reload_new_pid_ = s.pid;
    if (!runtime::send_fd(s.old_control_fd, 'H', sv[0])) {
        // The replacement sees its socket close and serves on its own.
        log_line(std::string("reload: hand-over request not delivered: ") + strerror(errno));
        kill(s.old_pid, SIGUSR1);
    }
    close(sv[0]);
    reload_kill_at_ = now + config_.handover_timeout + config_.stop_timeout;
    return true;
}

uint64_t ProcessManager::handover_outcomes(const Slot& s) const {
    const runtime::WorkerSlot& ws = stats(s);
    return runtime::read(ws.handovers) + runtime::read(ws.handover_failures);
}

// Old processes of a graceful reload get graceful_timeout to finish.
bool ProcessManager::old_workers_drained(double now) {
    bool draining = false;
    for (Slot& s : slots_) {
        if (s.old_pid && now - s.started > config_.graceful_timeout + 1) kill_worker(s.old_pid);
        draining |= s.old_pid != 0;
    }
    return !draining;
}

// ---- binary upgrade ----------------------------------------------------------------

// The new binary is checked first (its own `upgrade-check`); only a binary
// that loads our config, with our listeners and status layout, is executed.
// Every descriptor the new image needs survives the exec; its number goes in
// the environment. If the exec itself fails, nothing has changed.
void ProcessManager::begin_upgrade() {
    if (state_ != State::Running) return upgrade_failed("a reload or a stop is running");
    std::string exe = exe_.empty() ? self_exe() : exe_;
    log_line("upgrade: checking " + exe);
    std::string version, error;
    if (!check_new_binary(exe, config_.config_file, upgrade_layout(config_), 10.0, &version,
                          &error))
        return upgrade_failed(error);
    UpgradeState st;
    st.lock_fd = master_only_fd_;
    st.old_exe_fd = exe_fd_;
    std::vector<int> keep = {master_only_fd_, exe_fd_};
    for (const Slot& s : slots_) {
        st.slots.push_back({s.listen_fd, s.control_fd, s.pid});
        keep.push_back(s.listen_fd);
        keep.push_back(s.control_fd);
    }
    for (int fd : keep)
        if (fd >= 0) fcntl(fd, F_SETFD, 0);
    setenv(kUpgradeEnv, encode_upgrade_state(st).c_str(), 1);
    log_line("upgrade: executing " + exe + " (" + version + ")");
    std::vector<const char*> argv = {exe.c_str(), "upgrade-resume"};
    if (!config_.config_file.empty())
        argv.insert(argv.end(), {"-c", config_.config_file.c_str()});
    argv.push_back(nullptr);
    execv(exe.c_str(), const_cast<char* const*>(argv.data()));
    std::string why = std::string("cannot execute ") + exe + ": " + strerror(errno);
    unsetenv(kUpgradeEnv);
    for (int fd : keep)
        if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
    upgrade_failed(why);
}

void ProcessManager::upgrade_failed(const std::string& why) {
    log_line("upgrade refused: " + why + "; still running " + runtime::build_version());
    copy_str(stats_->upgrade_error, sizeof stats_->upgrade_error, why);
    stats_->upgrade_failures.fetch_add(1);
}

void ProcessManager::set_exe(std::string exe) {
    exe_ = std::move(exe);
    if (exe_fd_ < 0) exe_fd_ = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
}

bool ProcessManager::resume(const UpgradeState& st, std::string* error) {
    stats_ = runtime::stats_attach(config_.stats_file, error);
    if (!stats_) return false;
    size_t n = 0;
    for (const runtime::ServiceConfig& svc : config_.services) n += static_cast<size_t>(svc.count);
    if (n != st.slots.size()) return *error = "the slots differ from the old image's", false;
    master_only_fd_ = st.lock_fd;
    for (size_t i = 0; i < config_.services.size(); ++i)
        for (int w = 0; w < config_.services[i].count; ++w) {
            const UpgradeState::Slot& from = st.slots[slots_.size()];
            Slot s;
            s.service = static_cast<int>(i);
            s.worker_id = w;
            s.listen_fd = from.listen_fd;
            s.control_fd = from.control_fd;
            s.pid = from.pid;
            s.started = monotonic_now() - 10;  // not a start-up death if it goes now
            if (s.pid <= 0) s.restart_at = monotonic_now();  // was waiting out a back-off
            for (int fd : {s.listen_fd, s.control_fd})
                if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
            slots_.push_back(s);
        }
    if (master_only_fd_ >= 0) fcntl(master_only_fd_, F_SETFD, FD_CLOEXEC);
    runtime::copy_build(stats_->build, sizeof stats_->build);
    resumed_ = true;
    return true;
}

// Every SIGKILL the master sends goes through here, so that the exit it causes
// is counted as the master's, not as a crash.
void ProcessManager::kill_worker(pid_t pid) {
    if (pid <= 0) return;
    master_killed_.insert(pid);
    kill(pid, SIGKILL);
}

void ProcessManager::signal_all(int sig) {
    for (const Slot& s : slots_) {
        if (s.pid > 0) kill(s.pid, sig);
        if (s.old_pid > 0) kill(s.old_pid, sig);
    }
}

bool ProcessManager::children_left() const {
    for (const Slot& s : slots_)
        if (s.pid > 0 || s.old_pid > 0) return true;
    return false;
}

}  // namespace pusher::master
