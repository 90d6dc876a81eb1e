// Interoperability with real PHP (php-cli): PHP peers that build every message
// exactly as Workerman's Channel\Client does (tests/php/channel_peer.php)
// against our channel::Server, our channel::Client against a PHP
// re-implementation of Channel\Server (tests/php/channel_server.php), and a
// corpus of PHP values published and received by PHP through our server,
// compared byte for byte with what PHP's own server logic sends.
//
// PHP runs as child processes with non-blocking stdout pipes; the test pumps
// its libevent loop and reads their output until what it waits for arrives or
// a deadline passes. The PHP side bounds every wait of its own as well.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <sstream>

#include "channel/client.h"
#include "channel/server.h"
#include "protocol/channel_message.h"
#include "protocol/frame.h"
#include "runtime/listen_socket.h"
#include "tests/support/php.h"
#include "tests/support/pump.h"

using namespace pusher;
using protocol::php::Key;
using protocol::php::Type;
using protocol::php::Value;
using pusher::testing::have_php;
using pusher::testing::hex_decode;
using pusher::testing::pump_until;
using pusher::testing::source_dir;

namespace {

constexpr int kPhpTimeoutMs = 8000;  // what a PHP peer waits at most (it stops sooner when done)

std::string hex(std::string_view s) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += d[c >> 4];
        out += d[c & 15];
    }
    return out;
}

// One php-cli child: stdin and stdout are pipes (stderr is the test's).
class PhpProcess {
  public:
    PhpProcess(const std::string& script, const std::vector<std::string>& args) {
        int in[2], out[2];
        if (pipe(in) != 0 || pipe(out) != 0) return;
        pid_ = fork();
        if (pid_ == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            close(in[0]), close(in[1]), close(out[0]), close(out[1]);
            std::vector<std::string> argv = {"php", "-d", "display_errors=stderr",
                                             source_dir() + "/tests/php/" + script};
            argv.insert(argv.end(), args.begin(), args.end());
            std::vector<char*> cargv;
            for (auto& a : argv) cargv.push_back(a.data());
            cargv.push_back(nullptr);
            execvp("php", cargv.data());
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        in_ = in[1];
        out_ = out[0];
        fcntl(out_, F_SETFL, O_NONBLOCK);
        live().push_back(this);
    }
    ~PhpProcess() {
        auto me = std::find(live().begin(), live().end(), this);
        if (me != live().end()) live().erase(me);
        if (running()) kill(pid_, SIGKILL);
        reap(2000);
        if (in_ >= 0) close(in_);
        if (out_ >= 0) close(out_);
    }
    // Drains every child's stdout: a child blocked on a full pipe would stop
    // reading its socket, and the bus would see a slow subscriber.
    static void poll_all() {
        for (PhpProcess* p : live()) p->poll();
    }
    // Reads what the child has written so far.
    void poll() {
        char b[65536];
        ssize_t n;
        while (out_ >= 0 && (n = read(out_, b, sizeof b)) > 0)
            out_text_.append(b, static_cast<size_t>(n));
    }
    bool running() {
        if (pid_ <= 0 || status_ >= 0) return false;
        int st;
        if (waitpid(pid_, &st, WNOHANG) == pid_) {
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return false;
        }
        return true;
    }
    void stop(int sig = SIGTERM) {
        if (running()) kill(pid_, sig);
        reap(2000);
    }
    int status() const { return status_; }
    const std::string& out() {
        poll();
        return out_text_;
    }
    // Payloads of the output lines that start with "<tag> ".
    // Complete lines only: PHP may flush a line in pieces.
    std::vector<std::string> lines(const std::string& tag) {
        std::vector<std::string> r;
        std::string all = out();
        std::istringstream in(all.substr(0, all.rfind('\n') + 1));
        std::string line;
        while (std::getline(in, line))
            if (line.compare(0, tag.size() + 1, tag + " ") == 0)
                r.push_back(line.substr(tag.size() + 1));
        return r;
    }
    size_t count(const std::string& tag) { return lines(tag).size(); }

  private:
    static std::vector<PhpProcess*>& live() {
        static std::vector<PhpProcess*> v;
        return v;
    }
    void reap(int ms) {
        auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (running() && std::chrono::steady_clock::now() < end) usleep(1000);
        if (running()) {
            kill(pid_, SIGKILL);
            int st;
            waitpid(pid_, &st, 0);
            status_ = 137;
        }
        poll();
    }
    pid_t pid_ = -1;
    int status_ = -1;
    int in_ = -1, out_ = -1;
    std::string out_text_;
};

class PhpInteropTest : public ::testing::Test {
  protected:
    runtime::Config config;
    std::unique_ptr<runtime::Loop> loop;
    std::unique_ptr<channel::Server> server;
    int lfd = -1, port = 0;
    std::vector<std::unique_ptr<channel::Client>> clients;

