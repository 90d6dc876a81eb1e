#include "tests/support/redis_server.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/pump.h"
#include "tests/support/pusher_instance.h"

namespace pusher::testing {

namespace {

constexpr int kStartMs =
    10000;  // a redis-server answers in well under 1 s; a busy machine may be slower
constexpr int kStopMs = 10000;

// Children a destructor never reached (a leaked object, an exit() from a test)
// are killed when the test binary exits; crashes are covered by PR_SET_PDEATHSIG.
class Reaper {
  public:
    void add(int pid) {
        std::lock_guard<std::mutex> l(m_);
        pids_.insert(pid);
    }
    void remove(int pid) {
        std::lock_guard<std::mutex> l(m_);
        pids_.erase(pid);
    }
    ~Reaper() {
        for (int pid : pids_) {
            ::kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    }

  private:
    std::mutex m_;
    std::set<int> pids_;
};

Reaper& reaper() {
    static Reaper r;
    return r;
}

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

std::string trim(std::string s) {
    while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t b = 0;
    while (b < s.size() && isspace(static_cast<unsigned char>(s[b]))) ++b;
    return s.substr(b);
}

std::string read_file(const std::string& path, size_t from = 0) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "";
    in.seekg(static_cast<std::streamoff>(from));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

size_t file_size(const std::string& path) {
    std::error_code ec;
    auto n = std::filesystem::file_size(path, ec);
    return ec ? 0 : static_cast<size_t>(n);
}

std::string last_lines(const std::string& text, int n) {
    size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (int i = 0; i < n && pos > 0; ++i) {
        pos = text.rfind('\n', pos - 1);
        if (pos == std::string::npos) return text;
    }
    return text.substr(pos == 0 ? 0 : pos + 1);
}

// The value following `name` in args, or "".
std::string arg_value(const std::vector<std::string>& args, const std::string& name) {
    for (size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == name) return args[i + 1];
    return "";
}

void flatten(const redisReply* r, std::string* out) {
    switch (r->type) {
        case REDIS_REPLY_INTEGER:
            *out += std::to_string(r->integer);
            break;
        case REDIS_REPLY_ARRAY:
            for (size_t i = 0; i < r->elements; ++i) {
                if (i) *out += "\n";
                flatten(r->element[i], out);
            }
            break;
        case REDIS_REPLY_NIL:
            break;
        default:
            out->append(r->str, r->len);
    }
}

// Runs in the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(int parent, int out_fd, const std::vector<char*>& argv) {
    // The kernel kills this redis when the test thread that forked it dies,
    // however it dies; if the parent is already gone, give up at once.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    // No inherited socket of the test (a listener it closes later) may stay open in redis.
    if (close_range(3, ~0U, 0) != 0)
        for (int fd = 3; fd < 4096; ++fd) close(fd);
    execvp(argv[0], argv.data());
    _exit(127);
}

}  // namespace

RedisServer::RedisServer(std::vector<std::string> args, std::string host, int port)
    : host_(std::move(host)), args_(std::move(args)), port_(port), pick_ports_(port == 0) {
    if (port_ == 6379)
        throw std::invalid_argument("tests never use port 6379: it may be the system's redis");
    password_ = arg_value(args_, "--requirepass");
    char tmpl[] = "/tmp/pusher-redis-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    try {
        start();
    } catch (...) {
        std::filesystem::remove_all(dir_);
        throw;
    }
}

