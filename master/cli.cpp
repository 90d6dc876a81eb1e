#include "master/cli.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "master/config_load.h"
#include "master/kernel_check.h"
#include "master/pid_file.h"
#include "master/process_manager.h"
#include "master/status_table.h"
#include "master/upgrade.h"
#include "runtime/log.h"
#include "runtime/version.h"

namespace pusher::master {

namespace {

struct Args {
    std::string command;
    bool daemon = false, graceful = false, json = false, quiet = false;
    std::string config_file;
};

const char kUsage[] =
    "Usage: pusher <command> [mode] [-c config.json]\n"
    "Commands:\n"
    "  start        Start in foreground (Ctrl-C stops). Use mode -d to start as a daemon.\n"
    "  stop         Stop. Use mode -g to stop gracefully.\n"
    "  restart      Restart. Use mode -d to start as a daemon, -g to stop gracefully.\n"
    "  reload       Reload workers one at a time. Use mode -g to reload gracefully.\n"
    "  status       Show status. Use mode -d to refresh every second, --json for JSON.\n"
    "  connections  Show every connection. --json for JSON.\n"
    "  reload-certs Re-read the TLS certificates; open connections stay as they are.\n"
    "  upgrade      Run the binary now on disk in the master and every worker, keeping\n"
    "               every connection (a binary that fails its check is refused).\n"
    "  version      Print this binary's version.\n";

int fail(const std::string& msg) {
    std::cerr << msg << "\n";
    return 1;
}

bool parse_args(int argc, char** argv, Args* a) {
    // upgrade-check and upgrade-resume are the master's own (master/upgrade.h).
    static const char* commands[] = {"start",        "stop",          "restart",
                                     "reload",       "status",        "connections",
                                     "reload-certs", "upgrade",       "version",
                                     "upgrade-check", "upgrade-resume"};
    for (int i = 1; i < argc; ++i) {
        std::string s = argv[i];
        if (s == "-c" && i + 1 < argc)
            a->config_file = argv[++i];
        else if (s == "-d")
            a->daemon = true;
        else if (s == "-g")
            a->graceful = true;
        else if (s == "--json")
            a->json = true;
        else if (s == "-q")
            a->quiet = true;
        else if (a->command.empty())
            for (const char* c : commands)
                if (s == c) a->command = s;
    }
    if (a->config_file.empty() && getenv("PUSHER_CONFIG")) a->config_file = getenv("PUSHER_CONFIG");
    return !a->command.empty();
}

// stdin from /dev/null, stdout and stderr to the log. The descriptors opened
// for that are closed once copied, or every worker would inherit them too.
void redirect_to_log(const std::string& log) {
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (in >= 0) {
        dup2(in, 0);
        if (in != 0) close(in);
    }
    if (out >= 0) {
        dup2(out, 1);
        dup2(out, 2);
        if (out > 2) close(out);
    }
}

void banner(const runtime::Config& c, bool daemon) {
    std::string rule(30, '-');
    printf("%s pusher %s\n", rule.c_str(), rule.c_str());
    printf("%-14s %-28s %-6s %s\n", "worker", "listen", "count", "state");
    for (const auto& s : c.services)
        printf("%-14s %-28s %-6d [OK]\n", s.name.c_str(), s.listen().c_str(), s.count);
    printf("%s\n", daemon ? "Input \"pusher stop\" to stop. Start success."
                          : "Press Ctrl+C to stop. Start success.");
    fflush(stdout);
}

void log_kernel_report(const KernelReport& r) {
    for (const auto& line : r.warnings) runtime::log_line(line);
    for (const auto& line : r.notes) runtime::log_line(line);
}

// Double fork: the CLI waits on a pipe until the master says every worker listens.
int start_daemon(ProcessManager& pm, const runtime::Config& c, bool quiet, int pid_fd,
                 const KernelReport& kernel) {
    int fds[2];
    if (pipe(fds) != 0) return fail("pipe: " + std::string(strerror(errno)));
    pid_t child = fork();
    if (child < 0) return fail("fork: " + std::string(strerror(errno)));
    if (child > 0) {
        close(fds[1]);
        std::string msg;
        pollfd p{fds[0], POLLIN, 0};
        char buf[512];
        while (poll(&p, 1, 30000) > 0) {
            ssize_t n = read(fds[0], buf, sizeof buf);
            if (n <= 0) break;
            msg.append(buf, static_cast<size_t>(n));
        }
        if (msg.rfind("ok", 0) == 0) {
            if (!quiet) banner(c, true);
            return 0;
        }
        return fail(msg.empty() ? "pusher failed to start (see " + c.log_file + ")"
                                : msg.substr(0, msg.find('\n')));
    }
    close(fds[0]);
    setsid();
    if (fork() != 0) _exit(0);
    umask(022);
    std::string err;
    if (!write_pid(pid_fd, c.pid_file, getpid(), &err)) {
        std::string line = "error: " + err + "\n";
        (void)!write(fds[1], line.data(), line.size());
        _exit(1);
    }
    redirect_to_log(c.log_file);
    runtime::log_line("pusher start in DAEMON mode");
    log_kernel_report(kernel);
    _exit(pm.run(fds[1]));
}

bool loopback(const std::string& host) {
    return host.rfind("127.", 0) == 0 || host == "::1" || host == "localhost";
}

// Nothing that publishes should be open to the world unless the operator says so.
void warn_open_publish(const runtime::Config& c) {
    for (const auto& s : c.services) {
        if (s.type == runtime::ServiceType::Http && c.api_key.empty() && !loopback(s.host))
            fprintf(stderr,
                    "WARNING: the publish API listens on %s:%d without an api_key: anyone who can "
                    "reach it can publish to every client. Set \"api_key\" in the config.\n",
                    s.host.c_str(), s.port);
        if (s.type == runtime::ServiceType::Channel && !loopback(s.host) &&
            (c.channel_allow.empty() || std::find(c.channel_allow.begin(), c.channel_allow.end(),
                                                  "*") != c.channel_allow.end()))
            fprintf(stderr,
                    "WARNING: the channel bus listens on %s:%d and accepts any peer: set "
                    "\"channel_allow\" to your hosts.\n",
                    s.host.c_str(), s.port);
    }
}

// Descriptors above stderr that whoever ran us left open (a shell's pipes, a
// test runner's files) are not ours: a daemon and its workers would hold them
// for their whole life, and a caller waiting for EOF on a pipe would hang.
void close_inherited_fds() {
    std::vector<int> fds;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (dirent* e = readdir(d)) {
            int fd = atoi(e->d_name);
            if (fd > 2 && fd != dirfd(d)) fds.push_back(fd);
        }
        closedir(d);
    }
    for (int fd : fds) close(fd);
}

int cmd_start(const Args& a, const runtime::Config& c) {
    close_inherited_fds();
    warn_open_publish(c);
    std::string err;
    // Held by the master (and nobody else) until it exits: a second start is
    // refused here, before it touches a port.
    int pid_fd = lock_pid_file(c.pid_file, &err);
    if (pid_fd < 0) return fail(err);
    ProcessManager pm(c);
    pm.close_in_workers(pid_fd);
    pm.set_exe(self_exe());  // before anyone replaces the file
    if (!pm.prepare(&err)) {
        unlink(c.pid_file.c_str());  // ours while we hold the lock: leave no empty file
        return fail("pusher cannot start: " + err);
    }
    // Checked once the start can no longer fail on a port, so that a failed
    // start shows its error alone. A daemon's terminal gets the warnings too,
    // unless -q: then only its log has them.
    KernelReport kernel = kernel_report(c, read_kernel_settings());
    if (a.daemon) {
        if (!a.quiet)
            for (const auto& line : kernel.warnings) fprintf(stderr, "%s\n", line.c_str());
        return start_daemon(pm, c, a.quiet, pid_fd, kernel);
    }
    if (!write_pid(pid_fd, c.pid_file, getpid(), &err)) return fail(err);
    log_kernel_report(kernel);  // the foreground's log is its stderr
    if (!a.quiet) banner(c, false);
    return pm.run(-1);
}

// What a graceful stop or reload still waits for, read off the status region:
// live worker processes (for a reload, only the old ones still draining) and
// the connections on their slots.
struct Draining {
    int workers = 0;
    uint64_t connections = 0;
};

Draining draining(const runtime::StatsRegion& r, bool old_only) {
    Draining d;
    for (uint32_t i = 0; i < r.nservices && i < runtime::kMaxServices; ++i)
        for (int w = 0; w < r.services[i].count; ++w) {
            const runtime::WorkerSlot& s = r.slots[r.services[i].first_slot + w];
            bool old = process_alive(s.old_pid.load());
            bool current = !old_only && process_alive(s.pid.load());
            d.workers += old + current;
            if (old || current) d.connections += runtime::read(s.connections);
        }
    return d;
}

// Prints "<what>: waiting for N workers, M connections" as soon as there is
// something to wait for, then at most once a second, so that an operator (or
// a script's log) sees a graceful stop or reload progress instead of silence.
class Progress {
  public:
    Progress(const runtime::StatsRegion* r, const char* what, bool old_only, bool on)
        : r_(r), what_(what), old_only_(old_only), on_(on && r) {}
    void poll() {
        if (!on_ || monotonic_now() < next_) return;
        Draining d = draining(*r_, old_only_);
        if (d.workers == 0) return;
        printf("%s: waiting for %d %sworkers, %llu connections\n", what_, d.workers,
               old_only_ ? "old " : "", static_cast<unsigned long long>(d.connections));
        fflush(stdout);
        next_ = monotonic_now() + 1.0;
    }

