// Operations with real processes: exit accounting, reload order, signals at
// fork, descriptors, paths and locks, and what stop/reload print while they wait.
#include <dirent.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <json/json.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "master/config_load.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;
namespace master = pusher::master;
namespace runtime = pusher::runtime;

namespace {

// The exit rows of service `name` with that cause, summed; the last row in *row.
long exits(const Json::Value& st, const std::string& name, const std::string& cause,
           Json::Value* row = nullptr) {
    long n = 0;
    for (const Json::Value& e : st["exits"])
        if (e["name"].asString() == name && e["cause"].asString() == cause) {
            n += e["count"].asInt64();
            if (row) *row = e;
        }
    return n;
}

std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

size_t count_of(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
    return n;
}

// A crash, a normal exit and the master's own kill are three different rows,
// in status --json, the status table, /metrics and the log.
TEST(Exits, CountedByCauseInStatusMetricsAndLog) {
    PusherInstance p("\"stop_timeout\": 0.5,", 1);
    p.expect_worker_deaths(1);  // the SIGABRT below
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    int ws = p.worker_pid("pusher", 0);
    ASSERT_GT(ws, 0);
    // SIGABRT, not SIGSEGV: under ASan a SIGSEGV is caught and becomes exit code 1.
    kill(ws, SIGABRT);
    ASSERT_TRUE(eventually([&] {
        int now = p.worker_pid("pusher", 0);
        return now > 0 && now != ws;
    }));
    Json::Value st = status_json(p), row;
    EXPECT_EQ(exits(st, "pusher", "signal", &row), 1) << st;
    EXPECT_EQ(row["status"].asInt() & 0x7f, SIGABRT);  // 0x80: a core was dumped
    EXPECT_EQ(row["signal"].asString(), "SIGABRT");
    EXPECT_TRUE(row["abnormal"].asBool());
    EXPECT_EQ(st["abnormal_exits"].asInt(), 1);
    EXPECT_NE(p.cli("status").out.find("signal 6 (SIGABRT)"), std::string::npos);
    ASSERT_TRUE(p.wait_healthy());
    std::string metrics = p.http_get("/metrics");
    EXPECT_NE(metrics.find("pusher_worker_exits_total{node=\"test-" + std::to_string(p.ws_port) +
                           "\",service=\"pusher\",status=\"" + row["status"].asString() +
                           "\",cause=\"signal\",reason=\"SIGABRT\"} 1"),
              std::string::npos)
        << metrics;

    ASSERT_EQ(p.cli("reload").code, 0);  // the old worker leaves with exit code 0
    st = status_json(p);
    EXPECT_EQ(exits(st, "pusher", "normal", &row), 1) << st;
    EXPECT_EQ(row["exit_code"].asInt(), 0);
    EXPECT_FALSE(row["abnormal"].asBool());
    EXPECT_EQ(st["abnormal_exits"].asInt(), 1);

    int stuck = 0;
    ASSERT_TRUE(eventually([&] { return (stuck = p.worker_pid("pusher", 0)) > 0; }));
    kill(stuck, SIGSTOP);  // it cannot obey SIGINT: stop_timeout later the master SIGKILLs it
    ASSERT_EQ(p.stop().code, 0);
    std::string log = file_text(p.dir + "/pusher.log");
    EXPECT_EQ(count_of(log, "[pusher:" + std::to_string(stuck) + "] killed by the master"), 1u)
        << log;
    EXPECT_EQ(count_of(log, "exit with status"), 1u) << log;  // the SIGABRT only
    EXPECT_NE(log.find("(killed by signal 6,"), std::string::npos) << log;
}

// The harness itself: an instance whose worker died without the test saying
// so fails the test, naming the death.
void crash_a_worker_undeclared() {
    PusherInstance p("", 1);
    ASSERT_EQ(p.start().code, 0);
    int ws = p.worker_pid("pusher", 0);
    ASSERT_GT(ws, 0);
    kill(ws, SIGABRT);
    ASSERT_TRUE(eventually([&] {
        int now = p.worker_pid("pusher", 0);
        return now > 0 && now != ws;
    }));
}

TEST(Harness, AnUndeclaredWorkerDeathFailsTheTest) {
    EXPECT_NONFATAL_FAILURE(crash_a_worker_undeclared(),
                            "worker deaths: the test declared 0, the master saw 1");
}

// Running, stopped or sleeping, but not a zombie and not gone.
bool alive(int pid) {
    if (pid <= 0 || kill(pid, 0) != 0) return false;
    std::string stat = file_text("/proc/" + std::to_string(pid) + "/stat");
    return stat.find(") Z") == std::string::npos;
}

// Plain reload replaces one slot at a time: while the first worker cannot
// leave (stopped), the others keep their processes; the master kills only
// that old worker after stop_timeout, and then the others follow.
TEST(Reload, PlainReloadReplacesOneSlotAtATimeAndKillsOnlyTheOldWorker) {
    // The stopped old worker never answers the hand-over: the new one gives
    // up after handover_timeout, and the old one is killed stop_timeout later.
    PusherInstance p("\"stop_timeout\": 1, \"reload\": {\"handover_timeout\": 2},", 3);
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    int orig[3];
    for (int i = 0; i < 3; ++i) ASSERT_GT(orig[i] = p.worker_pid("pusher", i), 0);
    kill(orig[0], SIGSTOP);
    std::thread reload([&] { EXPECT_EQ(p.cli("reload").code, 0); });
    bool others_kept = true;
    bool first_gone = eventually(
        [&] {
            // Others first, then the first: a sample counts only if the
            // first was still alive after it (under load the master may
            // move on to slot 1 between two polls, which is allowed).
            bool others = alive(orig[1]) && alive(orig[2]);
            bool first = alive(orig[0]);
            if (first) others_kept &= others;
            return !first;
        },
        8000);
    reload.join();
    EXPECT_TRUE(first_gone) << "the stopped old worker was never killed";
    EXPECT_TRUE(others_kept) << "another slot was replaced before the first was done";
    for (int i = 0; i < 3; ++i) {
        int now = p.worker_pid("pusher", i);
        EXPECT_GT(now, 0);
        EXPECT_NE(now, orig[i]);
    }
    Json::Value st = status_json(p);
    EXPECT_EQ(exits(st, "pusher", "master_kill"), 1) << st["exits"];
    EXPECT_EQ(exits(st, "pusher", "normal"), 2) << st["exits"];
    EXPECT_EQ(p.log_lines("killed by the master"),
              p.log_lines("[pusher:" + std::to_string(orig[0]) + "] killed by the master"));
}

// A reload that reaches a slot waiting out its start-up back-off must not
// SIGKILL the worker forked when the back-off ends (it used to, again and
// again: thousands of kills a second), and must not wait for the back-off.
TEST(Reload, WhileASlotIsInBackOffKillsNoNewWorker) {
    PusherInstance p("\"stop_timeout\": 0.3,", 2);
    p.expect_worker_deaths(2);  // the two kill -9 below
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    int first = p.worker_pid("pusher", 0), second = 0;
    ASSERT_GT(first, 0);
    kill(first, SIGKILL);
    ASSERT_TRUE(eventually([&] {
        second = p.worker_pid("pusher", 0);
        return second > 0 && second != first;
    }));
    kill(second, SIGKILL);  // milliseconds after its fork: at least 1 s of back-off follows
    ASSERT_TRUE(eventually([&] { return p.log_lines("keeps dying at start").size() > 0; }));
    CmdResult r = run("timeout 10 " + pusher_bin() + " reload -c " + p.config);
    EXPECT_EQ(r.code, 0) << r.out;
    ASSERT_TRUE(eventually([&] { return p.wait_healthy(); }, 10000));
    Json::Value st = status_json(p);
    EXPECT_EQ(exits(st, "pusher", "master_kill"), 0) << st["exits"];
    EXPECT_EQ(exits(st, "pusher", "signal"), 2) << st["exits"];
    EXPECT_LE(exits(st, "pusher", "normal"), 2) << st["exits"];
}

int master_pid(const PusherInstance& p) {
    return atoi(file_text(p.dir + "/pusher.pid").c_str());
}

// SIGIO (what `pusher connections` sends) forwarded to a worker between its
// fork and its handlers must not kill it: the default action of SIGIO is to
// terminate. Workers are forked again and again by reloads meanwhile.
TEST(Signals, SigioWhileWorkersStartKillsNone) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    int master = master_pid(p);
    ASSERT_GT(master, 0);
    std::atomic<bool> done{false};
    std::thread spam([&] {
        while (!done) {
            kill(master, SIGIO);
            std::this_thread::sleep_for(std::chrono::microseconds(200));  // pacing, not waiting
        }
    });
    for (int i = 0; i < 6; ++i) EXPECT_EQ(p.cli("reload").code, 0);
    EXPECT_EQ(p.cli("connections").code, 0);
    done = true;
    spam.join();
    Json::Value st = status_json(p);
    EXPECT_EQ(st["abnormal_exits"].asInt(), 0) << st["exits"];
}

