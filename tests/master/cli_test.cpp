// The master and its CLI with real processes and real signals.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "runtime/listen_socket.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;

namespace {

int read_pid(const PusherInstance& p) {
    std::ifstream in(p.dir + "/pusher.pid");
    int pid = 0;
    in >> pid;
    return pid;
}

std::vector<int> children(int ppid) {
    std::vector<int> out;
    CmdResult r = run("ps -o pid= --ppid " + std::to_string(ppid));
    std::istringstream in(r.out);
    int pid;
    while (in >> pid) out.push_back(pid);
    return out;
}

bool alive(int pid) {
    if (kill(pid, 0) != 0) return false;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    std::getline(in, s);
    return s.find(") Z") == std::string::npos;
}

bool healthy(const PusherInstance& p) {
    int status = 0;
    p.http_get("/healthz", &status);
    return status == 200;
}

struct Welcome {
    int worker = -1;
    long conn = -1;
};
Welcome welcome(const PusherInstance& p, std::unique_ptr<WsClient>* keep = nullptr) {
    auto c = std::make_unique<WsClient>();
    Welcome w;
    if (!c->connect("127.0.0.1", p.ws_port)) return w;
    sscanf(c->recv_text().c_str(), "workerID:%d connectionID:%ld", &w.worker, &w.conn);
    if (keep) *keep = std::move(c);
    return w;
}

TEST(Cli, StartStatusStopRoundTrip) {
    PusherInstance p;
    CmdResult r = p.start();
    ASSERT_EQ(r.code, 0) << r.out;
    int master = read_pid(p);
    ASSERT_GT(master, 0);
    EXPECT_EQ(children(master).size(), 4u);  // channel + 2 ws + http
    CmdResult s = p.cli("status");
    EXPECT_EQ(s.code, 0);
    EXPECT_NE(s.out.find("GLOBAL STATUS"), std::string::npos);
    EXPECT_NE(s.out.find("ChannelServer"), std::string::npos);
    EXPECT_NE(s.out.find("[Summary]"), std::string::npos);
    CmdResult j = p.cli("status --json");
    EXPECT_NE(j.out.find("\"workers\""), std::string::npos);
    std::unique_ptr<WsClient> keep;
    ASSERT_GE(welcome(p, &keep).worker, 0);
    CmdResult c = p.cli("connections");
    EXPECT_NE(c.out.find("websocket"), std::string::npos) << c.out;
    EXPECT_EQ(p.stop().code, 0);
    EXPECT_FALSE(alive(master));
    EXPECT_EQ(p.cli("status").code, 1);
    EXPECT_EQ(p.cli("stop").out, "pusher not running\n");
}

// status -d redraws the table every second and ends by itself once the master
// is gone.
TEST(Cli, StatusRefreshesUntilTheMasterStops) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    std::string cmd = "timeout 20 " + pusher_bin() + " status -d -c " + p.config + " 2>&1";
    FILE* f = popen(cmd.c_str(), "r");
    ASSERT_NE(f, nullptr);
    std::string out;
    auto frames = [&] {
        size_t n = 0;
        for (size_t at = 0; (at = out.find("GLOBAL STATUS", at)) != std::string::npos; ++at) ++n;
        return n;
    };
    char buf[4096];
    while (frames() < 2 && fgets(buf, sizeof buf, f)) out += buf;
    ASSERT_EQ(frames(), 2u) << out;
    EXPECT_EQ(p.stop().code, 0);
    while (fgets(buf, sizeof buf, f)) out += buf;  // EOF: it ended by itself
    int status = pclose(f);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    EXPECT_NE(out.find("\033[H\033[2J"), std::string::npos);  // the screen is redrawn
}

TEST(Cli, SecondStartIsRefusedAndPortInUseIsReported) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    CmdResult again = p.start();
    EXPECT_NE(again.code, 0);
    EXPECT_NE(again.out.find("already running"), std::string::npos) << again.out;
    PusherInstance q;  // its config is rewritten to collide with p's port
    std::ofstream(q.config) << "{\"pid_file\": \"" << q.dir << "/q.pid\", \"log_file\": \"" << q.dir
                            << "/q.log\", \"stats_file\": \"" << q.dir
                            << "/q.stats\", \"services\": [{\"type\": "
                            << "\"websocket\", \"listen\": \"127.0.0.1:" << p.ws_port << "\"}]}";
    CmdResult clash = q.start();
    EXPECT_NE(clash.code, 0);
    EXPECT_NE(clash.out.find("Address already in use"), std::string::npos) << clash.out;
}