RedisServer::~RedisServer() {
    reap(SIGKILL);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

// Spawns until it answers. A port taken meanwhile (free_port() only released
// it; or the old server's sockets, right after a kill) is retried: with new
// ports when we chose them, else on the same port, briefly.
void RedisServer::start() {
    bool cluster = arg_value(args_, "--cluster-enabled") == "yes";
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStartMs);
    for (;;) {
        if (pick_ports_) {
            port_ = free_port();
            if (cluster && arg_value(args_, "--cluster-port").empty()) {
                do cluster_port_ = free_port();
                while (cluster_port_ == port_);
            }
        }
        std::string why;
        if (spawn_and_wait(&why)) {
            pick_ports_ = false;  // restart() comes back on the same ports
            return;
        }
        bool taken = why.find("Address already in use") != std::string::npos;
        if (!taken || std::chrono::steady_clock::now() > end)
            throw std::runtime_error("redis-server on " + address() + " did not start: " + why +
                                     "\n" + log_tail());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

// One redis-server process; true once it answers PING. Else *why says what
// happened, with what it logged during this attempt.
bool RedisServer::spawn_and_wait(std::string* why) {
    std::string log = dir_ + "/redis.log", out = dir_ + "/stdout.log";
    size_t log_from = file_size(log), out_from = file_size(out);
    std::vector<std::string> a = {"redis-server",
                                  "--bind",
                                  host_,
                                  "--port",
                                  std::to_string(port_),
                                  "--dir",
                                  dir_,
                                  "--logfile",
                                  log,
                                  "--daemonize",
                                  "no",
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--protected-mode",
                                  "no"};
    if (cluster_port_) a.insert(a.end(), {"--cluster-port", std::to_string(cluster_port_)});
    if (arg_value(args_, "--cluster-enabled") == "yes" &&
        arg_value(args_, "--cluster-config-file").empty())
        a.insert(a.end(), {"--cluster-config-file", dir_ + "/nodes.conf"});
    a.insert(a.end(), args_.begin(), args_.end());
    std::vector<char*> argv;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);

    int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int parent = getpid();
    int pid = fork();
    if (pid == 0) exec_child(parent, out_fd, argv);
    close(out_fd);
    if (pid < 0) {
        *why = "fork failed";
        return false;
    }
    pid_ = pid;
    reaper().add(pid);

    int status = 0;
    bool exited = false;
    bool up = eventually(
        [&] {
            exited = waitpid(pid, &status, WNOHANG) == pid;
            return exited || answers(200);
        },
        kStartMs);
    if (up && !exited) return true;
    if (exited) {
        forget();
        *why = "it exited (status " + std::to_string(status) + ")";
    } else {
        reap(SIGKILL);
        *why = "no answer to PING within " + std::to_string(kStartMs) + " ms";
    }
    *why += "; it said:\n" + read_file(log, log_from) + read_file(out, out_from);
    return false;
}

// Ends the process with sig and reaps it. SIGTERM gets kStopMs, then SIGKILL.
void RedisServer::reap(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    if (paused_ && sig != SIGKILL) ::kill(pid_, SIGCONT);  // a stopped process acts on nothing else
    int pid = pid_;
    bool gone = sig != SIGKILL &&
                eventually([&] { return waitpid(pid, nullptr, WNOHANG) == pid; }, kStopMs);
    if (!gone) {
        ::kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
    forget();
}

void RedisServer::stop() {
    reap(SIGTERM);
}

void RedisServer::kill() {
    reap(SIGKILL);
}

void RedisServer::restart() {
    stop();
    start();
}

void RedisServer::pause() {
    if (pid_ <= 0 || paused_) return;
    ::kill(pid_, SIGSTOP);
    int status = 0;
    waitpid(pid_, &status, WUNTRACED);  // returns once it is stopped: no race with the next probe
    paused_ = WIFSTOPPED(status);
    if (!paused_) forget();  // it died instead, and is reaped
}

void RedisServer::resume() {
    if (pid_ <= 0 || !paused_) return;
    ::kill(pid_, SIGCONT);
    int status = 0;
    waitpid(pid_, &status, WCONTINUED);
    paused_ = false;
    if (!WIFCONTINUED(status)) forget();
}

// The process was reaped: its pid may be reused, never signal it again.
void RedisServer::forget() {
    reaper().remove(pid_);
    pid_ = 0;
    paused_ = false;
}

RedisCli RedisServer::cli_argv(const std::vector<std::string>& args,
                               const std::vector<std::string>& cli_options) const {
    // stderr goes to its own file so that out is the reply alone; run() adds 2>&1 outside.
    static std::atomic<int> seq{0};
    std::string err = dir_ + "/cli." + std::to_string(seq++) + ".err";
    std::string cmd = "timeout -k 2 15 redis-cli -h " + shell_quote(host_) + " -p " +
                      std::to_string(port_) + " -e";
    if (!password_.empty()) cmd += " --no-auth-warning -a " + shell_quote(password_);
    for (auto& o : cli_options) cmd += " " + shell_quote(o);
    for (auto& a : args) cmd += " " + shell_quote(a);
    CmdResult r = run("{ " + cmd + " 2>" + shell_quote(err) + "; }");
    RedisCli c{r.code, trim(r.out), trim(read_file(err))};
    std::remove(err.c_str());
    return c;
}

RedisReply RedisServer::command(const std::vector<std::string>& argv, int timeout_ms) const {
    RedisReply reply;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext* c = redisConnectWithTimeout(host_.c_str(), port_, tv);
    if (!c || c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        if (c) redisFree(c);
        return reply;
    }
    auto send = [&](const std::vector<std::string>& words) {
        std::vector<const char*> p;
        std::vector<size_t> n;
        for (auto& w : words) p.push_back(w.data()), n.push_back(w.size());
        return static_cast<redisReply*>(
            redisCommandArgv(c, static_cast<int>(words.size()), p.data(), n.data()));
    };
    if (!password_.empty()) {
        if (redisReply* a = send({"AUTH", password_})) freeReplyObject(a);
    }
    if (redisReply* r = send(argv)) {
        reply.answered = true;
        reply.error = r->type == REDIS_REPLY_ERROR;
        flatten(r, &reply.text);
        freeReplyObject(r);
    }
    redisFree(c);
    return reply;
}

bool RedisServer::answers(int timeout_ms) const {
    return command({"PING"}, timeout_ms).answered;
}

std::string RedisServer::log_tail(int lines) const {
    std::string out = read_file(dir_ + "/stdout.log");
    return "--- " + dir_ + "/redis.log (tail):\n" +
           last_lines(read_file(dir_ + "/redis.log"), lines) +
           (trim(out).empty() ? "" : "--- stdout/stderr (tail):\n" + last_lines(out, lines));
}

}  // namespace pusher::testing