// What the descriptors of a process point to, one target per descriptor.
std::vector<std::string> fd_targets(int pid) {
    std::vector<std::string> out;
    std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR* d = opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        char target[PATH_MAX];
        ssize_t n = readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
        if (n > 0) out.emplace_back(target, static_cast<size_t>(n));
    }
    closedir(d);
    return out;
}

// A daemon's stdin is /dev/null and its stdout/stderr the log, and nothing
// else of those (nor the pid file's lock) reaches a worker. A worker may open
// /dev/null itself (the spare descriptor kept for EMFILE), hence "at most 2".
TEST(Daemon, WorkersInheritNoStrayDescriptors) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    std::vector<int> pids = {master_pid(p)};
    Json::Value st = status_json(p);
    for (const Json::Value& w : st["workers"]) pids.push_back(w["pid"].asInt());
    ASSERT_EQ(pids.size(), 5u);
    for (int pid : pids) {
        std::vector<std::string> fds = fd_targets(pid);
        auto count = [&](const std::string& t) { return std::count(fds.begin(), fds.end(), t); };
        bool master = pid == pids[0];
        if (master)
            EXPECT_EQ(count("/dev/null"), 1) << "pid " << pid;
        else
            EXPECT_LE(count("/dev/null"), 2) << "pid " << pid;
        EXPECT_EQ(count(p.dir + "/pusher.log"), 2) << "pid " << pid;
        EXPECT_EQ(count(p.dir + "/pusher.pid"), master ? 1 : 0) << "pid " << pid;
    }
}

