// Real Redis servers for tests of the Redis bus engine: one redis-server
// (RedisServer) or a Redis Cluster of them (RedisCluster), each started as a
// child process of the test binary on loopback, in a private temporary
// directory, with no persistence. Never on port 6379, which belongs to
// whatever redis the system may run.
//
// A server that fails to start throws std::runtime_error carrying the tail of
// its log: gtest reports it as the test's failure. No redis-server outlives the
// test binary: destructors kill and reap; a registry kills what a destructor
// never reached at exit(); and each child asks the kernel for SIGKILL when the
// thread that started it dies (a crash, an abort), so start servers from the
// test's main thread.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pusher::testing {

// What redis-cli printed on stdout (trimmed) and its exit code; err is its stderr
// ("Could not connect ..."), for failure messages. With -e (always given) an
// error reply exits non-zero.
struct RedisCli {
    int code = -1;
    std::string out, err;
};

// One reply, read with hiredis: for admin queries the helpers poll with, where a
// redis-cli process per poll would load a busy machine.
struct RedisReply {
    bool answered = false;  // false: no connection, or no reply within the timeout
    bool error = false;     // an error reply (text holds it)
    std::string text;       // status, string, error or integer; array elements one per line
};

class RedisServer {
  public:
    // args: more redis-server arguments, e.g. {"--requirepass", "s"}. port 0
    // picks a free one (another if that is taken by the time redis binds).
    // With {"--cluster-enabled", "yes"} it also picks the cluster bus port
    // (--cluster-port), unless args name one: port + 10000 may not exist.
    explicit RedisServer(std::vector<std::string> args = {}, std::string host = "127.0.0.1",
                         int port = 0);
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    const std::string& host() const { return host_; }
    int port() const { return port_; }
    int cluster_port() const { return cluster_port_; }  // 0 unless cluster-enabled
    std::string address() const { return host_ + ":" + std::to_string(port_); }
    int pid() const { return pid_; }  // 0 while not running
    const std::string& dir() const { return dir_; }
    bool running() const { return pid_ > 0; }
    bool paused() const { return paused_; }

    void stop();     // SIGTERM (a paused server is resumed to see it), wait; SIGKILL after 10 s
    void kill();     // SIGKILL, wait
    void restart();  // stop if running, then start again: same port, dir, args (and nodes.conf)
    void pause();    // SIGSTOP, returns once the kernel reports it stopped
    void resume();   // SIGCONT, returns once the kernel reports it continued

    // redis-cli -h H -p P -e [-a PASS] args... ; bounded by a timeout of 15 s.
    // The password is the one of --requirepass, if given.
    template <class... A>
    RedisCli cli(const A&... args) const {
        return cli_argv({std::string(args)...});
    }
    RedisCli cli_argv(const std::vector<std::string>& args,
                      const std::vector<std::string>& cli_options = {}) const;
    // One command over hiredis (authenticated as cli is), at most timeout_ms.
    RedisReply command(const std::vector<std::string>& argv, int timeout_ms = 2000) const;
    // PING with a client timeout: true if any reply came (-NOAUTH counts: it answers).
    bool answers(int timeout_ms = 1000) const;
    // The last lines of its log and of its stdout/stderr, for failure messages.
    std::string log_tail(int lines = 20) const;

  private:
    void start();
    bool spawn_and_wait(std::string* why);
    void reap(int sig);
    void forget();
    std::string host_, dir_, password_;
    std::vector<std::string> args_;
    int port_ = 0, cluster_port_ = 0, pid_ = 0;
    bool pick_ports_ = false, paused_ = false;
};

struct RedisClusterOptions {
    int masters = 3;
    int replicas = 1;  // per master
    // Short, so that a failover takes seconds; a node starved of CPU for this
    // long is taken for dead, so a busy machine may see a failover nobody asked for.
    int node_timeout_ms = 1000;
    // no: the shards still up keep serving while one has no master, so a test
    // sees the others unaffected and recovery as the slots' owner changing.
    bool require_full_coverage = false;
    // Reads on a node that sees the cluster down (a minority side of a partition).
    bool allow_reads_when_down = true;
    int form_timeout_ms = 30000;    // redis-cli --cluster create and convergence
    std::vector<std::string> args;  // more redis-server arguments for every node
};

class RedisCluster {
  public:
    explicit RedisCluster(RedisClusterOptions options = {});
    RedisCluster(const RedisCluster&) = delete;
    RedisCluster& operator=(const RedisCluster&) = delete;

    size_t size() const { return nodes_.size(); }
    RedisServer& node(size_t i) { return *nodes_.at(i); }
    std::vector<std::string> seeds() const;  // every node's host:port, as started
    // host:port of every master serving slots, ordered by first slot, as a live
    // node sees it now (CLUSTER NODES).
    std::vector<std::string> masters() const;
    std::string master_of_slot(int slot) const;      // host:port; "" if none
    int keyslot(const std::string& key) const;       // CLUSTER KEYSLOT
    int index_of(const std::string& address) const;  // node index; -1 if not ours

    // SIGKILL that master; returns its node index. Starts the clock of wait_failover.
    size_t kill_master(const std::string& address);
    size_t kill_master_owning_slot(int slot);
    // Until the slots of the killed master are served by a live promoted replica,
    // every live node reports cluster_state:ok and they agree on the slots.
    // Returns the milliseconds since the kill; -1 (and a test failure naming the
    // cluster's state) after timeout_ms.
    long wait_failover(int timeout_ms = 30000);
    // Every live node reports cluster_state:ok, knows every node and agrees on
    // who serves which slots.
    bool converged() const;

    // redis-cli -c (follows MOVED) SPUBLISH on a live node: out is the number of
    // subscribers that got it.
    RedisCli spublish(const std::string& channel, const std::string& payload) const;
    // CLUSTER NODES as a live node sees it, for failure messages.
    std::string describe() const;
    std::chrono::milliseconds formation_time() const { return formed_in_; }

  private:
    void create(const RedisClusterOptions& o);
    bool replicas_linked() const;
    bool failed_over() const;
    const RedisServer* live() const;
    std::vector<std::unique_ptr<RedisServer>> nodes_;
    std::string killed_;                             // address of the master killed last
    std::vector<std::pair<int, int>> killed_slots_;  // its slot ranges, first to last
    std::chrono::steady_clock::time_point killed_at_;
    std::chrono::milliseconds formed_in_{0};
};

}  // namespace pusher::testing