TEST(Cli, StalePidFileIsReplaced) {
    PusherInstance p;
    std::ofstream(p.dir + "/pusher.pid")
        << getpid() << "\n";  // a live pid that is not a pusher master
    CmdResult r = p.start();
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(read_pid(p), getpid());
}

TEST(Cli, ConfigErrorsNameTheKey) {
    PusherInstance p;
    std::ofstream(p.config)
        << "{\"services\": [{\"type\": \"websocket\", \"listen\": \"0.0.0.0:99999\"}]}";
    CmdResult r = p.start();
    EXPECT_NE(r.code, 0);
    EXPECT_EQ(r.out, "config: services[0].listen: must be HOST:PORT with PORT 1..65535\n");
    std::ofstream(p.config) << "{\"limits\": {\"max_conections\": 5}}";
    EXPECT_EQ(p.start().out, "config: limits.max_conections: unknown key\n");
    std::ofstream(p.config) << "{\"bus\": {\"engine\": \"redis\", \"mode\": \"sharded\", "
                               "\"servers\": [\"10.0.0.1:6379\", \"10.0.0.1:6379\"]}}";
    r = p.start();
    EXPECT_NE(r.code, 0);
    EXPECT_EQ(r.out, "config: bus.servers[1]: the same server as servers[0]\n");
    std::ofstream(p.config) << "{not json";
    EXPECT_NE(p.start().out.find("not valid JSON"), std::string::npos);
}

// jsoncpp throws where a plain error was expected (an integer above INT64_MAX,
// nesting past its stack limit): each is a config error, never an abort.
TEST(Cli, ConfigValuesThatMakeJsoncppThrowAreErrors) {
    PusherInstance p;
    std::ofstream(p.config) << "{\"limits\": {\"max_connections\": 18446744073709551615}}";
    CmdResult r = p.start();
    EXPECT_NE(r.code, 0);
    EXPECT_EQ(r.out, "config: limits.max_connections: must be a positive integer\n");
    std::ofstream(p.config) << "{\"stop_timeout\": 1, \"limits\": {\"ping_interval\": 5}, \"x\": "
                            << std::string(5000, '[') << std::string(5000, ']') << "}";
    r = p.start();
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.out.find("not valid JSON"), std::string::npos) << r.out;
}

TEST(Master, KilledWorkerComesBackWithTheSameIdAndFreshConnectionIds) {
    PusherInstance p("", 1);
    p.expect_worker_deaths(1);  // kill -9 below
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(eventually([&] { return healthy(p); }));
    Welcome first = welcome(p);
    ASSERT_EQ(first.worker, 0);
    int master = read_pid(p);
    std::set<int> before;
    for (int c : children(master)) before.insert(c);
    int ws_pid = p.worker_pid("pusher", 0);
    ASSERT_GT(ws_pid, 0);
    kill(ws_pid, SIGKILL);
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(eventually(
        [&] {
            std::unique_ptr<WsClient> c;
            return welcome(p).worker == 0;
        },
        3000));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
    Welcome again = welcome(p);
    EXPECT_EQ(again.worker, 0);
    EXPECT_GT(again.conn, first.conn);  // never reused across the re-fork
    EXPECT_NE(p.cli("status").out.find("9 "), std::string::npos);  // exit status 9 counted
    ASSERT_TRUE(eventually([&] { return healthy(p); }));
    std::unique_ptr<WsClient> c;
    Welcome w = welcome(p, &c);
    p.http_get("/?to_worker_id=0&to_connection_id=" + std::to_string(w.conn) + "&content=back");
    EXPECT_EQ(c->recv_text(), "back");
}

