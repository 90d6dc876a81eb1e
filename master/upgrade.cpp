#include "master/upgrade.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "master/process_manager.h"
#include "runtime/stats.h"
#include "runtime/version.h"

namespace pusher::master {

std::string encode_upgrade_state(const UpgradeState& s) {
    std::ostringstream o;
    o << "v1 " << s.lock_fd << " " << s.old_exe_fd << " " << s.slots.size();
    for (const UpgradeState::Slot& sl : s.slots)
        o << " " << sl.listen_fd << "," << sl.control_fd << "," << sl.pid;
    return o.str();
}

bool decode_upgrade_state(const std::string& text, UpgradeState* s) {
    std::istringstream in(text);
    std::string v;
    size_t n = 0;
    if (!(in >> v >> s->lock_fd >> s->old_exe_fd >> n) || v != "v1" || n > runtime::kMaxSlots)
        return false;
    s->slots.resize(n);
    for (UpgradeState::Slot& sl : s->slots) {
        char c1 = 0, c2 = 0;
        if (!(in >> sl.listen_fd >> c1 >> sl.control_fd >> c2 >> sl.pid) || c1 != ',' || c2 != ',')
            return false;
    }
    return true;
}

std::string self_exe() {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "";
    std::string p(buf, static_cast<size_t>(n));
    const std::string deleted = " (deleted)";
    if (p.size() > deleted.size() && p.compare(p.size() - deleted.size(), deleted.size(), deleted) == 0)
        p.resize(p.size() - deleted.size());
    return p;
}

// What the new image must share with the running one: the listeners it takes
// over, the status region it attaches to, the pid file the CLI finds it by,
// and what names the bus channels and client ids (a different node name or
// bus would cut every hand-over and change every client id). Other settings
// (keys, limits, timeouts) may change with an upgrade, as with a restart.
std::string upgrade_layout(const runtime::Config& c) {
    std::string out = "stats" + std::to_string(runtime::kStatsVersion) + "|node=" + c.node_name +
                      "|pid=" + c.pid_file + "|stats=" + c.stats_file +
                      "|event=" + c.broadcast_event + "|bus=" +
                      std::to_string(static_cast<int>(c.bus.engine)) + "/" +
                      std::to_string(static_cast<int>(c.bus.mode)) + "/" + c.bus.prefix + "/" +
                      c.channel_host + ":" + std::to_string(c.channel_port);
    for (const runtime::RedisAddress& r : c.bus.redis) out += "," + r.host + ":" + std::to_string(r.port);
    for (const runtime::ServiceConfig& s : c.services)
        out += "|" + s.name + "=" + std::to_string(static_cast<int>(s.type)) + "@" + s.host + ":" +
               std::to_string(s.port) + "x" + std::to_string(s.count) + (s.tls.enabled() ? "+tls" : "");
    // One word on the check's answer line: spaces (in a path) become '%20'.
    std::string word;
    for (char ch : out) word += ch == ' ' ? std::string("%20") : std::string(1, ch);
    return word;
}

int upgrade_check_main(const runtime::Config& c) {
    printf("ok %s %s\n", runtime::build_version(), upgrade_layout(c).c_str());
    return 0;
}

// The child's whole answer, or what it said before the timeout.
static std::string read_all(int fd, double timeout) {
    std::string out;
    double end = monotonic_now() + timeout;
    char buf[1024];
    for (;;) {
        int left = static_cast<int>((end - monotonic_now()) * 1000);
        pollfd p{fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) <= 0) break;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

bool check_new_binary(const std::string& exe, const std::string& config_file,
                      const std::string& layout, double timeout, std::string* version,
                      std::string* error) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return *error = strerror(errno), false;
    pid_t pid = fork();
    if (pid < 0) return *error = strerror(errno), false;
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(out[1], 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        std::vector<const char*> argv = {exe.c_str(), "upgrade-check"};
        if (!config_file.empty()) argv.insert(argv.end(), {"-c", config_file.c_str()});
        argv.push_back(nullptr);
        execv(exe.c_str(), const_cast<char* const*>(argv.data()));
        fprintf(stderr, "cannot execute %s: %s\n", exe.c_str(), strerror(errno));
        _exit(127);
    }
    close(out[1]);
    std::string said = read_all(out[0], timeout);
    close(out[0]);
    int status = 0;
    double end = monotonic_now() + 1;  // EOF came with its exit, or it hangs
    pid_t got;
    while ((got = waitpid(pid, &status, WNOHANG)) == 0 && monotonic_now() < end) usleep(5000);
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return *error = exe + " did not answer its check within " +
                        std::to_string(int(timeout)) + " s",
               false;
    }
    if (said.find('\n') != std::string::npos) said.resize(said.find('\n'));
    std::istringstream in(said);
    std::string ok, ver, lay;
    in >> ok >> ver >> lay;
    if (ok != "ok" || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return *error = exe + " failed its check: " + (said.empty() ? "no answer" : said), false;
    if (lay != layout)
        return *error = "use restart: the new build or the config on disk differs in listeners, "
                        "node, bus, files or status layout (" + lay + " vs " + layout + ")",
               false;
    *version = ver;
    return true;
}

}  // namespace pusher::master