    void SetUp() override {
        if (!have_php()) GTEST_SKIP() << "php-cli not installed";
        config.channel_allow = {"127.0.0.1"};
        loop = std::make_unique<runtime::Loop>(nullptr, config.limits);
    }
    void TearDown() override {
        clients.clear();
        if (server) {
            server->close_all();
            event_base_loop(loop->base(), EVLOOP_NONBLOCK);
            server.reset();
            close(lfd);
        }
        loop.reset();
    }
    void start_our_server() {
        std::string err;
        lfd = runtime::listen_socket("127.0.0.1", 0, false, &err);
        ASSERT_GE(lfd, 0) << err;
        port = runtime::socket_port(lfd);
        server = std::make_unique<channel::Server>(*loop, lfd, config);
        server->start(&err);
    }
    uint64_t processed() { return loop->stats().total_request.load(); }

    // Pumps our loop, reading the children, until done() or the deadline.
    bool pump(const std::function<bool()>& done, int ms = 5000) {
        return pump_until(
            loop->base(),
            [&] {
                PhpProcess::poll_all();
                return done();
            },
            ms);
    }
    std::unique_ptr<PhpProcess> peer(int to_port, const std::string& scenario,
                                     std::vector<std::string> args = {}) {
        args.insert(args.begin(),
                    {std::to_string(to_port), scenario, std::to_string(kPhpTimeoutMs)});
        return std::make_unique<PhpProcess>("channel_peer.php", args);
    }
    // Runs a PHP peer to its end while the loop serves it.
    void finish(PhpProcess& p) {
        EXPECT_TRUE(pump([&] { return !p.running(); }, kPhpTimeoutMs + 2000)) << p.out();
        EXPECT_EQ(p.status(), 0) << p.out();
        EXPECT_EQ(p.count("php-error"), 0u) << p.out();
        EXPECT_EQ(p.count("error"), 0u) << p.out();
    }
    // A PHP Channel server; port 0 picks one. Waits until it listens.
    std::unique_ptr<PhpProcess> php_server(int want_port, bool lf = false,
                                           int* got_port = nullptr) {
        std::vector<std::string> args = {std::to_string(want_port), "--max-seconds=60"};
        if (lf) args.push_back("--lf");
        auto p = std::make_unique<PhpProcess>("channel_server.php", args);
        EXPECT_TRUE(pump([&] { return p->count("listening") == 1 || !p->running(); })) << p->out();
        if (got_port && p->count("listening") == 1) *got_port = std::stoi(p->lines("listening")[0]);
        return p;
    }
    channel::Client& client(int to_port) {
        clients.push_back(std::make_unique<channel::Client>(*loop, "127.0.0.1", to_port));
        clients.back()->connect();
        return *clients.back();
    }