// A worker that dies right after each start is re-forked after a pause that
// grows (1, 2, 4 ... 30 s) and is logged, not in a tight fork loop.
TEST(Master, AWorkerDyingAtStartIsReforkedWithBackOff) {
    PusherInstance p("", 1);
    p.expect_worker_deaths(2);  // two kill -9 below
    ASSERT_EQ(p.start().code, 0);
    int first = p.worker_pid("pusher", 0), second = 0, third = 0;
    ASSERT_GT(first, 0);
    kill(first, SIGKILL);  // maybe within its first second, maybe not: the machine decides
    ASSERT_TRUE(eventually(
        [&] {
            second = p.worker_pid("pusher", 0);
            return second > 0 && second != first;
        },
        5000));
    kill(second, SIGKILL);  // milliseconds after its fork: a death at start-up
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(eventually(
        [&] {
            third = p.worker_pid("pusher", 0);
            return third > 0 && third != second;
        },
        10000));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
    std::ifstream log(p.dir + "/pusher.log");
    std::stringstream text;
    text << log.rdbuf();
    EXPECT_NE(text.str().find("keeps dying at start, next try in"), std::string::npos)
        << text.str();
    EXPECT_TRUE(eventually([&] { return healthy(p); }));  // and it serves again
}

TEST(Master, ReloadNeverRefusesAConnectAndKeepsIds) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(eventually([&] { return healthy(p); }));
    std::atomic<bool> done{false};
    // A plain reload drops the connections of the worker it replaces (as the
    // original does); what must never happen is a refused TCP connect.
    std::atomic<int> refused{0}, ok{0};
    std::thread loop([&] {
        while (!done) {
            WsClient c;
            if (c.connect("127.0.0.1", p.ws_port) && !c.recv_text().empty())
                ++ok;
            else if (c.error() == "connect refused")
                ++refused;
        }
    });
    CmdResult r = p.cli("reload");
    EXPECT_EQ(r.code, 0) << r.out;
    CmdResult g = p.cli("reload -g");
    EXPECT_EQ(g.code, 0) << g.out;
    done = true;
    loop.join();
    EXPECT_EQ(refused.load(), 0);
    EXPECT_GT(ok.load(), 10);
    std::set<int> ids;
    for (int i = 0; i < 40 && ids.size() < 2; ++i) ids.insert(welcome(p).worker);
    EXPECT_EQ(ids, (std::set<int>{0, 1}));
}

TEST(Master, GracefulStopFinishesWithClientsConnected) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    std::unique_ptr<WsClient> c;
    ASSERT_GE(welcome(p, &c).worker, 0);
    auto t0 = std::chrono::steady_clock::now();
    CmdResult r = p.cli("stop -g");  // graceful_timeout is 3 s in test configs
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(6));
}

TEST(Master, SigkilledMasterLeavesNoWorkerBehind) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    int master = read_pid(p);
    std::vector<int> kids = children(master);
    ASSERT_EQ(kids.size(), 4u);
    kill(master, SIGKILL);
    EXPECT_TRUE(eventually(
        [&] {
            for (int k : kids)
                if (alive(k)) return false;
            return true;
        },
        3000));
    std::string err;
    int fd = pusher::runtime::listen_socket("127.0.0.1", p.ws_port, false, &err);
    EXPECT_GE(fd, 0) << err;
    if (fd >= 0) close(fd);
}

}  // namespace

namespace {

TEST(Cli, WarnsWhenThePublishApiIsOpenWithoutAKey) {
    PusherInstance p;
    std::ofstream(p.config)
        << "{\"pid_file\": \"" << p.dir << "/o.pid\", \"log_file\": \"" << p.dir
        << "/o.log\", \"stats_file\": \"" << p.dir
        << "/o.stats\", \"services\": [{\"type\": \"http\", \"listen\": \"0.0.0.0:" << p.http_port
        << "\"}]}";
    CmdResult r = p.start();
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("WARNING: the publish API listens on 0.0.0.0"), std::string::npos)
        << r.out;
    PusherInstance q("\"api_key\": \"k\",");
    EXPECT_EQ(q.start().out, "");  // loopback and keyed: quiet
}

}  // namespace

namespace {

// No kernel lets a process open two billion files (fs.nr_open tops out near
// 2^30), so this configuration warns on any host, and still starts.
TEST(Cli, WarnsAboutKernelLimitsAtStartWithoutRefusing) {
    const std::string warning = "WARNING: kernel: the open files limit (ulimit -n) is ";
    PusherInstance p("\"limits\": {\"max_connections\": 2000000000},");
    CmdResult r = p.cli("start -d");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find(warning), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Start success"), std::string::npos) << r.out;
    EXPECT_NE(p.log_lines(warning), "");
    EXPECT_EQ(p.stop().code, 0);
    // -q: the log has it, the terminal does not.
    CmdResult q = p.start();
    EXPECT_EQ(q.code, 0) << q.out;
    EXPECT_EQ(q.out.find(warning), std::string::npos) << q.out;
}

}  // namespace