  private:
    const runtime::StatsRegion* r_;
    const char* what_;
    bool old_only_, on_;
    double next_ = 0;
};

int cmd_stop(const Args& a, const runtime::Config& c) {
    pid_t pid = running_master(c.pid_file);
    if (!pid) return fail("pusher not running");
    std::string err;
    const runtime::StatsRegion* r = a.graceful ? runtime::stats_open(c.stats_file, &err) : nullptr;
    Progress progress(r, "stopping", false, a.graceful && !a.quiet);
    kill(pid, a.graceful ? SIGQUIT : SIGINT);
    double limit = a.graceful ? c.graceful_timeout + 5 : c.stop_timeout + 3;
    double end = monotonic_now() + limit;
    while (process_alive(pid) && monotonic_now() < end) {
        progress.poll();
        std::this_thread::sleep_for(
            std::chrono::milliseconds(10));  // polling another process: no event to await
    }
    runtime::stats_close(r);
    if (process_alive(pid)) return fail("stop timed out");
    if (!a.quiet) printf("pusher stopped\n");
    return 0;
}

int cmd_reload(const Args& a, const runtime::Config& c) {
    pid_t pid = running_master(c.pid_file);
    if (!pid) return fail("pusher not running");
    std::string err;
    const runtime::StatsRegion* r = runtime::stats_open(c.stats_file, &err);
    uint32_t before = r ? r->reloads_done.load() : 0;
    Progress progress(r, "reloading", true, a.graceful && !a.quiet);
    kill(pid, a.graceful ? SIGUSR2 : SIGUSR1);
    // Wait for the reload to finish, so scripts know when it is done.
    double end = monotonic_now() + (a.graceful ? c.graceful_timeout : 0) + 30;
    while (r && r->reloads_done.load() == before && monotonic_now() < end && kill(pid, 0) == 0) {
        progress.poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    bool done = !r || r->reloads_done.load() != before;
    runtime::stats_close(r);
    if (!done) return fail("reload timed out");
    if (!a.quiet) printf("pusher reloaded\n");
    return 0;
}

const runtime::StatsRegion* open_running(const runtime::Config& c, std::string* err) {
    if (!running_master(c.pid_file)) return *err = "pusher not running", nullptr;
    return runtime::stats_open(c.stats_file, err);
}

int cmd_status(const Args& a, const runtime::Config& c) {
    std::string err;
    const runtime::StatsRegion* r = open_running(c, &err);
    if (!r) return fail(err);
    std::map<int, double> qps;
    std::map<int, uint64_t> last;
    do {
        if (a.daemon) {
            for (int i = 0; i < runtime::kMaxSlots; ++i) {
                uint64_t t = runtime::read(r->slots[i].total_request);
                if (last.count(i)) qps[i] = static_cast<double>(t - last[i]);
                last[i] = t;
            }
            printf("\033[H\033[2J");
        }
        std::string out = a.json ? status_json(*r, qps) : status_text(*r, qps);
        fwrite(out.data(), 1, out.size(), stdout);
        fflush(stdout);
        if (a.daemon) std::this_thread::sleep_for(std::chrono::seconds(1));
    } while (a.daemon && running_master(c.pid_file));
    runtime::stats_close(r);
    return 0;
}

int cmd_connections(const Args& a, const runtime::Config& c) {
    std::string err;
    const runtime::StatsRegion* r = open_running(c, &err);
    if (!r) return fail(err);
    std::vector<std::string> files;
    for (int i = 0; i < runtime::kMaxSlots; ++i) {
        if (r->slots[i].pid.load() <= 0 || kill(r->slots[i].pid.load(), 0) != 0) continue;
        files.push_back(c.stats_file + ".conn." + std::to_string(i));
        unlink(files.back().c_str());
    }
    kill(r->master_pid.load(), SIGIO);
    double end = monotonic_now() + 1.0;
    std::string rows;
    size_t got = 0;
    while (monotonic_now() < end && got < files.size()) {
        got = 0;
        for (const std::string& f : files) got += access(f.c_str(), R_OK) == 0;
        if (got < files.size()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (const std::string& f : files) {
        std::ifstream in(f);
        std::stringstream ss;
        ss << in.rdbuf();
        rows += ss.str();
        unlink(f.c_str());
    }
    std::string out = a.json ? connections_json(rows) : connections_text(rows);
    fwrite(out.data(), 1, out.size(), stdout);
    runtime::stats_close(r);
    return 0;
}

// Each worker of a TLS service answers a reload-certs round in its slot
// (the round's number, and whether it loaded the files); a worker forked
// after the round starts with the master's new pair and answers at start.
struct TlsRound {
    int workers = 0, answered = 0, refused = 0;
};
TlsRound tls_round(const runtime::StatsRegion& r, const runtime::Config& c, uint32_t round) {
    TlsRound t;
    for (uint32_t i = 0; i < r.nservices && i < c.services.size(); ++i) {
        if (!c.services[i].tls.enabled()) continue;
        const runtime::ServiceInfo& svc = r.services[i];
        for (int w = 0; w < svc.count; ++w) {
            const runtime::WorkerSlot& s = r.slots[svc.first_slot + w];
            if (s.pid.load() <= 0 || kill(s.pid.load(), 0) != 0) continue;
            ++t.workers;
            if (s.tls_generation.load() < round) continue;
            ++t.answered;
            t.refused += s.tls_ok.load() ? 0 : 1;
        }
    }
    return t;
}

// The files were checked by loading the config already (a bad pair stops
// here with its reason); each worker loads them again for itself.
int cmd_reload_certs(const Args& a, const runtime::Config& c) {
    bool any = false;
    for (const runtime::ServiceConfig& s : c.services) any |= s.tls.enabled();
    if (!any) return fail("no service of this config has \"tls\"");
    pid_t pid = running_master(c.pid_file);
    if (!pid) return fail("pusher not running");
    std::string err;
    const runtime::StatsRegion* r = runtime::stats_open(c.stats_file, &err);
    if (!r) return fail("reload-certs: " + err);
    uint32_t before = r->tls_generation.load();
    if (kill(pid, SIGURG) != 0) {
        runtime::stats_close(r);
        return fail(std::string("reload-certs: cannot signal the master: ") + strerror(errno));
    }
    double end = monotonic_now() + 5;
    TlsRound t;
    auto done = [&] {
        if (r->tls_generation.load() == before) return false;  // the master has not begun
        t = tls_round(*r, c, r->tls_generation.load());
        return t.answered == t.workers;
    };
    while (!done() && monotonic_now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    runtime::stats_close(r);
    if (t.answered < t.workers || t.workers == 0) return fail("reload-certs timed out");
    if (t.refused)
        return fail("reload-certs: " + std::to_string(t.refused) +
                    " worker(s) kept the old certificate; the log says why");
    if (!a.quiet) printf("certificates reloaded by %d worker(s)\n", t.workers);
    return 0;
}

// Signals the master (SIGTTIN) and waits for its answer in the status region:
// the new build running everywhere, or the reason it was refused.
int cmd_upgrade(const Args& a, const runtime::Config& c) {
    pid_t pid = running_master(c.pid_file);
    if (!pid) return fail("pusher not running");
    std::string err;
    const runtime::StatsRegion* r = runtime::stats_open(c.stats_file, &err);
    if (!r) return fail("upgrade: " + err + " (use restart)");
    uint32_t done = r->upgrades_done.load(), failed = r->upgrade_failures.load();
    kill(pid, SIGTTIN);
    double end = monotonic_now() + 15 + c.handover_timeout * 2 + 30;
    while (r->upgrades_done.load() == done && r->upgrade_failures.load() == failed &&
           monotonic_now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    int rc = 0;
    if (r->upgrade_failures.load() != failed)
        rc = fail(std::string("upgrade refused: ") + r->upgrade_error);
    else if (r->upgrades_done.load() == done)
        rc = fail("upgrade timed out (see " + c.log_file + ")");
    else if (!a.quiet)
        printf("pusher upgraded: %s\n", r->build);
    runtime::stats_close(r);
    return rc;
}

// The new image of an upgrading master: everything it needs was kept open
// across the exec. If it cannot take over, the workers are stopped rather
// than left without a master.
int cmd_upgrade_resume(const runtime::Config& c) {
    const char* env = getenv(kUpgradeEnv);
    std::string state = env ? env : "";
    UpgradeState st;
    bool ok = env && decode_upgrade_state(state, &st);
    unsetenv(kUpgradeEnv);
    if (!ok) return fail("upgrade-resume: no state from an upgrading master");
    const char* rb = getenv(kRollbackEnv);
    std::string rollback = rb ? rb : "";
    unsetenv(kRollbackEnv);
    ProcessManager pm(c);
    std::string err;
    // Fault injection for the rollback test (handover_edges_test.cpp): the
    // image of this build refuses to take over.
    const char* refuse = getenv("PUSHER_TEST_UPGRADE_FAIL");
    if (refuse && strcmp(refuse, runtime::build_version()) == 0)
        err = "refused by PUSHER_TEST_UPGRADE_FAIL";
    else if (pm.resume(st, &err)) {
        pm.set_exe(self_exe());  // this image's binary, for the next upgrade
        if (st.old_exe_fd >= 0) close(st.old_exe_fd);
        if (!rollback.empty()) pm.rolled_back(rollback);
        return pm.run(-1);
    }
    // The old image is still open: it runs again, with the same state, and
    // reports the upgrade as refused. Only if that fails too do the workers stop.
    runtime::log_line("upgrade: the new image cannot take over: " + err);
    if (rollback.empty() && st.old_exe_fd >= 0) {
        setenv(kUpgradeEnv, state.c_str(), 1);
        setenv(kRollbackEnv, err.c_str(), 1);
        std::vector<const char*> argv = {"pusher", "upgrade-resume"};
        if (!c.config_file.empty()) argv.insert(argv.end(), {"-c", c.config_file.c_str()});
        argv.push_back(nullptr);
        fexecve(st.old_exe_fd, const_cast<char* const*>(argv.data()), environ);
        runtime::log_line(std::string("upgrade: cannot run the old image again: ") + strerror(errno));
    }
    runtime::log_line("upgrade: stopping the workers");
    for (const UpgradeState::Slot& s : st.slots)
        if (s.pid > 0) kill(s.pid, SIGINT);
    return 1;
}

}  // namespace

int cli_main(int argc, char** argv) {
    Args a;
    if (!parse_args(argc, argv, &a)) {
        fputs(kUsage, stderr);
        return 64;
    }
    runtime::Config c = default_config();
    std::string err;
    if (!a.config_file.empty() && !load_config(a.config_file, &c, &err)) return fail(err);
    derive_paths(&c);
    if (a.command == "version") return printf("%s\n", runtime::build_version()), 0;
    bool starts_workers = a.command == "start" || a.command == "restart" ||
                          a.command == "reload" || a.command == "reload-certs" ||
                          a.command == "upgrade-check" || a.command == "upgrade-resume";
    if (starts_workers && !read_tls_files(&c, &err)) return fail(err);
    if (a.command == "start") return cmd_start(a, c);
    if (a.command == "stop") return cmd_stop(a, c);
    if (a.command == "restart") {
        if (running_master(c.pid_file)) {
            int rc = cmd_stop(a, c);
            if (rc != 0) return rc;
        }
        return cmd_start(a, c);
    }
    if (a.command == "reload") return cmd_reload(a, c);
    if (a.command == "status") return cmd_status(a, c);
    if (a.command == "reload-certs") return cmd_reload_certs(a, c);
    if (a.command == "upgrade") return cmd_upgrade(a, c);
    if (a.command == "upgrade-check") return upgrade_check_main(c);
    if (a.command == "upgrade-resume") return cmd_upgrade_resume(c);
    return cmd_connections(a, c);
}

}  // namespace pusher::master