    // PHP subscribers, started one after the other, then a PHP publisher,
    // against our server (php=false) or a fresh PHP server (php=true). sub_ops[i]
    // is how many messages subscriber i sends before the next one may start.
    // Returns what each subscriber received.
    struct Run {
        std::vector<std::string> frames;  // per subscriber, its "frame" lines joined
        std::vector<std::string> outputs;
    };
    Run run_pair(bool php,
                 const std::vector<std::pair<std::string, std::vector<std::string>>>& subs,
                 const std::vector<int>& sub_ops, const std::string& pub,
                 const std::vector<std::string>& pub_args) {
        Run run;
        std::unique_ptr<PhpProcess> srv;
        int to = port;
        if (php) srv = php_server(0, false, &to);
        std::vector<std::unique_ptr<PhpProcess>> ps;
        uint64_t base = php ? 0 : processed();
        size_t ops = 0;
        for (size_t i = 0; i < subs.size(); ++i) {
            ps.push_back(peer(to, subs[i].first, subs[i].second));
            ops += static_cast<size_t>(sub_ops[i]);
            // Started one by one so the subscribe order is fixed.
            EXPECT_TRUE(pump([&] {
                return php ? srv->count("op") >= ops : processed() >= base + ops;
            })) << ps.back()->out();
        }
        auto p = peer(to, pub, pub_args);
        finish(*p);
        for (auto& s : ps) {
            finish(*s);
            std::string joined;
            for (auto& f : s->lines("frame")) joined += f + "\n";
            run.frames.push_back(joined);
            run.outputs.push_back(s->out());
            for (auto& r : s->lines("reparse")) EXPECT_EQ(r, "ok") << s->out();
        }
        return run;
    }
};

std::string frame_hex(const std::string& body) {
    return hex(protocol::frame_encode(body));
}

// Part 1: PHP peers against our server. ---------------------------------------

// start_ws.php's subscriber and start_http.php's publisher, with the spec's
// exact bytes (workerman.md §1.4) in both directions.
TEST_F(PhpInteropTest, ClusterExampleBytesThroughOurServer) {
    start_our_server();
    auto sub = peer(port, "cluster_sub", {"4"});
    ASSERT_TRUE(pump([&] { return server->channel_count() == 2; })) << sub->out();
    // What PHP's client sent: the integer worker id and "broadcast".
    auto sent = sub->lines("sent");
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(
        sent[0],
        "00000042" + hex("a:2:{s:4:\"type\";s:9:\"subscribe\";s:8:\"channels\";a:1:{i:0;i:0;}}"));
    EXPECT_EQ(sent[1],
              "0000004e" + hex("a:2:{s:4:\"type\";s:9:\"subscribe\";s:8:\"channels\";a:1:{i:0;s:9:"
                               "\"broadcast\";}}"));
    // Our client builds the same bytes as PHP's for the same calls.
    EXPECT_EQ(sent[0],
              frame_hex(protocol::channel::build_client_message("subscribe", {Value::integer(0)})));

    auto pub = peer(port, "cluster_pub");
    finish(*pub);
    finish(*sub);
    Value d = Value::array();
    d.set(Key::from_string("to_connection_id"), Value::string("1"));
    d.set(Key::from_string("content"), Value::string("hi"));
    EXPECT_EQ(pub->lines("sent")[0], frame_hex(protocol::channel::build_client_message(
                                         "publish", {Value::string("0")}, &d)));

    auto frames = sub->lines("frame");
    ASSERT_EQ(frames.size(), 4u) << sub->out();
    // $_GET's string "0" reaches the int-0 subscription; channel is the publisher's "0".
    EXPECT_EQ(
        frames[0],
        "0000007f" + hex("a:3:{s:4:\"type\";s:5:\"event\";s:7:\"channel\";s:1:\"0\";s:4:\"data\";"
                         "a:2:{s:16:\"to_connection_id\";s:1:\"1\";s:7:\"content\";s:2:\"hi\";}}"));
    EXPECT_EQ(frames[1],
              "00000083" +
                  hex("a:3:{s:4:\"type\";s:5:\"event\";s:7:\"channel\";s:9:\"broadcast\";s:4:"
                      "\"data\";a:2:{s:16:\"to_connection_id\";i:1;s:7:\"content\";s:2:\"hi\";}}"));
    // One publish on [broadcast, nobody, 0, "007"]: broadcast, then int 0; the rest dropped.
    EXPECT_EQ(
        frames[2],
        frame_hex("a:3:{s:4:\"type\";s:5:\"event\";s:7:\"channel\";s:9:\"broadcast\";s:4:\"data\";"
                  "a:1:{s:7:\"content\";s:5:\"multi\";}}"));
    EXPECT_EQ(frames[3],
              frame_hex("a:3:{s:4:\"type\";s:5:\"event\";s:7:\"channel\";i:0;s:4:\"data\";"
                        "a:1:{s:7:\"content\";s:5:\"multi\";}}"));
    // PHP's unserialize() accepted each one and gives back exactly these bytes.
    auto values = sub->lines("value");
    ASSERT_EQ(values.size(), 4u);
    EXPECT_EQ(values[0], "'event' '0' array (   'to_connection_id' => '1',   'content' => 'hi', )");
    EXPECT_EQ(values[3], "'event' 0 array (   'content' => 'multi', )");
    EXPECT_EQ(sub->lines("reparse"), std::vector<std::string>(4, "ok"));
    EXPECT_EQ(sub->lines("received"), std::vector<std::string>{"4"});
}

// The same scenario through the PHP server gives the same bytes.
TEST_F(PhpInteropTest, ClusterExampleMatchesThePhpServer) {
    start_our_server();
    Run ours = run_pair(false, {{"cluster_sub", {"4"}}}, {2}, "cluster_pub", {});
    Run php = run_pair(true, {{"cluster_sub", {"4"}}}, {2}, "cluster_pub", {});
    ASSERT_EQ(ours.frames.size(), 1u);
    EXPECT_FALSE(ours.frames[0].empty());
    EXPECT_EQ(ours.frames, php.frames);
}

// publishLoop over three PHP subscribers A, B, C: B, C, A, B like the original.
TEST_F(PhpInteropTest, PublishLoopRoundRobinMatchesThePhpServer) {
    start_our_server();
    std::vector<std::pair<std::string, std::vector<std::string>>> subs = {
        {"loop_sub", {"A"}}, {"loop_sub", {"B"}}, {"loop_sub", {"C"}}};
    Run ours = run_pair(false, subs, {2, 2, 2}, "loop_pub", {"4"});
    auto event = [](const std::string& job) {
        return frame_hex(
                   "a:3:{s:4:\"type\";s:5:\"event\";s:7:\"channel\";s:4:\"jobs\";s:4:\"data\";s:" +
                   std::to_string(job.size()) + ":\"" + job + "\";}") +
               "\n";
    };
    ASSERT_EQ(ours.frames.size(), 3u);
    EXPECT_EQ(ours.frames[0], event("job2") + event("END"));
    EXPECT_EQ(ours.frames[1], event("job0") + event("job3") + event("END"));
    EXPECT_EQ(ours.frames[2], event("job1") + event("END"));
    Run php = run_pair(true, subs, {2, 2, 2}, "loop_pub", {"4"});
    EXPECT_EQ(ours.frames, php.frames);
}

// Client::watch() with autoReserve in PHP, enqueue from another PHP process.
TEST_F(PhpInteropTest, QueueWatchEnqueueReserveMatchesThePhpServer) {
    start_our_server();
    Run ours = run_pair(false, {{"queue_worker", {"3"}}}, {2}, "queue_pub", {});
    ASSERT_EQ(ours.frames.size(), 1u);
    EXPECT_EQ(ours.frames[0], frame_hex("a:3:{s:4:\"type\";s:5:\"queue\";s:7:\"channel\";s:1:\"q\";"
                                        "s:4:\"data\";s:3:\"job\";}") +
                                  "\n" +
                                  frame_hex("a:3:{s:4:\"type\";s:5:\"queue\";s:7:\"channel\";s:1:"
                                            "\"q\";s:4:\"data\";a:1:{s:1:\"n\";i:2;}}") +
                                  "\n" +
                                  frame_hex("a:3:{s:4:\"type\";s:5:\"queue\";s:7:\"channel\";s:1:"
                                            "\"q\";s:4:\"data\";s:4:\"job3\";}") +
                                  "\n");
    EXPECT_NE(ours.outputs[0].find("sent 00000023" + hex("a:1:{s:4:\"type\";s:7:\"reserve\";}")),
              std::string::npos);
    // "unwatched" keeps job3 for nobody; "q" goes with its last watcher.
    EXPECT_TRUE(pump([&] { return server->queue_count() == 1; }));
    Run php = run_pair(true, {{"queue_worker", {"3"}}}, {2}, "queue_pub", {});
    EXPECT_EQ(ours.frames, php.frames);
}

// Channel values that are neither int nor string become array keys the way
// PHP casts them, on both servers.
TEST_F(PhpInteropTest, OddChannelValuesAreKeyedAsPhpDoes) {
    start_our_server();
    Run ours = run_pair(false, {{"odd_keys_sub", {"8"}}}, {1}, "odd_keys_pub", {});
    Run php = run_pair(true, {{"odd_keys_sub", {"8"}}}, {1}, "odd_keys_pub", {});
    EXPECT_EQ(ours.frames, php.frames);
    EXPECT_NE(ours.outputs[0].find("received 8"), std::string::npos) << ours.outputs[0];
}

// Part 3: a corpus of PHP values, PHP → our server → PHP. ----------------------

TEST_F(PhpInteropTest, CorpusArrivesExactlyAsPhpServerWouldSendIt) {
    start_our_server();
    auto sub = peer(port, "corpus_sub");
    ASSERT_TRUE(pump([&] { return server->channel_count() == 2; })) << sub->out();
    auto pub = peer(port, "corpus_pub");
    finish(*pub);
    finish(*sub);
    auto expect = pub->lines("expect");  // serialize() of Server.php's event array
    auto frames = sub->lines("frame");
    ASSERT_GT(expect.size(), 40u);
    ASSERT_EQ(frames.size(), expect.size()) << sub->out();
    for (size_t i = 0; i < frames.size(); ++i)
        EXPECT_EQ(frames[i], expect[i]) << "value " << i << ": " << hex_decode(expect[i]).substr(4);
    EXPECT_EQ(sub->lines("reparse"), std::vector<std::string>(frames.size(), "ok"));

    // And the PHP server, given the same publishes, sends the same bytes.
    Run php = run_pair(true, {{"corpus_sub", {}}}, {2}, "corpus_pub", {});
    std::string joined;
    for (auto& f : frames) joined += f + "\n";
    EXPECT_EQ(php.frames[0], joined);
}

// The same corpus through a queue: enqueue from PHP, watch + reserve in PHP.
TEST_F(PhpInteropTest, QueuedCorpusArrivesExactlyAsPhpServerWouldSendIt) {
    start_our_server();
    auto worker = peer(port, "queue_worker", {"1000"});
    ASSERT_TRUE(pump([&] { return server->queue_count() == 1; })) << worker->out();
    auto pub = peer(port, "queue_corpus_pub");
    finish(*pub);
    finish(*worker);
    auto expect = pub->lines("expect");  // serialize() of Queue.php's delivery array
    auto frames = worker->lines("frame");
    ASSERT_GT(expect.size(), 40u);
    ASSERT_EQ(frames.size(), expect.size()) << worker->out();
    for (size_t i = 0; i < frames.size(); ++i)
        EXPECT_EQ(frames[i], expect[i]) << "value " << i << ": " << hex_decode(expect[i]).substr(4);
    EXPECT_EQ(worker->lines("reparse"), std::vector<std::string>(frames.size(), "ok"));

    Run php = run_pair(true, {{"queue_worker", {"1000"}}}, {2}, "queue_corpus_pub", {});
    std::string joined;
    for (auto& f : expect) joined += f + "\n";
    EXPECT_EQ(php.frames[0], joined);
}

// Part 2: our client against the PHP server. ----------------------------------

struct Seen {
    Value channel;
    Value data;
};
runtime::Bus::Handler record(std::vector<Seen>* out) {
    return [out](const Value& ch, const Value& d) { out->push_back({ch, d}); };
}
Value content(const std::string& s) {
    Value d = Value::array();
    d.set(Key::from_string("content"), Value::string(s));
    return d;
}
std::string content_of(const Seen& s) {
    const Value* c = s.data.get("content");
    return c ? c->as_string() : "";
}

TEST_F(PhpInteropTest, OurClientSubscribesAndReceivesFromThePhpServer) {
    int php_port = 0;
    auto srv = php_server(0, false, &php_port);
    std::vector<Seen> zero, seven, bcast;
    auto& c = client(php_port);
    c.on(Value::integer(0), record(&zero));    // $worker->id
    c.on(Value::string("7"), record(&seven));  // a string that is an int key
    c.on(Value::string("broadcast"), record(&bcast));
    ASSERT_TRUE(pump([&] { return c.connected() && srv->count("op") == 1; })) << srv->out();
    // One subscribe listing every event, as Client.php's onRemoteConnect.
    EXPECT_EQ(srv->lines("op")[0], "subscribe array (   0 => 0,   1 => '7',   2 => 'broadcast', )");

    c.publish({Value::integer(7)}, content("int seven"));
    c.publish({Value::string("0"), Value::string("nobody"), Value::string("broadcast")},
              content("multi"));
    ASSERT_TRUE(pump([&] { return seven.size() == 1 && zero.size() == 1 && bcast.size() == 1; }))
        << srv->out();
    EXPECT_EQ(seven[0].channel.type, Type::Int);  // the publisher's value and type
    EXPECT_EQ(seven[0].channel.i, 7);
    EXPECT_EQ(content_of(seven[0]), "int seven");
    EXPECT_EQ(zero[0].channel.type, Type::String);
    EXPECT_EQ(zero[0].channel.s, "0");

    // start_http.php's publishes, from PHP, reach our int-0 subscription too.
    auto pub = peer(php_port, "cluster_pub");
    finish(*pub);
    ASSERT_TRUE(pump([&] { return zero.size() == 3 && bcast.size() == 3; })) << srv->out();
    EXPECT_EQ(zero[1].data.get("to_connection_id")->type, Type::String);
    EXPECT_EQ(content_of(zero[1]), "hi");
    EXPECT_EQ(bcast[1].data.get("to_connection_id")->type, Type::Int);
    EXPECT_EQ(zero[2].channel.type, Type::Int);
    EXPECT_EQ(content_of(zero[2]), "multi");

    // After unsubscribe the PHP server stops sending "7".
    c.unsubscribe(Value::integer(7));
    c.publish({Value::string("7"), Value::string("broadcast")}, content("after"));
    ASSERT_TRUE(pump([&] { return bcast.size() == 4; }));
    EXPECT_EQ(seven.size(), 1u);
    EXPECT_EQ(srv->count("php-error"), 0u) << srv->out();
}

TEST_F(PhpInteropTest, OurClientUsesThePhpServersQueues) {
    int php_port = 0;
    auto srv = php_server(0, false, &php_port);
    std::vector<Seen> jobs;
    auto& c = client(php_port);
    c.watch(Value::string("q"), record(&jobs), true);
    ASSERT_TRUE(pump([&] { return c.connected() && srv->count("op") == 2; })) << srv->out();
    auto pub = peer(php_port, "queue_pub");
    finish(*pub);
    ASSERT_TRUE(pump([&] { return jobs.size() == 3; })) << srv->out();
    EXPECT_EQ(jobs[0].data.as_string(), "job");
    EXPECT_EQ(jobs[1].data.get("n")->i, 2);
    EXPECT_EQ(jobs[2].data.as_string(), "job3");
    EXPECT_EQ(jobs[2].channel.as_string(), "q");
}

// The PHP server is killed and started again on the same port: our client
// reconnects, re-subscribes, re-watches, and sends what was published meanwhile.
TEST_F(PhpInteropTest, OurClientSurvivesAPhpServerRestart) {
    int php_port = 0;
    auto srv = php_server(0, false, &php_port);
    std::vector<Seen> news, jobs;
    auto& c = client(php_port);
    c.on(Value::string("news"), record(&news));
    c.watch(Value::string("work"), record(&jobs), true);
    ASSERT_TRUE(pump([&] { return c.connected() && srv->count("op") == 3; })) << srv->out();
    c.publish({Value::string("news")}, content("before"));
    ASSERT_TRUE(pump([&] { return news.size() == 1; }));

    srv->stop(SIGKILL);
    ASSERT_TRUE(pump([&] { return !c.connected(); }));
    for (int i = 0; i < 3; ++i)
        c.publish({Value::string("news")}, content("while down " + std::to_string(i)));
    EXPECT_EQ(c.pending(), 3u);

    srv = php_server(php_port);
    ASSERT_EQ(srv->count("listening"), 1u) << srv->out();
    ASSERT_TRUE(pump([&] { return news.size() == 4; }, 6000)) << srv->out();
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(content_of(news[1 + i]), "while down " + std::to_string(i));
    // Order at the new server: subscribe, watch, reserve, then the queued publishes.
    // Its log lines may trail the deliveries they describe: wait for all six.
    ASSERT_TRUE(pump([&] { return srv->count("op") >= 6; })) << srv->out();
    auto ops = srv->lines("op");
    ASSERT_GE(ops.size(), 6u);
    EXPECT_EQ(ops[0], "subscribe array (   0 => 'news', )");
    EXPECT_EQ(ops[1], "watch array (   0 => 'work', )");
    EXPECT_EQ(ops[2].substr(0, 7), "reserve");
    EXPECT_EQ(ops[3], "publish array (   0 => 'news', )");
    EXPECT_EQ(c.pending(), 0u);

    auto pub = peer(php_port, "queue_pub");  // enqueues on "q": not watched
    finish(*pub);
    c.enqueue({Value::string("work")}, Value::string("after restart"));
    ASSERT_TRUE(pump([&] { return jobs.size() == 1; })) << srv->out();
    EXPECT_EQ(jobs[0].data.as_string(), "after restart");
}

// Our client decodes what PHP published and publishes it again: PHP must get
// the same values back, back-references included.
TEST_F(PhpInteropTest, OurClientRelaysPhpValuesUnchanged) {
    start_our_server();
    auto& relay = client(port);
    relay.on(Value::string("corpus"), [&relay](const Value&, const Value& d) {
        relay.publish({Value::string("elsewhere"), Value::string("relay")}, d);  // data is slot 6
    });
    ASSERT_TRUE(pump([&] { return relay.connected() && server->channel_count() == 1; }));
    auto sub = peer(port, "relay_sub");
    ASSERT_TRUE(pump([&] { return server->channel_count() == 2; })) << sub->out();
    auto pub = peer(port, "corpus_pub");
    finish(*pub);
    finish(*sub);
    auto want = pub->lines("data");
    auto got = sub->lines("data");
    ASSERT_GT(want.size(), 40u);
    want.push_back(hex("s:3:\"END\";"));
    ASSERT_EQ(got.size(), want.size()) << sub->out();
    for (size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(hex_decode(got[i]), hex_decode(want[i])) << "value " << i;
}

// publishLoop walks PHP's internal array pointer. Subscribers leaving (by
// unsubscribe or by closing) and joining move it in ways the C++ server must
// follow: run one script of changes against both servers, compare who got what.
TEST_F(PhpInteropTest, PublishLoopOrderWithLeavesAndJoinsMatchesThePhpServer) {
    auto run = [&](bool php) {
        std::unique_ptr<PhpProcess> srv;
        int to = port;
        if (php) srv = php_server(0, false, &to);
        uint64_t base = php ? 0 : processed();
        size_t ops = 0;  // messages the server must have handled before going on
        auto handled = [&](size_t more) {
            ops += more;
            EXPECT_TRUE(pump([&] {
                return php ? srv->count("op") >= ops : processed() >= base + ops;
            })) << (php ? srv->out() : "");
        };
        std::string order;
        std::vector<std::unique_ptr<channel::Client>> subs;
        for (int i = 0; i < 5; ++i) {
            subs.push_back(std::make_unique<channel::Client>(*loop, "127.0.0.1", to));
            char name = static_cast<char>('A' + i);
            subs.back()->on(Value::string("jobs"),
                            [&order, name](const Value&, const Value&) { order += name; });
            subs.back()->connect();
            EXPECT_TRUE(pump([&] { return subs.back()->connected(); }));
            handled(1);
        }
        channel::Client pub(*loop, "127.0.0.1", to);
        pub.connect();
        EXPECT_TRUE(pump([&] { return pub.connected(); }));
        auto loop_once = [&] {
            size_t before = order.size();
            pub.publish_loop({Value::string("jobs")}, Value::string("x"));
            handled(1);
            EXPECT_TRUE(pump([&] { return order.size() > before; }));
        };
        size_t closed = 0;
        auto leave = [&](int i, bool by_close) {
            if (by_close) {
                subs[i]->close();
                ++closed;
                // No op line for a close: wait for the server to see it.
                if (php)
                    EXPECT_TRUE(pump([&] { return srv->count("close") >= closed; }));
                else
                    EXPECT_TRUE(pump([&] { return server->client_count() == 6 - closed; }));
            } else {
                subs[i]->unsubscribe(Value::string("jobs"));
                handled(1);
            }
            order += '|';
        };
        loop_once();      // B
        leave(0, false);  // A leaves before the pointer (at B)
        loop_once();
        loop_once();
        leave(2, true);  // C closes
        loop_once();
        loop_once();
        subs[0]->on(Value::string("jobs"), [&order](const Value&, const Value&) { order += 'a'; });
        handled(1);  // A joins again, at the end
        for (int i = 0; i < 4; ++i) loop_once();
        leave(4, true);  // E, the last one, closes
        for (int i = 0; i < 3; ++i) loop_once();
        leave(1, false);  // B, at the pointer, leaves
        for (int i = 0; i < 3; ++i) loop_once();
        leave(0, false);  // a, at the pointer and last, leaves
        for (int i = 0; i < 2; ++i) loop_once();
        for (auto& c : subs) c->close();
        pub.close();
        event_base_loop(loop->base(), EVLOOP_NONBLOCK);
        return order;
    };
    start_our_server();
    std::string ours = run(false);
    std::string php = run(true);
    EXPECT_EQ(ours, php);
}

// Channel servers up to v1.2.1 appended "\n" to every event body.
TEST_F(PhpInteropTest, OurClientAcceptsAnOldServersTrailingNewline) {
    int php_port = 0;
    auto srv = php_server(0, /*lf=*/true, &php_port);
    // A raw subscriber shows that this server really sends the "\n".
    int raw = pusher::testing::dial(php_port);
    std::string s = protocol::frame_encode(
        protocol::channel::build_client_message("subscribe", {Value::string("broadcast")}));
    ASSERT_EQ(write(raw, s.data(), s.size()), static_cast<ssize_t>(s.size()));
    ASSERT_TRUE(pump([&] { return srv->count("op") == 1; })) << srv->out();

    std::vector<Seen> zero, bcast;
    auto& c = client(php_port);
    c.on(Value::integer(0), record(&zero));
    c.on(Value::string("broadcast"), record(&bcast));
    ASSERT_TRUE(pump([&] { return c.connected() && srv->count("op") == 2; })) << srv->out();
    auto pub = peer(php_port, "cluster_pub");
    finish(*pub);
    ASSERT_TRUE(pump([&] { return zero.size() == 2 && bcast.size() == 2; })) << srv->out();
    EXPECT_EQ(content_of(zero[0]), "hi");
    EXPECT_EQ(zero[0].data.get("to_connection_id")->as_string(), "1");
    EXPECT_EQ(content_of(bcast[1]), "multi");

    std::string got;
    pusher::testing::read_pumped(loop->base(), raw, &got, 0x84);
    ASSERT_GE(got.size(), 0x84u);
    EXPECT_EQ(hex(got.substr(0, 4)), "00000084");  // spec §1.4: 0x83 + the "\n"
    EXPECT_EQ(got[0x83], '\n');
    close(raw);
}

}  // namespace