// Without paths in the config, the pid, log and stats files live beside the
// config file: started from one directory, the instance is found from another.
TEST(Paths, TheCliFindsTheInstanceFromAnyDirectory) {
    PusherInstance p;
    std::string text = file_text(p.config);
    size_t from = text.find("\"pid_file\""), to = text.find("\"graceful_timeout\"");
    ASSERT_NE(from, std::string::npos);
    std::ofstream(p.dir + "/app.json") << text.substr(0, from) << text.substr(to);
    p.config = p.dir + "/app.json";
    mkdir((p.dir + "/elsewhere").c_str(), 0755);
    auto in = [&](const std::string& dir, const std::string& args) {
        return run("cd " + dir + " && " + pusher_bin() + " " + args);
    };
    CmdResult r = in(p.dir, "start -d -q -c app.json");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_GT(atoi(file_text(p.dir + "/pusher.app.pid").c_str()), 0);
    EXPECT_EQ(in("/", "status -c " + p.config).code, 0);
    EXPECT_NE(in("/", "status --json -c " + p.config).out.find("\"workers\""), std::string::npos);
    EXPECT_EQ(in(p.dir + "/elsewhere", "status -c ../app.json").code, 0);
    EXPECT_EQ(in("/", "connections -c " + p.config).code, 0);
    r = in("/", "reload -c " + p.config);
    EXPECT_EQ(r.code, 0) << r.out;
    r = in("/tmp", "start -d -q -c " + p.config);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.out.find("already running"), std::string::npos) << r.out;
    r = in("/", "stop -c " + p.config);
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(in("/", "status -c " + p.config).out, "pusher not running\n");
}

TEST(Paths, RelativePathsAreTakenFromTheConfigOrTheBinary) {
    runtime::Config c = master::default_config();
    master::derive_paths(&c);
    char exe[PATH_MAX] = {};
    ASSERT_GT(readlink("/proc/self/exe", exe, sizeof exe - 1), 0);
    std::string bin_dir = exe;
    bin_dir.resize(bin_dir.rfind('/'));
    EXPECT_EQ(c.pid_file, bin_dir + "/pusher.default.pid");
    EXPECT_EQ(c.log_file, bin_dir + "/pusher.default.log");
    EXPECT_EQ(c.stats_file, bin_dir + "/pusher.default.stats");

    PusherInstance p;  // only for its directory
    std::ofstream(p.dir + "/site.json") << "{\"pid_file\": \"run/site.pid\"}";
    std::string err;
    runtime::Config d = master::default_config();
    ASSERT_TRUE(master::load_config(p.dir + "/site.json", &d, &err)) << err;
    master::derive_paths(&d);
    EXPECT_EQ(d.pid_file, p.dir + "/run/site.pid");
    EXPECT_EQ(d.log_file, p.dir + "/pusher.site.log");
}

// The pid file is locked while the master runs: a second start is refused by
// the lock even when the file's content has been replaced.
TEST(PidFile, SecondStartIsRefusedByTheLockWhateverTheFileSays) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    std::string real = file_text(p.dir + "/pusher.pid");
    std::ofstream(p.dir + "/pusher.pid") << getpid() << "\n";  // a live pid, not ours
    CmdResult again = p.start();
    EXPECT_NE(again.code, 0);
    EXPECT_EQ(again.out, "pusher already running (pid " + std::to_string(getpid()) + ")\n");
    std::ofstream(p.dir + "/pusher.pid") << real;  // so that stop finds the master
}

// A line of `out` that matches `format` (an int of workers, a long of
// connections) with at least one worker and at least min_connections.
bool progress_line(const std::string& out, const char* format, long min_connections) {
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        int workers = 0;
        long connections = -1;
        if (sscanf(line.c_str(), format, &workers, &connections) == 2 && workers > 0 &&
            connections >= min_connections)
            return true;
    }
    return false;
}

// stop -g and reload -g say what they are still waiting for while a client
// keeps its connection open, instead of blocking silently.
TEST(Progress, GracefulStopAndReloadReportWhatIsStillDraining) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    WsClient held;
    ASSERT_TRUE(held.connect("127.0.0.1", p.ws_port));
    ASSERT_FALSE(held.recv_text().empty());
    CmdResult r = p.cli("reload -g");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(progress_line(r.out, "reloading: waiting for %d old workers, %ld connections", 0))
        << r.out;
    WsClient again;
    ASSERT_TRUE(again.connect("127.0.0.1", p.ws_port));
    ASSERT_FALSE(again.recv_text().empty());
    r = p.cli("stop -g");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_TRUE(progress_line(r.out, "stopping: waiting for %d workers, %ld connections", 1))
        << r.out;
}

}  // namespace
