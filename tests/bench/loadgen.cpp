// loadgen: WebSocket push-server load generator (pusher, the Node reference, kernel_floor).
//
// The parent process forks K client processes (each at most --per-proc connections, each from
// its own loopback source address 127.0.0.<src-base+i>, because a process may hold only ~20k
// files and a source address only ~28k ports towards one server port). Clients run a minimal
// RFC 6455 client on epoll. The parent publishes over HTTP keep-alive and coordinates the
// clients over socketpairs. Every run is bounded: each phase has a count and a deadline.
//
// Modes: broadcast (closed loop), latency (open loop at --rate), targeted (--publishers
// closed-loop publishers addressing single clients by their welcome ids), idle (connect, hold,
// measure server RSS). Output: one "bench key=value ..." line plus a human-readable line.
//
// Transport and extensions (issue #13): --tls 1 speaks wss:// (OpenSSL, non-blocking on the
// same epoll loop; certificate verification only with --tls-verify 1). --deflate 1 offers
// permessage-deflate (RFC 7692). A compressed message is counted like any other: its sequence
// number is read from the inflated payload. When the server answered server_no_context_takeover
// the same message compresses to the same bytes on every connection of a worker, so each
// client process inflates each distinct compressed message once (checked byte for byte against
// the payload rebuilt from its header) and recognises the identical bytes on the other
// connections; with context takeover (Node's default) every connection has its own inflater and
// every message is inflated, a sample of them checked. Wire bytes: what the sockets gave after
// the connect phase (TLS records included), per delivery.
//
// Hand-over (issue #15, --mode handover): numbered broadcasts at --rate and pushes by client id
// to a sample while a --during command reloads and upgrades the server; every client must get
// every broadcast once and in order and stay connected; reported per run and per window of the
// command: closes, lost, duplicated, out of order, pushes sent / received, the longest time a
// client went without a broadcast (and the p99 of each client's longest).
//
// One million clients (issue #16). A process keeps at most kMaxConnsPerSourceAddr (14,000)
// connections on one source address (--per-addr): past ~14,100 every connect() scans half the
// ephemeral port range and connecting crawls. --per-proc above it spreads that process's
// connections round robin over consecutive addresses; every bench line says how many addresses
// were used and the most connections on one (src_addrs=, per_addr_max=, per_addr_cap=). Every
// mode counts the welcomed clients the server closed before the end of the run (a close frame,
// an end of stream or a reset: closed_by_server=, closed_how=, and the close frames by code and
// reason, close_codes=1001:idle_timeout:N,...). --mode million: one connect phase, then an
// idle hold (--hold; server RSS per connection, kernel bytes per socket pair from the
// /proc/meminfo Slab and /proc/net/sockstat TCP mem deltas plus the /proc/slabinfo caches that
// grew, the server's CPU over the last --cpu-window s = the keep-alive cost in cores, and the
// keep-alive frames (pings and unsolicited pongs) the clients received per second),
// --broadcasts closed-loop broadcasts to all
// (delivered, lost, duplicated, time until the last client had it, server CPU per delivery),
// then a numbered broadcast every --every s for --period-duration s (every client must get
// every number once and in order; time to reach everyone p50/p99/max; closes in the phase).

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <unordered_map>

#include "bench_common.h"

using namespace bench;

namespace {

// ------------------------------------------------------------------------------------------
// Options
// ------------------------------------------------------------------------------------------
// A client process above ~14,100 connections per source address (towards the one server
// address and port) connects slowly: with ip_local_port_range 32768-60999 connect() first
// scans the ports of its preferred parity (half the range, 14,116 ports) and, once those are
// taken, walks the whole range for every new connection. So a process holds at most this many
// connections per source address; --per-proc above it spreads the process's connections
// round robin over several consecutive source addresses (--per-addr overrides the cap).
constexpr int kMaxConnsPerSourceAddr = 14000;
constexpr int kMaxSourceAddr = 254;  // 127.0.0.<src_base> .. 127.0.0.254

struct Options {
    std::string mode = "broadcast";
    std::string label = "server";
    std::string host = "127.0.0.1";
    int ws_port = 4236, http_port = 4237;
    int n = 1000;
    size_t payload = 64;
    uint64_t msgs = 1000;         // publish at most this many messages
    double duration = 10;         // ... and for at most this many seconds
    double rate = 5;              // latency mode: messages per second
    int window = 1;               // broadcast: messages in flight (1 = strict closed loop)
    int publishers = 0;           // HTTP keep-alive connections (0 = mode default)
    int per_proc = 14000;         // connections per client process
    int per_addr = kMaxConnsPerSourceAddr;  // connections per source address (--per-addr)
    int src_base = 2;             // first source address 127.0.0.<src_base>
    int inflight = 200;           // handshakes in progress per client process
    double connect_timeout = 60;  // seconds for the whole connect phase
    double drain_timeout = 10;    // seconds to wait for the last deliveries
    double msg_timeout = 5;       // broadcast: give up on one message after this long
    double hold = 3;              // idle: seconds to hold before measuring RSS
    std::vector<int> server_pids;
    std::vector<int> server_trees;    // these pids and all their descendants
    std::string server_pidfile;       // a master's pid file: that pid and its descendants
    std::string server_match;         // every process whose command line contains this
    bool tls = false;                 // wss://
    bool tls_verify = false;          // check the server's certificate (and its IP, --host)
    std::string tls_ca;               // ... against this CA file (default: the system's)
    std::string tls_version = "any";  // 1.2, 1.3 or any
    bool deflate = false;             // offer permessage-deflate
    std::string deflate_offer = "permessage-deflate; client_max_window_bits";  // as browsers do
    bool json = false;       // payload: the compressible JSON form (make_json_payload)
    std::string on_measure;  // shell command started when the measured phase begins
    // Issue #14 (users and groups; the server must send JSON welcomes with client_id):
    int group_members = 1000;  // group: how many clients join group --group-name
    int group_intruders = 0;   // ... and this many more the client processes are not told of
                               // (checks the checker: each push must count them misdelivered)
    std::string group_name = "g";
    int api_conns = 4;         // churn / setup: HTTP API keep-alive connections
    int pipeline = 16;         // ... requests in flight on each
    bool identity = false;     // idle: then bind every client to a user and two groups
    int groups = 100;          // ... of this many
    // Issue #15 (hand-over: reload and upgrade keep every WebSocket; JSON welcomes):
    bool rate_given = false;      // --rate given (handover's default is 50/s)
    bool window_given = false;    // --window given (handover's default is 4)
    std::string during;           // handover: shell command run while publishing ("mark" lines)
    double during_delay = 0;      // ... started this many seconds after publishing starts
    double tail = 2;              // ... publishing goes on this long after it exits
    int sample = 100;             // handover: clients that get pushes by client id
    double targeted_interval = 0.1;  // ... one every this many seconds, round robin
    double answer_timeout = 5;    // handover: a publish unanswered this long is sent again
    std::string ids_out;          // handover: "ADDR:PORT WORKER CONN CLIENT_ID" per client
    std::string after;            // handover: shell command run after the drain, clients still up
    // Issue #16 (--mode million: connect, idle hold, broadcasts to all, periodic broadcasts):
    bool hold_given = false, msg_timeout_given = false, drain_timeout_given = false,
         connect_timeout_given = false;
    int broadcasts = 3;           // million: closed-loop broadcasts to all after the hold
    double every = 5;             // million: then one broadcast every this many seconds ...
    double period_duration = 120; // ... for this long
    double cpu_window = 60;       // million: server CPU over the last this many s of the hold
};


[[noreturn]] void usage() {
    fprintf(
        stderr,
        "usage: loadgen --mode broadcast|latency|targeted|idle|million [--n N] [--payload BYTES]\n"
        "  [--msgs M] [--duration S] [--rate R] [--window W] [--publishers P]\n"
        "  [--host 127.0.0.1] [--ws-port 4236] [--http-port 4237] [--per-proc 14000]\n"
        "  [--per-addr 14000] (at most this many connections per source address: a process\n"
        "   with more spreads them over consecutive addresses 127.0.0.<src-base>, ...)\n"
        "  [--src-base 2] [--inflight 200] [--connect-timeout S] [--drain-timeout S]\n"
        "  [--msg-timeout S] [--hold S] [--label NAME] [--json 0|1]\n"
        "  [--tls 0|1] [--tls-verify 0|1] [--tls-ca FILE] [--tls-version 1.2|1.3|any]\n"
        "  [--deflate 0|1] [--deflate-offer 'permessage-deflate; client_max_window_bits']\n"
        "  issue #14 (JSON welcomes with client_id): --mode group [--group-members 1000]\n"
        "  [--group-name g] [--group-intruders K] (pushes to_group to the members, checks nobody\n"
        "  else gets them; K more join unannounced: K misdelivered per push, a self-check);\n"
        "  --mode churn [--api-conns 4] [--pipeline 16] (join/bind/leave/unbind on fresh names\n"
        "  for --duration); --mode idle [--identity 1 [--groups 100]] (RSS anonymous, then\n"
        "  with a user and two groups per client)\n"
        "  issue #15 (JSON welcomes): --mode handover [--rate 50] [--window 4] [--sample 100]\n"
        "  [--targeted-interval 0.1] [--during 'CMD' [--during-delay 0] [--tail 2]]\n"
        "  [--answer-timeout 5] [--ids-out FILE] [--after 'CMD']: numbered broadcasts at --rate\n"
        "  (pipelined, --window in flight, on one keep-alive connection; a request left unanswered\n"
        "  by a closed connection is sent again) plus a push by client id every interval to a\n"
        "  sample client, while CMD runs (its stdout lines 'mark begin NAME' / 'mark end NAME'\n"
        "  delimit the windows reported apart); then --tail s more; --duration caps the whole run\n"
        "  issue #16: --mode million [--hold 120] [--cpu-window 60] [--broadcasts 3]\n"
        "  [--every 5] [--period-duration 120] [--msg-timeout 60] [--drain-timeout 60]\n"
        "  [--connect-timeout 600]: one connect phase, then an idle hold (server RSS per\n"
        "  connection, kernel memory per socket pair, server CPU over the last --cpu-window s,\n"
        "  pings received per second), closed-loop broadcasts to all, then a numbered\n"
        "  broadcast every --every s for --period-duration s (each client: every number once,\n"
        "  in order)\n"
        "  every mode counts clients closed by the server (closed_by_server=, close_codes=)\n"
        "  [--on-measure 'SHELL COMMAND']  (started when the measured phase begins, e.g. perf;\n"
        "   not waited for; SERVER_PIDS=p1,p2,.. in its environment)\n"
        "  server processes for CPU / RSS accounting (any combination):\n"
        "  [--server-pids P1,P2,..] [--server-tree PID] [--server-pidfile FILE]\n"
        "  [--server-match SUBSTRING-OF-CMDLINE]\n");
    exit(2);
}

std::vector<int> parse_pid_list(const char* s) {
    std::vector<int> v;
    for (const char* c = s; *c;) {
        char* e;
        long p = strtol(c, &e, 10);
        if (e == c) break;
        if (p > 0) v.push_back(int(p));
        c = *e ? e + 1 : e;
    }
    return v;
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (i + 1 >= argc) usage();
        const char* v = argv[++i];
        if (a == "--mode")
            o.mode = v;
        else if (a == "--label")
            o.label = v;
        else if (a == "--host")
            o.host = v;
        else if (a == "--ws-port")
            o.ws_port = atoi(v);
        else if (a == "--http-port")
            o.http_port = atoi(v);
        else if (a == "--n")
            o.n = atoi(v);
        else if (a == "--payload")
            o.payload = size_t(atol(v));
        else if (a == "--msgs")
            o.msgs = strtoull(v, nullptr, 10);
        else if (a == "--duration")
            o.duration = atof(v);
        else if (a == "--rate")
            o.rate = atof(v), o.rate_given = true;
        else if (a == "--window")
            o.window = std::max(1, atoi(v)), o.window_given = true;
        else if (a == "--publishers")
            o.publishers = atoi(v);
        else if (a == "--per-proc")
            o.per_proc = std::max(1, atoi(v));
        else if (a == "--per-addr")
            o.per_addr = std::max(1, atoi(v));
        else if (a == "--broadcasts")
            o.broadcasts = std::max(0, atoi(v));
        else if (a == "--every")
            o.every = std::max(0.01, atof(v));
        else if (a == "--period-duration")
            o.period_duration = std::max(0.0, atof(v));
        else if (a == "--cpu-window")
            o.cpu_window = std::max(1.0, atof(v));
        else if (a == "--src-base")
            o.src_base = atoi(v);
        else if (a == "--inflight")
            o.inflight = std::max(1, atoi(v));
        else if (a == "--connect-timeout")
            o.connect_timeout = atof(v), o.connect_timeout_given = true;
        else if (a == "--drain-timeout")
            o.drain_timeout = atof(v), o.drain_timeout_given = true;
        else if (a == "--msg-timeout")
            o.msg_timeout = atof(v), o.msg_timeout_given = true;
        else if (a == "--hold")
            o.hold = atof(v), o.hold_given = true;
        else if (a == "--server-pids")
            o.server_pids = parse_pid_list(v);
        else if (a == "--server-tree")
            for (int p : parse_pid_list(v)) o.server_trees.push_back(p);
        else if (a == "--server-pidfile")
            o.server_pidfile = v;
        else if (a == "--server-match")
            o.server_match = v;
        else if (a == "--tls")
            o.tls = atoi(v) != 0;
        else if (a == "--tls-verify")
            o.tls_verify = atoi(v) != 0;
        else if (a == "--tls-ca")
            o.tls_ca = v;
        else if (a == "--tls-version")
            o.tls_version = v;
        else if (a == "--deflate")
            o.deflate = atoi(v) != 0;
        else if (a == "--deflate-offer")
            o.deflate_offer = v;
        else if (a == "--json")
            o.json = atoi(v) != 0;
        else if (a == "--on-measure")
            o.on_measure = v;
        else if (a == "--group-members")
            o.group_members = std::max(1, atoi(v));
        else if (a == "--group-intruders")
            o.group_intruders = std::max(0, atoi(v));
        else if (a == "--group-name")
            o.group_name = v;
        else if (a == "--api-conns")
            o.api_conns = std::max(1, atoi(v));
        else if (a == "--pipeline")
            o.pipeline = std::max(1, atoi(v));
        else if (a == "--identity")
            o.identity = atoi(v) != 0;
        else if (a == "--groups")
            o.groups = std::max(2, atoi(v));
        else if (a == "--during")
            o.during = v;
        else if (a == "--during-delay")
            o.during_delay = atof(v);
        else if (a == "--tail")
            o.tail = atof(v);
        else if (a == "--sample")
            o.sample = std::max(1, atoi(v));
        else if (a == "--targeted-interval")
            o.targeted_interval = std::max(0.001, atof(v));
        else if (a == "--answer-timeout")
            o.answer_timeout = std::max(0.1, atof(v));
        else if (a == "--ids-out")
            o.ids_out = v;
        else if (a == "--after")
            o.after = v;
        else
            usage();
    }
    if (o.mode != "broadcast" && o.mode != "latency" && o.mode != "targeted" &&
        o.mode != "idle" && o.mode != "group" && o.mode != "churn" && o.mode != "handover" &&
        o.mode != "million")
        usage();
    if (o.mode == "million") {  // issue #16: sized for 1M clients on this machine
        if (!o.hold_given) o.hold = 120;
        if (!o.msg_timeout_given) o.msg_timeout = 60;
        if (!o.drain_timeout_given) o.drain_timeout = 60;
        if (!o.connect_timeout_given) o.connect_timeout = 600;
        if (o.publishers <= 0) o.publishers = 2;  // a periodic broadcast never waits for an answer
        o.window = 1;
    }
    if (o.per_addr > kMaxConnsPerSourceAddr)
        fprintf(stderr,
                "loadgen: --per-addr %d is above %d: connects from a source address past ~14,100 "
                "connections are slow (half the ephemeral range scanned per connect)\n",
                o.per_addr, kMaxConnsPerSourceAddr);
    if (o.mode == "handover" && !o.rate_given) o.rate = 50;
    if (o.tls_version != "any" && o.tls_version != "1.2" && o.tls_version != "1.3") usage();
    if (o.publishers <= 0)
        o.publishers = o.mode == "targeted" ? 4 : o.mode == "latency" ? 4 : o.window;
    if (o.mode == "handover" && !o.window_given) o.window = 4;  // pipelined, in order, one connection
    return o;
}

// Source addresses (kMaxConnsPerSourceAddr): every process gets the same number of consecutive
// addresses, ceil(per_proc / per_addr), from 127.0.0.<src_base>; one with fewer connections
// (the last) uses only as many of its addresses as it needs. Connection k of a process goes
// out from its (k mod count)-th address: at most per_addr connections on each.
int addrs_per_proc(const Options& o) { return (o.per_proc + o.per_addr - 1) / o.per_addr; }
int proc_addr_count(const Options& o, int conns) {
    return std::max(1, (conns + o.per_addr - 1) / o.per_addr);
}
// The last octet of the source address of connection k of process index (holding conns).
int src_octet(const Options& o, int index, int conns, int k) {
    return o.src_base + index * addrs_per_proc(o) + k % proc_addr_count(o, conns);
}

// ------------------------------------------------------------------------------------------
// Server process accounting (/proc)
// ------------------------------------------------------------------------------------------
// pid -> parent pid for every process, to expand --server-tree into the master's workers.
std::map<int, int> process_parents() {
    std::map<int, int> parents;
    DIR* d = opendir("/proc");
    if (!d) return parents;
    while (dirent* e = readdir(d)) {
        int pid = atoi(e->d_name);
        if (pid <= 0) continue;
        std::string s;
        if (!read_small_file(std::string("/proc/") + e->d_name + "/stat", s)) continue;
        size_t p = s.rfind(')');
        int ppid = 0;
        char state;
        if (p != std::string::npos && sscanf(s.c_str() + p + 2, "%c %d", &state, &ppid) == 2)
            parents[pid] = ppid;
    }
    closedir(d);
    return parents;
}

// Processes whose /proc/<pid>/cmdline (NULs read as spaces) contains the pattern; never
// this load generator itself.
std::vector<int> match_cmdline(const std::string& pattern) {
    std::vector<int> out;
    DIR* d = opendir("/proc");
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        int pid = atoi(e->d_name);
        if (pid <= 0 || pid == getpid()) continue;
        std::string s;
        if (!read_small_file(std::string("/proc/") + e->d_name + "/cmdline", s) || s.empty())
            continue;
        std::replace(s.begin(), s.end(), '\0', ' ');
        if (s.find(pattern) != std::string::npos && s.find("loadgen") == std::string::npos)
            out.push_back(pid);
    }
    closedir(d);
    return out;
}

std::vector<int> resolve_server_pids(const Options& o) {
    std::set<int> pids(o.server_pids.begin(), o.server_pids.end());
    std::vector<int> roots = o.server_trees;
    std::string text;
    if (!o.server_pidfile.empty() && read_small_file(o.server_pidfile, text) &&
        atoi(text.c_str()) > 0)
        roots.push_back(atoi(text.c_str()));
    if (!o.server_match.empty())
        for (int p : match_cmdline(o.server_match)) pids.insert(p);
    if (!roots.empty()) {
        auto parents = process_parents();
        for (int root : roots) {
            pids.insert(root);
            // Repeat until stable: descendants of descendants (a daemonized master's children).
            for (bool grew = true; grew;) {
                grew = false;
                for (auto& [pid, ppid] : parents)
                    if (pids.count(ppid) && !pids.count(pid))
                        grew = pids.insert(pid).second || grew;
            }
        }
    }
    return std::vector<int>(pids.begin(), pids.end());
}

double sum_cpu(const std::vector<int>& pids) {
    double t = 0;
    for (int p : pids) t += std::max(0.0, proc_cpu_seconds(p));
    return t;
}

uint64_t sum_rss(const std::vector<int>& pids) {
    uint64_t t = 0;
    for (int p : pids) t += proc_rss_bytes(p);
    return t;
}

// Kernel memory, machine-wide (issue #16: kernel bytes per socket pair = the difference over
// the connect phase / connections): slab from /proc/meminfo ("Slab": the socks, inodes,
// dentries, files, epoll items of both ends) and socket buffer pages from /proc/net/sockstat
// ("TCP: ... mem", pages); per cache from /proc/slabinfo (active objects x object size) when
// readable (root).
struct KernelMem {
    uint64_t slab_kb = 0, sunreclaim_kb = 0, tcp_mem_pages = 0, tcp_alloc = 0;
    std::map<std::string, uint64_t> caches;  // bytes
};

KernelMem kernel_mem() {
    KernelMem k;
    std::string s;
    if (read_small_file("/proc/meminfo", s)) {
        if (size_t p = s.find("\nSlab:"); p != std::string::npos)
            k.slab_kb = strtoull(s.c_str() + p + 6, nullptr, 10);
        if (size_t p = s.find("\nSUnreclaim:"); p != std::string::npos)
            k.sunreclaim_kb = strtoull(s.c_str() + p + 12, nullptr, 10);
    }
    if (read_small_file("/proc/net/sockstat", s)) {
        if (size_t p = s.find("TCP:"); p != std::string::npos) {
            unsigned long inuse = 0, orphan = 0, tw = 0, alloc = 0, mem = 0;
            if (sscanf(s.c_str() + p, "TCP: inuse %lu orphan %lu tw %lu alloc %lu mem %lu", &inuse,
                       &orphan, &tw, &alloc, &mem) == 5) {
                k.tcp_alloc = alloc;
                k.tcp_mem_pages = mem;
            }
        }
    }
    if (read_small_file("/proc/slabinfo", s)) {
        size_t b = 0;
        for (size_t e; (e = s.find('\n', b)) != std::string::npos; b = e + 1) {
            char name[128];
            unsigned long active = 0, num = 0, size = 0;
            if (s[b] == '#' || sscanf(s.c_str() + b, "%127s %lu %lu %lu", name, &active, &num, &size) != 4)
                continue;
            k.caches[name] = uint64_t(active) * size;
        }
    }
    return k;
}

uint64_t kernel_tcp_mem_pages() {
    std::string s;
    unsigned long inuse = 0, orphan = 0, tw = 0, alloc = 0, mem = 0;
    if (!read_small_file("/proc/net/sockstat", s)) return 0;
    size_t p = s.find("TCP:");
    if (p == std::string::npos ||
        sscanf(s.c_str() + p, "TCP: inuse %lu orphan %lu tw %lu alloc %lu mem %lu", &inuse, &orphan,
               &tw, &alloc, &mem) != 5)
        return 0;
    return mem;
}

// net.ipv4.tcp_mem "low,pressure,high" (pages), "-" when unreadable.
std::string tcp_mem_limits() {
    std::string s;
    unsigned long a = 0, b = 0, c = 0;
    if (!read_small_file("/proc/sys/net/ipv4/tcp_mem", s) || sscanf(s.c_str(), "%lu %lu %lu", &a, &b, &c) != 3)
        return "-";
    return std::to_string(a) + "," + std::to_string(b) + "," + std::to_string(c);
}

uint64_t sum_pss(const std::vector<int>& pids) {
    uint64_t t = 0;
    for (int p : pids) t += proc_pss_bytes(p);
    return t;
}

// ------------------------------------------------------------------------------------------
// Parent <-> client process messages: [type:1][len:4][body], over a SOCK_STREAM socketpair.
// ------------------------------------------------------------------------------------------
enum MsgType : uint8_t {
    kConnected = 'C',  // child: connect phase over (ConnectedReport + ids)
    kDone = 'D',       // child: every connection of mine has seq (uint64)
    kStatus = 'S',     // parent: how many unique deliveries so far?
    kProgress = 'P',   // child: ProgressReport
    kQuit = 'Q',       // parent: send the final report and exit
    kReport = 'R',     // child: FinalReport
    kClientIds = 'I',  // child: the JSON welcomes' client_id per connection, '\n'-joined
    kMembers = 'M',    // parent: these local connection indices (uint32) are group members
    kMembersAck = 'A', // child: kMembers applied
    kMark = 'K',       // parent: a window of --during begins or ends (MarkMsg)
    kPorts = 'O',      // child: the local port (uint16) of each connection, 0 when failed
    kHandover = 'H',   // child: HandoverReport (before kReport)
    kTargets = 'T',    // child: per connection, pushes by client id received (uint32; bit 31:
                       // the connection was closed), after kHandover
    kMillion = 'N',    // child: MillionHdr, SeqStat[nseq], pings per second uint32[nsec]
                       // (million mode, before kReport)
};

// The clock all processes share for per-second series (set in main, before any fork).
uint64_t g_epoch_ns = 0;

struct ConnectedReport {
    uint32_t ok, failed;
    uint64_t first_ns, last_ns;  // connect phase start, last welcome received
    uint32_t deflate_conns;      // permessage-deflate negotiated
    uint32_t no_ctx_conns;       // ... with server_no_context_takeover
    uint32_t tls_failed;         // TLS handshakes that failed
    char tls_desc[64];           // protocol/cipher of the first TLS connection
    char ext_desc[128];          // Sec-WebSocket-Extensions answer of the first deflate one
};
struct WelcomeId {
    uint32_t worker, conn;  // UINT32_MAX when the connection failed
};
struct ProgressReport {
    uint64_t got;
    uint64_t closed;  // welcomed connections closed by the server so far
};
// Closes by the server, by close code and reason (issue #16: e.g. 1001 "idle timeout").
constexpr int kMaxCloseKinds = 8;
struct CloseKind {
    int32_t code;      // 0: a close frame without a code
    char reason[36];   // sanitised: [A-Za-z0-9.-] kept, anything else '_'
    uint64_t n;
};
struct FinalReport {
    uint64_t got = 0, dup = 0, misdelivered = 0, bad = 0, closed = 0, pings = 0;
    Histogram hist;
    uint64_t rx_bytes = 0;         // socket bytes read after the connect phase (TLS records too)
    uint64_t compressed = 0;       // messages that came compressed (RSV1)
    uint64_t inflated = 0;         // ... of which this process inflated
    uint64_t cache_hits = 0;       // ... recognised as the bytes of one already inflated
    uint64_t inflate_checked = 0;  // inflated payloads compared with the rebuilt payload
    uint64_t inflate_bad = 0;      // inflate errors, unparsable or wrong inflated payloads
    // Welcomed connections the server closed (closed = frame + eof + reset): by a close frame,
    // a plain end of stream, or a socket error (reset); the close frames by code and reason.
    uint64_t closed_frame = 0, closed_eof = 0, closed_reset = 0;
    CloseKind close_kinds[kMaxCloseKinds] = {};
    uint64_t close_kinds_other = 0;  // close frames of kinds beyond the first kMaxCloseKinds
};

// Issue #16 (million mode): per broadcast number, what this process's connections got.
struct SeqStat {
    uint64_t got = 0, dup = 0, out_of_order = 0;
    uint64_t first_ns = 0, last_ns = 0;  // first and last first-time arrival
};
constexpr uint64_t kMaxMillionSeqs = 1 << 16;
struct MillionHdr {
    uint32_t nseq = 0, nsec = 0;
    Histogram hist[2];  // per delivery latency: the closed-loop broadcasts, the periodic ones
};

// Issue #15 (hand-over). The windows are the spans of the --during command between its
// "mark begin NAME" and "mark end NAME" lines (a reload, an upgrade, a quiet stretch).
constexpr int kMaxWindows = 8;
constexpr int kMaxDupSeqs = 64;
struct MarkMsg {
    uint32_t window;
    uint32_t is_end;
    uint64_t ns;
};
struct HandoverReport {
    uint64_t out_of_order = 0;        // a new broadcast below one the connection already had
    uint64_t targeted_got = 0, targeted_dup = 0;
    uint64_t closed_frame = 0;        // welcomed connections closed by a close frame (the rest
                                      // of FinalReport::closed: EOF or a socket error)
    int64_t first_close_code = -1;    // of the first close frame (0: none in it)
    uint64_t first_close_ns = 0;      // when the first welcomed connection closed
    uint64_t gap_max_ns = 0, gap_max_end_ns = 0;  // the longest gap of any connection, its end
    uint64_t gap_conns = 0;           // connections that got two broadcasts or more
    Histogram gap_hist;               // each such connection's longest gap
    uint64_t win_max_ns[kMaxWindows] = {};
    Histogram win_hist[kMaxWindows];  // per window: each connection's longest gap overlapping it
    uint64_t dup_seqs = 0;            // distinct duplicated broadcast numbers; the first listed:
    uint64_t dup_seq[kMaxDupSeqs] = {}, dup_count[kMaxDupSeqs] = {};
};

void write_all(int fd, const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            usleep(100);
            continue;
        }
        if (w <= 0) die("ipc write");
        c += w;
        n -= size_t(w);
    }
}

void send_msg(int fd, MsgType type, const void* body, uint32_t len) {
    char hdr[5];
    hdr[0] = char(type);
    memcpy(hdr + 1, &len, 4);
    write_all(fd, hdr, 5);
    if (len) write_all(fd, body, len);
}

// Buffers bytes from a socketpair and hands out complete messages.
struct MsgReader {
    std::string buf;
    bool eof = false;
    void fill(int fd) {
        char tmp[65536];
        for (;;) {
            ssize_t r = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
            if (r > 0) {
                buf.append(tmp, size_t(r));
                continue;
            }
            if (r == 0) eof = true;
            if (r < 0 && errno == EINTR) continue;
            return;
        }
    }
    bool next(MsgType& type, std::string& body) {
        if (buf.size() < 5) return false;
        uint32_t len;
        memcpy(&len, buf.data() + 1, 4);
        if (buf.size() < 5 + size_t(len)) return false;
        type = MsgType(buf[0]);
        body.assign(buf, 5, len);
        buf.erase(0, 5 + size_t(len));
        return true;
    }
};

// ------------------------------------------------------------------------------------------
// Client process: holds connections, parses frames, checks sequence numbers.
// ------------------------------------------------------------------------------------------
enum class ConnState : uint8_t { kIdle, kConnecting, kTls, kHandshake, kOpen, kDead };

// Which sequence numbers a connection has seen: everything below base is settled, bits of
// mask stand for base..base+63. Catches duplicates even when messages are reordered a little.
struct SeqTracker {
    uint64_t base = 0, mask = 0;
    bool see(uint64_t s) {  // true when s is new
        if (s < base) return false;
        while (s >= base + 64) {
            mask >>= 1;
            base++;
        }
        uint64_t bit = 1ull << (s - base);
        if (mask & bit) return false;
        mask |= bit;
        return true;
    }
};

struct ClientConn {
    int fd = -1;
    ConnState state = ConnState::kIdle;
    bool deflate = false;     // permessage-deflate negotiated
    bool no_ctx = false;      // ... and the server resets its compressor per message
    bool want_write = false;  // TLS: SSL_read needs the socket writable
    WelcomeId id{UINT32_MAX, UINT32_MAX};
    SeqTracker seen;
    std::string pending;  // bytes of an incomplete frame (or of the handshake answer)
    SSL* ssl = nullptr;
    uint64_t tls_rx = 0;                    // BIO bytes already counted
    std::unique_ptr<RawInflater> inflater;  // context takeover: this connection's window
    std::string client_id;                  // from a JSON welcome (issue #14)
    bool member = false;                    // group mode: joined the group (kMembers)
    uint64_t hi = 0;                        // handover: highest broadcast number seen + 1
    uint64_t last_rx_ns = 0;                // ... when the last broadcast arrived
    uint64_t gap_max_ns = 0;                // ... the longest time between two broadcasts
    uint32_t targeted = 0;                  // ... pushes by client id received
    bool closed = false;                    // ... closed after its welcome
};

class ClientProcess {
  public:
    ClientProcess(const Options& o, int index, int count, int first_global, int ipc)
        : o_(o), first_global_(first_global), ipc_(ipc), conns_(size_t(count)) {
        for (int k = 0; k < proc_addr_count(o, count); k++) {
            sockaddr_in a{};
            a.sin_family = AF_INET;
            std::string ip = "127.0.0." + std::to_string(src_octet(o, index, count, k));
            inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
            srcs_.push_back(a);
        }
        handover_ = o.mode == "handover";
        million_ = o.mode == "million";
        if (handover_) win_gap_us_.assign(conns_.size() * kMaxWindows, 0);
    }

    [[noreturn]] void run() {
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) die("epoll_create1");
        add_fd(ipc_, EPOLLIN, kIpcTag);
        if (o_.tls) init_tls();
        connect_phase();
        serve_until_quit();
    }

  private:
    static constexpr uint64_t kIpcTag = UINT64_MAX;
    static constexpr size_t kRing = 4096;  // per-seq completion counters (seq % kRing)

    void add_fd(int fd, uint32_t events, uint64_t tag) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = tag;
        if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
    }
    void mod_fd(int fd, uint32_t events, uint64_t tag) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = tag;
        if (epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev) < 0) die("epoll_ctl mod");
    }

    // Non-blocking connect from our own source address. IP_BIND_ADDRESS_NO_PORT lets the
    // kernel choose the port per 4-tuple at connect time instead of reserving one at bind.
    bool start_connect(size_t i) {
        ClientConn& c = conns_[i];
        c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) return fail(i);
        int one = 1;
        setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in src = srcs_[i % srcs_.size()];
        if (bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) < 0) return fail(i);
        sockaddr_in dst{};
        dst.sin_family = AF_INET;
        dst.sin_port = htons(uint16_t(o_.ws_port));
        inet_pton(AF_INET, o_.host.c_str(), &dst.sin_addr);
        if (connect(c.fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) < 0 &&
            errno != EINPROGRESS)
            return fail(i);
        c.state = ConnState::kConnecting;
        add_fd(c.fd, EPOLLIN | EPOLLOUT, i);
        in_flight_++;
        return true;
    }

    // Connected, upgraded and greeted: only then does a connection count as established.
    static bool welcomed(const ClientConn& c) {
        return c.state == ConnState::kOpen && c.id.worker != UINT32_MAX;
    }

    bool fail(size_t i) {
        ClientConn& c = conns_[i];
        int err = errno;  // 0: end of stream (read_some), else the socket's error
        if (welcomed(c)) {
            c.closed = true;
            if (final_.closed++ == 0) ho_.first_close_ns = now_ns();
            if (close_code_ >= 0)
                note_close_kind();
            else if (err == 0)
                final_.closed_eof++;
            else
                final_.closed_reset++;
            errno = err;
            if (handover_ && closes_logged_ < 5) {
                closes_logged_++;
                fprintf(stderr,
                        "loadgen: client %d (worker %u connection %u %s) closed: %s, after "
                        "broadcast %" PRIu64 "\n",
                        first_global_ + int(i), c.id.worker, c.id.conn, c.client_id.c_str(),
                        close_code_ >= 0 ? ("close frame " + std::to_string(close_code_)).c_str()
                                         : (errno ? strerror(errno) : "end of stream"),
                        c.hi);
            }
        } else if (c.state != ConnState::kDead) {
            if (c.state != ConnState::kIdle) in_flight_--;
            failed_++;
        }
        if (c.ssl) {
            account_tls(c);
            SSL_free(c.ssl);
            c.ssl = nullptr;
        }
        c.inflater.reset();
        if (c.fd >= 0) close(c.fd);
        c.fd = -1;
        bool was_open = welcomed(c);
        c.state = ConnState::kDead;
        if (million_ && was_open) recheck_done();  // one fewer connection to wait for
        return false;
    }

    // A close frame from the server on a welcomed connection: counted by code and reason.
    void note_close_kind() {
        final_.closed_frame++;
        char reason[sizeof CloseKind::reason] = {};
        size_t k = 0;
        for (char ch : close_reason_) {
            if (k + 1 >= sizeof reason) break;
            bool keep = isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-';
            reason[k++] = keep ? ch : '_';
        }
        for (CloseKind& ck : final_.close_kinds) {
            if (ck.n && ck.code == close_code_ && !strcmp(ck.reason, reason)) {
                ck.n++;
                return;
            }
            if (!ck.n) {
                ck.code = close_code_;
                memcpy(ck.reason, reason, sizeof reason);
                ck.n = 1;
                return;
            }
        }
        final_.close_kinds_other++;
    }

    // Socket became writable while connecting: connected (or refused). Send the upgrade.
    void on_connected(size_t i) {
        ClientConn& c = conns_[i];
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            fail(i);
            return;
        }
        if (!o_.tls) {
            send_upgrade(i);
            return;
        }
        c.ssl = SSL_new(tls_ctx_);
        if (!c.ssl || SSL_set_fd(c.ssl, c.fd) != 1) {
            tls_failed_++;
            fail(i);
            return;
        }
        SSL_set_connect_state(c.ssl);
        if (o_.tls_verify) {  // --host is an address: the certificate must name it (SAN IP)
            X509_VERIFY_PARAM* param = SSL_get0_param(c.ssl);
            if (X509_VERIFY_PARAM_set1_ip_asc(param, o_.host.c_str()) != 1) {
                tls_failed_++;
                fail(i);
                return;
            }
        }
        c.state = ConnState::kTls;
        tls_step(i);
    }

    void init_tls() {
        tls_ctx_ = SSL_CTX_new(TLS_client_method());
        if (!tls_ctx_) die("SSL_CTX_new");
        int lo = TLS1_2_VERSION, hi = 0;  // 0: the highest the library has
        if (o_.tls_version == "1.2") hi = TLS1_2_VERSION;
        if (o_.tls_version == "1.3") lo = TLS1_3_VERSION;
        SSL_CTX_set_min_proto_version(tls_ctx_, lo);
        SSL_CTX_set_max_proto_version(tls_ctx_, hi);
        // Whole socket reads instead of a header and a body read per record.
        SSL_CTX_set_read_ahead(tls_ctx_, 1);
        if (o_.tls_verify) {
            SSL_CTX_set_verify(tls_ctx_, SSL_VERIFY_PEER, nullptr);
            int ok = o_.tls_ca.empty()
                         ? SSL_CTX_set_default_verify_paths(tls_ctx_)
                         : SSL_CTX_load_verify_locations(tls_ctx_, o_.tls_ca.c_str(), nullptr);
            if (ok != 1) {
                fprintf(stderr, "loadgen: cannot load CA %s\n", o_.tls_ca.c_str());
                exit(2);
            }
        } else {
            SSL_CTX_set_verify(tls_ctx_, SSL_VERIFY_NONE, nullptr);
        }
    }

    // Drives the TLS handshake; once done, the WebSocket upgrade goes out over it.
    void tls_step(size_t i) {
        ClientConn& c = conns_[i];
        ERR_clear_error();
        int r = SSL_do_handshake(c.ssl);
        account_tls(c);
        if (r == 1) {
            if (!tls_desc_[0])
                snprintf(tls_desc_, sizeof tls_desc_, "%s/%s", SSL_get_version(c.ssl),
                         SSL_get_cipher_name(c.ssl));
            send_upgrade(i);
            return;
        }
        int e = SSL_get_error(c.ssl, r);
        if (e == SSL_ERROR_WANT_READ) {
            mod_fd(c.fd, EPOLLIN, i);
        } else if (e == SSL_ERROR_WANT_WRITE) {
            mod_fd(c.fd, EPOLLOUT, i);
        } else {
            if (!tls_failed_++) {
                char err[256];
                ERR_error_string_n(ERR_get_error(), err, sizeof err);
                fprintf(stderr, "loadgen: TLS handshake failed: %s\n", err);
            }
            fail(i);
        }
    }

    // Socket bytes a TLS connection read since the last call (its BIO counts them).
    void account_tls(ClientConn& c) {
        uint64_t n = BIO_number_read(SSL_get_rbio(c.ssl));
        rx_bytes_ += n - c.tls_rx;
        c.tls_rx = n;
    }

    void send_upgrade(size_t i) {
        ClientConn& c = conns_[i];
        static const std::string req =
            "GET / HTTP/1.1\r\nHost: " + o_.host + ":" + std::to_string(o_.ws_port) +
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
            (o_.deflate ? "Sec-WebSocket-Extensions: " + o_.deflate_offer + "\r\n" : "") +
            "Sec-WebSocket-Version: 13\r\n\r\n";
        // A fresh socket's send buffer always takes ~250 bytes whole.
        if (!conn_write(c, req.data(), req.size())) {
            fail(i);
            return;
        }
        c.state = ConnState::kHandshake;
        mod_fd(c.fd, EPOLLIN, i);
    }

    // Small writes only (the upgrade request, pongs): whole or failed.
    bool conn_write(ClientConn& c, const char* p, size_t n) {
        if (!c.ssl) return write(c.fd, p, n) == ssize_t(n);
        size_t done = 0;
        ERR_clear_error();
        return SSL_write_ex(c.ssl, p, n, &done) == 1 && done == n;
    }

    // Reads what the connection has into buf: > 0 bytes, 0 at end of stream, < 0 with errno
    // (EAGAIN: nothing now). Over TLS it decrypts record after record until buf is full or
    // the socket has nothing more.
    ssize_t conn_read(ClientConn& c, char* buf, size_t cap) {
        if (!c.ssl) {
            ssize_t r = read(c.fd, buf, cap);
            if (r > 0) rx_bytes_ += uint64_t(r);
            return r;
        }
        size_t got = 0;
        int e = SSL_ERROR_NONE;
        ERR_clear_error();
        while (got < cap) {
            size_t n = 0;
            int r = SSL_read_ex(c.ssl, buf + got, cap - got, &n);
            if (r == 1) {
                got += n;
                continue;
            }
            e = SSL_get_error(c.ssl, r);
            break;
        }
        account_tls(c);
        if (e == SSL_ERROR_WANT_WRITE) c.want_write = true;  // e.g. a TLS 1.3 key update
        if (got > 0) return ssize_t(got);  // an error shows again on the next call
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            errno = EAGAIN;
            return -1;
        }
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        errno = ECONNRESET;
        return -1;
    }

    void connect_phase() {
        first_ns_ = now_ns();
        uint64_t deadline = first_ns_ + uint64_t(o_.connect_timeout * 1e9);
        size_t next = 0;
        while (now_ns() < deadline) {
            while (in_flight_ < o_.inflight && next < conns_.size()) start_connect(next++);
            if (next == conns_.size() && in_flight_ == 0) break;
            poll_once(50);
        }
        for (size_t i = 0; i < conns_.size(); i++)  // what is still pending failed
            if (!welcomed(conns_[i]) && conns_[i].state != ConnState::kDead) fail(i);
        ConnectedReport r{uint32_t(welcomed_),
                          uint32_t(failed_),
                          first_ns_,
                          last_welcome_ns_,
                          uint32_t(deflate_conns_),
                          uint32_t(no_ctx_conns_),
                          uint32_t(tls_failed_),
                          {},
                          {}};
        snprintf(r.tls_desc, sizeof r.tls_desc, "%s", tls_desc_);
        snprintf(r.ext_desc, sizeof r.ext_desc, "%s", ext_desc_.c_str());
        rx_bytes_ = 0;  // from here on: the bytes of the measured phase
        std::string ids;  // before kConnected: the parent has them when it counts the clients
        bool any_id = false;
        for (auto& c : conns_) {
            ids += c.client_id;
            ids += '\n';
            any_id = any_id || !c.client_id.empty();
        }
        if (any_id) send_msg(ipc_, kClientIds, ids.data(), uint32_t(ids.size()));
        if (handover_) {
            std::string ports;
            for (auto& c : conns_) {
                uint16_t port = 0;
                sockaddr_in a{};
                socklen_t alen = sizeof a;
                if (welcomed(c) && getsockname(c.fd, reinterpret_cast<sockaddr*>(&a), &alen) == 0)
                    port = ntohs(a.sin_port);
                ports.append(reinterpret_cast<char*>(&port), sizeof port);
            }
            send_msg(ipc_, kPorts, ports.data(), uint32_t(ports.size()));
        }
        std::string body(reinterpret_cast<char*>(&r), sizeof r);
        for (auto& c : conns_) body.append(reinterpret_cast<char*>(&c.id), sizeof c.id);
        send_msg(ipc_, kConnected, body.data(), uint32_t(body.size()));
    }

    [[noreturn]] void serve_until_quit() {
        for (;;) poll_once(1000);
    }

    void poll_once(int timeout_ms) {
        epoll_event evs[512];
        int n = epoll_wait(ep_, evs, 512, again_.empty() ? timeout_ms : 0);
        for (int k = 0; k < n; k++) {
            uint64_t tag = evs[k].data.u64;
            if (tag == kIpcTag) {
                on_ipc();
                continue;
            }
            size_t i = size_t(tag);
            if (conns_[i].state == ConnState::kConnecting) {
                if (evs[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(i);
                continue;
            }
            if (conns_[i].state == ConnState::kTls) {
                tls_step(i);
                continue;
            }
            if (conns_[i].state != ConnState::kDead) on_readable(i);
        }
        // TLS connections that stopped reading with records still buffered in OpenSSL: the
        // socket may have nothing more, so epoll would not wake us for them.
        if (!again_.empty()) {
            std::vector<size_t> again;
            again.swap(again_);
            for (size_t i : again)
                if (conns_[i].state != ConnState::kDead) on_readable(i);
        }
    }

    void on_ipc() {
        reader_.fill(ipc_);
        MsgType t;
        std::string body;
        while (reader_.next(t, body)) {
            if (t == kStatus) {
                ProgressReport p{final_.got + ho_.targeted_got, final_.closed};
                send_msg(ipc_, kProgress, &p, sizeof p);
            } else if (t == kMembers) {
                group_mode_ = true;
                for (size_t k = 0; k + 4 <= body.size(); k += 4) {
                    uint32_t i;
                    memcpy(&i, body.data() + k, 4);
                    if (i < conns_.size() && !conns_[i].member) {
                        conns_[i].member = true;
                        members_++;
                    }
                }
                send_msg(ipc_, kMembersAck, nullptr, 0);
            } else if (t == kMark && body.size() == sizeof(MarkMsg)) {
                MarkMsg m;
                memcpy(&m, body.data(), sizeof m);
                if (m.window < kMaxWindows) {
                    if (windows_.size() <= m.window) windows_.resize(m.window + 1, {0, UINT64_MAX});
                    (m.is_end ? windows_[m.window].second : windows_[m.window].first) = m.ns;
                }
            } else if (t == kQuit) {
                if (handover_) send_handover_report();
                if (million_) send_million_report();
                for (auto& c : conns_)
                    if (c.ssl) account_tls(c);
                final_.rx_bytes = rx_bytes_;
                send_msg(ipc_, kReport, &final_, sizeof final_);
                _exit(0);
            }
        }
        if (reader_.eof) _exit(1);  // the parent is gone
    }

    void on_readable(size_t i) {
        ClientConn& c = conns_[i];
        bool wanted_write = c.want_write;
        c.want_write = false;
        read_some(i);
        if (c.state == ConnState::kDead || !c.ssl) return;
        if (c.want_write != wanted_write)
            mod_fd(c.fd, c.want_write ? EPOLLIN | EPOLLOUT : EPOLLIN, i);
    }

    void read_some(size_t i) {
        ClientConn& c = conns_[i];
        static char buf[1 << 18];
        for (int rounds = 0; rounds < 8; rounds++) {  // bounded: other sockets get a turn
            ssize_t r = conn_read(c, buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0 && errno == EAGAIN) return;
            if (r <= 0) {
                if (r == 0) errno = 0;
                fail(i);
                return;
            }
            if (c.pending.empty()) {
                size_t used = consume(i, buf, size_t(r));
                if (c.state == ConnState::kDead) return;
                if (used < size_t(r)) c.pending.assign(buf + used, size_t(r) - used);
            } else {
                c.pending.append(buf, size_t(r));
                size_t used = consume(i, c.pending.data(), c.pending.size());
                if (c.state == ConnState::kDead) return;
                c.pending.erase(0, used);
            }
            if (size_t(r) < sizeof buf) return;
        }
        if (c.ssl && SSL_has_pending(c.ssl)) again_.push_back(i);
    }

    // Consumes the handshake answer and/or whole frames; returns bytes used.
    size_t consume(size_t i, const char* p, size_t n) {
        ClientConn& c = conns_[i];
        size_t off = 0;
        if (c.state == ConnState::kHandshake) {
            const char* end = static_cast<const char*>(memmem(p, n, "\r\n\r\n", 4));
            if (!end) return 0;
            if (n < 12 || memcmp(p, "HTTP/1.1 101", 12) != 0) {
                final_.bad++;
                fail(i);
                return n;
            }
            off = size_t(end - p) + 4;
            std::string ext = header_value(p, off, "sec-websocket-extensions");
            if (ext.find("permessage-deflate") != std::string::npos) {
                if (!o_.deflate) {  // an extension we did not offer: the server is wrong
                    final_.bad++;
                    fail(i);
                    return n;
                }
                c.deflate = true;
                c.no_ctx = ext.find("server_no_context_takeover") != std::string::npos;
                deflate_conns_++;
                no_ctx_conns_ += c.no_ctx;
                if (ext_desc_.empty()) ext_desc_ = ext;
            }
            c.state = ConnState::kOpen;
        }
        while (c.state == ConnState::kOpen) {
            size_t used = consume_frame(i, p + off, n - off);
            if (used == 0) break;
            off += used;
        }
        return off;
    }

    // The value of one header of an HTTP head (name in lower case), "" when absent.
    static std::string header_value(const char* p, size_t n, const char* name) {
        std::string head(p, n);
        for (char& ch : head) ch = char(tolower(static_cast<unsigned char>(ch)));
        size_t at = head.find(std::string("\r\n") + name + ":");
        if (at == std::string::npos) return "";
        size_t v = at + 3 + strlen(name), e = head.find("\r\n", v);
        std::string value(p + v, (e == std::string::npos ? n : e) - v);
        size_t b = value.find_first_not_of(" \t");
        return b == std::string::npos ? "" : value.substr(b);
    }

    // One frame if complete: returns its size, else 0.
    size_t consume_frame(size_t i, const char* p, size_t n) {
        if (n < 2) return 0;
        uint8_t b0 = uint8_t(p[0]), b1 = uint8_t(p[1]);
        uint64_t len = b1 & 0x7f;
        size_t hdr = 2;
        if (len == 126) {
            if (n < 4) return 0;
            len = (uint64_t(uint8_t(p[2])) << 8) | uint8_t(p[3]);
            hdr = 4;
        } else if (len == 127) {
            if (n < 10) return 0;
            len = 0;
            for (int k = 0; k < 8; k++) len = (len << 8) | uint8_t(p[2 + k]);
            hdr = 10;
        }
        if (b1 & 0x80) hdr += 4;  // servers must not mask; tolerate it but do not unmask
        if (n < hdr + len) return 0;
        on_frame(i, b0, p + hdr, size_t(len));
        return hdr + size_t(len);
    }

    void on_frame(size_t i, uint8_t b0, const char* data, size_t len) {
        ClientConn& c = conns_[i];
        uint8_t opcode = b0 & 0x0f;
        bool compressed = (b0 & 0x40) != 0;  // RSV1: permessage-deflate
        if (!(b0 & 0x80) || opcode == 0) {   // fragments: none of the servers under test send them
            final_.bad++;
            return;
        }
        if ((b0 & 0x30) || (compressed && (opcode >= 0x8 || !c.deflate))) {
            final_.bad++;  // RSV2/3, a compressed control frame, or deflate not negotiated
            return;
        }
        if (opcode == 0xA) {  // unsolicited pong: the server's one-way heartbeat
            final_.pings++;    // a keep-alive frame, counted with the pings
            note_ping();
            return;
        }
        if (opcode == 0x9) {  // ping: answer, as a real client must, or pusher drops us
            final_.pings++;
            note_ping();
            std::string pong = ws_masked_frame(0xA, data, std::min<size_t>(len, 125));
            if (!conn_write(c, pong.data(), pong.size())) final_.bad++;
            return;
        }
        if (opcode == 0x8) {
            close_code_ = len >= 2 ? (uint8_t(data[0]) << 8 | uint8_t(data[1])) : 0;
            close_reason_.assign(len > 2 ? data + 2 : data, len > 2 ? len - 2 : 0);
            if (welcomed(c)) {
                ho_.closed_frame++;
                if (ho_.first_close_code < 0) ho_.first_close_code = close_code_;
            }
            fail(i);
            close_code_ = -1;
            return;
        }
        if (opcode != 0x1 && opcode != 0x2) return;
        if (c.id.worker == UINT32_MAX) {
            if (!compressed)
                on_welcome(i, data, len);
            else if (inflate_one(i, data, len))
                on_welcome(i, inflated_.data(), inflated_.size());
            return;
        }
        if (compressed)
            on_compressed(i, data, len);
        else
            on_message(i, data, len);
    }

    // Inflates one message of connection i into inflated_: its own window (context
    // takeover) or the process's inflater, reset first (server_no_context_takeover).
    bool inflate_one(size_t i, const char* data, size_t len) {
        ClientConn& c = conns_[i];
        RawInflater* z = &fresh_;
        if (c.no_ctx) {
            fresh_.reset();
        } else {
            if (!c.inflater) c.inflater = std::make_unique<RawInflater>();
            z = c.inflater.get();
        }
        final_.inflated++;
        if (z->inflate_message(data, len, inflated_, o_.payload + (1 << 16))) return true;
        final_.inflate_bad++;
        final_.bad++;
        return false;
    }

    // inflated_ must be a payload; when check, exactly the one its header describes.
    bool parse_inflated(Payload& pl, bool check) {
        bool ok = parse_payload(inflated_.data(), inflated_.size(), pl);
        if (ok && check) {
            final_.inflate_checked++;
            ok = make_payload_kind(inflated_[0] == '{', pl.seq, pl.send_ns, pl.target,
                                   o_.payload) == inflated_;
        }
        if (!ok) {
            final_.inflate_bad++;
            final_.bad++;
        }
        return ok;
    }

    void on_compressed(size_t i, const char* data, size_t len) {
        uint64_t t = now_ns();
        final_.compressed++;
        Payload pl;
        if (conns_[i].no_ctx) {
            // The bytes of a message are the same on every connection the server compressed
            // it once for: inflate (and check) the first, recognise the others.
            auto it = seen_.find(std::string_view(data, len));
            if (it != seen_.end()) {
                final_.cache_hits++;
                pl = it->second;
            } else {
                if (!inflate_one(i, data, len) || !parse_inflated(pl, true)) return;
                seen_keys_.emplace_back(data, len);
                seen_.emplace(std::string_view(seen_keys_.back()), pl);
                if (seen_keys_.size() > 256) {
                    seen_.erase(std::string_view(seen_keys_.front()));
                    seen_keys_.pop_front();
                }
            }
        } else {
            // Per-connection compression: every message must be inflated; check 1 in 16.
            if (!inflate_one(i, data, len) || !parse_inflated(pl, final_.compressed % 16 == 1))
                return;
        }
        on_payload(i, pl, t);
    }

    // "workerID:<w> connectionID:<c> connected\n" (or the JSON form: worker_id / connection_id).
    void on_welcome(size_t i, const char* data, size_t len) {
        ClientConn& c = conns_[i];
        std::string s(data, len);
        unsigned w = 0, id = 0;
        bool ok = sscanf(s.c_str(), "workerID:%u connectionID:%u", &w, &id) == 2;
        if (!ok) {
            size_t pw = s.find("\"worker_id\":"), pc = s.find("\"connection_id\":");
            ok = pw != std::string::npos && pc != std::string::npos &&
                 sscanf(s.c_str() + pw + 12, "%u", &w) == 1 &&
                 sscanf(s.c_str() + pc + 16, "%u", &id) == 1;
        }
        if (!ok) {
            final_.bad++;
            fail(i);
            return;
        }
        c.id = WelcomeId{w, id};
        if (size_t pi = s.find("\"client_id\":\""); pi != std::string::npos) {
            size_t b = pi + 13, e = s.find('"', b);
            if (e != std::string::npos) c.client_id = s.substr(b, e - b);
        }
        in_flight_--;
        welcomed_++;
        last_welcome_ns_ = now_ns();
    }

    void on_message(size_t i, const char* data, size_t len) {
        uint64_t t = now_ns();
        Payload pl;
        if (!parse_payload(data, len, pl)) {
            final_.bad++;
            return;
        }
        on_payload(i, pl, t);
    }

    void on_payload(size_t i, const Payload& pl, uint64_t t) {
        if (handover_) return on_handover_payload(i, pl, t);
        if (million_) return on_million_payload(i, pl, t);
        if (pl.target >= 0 && pl.target != int64_t(first_global_ + i)) {
            final_.misdelivered++;  // not a delivery: its target still misses it (counted lost)
            return;
        }
        if (group_mode_ && !conns_[i].member) {
            final_.misdelivered++;  // a group push to a client outside the group
            return;
        }
        if (!conns_[i].seen.see(pl.seq)) {
            final_.dup++;
            return;
        }
        final_.got++;
        final_.hist.add(t > pl.send_ns ? t - pl.send_ns : 0);
        if (pl.target < 0) count_broadcast(pl.seq);
    }

    // ---- issue #16: million -------------------------------------------------------------------
    // Numbered broadcasts to all: every connection must get every number once and in order.
    // Per number: connections that got it, duplicates, out of order, first and last arrival.
    void on_million_payload(size_t i, const Payload& pl, uint64_t t) {
        ClientConn& c = conns_[i];
        if (pl.target >= 0 || pl.seq >= kMaxMillionSeqs) {
            final_.misdelivered++;  // million mode publishes broadcasts only, numbered from 0
            return;
        }
        if (seqs_.size() <= pl.seq) {
            seqs_.resize(pl.seq + 1);
            done_sent_.resize(pl.seq + 1, false);
        }
        SeqStat& st = seqs_[pl.seq];
        if (!c.seen.see(pl.seq)) {
            final_.dup++;
            st.dup++;
            return;
        }
        final_.got++;
        uint64_t lat = t > pl.send_ns ? t - pl.send_ns : 0;
        final_.hist.add(lat);
        mhdr_.hist[pl.seq < uint64_t(o_.broadcasts) ? 0 : 1].add(lat);
        if (!st.got++) st.first_ns = t;
        st.last_ns = std::max(st.last_ns, t);
        if (pl.seq + 1 < c.hi)
            st.out_of_order++;
        else
            c.hi = pl.seq + 1;
        check_done(pl.seq);
    }

    // Tells the parent once every connection still open has the number (the closed-loop phase
    // waits for it).
    void check_done(uint64_t seq) {
        uint64_t open = welcomed_ - std::min(welcomed_, final_.closed);
        if (!done_sent_[seq] && seqs_[seq].got >= open) {
            done_sent_[seq] = true;
            send_msg(ipc_, kDone, &seq, sizeof seq);
        }
    }
    void recheck_done() {
        for (uint64_t s = 0; s < seqs_.size(); s++)
            if (seqs_[s].got) check_done(s);
    }

    void note_ping() {
        uint64_t t = now_ns();
        uint64_t sec = t > g_epoch_ns ? (t - g_epoch_ns) / 1000000000ull : 0;
        if (sec >= 86400) return;
        if (pings_per_s_.size() <= sec) pings_per_s_.resize(sec + 1, 0);
        pings_per_s_[sec]++;
    }

    void send_million_report() {
        mhdr_.nseq = uint32_t(seqs_.size());
        mhdr_.nsec = uint32_t(pings_per_s_.size());
        std::string body(reinterpret_cast<const char*>(&mhdr_), sizeof mhdr_);
        body.append(reinterpret_cast<const char*>(seqs_.data()), seqs_.size() * sizeof(SeqStat));
        body.append(reinterpret_cast<const char*>(pings_per_s_.data()),
                    pings_per_s_.size() * sizeof(uint32_t));
        send_msg(ipc_, kMillion, body.data(), uint32_t(body.size()));
    }

    // ---- issue #15: hand-over -----------------------------------------------------------------
    // Broadcasts: once each, in order, and the time between two of them; pushes by client id
    // (target >= 0, their own numbers): once each, to their target only.
    void on_handover_payload(size_t i, const Payload& pl, uint64_t t) {
        ClientConn& c = conns_[i];
        if (pl.target >= 0) {
            if (pl.target != int64_t(first_global_ + i))
                final_.misdelivered++;
            else if (!targeted_seen_.insert(pl.seq).second)
                ho_.targeted_dup++;
            else
                ho_.targeted_got++, c.targeted++;
            return;
        }
        if (!c.seen.see(pl.seq)) {  // (or one more than 64 numbers late: counted as a duplicate)
            final_.dup++;
            auto it = dup_by_seq_.find(pl.seq);
            if (it != dup_by_seq_.end())
                it->second++;
            else if (dup_by_seq_.size() < 4096)
                dup_by_seq_[pl.seq] = 1;
            return;
        }
        final_.got++;
        final_.hist.add(t > pl.send_ns ? t - pl.send_ns : 0);
        if (pl.seq + 1 < c.hi)
            ho_.out_of_order++;
        else
            c.hi = pl.seq + 1;
        if (c.last_rx_ns) note_gap(i, c.last_rx_ns, t);
        c.last_rx_ns = t;
    }

    // A gap counts for every window it overlaps (a window still open ends at UINT64_MAX).
    void note_gap(size_t i, uint64_t from, uint64_t to) {
        uint64_t g = to - from;
        ClientConn& c = conns_[i];
        c.gap_max_ns = std::max(c.gap_max_ns, g);
        if (g > ho_.gap_max_ns) {
            ho_.gap_max_ns = g;
            ho_.gap_max_end_ns = to;
        }
        uint32_t us = uint32_t(std::min<uint64_t>(g / 1000, UINT32_MAX));
        for (size_t w = 0; w < windows_.size(); w++)
            if (windows_[w].first && from < windows_[w].second && to > windows_[w].first) {
                uint32_t& m = win_gap_us_[i * kMaxWindows + w];
                m = std::max(m, us);
            }
    }

    void send_handover_report() {
        for (size_t i = 0; i < conns_.size(); i++) {
            if (conns_[i].gap_max_ns) {
                ho_.gap_conns++;
                ho_.gap_hist.add(conns_[i].gap_max_ns);
            }
            for (size_t w = 0; w < kMaxWindows; w++)
                if (uint64_t us = win_gap_us_[i * kMaxWindows + w]) {
                    ho_.win_hist[w].add(us * 1000);
                    ho_.win_max_ns[w] = std::max(ho_.win_max_ns[w], us * 1000);
                }
        }
        ho_.dup_seqs = dup_by_seq_.size();
        size_t k = 0;
        for (auto& [seq, n] : dup_by_seq_) {
            if (k == size_t(kMaxDupSeqs)) break;
            ho_.dup_seq[k] = seq;
            ho_.dup_count[k++] = n;
        }
        send_msg(ipc_, kHandover, &ho_, sizeof ho_);
        std::vector<uint32_t> targets;
        for (auto& c : conns_) targets.push_back(c.targeted | (c.closed ? 1u << 31 : 0));
        send_msg(ipc_, kTargets, targets.data(), uint32_t(targets.size() * sizeof(uint32_t)));
    }

    // Broadcast completion: once every welcomed connection of this process has seq, tell the
    // parent, which publishes the next message when all processes have answered.
    void count_broadcast(uint64_t seq) {
        auto& slot = ring_[seq % kRing];
        if (slot.first != seq) slot = {seq, 0};
        if (++slot.second == (group_mode_ ? members_ : welcomed_))
            send_msg(ipc_, kDone, &seq, sizeof seq);
    }

    const Options& o_;
    int first_global_, ipc_, ep_ = -1;
    std::vector<sockaddr_in> srcs_;  // source addresses, used round robin
    std::vector<ClientConn> conns_;
    int in_flight_ = 0;
    uint64_t welcomed_ = 0, failed_ = 0, first_ns_ = 0, last_welcome_ns_ = 0;
    bool group_mode_ = false;  // kMembers: only members may get pushes
    uint64_t members_ = 0;
    uint64_t deflate_conns_ = 0, no_ctx_conns_ = 0, tls_failed_ = 0;
    uint64_t rx_bytes_ = 0;
    SSL_CTX* tls_ctx_ = nullptr;
    char tls_desc_[64] = {};
    std::string ext_desc_;
    std::vector<size_t> again_;  // TLS connections with decrypted bytes left (poll_once)
    RawInflater fresh_;          // server_no_context_takeover: reset per message
    std::string inflated_;
    std::unordered_map<std::string_view, Payload> seen_;  // compressed bytes -> their payload
    std::deque<std::string> seen_keys_;                   // the bytes (stable), oldest first
    bool handover_ = false;  // --mode handover
    HandoverReport ho_;
    std::vector<std::pair<uint64_t, uint64_t>> windows_;  // begin, end (UINT64_MAX: open)
    std::vector<uint32_t> win_gap_us_;  // connection x window: its longest gap in it, µs
    std::set<uint64_t> targeted_seen_;
    std::map<uint64_t, uint64_t> dup_by_seq_;  // duplicated broadcast number -> copies
    int close_code_ = -1;                      // of the close frame being handled
    std::string close_reason_;                 // ... and its reason
    bool million_ = false;                     // --mode million
    std::vector<SeqStat> seqs_;                // million: per broadcast number
    std::vector<bool> done_sent_;              // ... kDone sent for it
    MillionHdr mhdr_;
    std::vector<uint32_t> pings_per_s_;        // pings received per second since g_epoch_ns
    int closes_logged_ = 0;
    FinalReport final_;
    MsgReader reader_;
    std::pair<uint64_t, uint64_t> ring_[kRing] = {};
};

// ------------------------------------------------------------------------------------------
// HTTP keep-alive publisher (parent side), one request in flight at a time.
// ------------------------------------------------------------------------------------------
const std::string kExpectedAnswer =
    "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\n"
    "Content-Length: 2\r\n\r\nok";

struct Publisher {
    int fd = -1;
    bool busy = false;
    std::string in;
    uint64_t answers = 0, errors = 0, not_exact = 0;

    void open_conn(const Options& o) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) die("socket");
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in dst{};
        dst.sin_family = AF_INET;
        dst.sin_port = htons(uint16_t(o.http_port));
        inet_pton(AF_INET, o.host.c_str(), &dst.sin_addr);
        if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) < 0) die("connect http");
        set_nonblock(fd);
        in.clear();
        busy = false;
    }

    void send(const std::string& query) {
        std::string req = "GET /?" + query + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        write_all(fd, req.data(), req.size());  // small; a keep-alive socket takes it whole
        busy = true;
    }

    // Reads what arrived; returns true when the outstanding answer is complete.
    bool on_readable(const Options& o) {
        char buf[8192];
        for (;;) {
            ssize_t r = read(fd, buf, sizeof buf);
            if (r > 0) {
                in.append(buf, size_t(r));
                continue;
            }
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
            errors++;  // closed by the server: reconnect; the request in flight may be lost
            close(fd);
            open_conn(o);
            return true;
        }
        size_t hdr_end = in.find("\r\n\r\n");
        if (hdr_end == std::string::npos) return false;
        size_t cl = 0, p = in.find("Content-Length:");
        if (p == std::string::npos) p = in.find("content-length:");
        if (p != std::string::npos && p < hdr_end) cl = size_t(atol(in.c_str() + p + 15));
        size_t total = hdr_end + 4 + cl;
        if (in.size() < total) return false;
        if (in.compare(0, 12, "HTTP/1.1 200") != 0) errors++;
        if (in.compare(0, total, kExpectedAnswer) != 0) not_exact++;
        in.erase(0, total);
        answers++;
        busy = false;
        return true;
    }
};

std::string url_query(const std::string& content, const WelcomeId* target) {
    if (!target) return "content=" + url_encode(content);
    return "to_worker_id=" + std::to_string(target->worker) +
           "&to_connection_id=" + std::to_string(target->conn) + "&content=" + url_encode(content);
}

// ------------------------------------------------------------------------------------------
// Issue #15: a keep-alive publisher that never gives up on a request. Requests are pipelined
// on one connection (answered, and so published, in order). When the connection closes under
// them (a reload replaces the http worker too), or the first has no answer within
// --answer-timeout, every unanswered request is sent again, in order, on a new connection: at
// least once, as any HTTP client retrying. A request the old worker had published but not
// answered is then published twice; its ids are kept (resent_ids) to tell such duplicates apart.
// ------------------------------------------------------------------------------------------
class SeqPublisher {
  public:
    struct Req {
        std::string raw;
        uint64_t id, sent_ns;
    };
    using OnAnswer = std::function<void(const Req&, bool ok, uint64_t now)>;

    uint64_t sent = 0, answers = 0, not_ok = 0, reconnects = 0, resent = 0;
    std::set<uint64_t> resent_ids;
    std::string first_error, first_reconnect;
    Histogram answer_hist;  // written (or written again) -> answered

    void init(const Options& o, int ep, uint64_t tag, OnAnswer cb) {
        o_ = &o;
        ep_ = ep;
        tag_ = tag;
        cb_ = std::move(cb);
        open_conn();
    }
    ~SeqPublisher() {
        if (fd_ >= 0) close(fd_);
    }
    size_t in_flight() const { return q_.size(); }

    void send(uint64_t id, const std::string& target) {
        q_.push_back(Req{"GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", id, now_ns()});
        sent++;
        if (!write_req(q_.back().raw)) reconnect("write failed");
    }

    void on_readable() {
        char buf[8192];
        bool closed = false;
        for (;;) {
            ssize_t r = read(fd_, buf, sizeof buf);
            if (r > 0) {
                in_.append(buf, size_t(r));
                continue;
            }
            if (r < 0 && errno == EINTR) continue;
            if (r < 0 && errno == EAGAIN) break;
            closed = true;
            break;
        }
        uint64_t t = now_ns();
        for (;;) {
            size_t hdr_end = in_.find("\r\n\r\n");
            if (hdr_end == std::string::npos) break;
            std::string head = in_.substr(0, hdr_end);
            for (char& ch : head) ch = char(tolower(static_cast<unsigned char>(ch)));
            size_t cl = 0, p = head.find("content-length:");
            if (p != std::string::npos) cl = size_t(atol(head.c_str() + p + 15));
            size_t total = hdr_end + 4 + cl;
            if (in_.size() < total) break;
            bool ok = in_.compare(0, 12, "HTTP/1.1 200") == 0 && cl == 2 &&
                      in_.compare(hdr_end + 4, 2, "ok") == 0;
            bool conn_close = head.find("\r\nconnection: close") != std::string::npos;
            if (!ok) {
                not_ok++;
                if (first_error.empty())
                    first_error = in_.substr(0, in_.find("\r\n")) + " " + in_.substr(hdr_end + 4, cl);
            }
            answers++;
            if (!q_.empty()) {
                Req r = std::move(q_.front());
                q_.pop_front();
                answer_hist.add(t - r.sent_ns);
                cb_(r, ok, t);
            }
            in_.erase(0, total);
            if (conn_close) {
                closed = true;
                break;
            }
        }
        if (closed) reconnect("closed by the server");
    }

    void check_timeout(uint64_t now) {
        if (!q_.empty() && now > q_.front().sent_ns &&
            now - q_.front().sent_ns > uint64_t(o_->answer_timeout * 1e9))
            reconnect("no answer");
    }

  private:
    bool write_req(const std::string& raw) {  // small: waits (at most 1 s) if it must
        size_t off = 0;
        while (off < raw.size()) {
            ssize_t w = ::send(fd_, raw.data() + off, raw.size() - off, MSG_NOSIGNAL);
            if (w > 0) {
                off += size_t(w);
                continue;
            }
            if (w < 0 && errno == EINTR) continue;
            if (w < 0 && errno == EAGAIN) {
                pollfd pf{fd_, POLLOUT, 0};
                if (poll(&pf, 1, 1000) <= 0) return false;
                continue;
            }
            return false;
        }
        return true;
    }

    // The master keeps the listening socket open across reloads: a connect only fails when
    // the server is gone (or has not started); 10 s of attempts, then give up the run.
    void open_conn() {
        for (int attempt = 0;; attempt++) {
            fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd_ < 0) die("socket");
            int one = 1;
            setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            sockaddr_in dst{};
            dst.sin_family = AF_INET;
            dst.sin_port = htons(uint16_t(o_->http_port));
            inet_pton(AF_INET, o_->host.c_str(), &dst.sin_addr);
            if (connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0) break;
            close(fd_);
            fd_ = -1;
            if (attempt >= 500) die("connect http (publisher)");
            usleep(20000);
        }
        set_nonblock(fd_);
        in_.clear();
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = tag_;
        if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd_, &ev) < 0) die("epoll_ctl publisher");
    }

    void reconnect(const char* why) {
        epoll_ctl(ep_, EPOLL_CTL_DEL, fd_, nullptr);
        close(fd_);
        reconnects++;
        if (first_reconnect.empty()) first_reconnect = why;
        open_conn();
        uint64_t t = now_ns();
        for (Req& r : q_) {
            r.sent_ns = t;
            resent++;
            resent_ids.insert(r.id);
        }
        for (Req& r : q_)
            if (!write_req(r.raw)) break;  // check_timeout tries again
    }

    const Options* o_ = nullptr;
    int ep_ = -1, fd_ = -1;
    uint64_t tag_ = 0;
    OnAnswer cb_;
    std::deque<Req> q_;
    std::string in_;
};

// ------------------------------------------------------------------------------------------
// HTTP API driver (issue #14): keep-alive connections with up to --pipeline requests in flight
// each (answered in order), for the join setup of the group rows and the churn row.
// ------------------------------------------------------------------------------------------
struct ApiStats {
    uint64_t sent = 0, answers = 0, errors = 0, not_ok = 0, reconnects = 0;
    Histogram hist;          // request written -> answer complete
    std::string last_body;   // of the last answer (a query's JSON)
    std::string first_error; // status line + body of the first non-200 / non-"ok" answer
};

class ApiDriver {
  public:
    // gen(conn, path): the next request path of that connection; false: none now.
    using Gen = std::function<bool(size_t, std::string&)>;

    ApiDriver(const Options& o, int conns, int depth) : o_(o), depth_(size_t(depth)) {
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        conns_.resize(size_t(conns));
        for (size_t i = 0; i < conns_.size(); i++) open_conn(i);
    }
    ~ApiDriver() {
        for (auto& c : conns_)
            if (c.fd >= 0) close(c.fd);
        close(ep_);
    }

    // Sends what gen gives while now < stop_gen_ns, and waits for the answers (until hard_ns).
    // ok_body: the body every answer must have ("" = any).
    ApiStats& run(const Gen& gen, uint64_t stop_gen_ns, uint64_t hard_ns, const char* ok_body) {
        ok_body_ = ok_body;
        std::vector<bool> exhausted(conns_.size(), false);
        for (;;) {
            uint64_t t = now_ns();
            if (t >= hard_ns) break;
            bool pending = false;
            for (size_t i = 0; i < conns_.size(); i++) {
                Conn& c = conns_[i];
                std::string batch, path;
                while (t < stop_gen_ns && !exhausted[i] && c.sent.size() < depth_) {
                    if (!gen(i, path)) {
                        exhausted[i] = true;
                        break;
                    }
                    batch += "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
                    c.sent.push_back(t);
                    stats_.sent++;
                }
                if (!batch.empty()) write_all(c.fd, batch.data(), batch.size());
                pending = pending || !c.sent.empty() || (t < stop_gen_ns && !exhausted[i]);
            }
            if (!pending) break;
            epoll_event evs[64];
            int n = epoll_wait(ep_, evs, 64, 10);
            for (int k = 0; k < n; k++) on_readable(size_t(evs[k].data.u64));
        }
        return stats_;
    }

    ApiStats stats_;

  private:
    struct Conn {
        int fd = -1;
        std::string in;
        std::deque<uint64_t> sent;
    };

    void open_conn(size_t i) {
        Conn& c = conns_[i];
        c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c.fd < 0) die("socket");
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in dst{};
        dst.sin_family = AF_INET;
        dst.sin_port = htons(uint16_t(o_.http_port));
        inet_pton(AF_INET, o_.host.c_str(), &dst.sin_addr);
        if (connect(c.fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) < 0) die("connect api");
        set_nonblock(c.fd);
        c.in.clear();
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    }

    void on_readable(size_t i) {
        Conn& c = conns_[i];
        char buf[65536];
        for (;;) {
            ssize_t r = read(c.fd, buf, sizeof buf);
            if (r > 0) {
                c.in.append(buf, size_t(r));
                continue;
            }
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
            // Closed by the server: what was in flight is lost (errors), reconnect.
            stats_.errors += c.sent.size();
            stats_.reconnects++;
            c.sent.clear();
            close(c.fd);
            open_conn(i);
            return;
        }
        uint64_t t = now_ns();
        for (;;) {
            size_t hdr_end = c.in.find("\r\n\r\n");
            if (hdr_end == std::string::npos) return;
            size_t cl = 0, p = c.in.find("Content-Length:");
            if (p == std::string::npos || p > hdr_end) p = c.in.find("content-length:");
            if (p != std::string::npos && p < hdr_end) cl = size_t(atol(c.in.c_str() + p + 15));
            size_t total = hdr_end + 4 + cl;
            if (c.in.size() < total) return;
            bool ok200 = c.in.compare(0, 12, "HTTP/1.1 200") == 0;
            std::string body = c.in.substr(hdr_end + 4, cl);
            if (!ok200) stats_.errors++;
            else if (*ok_body_ && body != ok_body_) stats_.not_ok++;
            if ((!ok200 || (*ok_body_ && body != ok_body_)) && stats_.first_error.empty())
                stats_.first_error = c.in.substr(0, c.in.find("\r\n")) + " " + body;
            stats_.last_body = body;
            c.in.erase(0, total);
            stats_.answers++;
            if (!c.sent.empty()) {
                stats_.hist.add(t - c.sent.front());
                c.sent.pop_front();
            }
        }
    }

    const Options& o_;
    size_t depth_;
    int ep_ = -1;
    std::vector<Conn> conns_;
    const char* ok_body_ = "";
};

// A path of the operations API: /api/OP?client_id=ID[&KEY=VALUE].
std::string api_path(const char* op, const std::string& client_id, const char* key = nullptr,
                     const std::string& value = "") {
    std::string p = std::string("/api/") + op + "?client_id=" + url_encode(client_id);
    if (key) p += std::string("&") + key + "=" + url_encode(value);
    return p;
}

// ------------------------------------------------------------------------------------------
// Parent: forks the clients, drives the mode, aggregates and prints.
// ------------------------------------------------------------------------------------------
struct Child {
    pid_t pid;
    int fd;
    int first_global, count;
    MsgReader reader;
    ConnectedReport connected{};
    bool has_connected = false, has_report = false, members_ack = false;
    uint64_t progress = 0, progress_closed = 0;
    bool progress_fresh = false;
    FinalReport report;
    std::vector<uint16_t> ports;  // handover: local port per connection (kPorts)
    std::unique_ptr<HandoverReport> ho;  // handover: kHandover
    std::vector<uint32_t> targets;       // handover: kTargets
    std::string million;                 // million: the kMillion body
};

class Coordinator {
  public:
    explicit Coordinator(const Options& o) : o_(o) {}

    int run() {
        server_pids_ = resolve_server_pids(o_);
        rss_before_ = sum_rss(server_pids_);
        pss_before_ = sum_pss(server_pids_);
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (o_.mode == "million") kmem0_ = kernel_mem();  // before any client socket exists
        if (!spawn_children()) return finish_with_error("too many source addresses");
        if (!wait_connected()) return finish_with_error("connect phase did not report");
        if (o_.mode == "idle") return run_idle();
        if (o_.mode == "million") return run_million();
        if (connected_ == 0) return finish_with_error("no client connected");
        if (o_.mode == "churn") return run_churn();
        if (o_.mode == "handover") return run_handover();
        if (o_.mode == "group" && !setup_group()) return finish_with_error("group setup failed");
        open_publishers();
        begin_measure();
        if (o_.mode == "broadcast" || o_.mode == "group")
            drive_broadcast();
        else if (o_.mode == "latency")
            drive_latency();
        else
            drive_targeted();
        drain();
        end_measure();
        collect_reports();
        print_results();
        return 0;
    }

  private:
    static constexpr uint64_t kPubTagBase = 1u << 20;  // epoll tags: children 0.., publishers
    static constexpr uint64_t kSeqPubTag = 1u << 21;   // ... handover: its two publishers
    static constexpr uint64_t kDuringTag = 1u << 22;   // ... handover: the --during pipe

    bool spawn_children() {
        int k = (o_.n + o_.per_proc - 1) / o_.per_proc;
        for (int i = 0; i < k; i++) {  // source addresses: at most per_addr connections each
            int count = std::min(o_.per_proc, o_.n - i * o_.per_proc), na = proc_addr_count(o_, count);
            src_addrs_ += na;
            per_addr_max_ = std::max(per_addr_max_, (count + na - 1) / na);
        }
        if (k > 0) {
            int last_count = o_.n - (k - 1) * o_.per_proc;
            int last = src_octet(o_, k - 1, last_count, proc_addr_count(o_, last_count) - 1);
            if (o_.src_base < 1 || last > kMaxSourceAddr) {
                fprintf(stderr,
                        "loadgen: %d connections in %d processes of at most %d, at most %d per "
                        "source address (--per-addr), need source addresses 127.0.0.%d .. "
                        "127.0.0.%d; only up to 127.0.0.%d may be used: lower --n or --src-base\n",
                        o_.n, k, o_.per_proc, o_.per_addr, o_.src_base, last, kMaxSourceAddr);
                return false;
            }
        }
        for (int i = 0; i < k; i++) {
            int first = i * o_.per_proc, count = std::min(o_.per_proc, o_.n - first);
            int sv[2];
            if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
            pid_t pid = fork();
            if (pid < 0) die("fork");
            if (pid == 0) {
                close(sv[0]);
                for (auto& c : children_) close(c.fd);
                ClientProcess(o_, i, count, first, sv[1]).run();
            }
            close(sv[1]);
            children_.push_back(
                Child{pid, sv[0], first, count, {}, {}, false, false, false, 0, 0, false, {}, {}, {}, {}, {}});
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u64 = uint64_t(i);
            epoll_ctl(ep_, EPOLL_CTL_ADD, sv[0], &ev);
        }
        return true;
    }

    void open_publishers() {
        pubs_.resize(size_t(o_.publishers));
        for (size_t i = 0; i < pubs_.size(); i++) {
            pubs_[i].open_conn(o_);
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u64 = kPubTagBase + i;
            epoll_ctl(ep_, EPOLL_CTL_ADD, pubs_[i].fd, &ev);
        }
    }

    // One round of the event loop: child messages and publisher answers.
    void pump(int timeout_ms) {
        epoll_event evs[64];
        int n = epoll_wait(ep_, evs, 64, timeout_ms);
        for (int k = 0; k < n; k++) {
            uint64_t tag = evs[k].data.u64;
            if (tag == kDuringTag) {
                read_during();
                continue;
            }
            if (tag >= kSeqPubTag) {
                (tag == kSeqPubTag ? bpub_ : tpub_).on_readable();
                continue;
            }
            if (tag >= kPubTagBase) {
                Publisher& p = pubs_[tag - kPubTagBase];
                int old = p.fd;
                p.on_readable(o_);
                if (p.fd != old) {  // reconnected: register the new socket
                    epoll_event ev{};
                    ev.events = EPOLLIN;
                    ev.data.u64 = tag;
                    epoll_ctl(ep_, EPOLL_CTL_ADD, p.fd, &ev);
                }
                continue;
            }
            on_child(children_[tag]);
        }
    }

    void on_child(Child& c) {
        c.reader.fill(c.fd);
        MsgType t;
        std::string body;
        while (c.reader.next(t, body)) {
            if (t == kConnected)
                on_connected_report(c, body);
            else if (t == kDone) {
                uint64_t seq;
                memcpy(&seq, body.data(), sizeof seq);
                on_done(seq);
            } else if (t == kProgress) {
                ProgressReport p{};
                memcpy(&p, body.data(), std::min(body.size(), sizeof p));
                c.progress = p.got;
                c.progress_closed = p.closed;
                c.progress_fresh = true;
            } else if (t == kMillion) {
                c.million = body;
            } else if (t == kClientIds) {
                size_t k = 0, b = 0;
                for (size_t e; (e = body.find('\n', b)) != std::string::npos; b = e + 1, k++) {
                    size_t g = size_t(c.first_global) + k;
                    if (client_ids_.size() <= g) client_ids_.resize(g + 1);
                    client_ids_[g] = body.substr(b, e - b);
                }
            } else if (t == kMembersAck) {
                c.members_ack = true;
            } else if (t == kPorts) {
                c.ports.resize(body.size() / 2);
                memcpy(c.ports.data(), body.data(), c.ports.size() * 2);
            } else if (t == kTargets) {
                c.targets.resize(body.size() / sizeof(uint32_t));
                memcpy(c.targets.data(), body.data(), c.targets.size() * sizeof(uint32_t));
            } else if (t == kHandover) {
                c.ho = std::make_unique<HandoverReport>();
                memcpy(c.ho.get(), body.data(), std::min(body.size(), sizeof(HandoverReport)));
            } else if (t == kReport) {
                memcpy(&c.report, body.data(), std::min(body.size(), sizeof c.report));
                c.has_report = true;
            }
        }
    }

    void on_connected_report(Child& c, const std::string& body) {
        memcpy(&c.connected, body.data(), sizeof c.connected);
        c.has_connected = true;
        size_t count = (body.size() - sizeof c.connected) / sizeof(WelcomeId);
        const WelcomeId* ids = reinterpret_cast<const WelcomeId*>(body.data() + sizeof c.connected);
        for (size_t i = 0; i < count; i++)
            if (ids[i].worker != UINT32_MAX) targets_.push_back({c.first_global + int(i), ids[i]});
    }

    bool wait_connected() {
        uint64_t deadline = now_ns() + uint64_t((o_.connect_timeout + 10) * 1e9);
        auto all = [&] {
            for (auto& c : children_)
                if (!c.has_connected) return false;
            return true;
        };
        while (!all() && now_ns() < deadline) pump(100);
        if (!all()) return false;
        uint64_t first = UINT64_MAX, last = 0;
        for (auto& c : children_) {
            connected_ += c.connected.ok;
            connect_failed_ += c.connected.failed;
            deflate_conns_ += c.connected.deflate_conns;
            no_ctx_conns_ += c.connected.no_ctx_conns;
            tls_failed_ += c.connected.tls_failed;
            if (tls_desc_.empty())
                tls_desc_.assign(c.connected.tls_desc,
                                 strnlen(c.connected.tls_desc, sizeof c.connected.tls_desc));
            if (ext_desc_.empty())
                ext_desc_.assign(c.connected.ext_desc,
                                 strnlen(c.connected.ext_desc, sizeof c.connected.ext_desc));
            first = std::min(first, c.connected.first_ns);
            last = std::max(last, c.connected.last_ns);
            if (c.connected.ok > 0) active_children_++;
        }
        connect_secs_ = last > first ? double(last - first) / 1e9 : 0;
        std::sort(targets_.begin(), targets_.end(),
                  [](auto& a, auto& b) { return a.first < b.first; });
        return true;
    }

    void begin_measure() {
        server_pids_ = resolve_server_pids(o_);  // again: workers may have been re-forked
        if (!o_.on_measure.empty()) start_on_measure();
        server_cpu0_ = sum_cpu(server_pids_);
        comm_cpu0_ = by_comm(server_pids_, proc_cpu_seconds);
        client_cpu0_ = client_cpu();
        machine_cpu0_ = machine_busy_seconds();
        t0_ = now_ns();
    }

    // --on-measure: a profiler for the measured phase. Its CPU is not the server's or ours.
    void start_on_measure() {
        std::string pids;
        for (int p : server_pids_) pids += (pids.empty() ? "" : ",") + std::to_string(p);
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) {
            setenv("SERVER_PIDS", pids.c_str(), 1);
            execl("/bin/sh", "sh", "-c", o_.on_measure.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        on_measure_pid_ = pid;
    }

    void end_measure() {
        t1_ = now_ns();
        server_cpu1_ = sum_cpu(server_pids_);
        comm_cpu1_ = by_comm(server_pids_, proc_cpu_seconds);
        client_cpu1_ = client_cpu();
        machine_cpu1_ = machine_busy_seconds();
    }

    double client_cpu() {
        double t = 0;
        for (auto& c : children_) t += std::max(0.0, proc_cpu_seconds(c.pid));
        return t + std::max(0.0, proc_cpu_seconds(getpid()));
    }

    Publisher* free_publisher() {
        for (auto& p : pubs_)
            if (!p.busy) return &p;
        return nullptr;
    }

    void publish(Publisher& p, uint64_t seq, uint64_t send_ns, const std::pair<int, WelcomeId>* t) {
        std::string content =
            make_payload_kind(o_.json, seq, send_ns, t ? t->first : -1, o_.payload);
        if (!t && o_.mode == "group")
            p.send("to_group=" + url_encode(o_.group_name) + "&content=" + url_encode(content));
        else
            p.send(url_query(content, t ? &t->second : nullptr));
        published_++;
    }

    // ---- broadcast: closed loop, at most --window messages in flight --------------------------
    void on_done(uint64_t seq) {
        auto it = in_flight_.find(seq);
        if (it == in_flight_.end()) return;  // already given up on
        if (++it->second.first == active_children_) {
            completion_.add(now_ns() - it->second.second);
            completed_++;
            in_flight_.erase(it);
        }
    }

    void drive_broadcast() {
        uint64_t deadline = t0_ + uint64_t(o_.duration * 1e9), seq = 0;
        while (now_ns() < deadline && (seq < o_.msgs || !in_flight_.empty())) {
            while (seq < o_.msgs && in_flight_.size() < size_t(o_.window) && active_children_ > 0) {
                Publisher* p = free_publisher();
                if (!p) break;
                uint64_t t = now_ns();
                in_flight_[seq] = {0, t};
                publish(*p, seq++, t, nullptr);
            }
            pump(10);
            give_up_on_stuck_messages();
        }
        expected_ = published_ * (o_.mode == "group" ? members_total_ : connected_);
    }

    void give_up_on_stuck_messages() {
        uint64_t limit = uint64_t(o_.msg_timeout * 1e9), t = now_ns();
        for (auto it = in_flight_.begin(); it != in_flight_.end();) {
            if (t - it->second.second > limit) {
                timed_out_++;
                it = in_flight_.erase(it);
            } else {
                ++it;
            }
        }
    }

    // ---- latency: open loop at --rate; the payload carries the *intended* send time, so a
    // slow publisher shows up as latency instead of silently lowering the rate.
    void drive_latency() {
        uint64_t interval = uint64_t(1e9 / std::max(0.001, o_.rate));
        uint64_t deadline = t0_ + uint64_t(o_.duration * 1e9), next = t0_, seq = 0;
        std::deque<uint64_t> due;
        while (now_ns() < deadline && seq < o_.msgs) {
            uint64_t t = now_ns();
            while (next <= t && next < deadline && seq + due.size() < o_.msgs) {
                due.push_back(next);
                next += interval;
            }
            while (!due.empty()) {
                Publisher* p = free_publisher();
                if (!p) break;
                publish(*p, seq++, due.front(), nullptr);
                due.pop_front();
            }
            uint64_t wait_ns = next > t ? next - t : 0;
            pump(int(std::min<uint64_t>(wait_ns / 1000000, 10)));
        }
        expected_ = published_ * connected_;
    }

    // ---- targeted: every publisher keeps one request in flight, targets round-robin ---------
    void drive_targeted() {
        uint64_t deadline = t0_ + uint64_t(o_.duration * 1e9), seq = 0;
        while (now_ns() < deadline && seq < o_.msgs && !targets_.empty()) {
            while (seq < o_.msgs) {
                Publisher* p = free_publisher();
                if (!p) break;
                publish(*p, seq, now_ns(), &targets_[seq % targets_.size()]);
                seq++;
            }
            pump(10);
        }
        expected_ = published_;
    }

    // Waits until the clients hold every expected delivery (or --drain-timeout).
    void drain() {
        uint64_t deadline = now_ns() + uint64_t(o_.drain_timeout * 1e9);
        while (now_ns() < deadline) {
            for (auto& c : children_) {
                c.progress_fresh = false;
                send_msg(c.fd, kStatus, nullptr, 0);
            }
            uint64_t ask_deadline = now_ns() + 2000000000ull;
            auto all_fresh = [&] {
                for (auto& c : children_)
                    if (!c.progress_fresh) return false;
                return true;
            };
            while (!all_fresh() && now_ns() < ask_deadline) pump(10);
            uint64_t got = 0;
            for (auto& c : children_) got += c.progress;
            if (got >= expected_) break;
            // handover: clients that were closed never complete; 20 s without one more
            // delivery ends the wait (a backlog being written still moves).
            if (o_.mode == "handover") {
                if (got != drain_got_) drain_got_ = got, drain_moved_ns_ = now_ns();
                if (now_ns() - drain_moved_ns_ > 20000000000ull) break;
            }
            pump(50);
        }
        // Publisher answers still in flight count as HTTP answers, not as lost deliveries.
        uint64_t answer_deadline = now_ns() + 1000000000ull;
        while (free_publisher_count() < pubs_.size() && now_ns() < answer_deadline) pump(10);
    }

    size_t free_publisher_count() {
        size_t n = 0;
        for (auto& p : pubs_) n += !p.busy;
        return n;
    }

    void collect_reports() {
        for (auto& c : children_) send_msg(c.fd, kQuit, nullptr, 0);
        uint64_t deadline = now_ns() + 5000000000ull;
        auto all = [&] {
            for (auto& c : children_)
                if (!c.has_report) return false;
            return true;
        };
        while (!all() && now_ns() < deadline) pump(50);
        reap_children();
    }

    void reap_children() {
        if (on_measure_pid_ > 0) waitpid(on_measure_pid_, nullptr, 0);  // bounded by its command
        for (auto& c : children_) {
            if (!c.has_report) kill(c.pid, SIGKILL);  // bounded: a stuck child does not hang us
            waitpid(c.pid, nullptr, 0);
            close(c.fd);
        }
    }

    // ---- issue #14: users and groups ----------------------------------------------------------
    // A value summed per process name (/proc/PID/comm: pusher's workers are "pusher:<service>",
    // a redis-server "redis-server").
    template <class F>
    static std::map<std::string, double> by_comm(const std::vector<int>& pids, F value) {
        std::map<std::string, double> m;
        for (int p : pids) {
            std::string c;
            if (!read_small_file("/proc/" + std::to_string(p) + "/comm", c)) continue;
            while (!c.empty() && (c.back() == '\n' || c.back() == ' ')) c.pop_back();
            for (char& ch : c)
                if (ch == ' ' || ch == ',' || ch == '=') ch = '_';
            m[c] += std::max(0.0, double(value(p)));
        }
        return m;
    }

    // "name:value,..." of b - a, and the part of the bus (the channel service, redis-servers).
    static std::string comm_fields(const char* key, const std::map<std::string, double>& a,
                                   const std::map<std::string, double>& b, double scale,
                                   const char* bus_key) {
        std::string out = std::string(" ") + key + "=";
        double bus = 0;
        bool first = true;
        char v[64];
        for (auto& [name, x1] : b) {
            auto it = a.find(name);
            double d = (x1 - (it == a.end() ? 0 : it->second)) * scale;
            snprintf(v, sizeof v, "%s%s:%.2f", first ? "" : ",", name.c_str(), d);
            out += v;
            first = false;
            std::string lower = name;
            for (char& ch : lower) ch = char(tolower(static_cast<unsigned char>(ch)));
            if (lower.find("channel") != std::string::npos || lower.find("redis") != std::string::npos)
                bus += d;
        }
        if (first) out += "-";
        snprintf(v, sizeof v, " %s=%.2f", bus_key, bus);
        return out + v;
    }

    // The global indices of the welcomed clients that told their client_id, in order.
    std::vector<int> clients_with_ids() {
        std::vector<int> v;
        for (auto& t : targets_)
            if (size_t(t.first) < client_ids_.size() && !client_ids_[size_t(t.first)].empty())
                v.push_back(t.first);
        return v;
    }

    // Picks the members (round robin over the ws workers), tells every client process which of
    // its connections are members (all of them then count any other delivery as misdelivered),
    // joins them through the API (pipelined; not measured) and checks group_count.
    bool setup_group() {
        std::map<uint32_t, std::vector<int>> by_worker;
        for (auto& t : targets_)
            if (size_t(t.first) < client_ids_.size() && !client_ids_[size_t(t.first)].empty())
                by_worker[t.second.worker].push_back(t.first);
        if (by_worker.empty()) {
            fprintf(stderr, "loadgen: no client_id in the welcomes (the server needs \"welcome\": \"json\")\n");
            return false;
        }
        std::vector<int> members;
        std::map<uint32_t, size_t> taken;
        for (size_t round = 0; members.size() < size_t(o_.group_members); round++) {
            bool any = false;
            for (auto& [w, list] : by_worker)
                if (round < list.size() && members.size() < size_t(o_.group_members)) {
                    members.push_back(list[round]);
                    taken[w]++;
                    any = true;
                }
            if (!any) break;
        }
        for (auto& [w, n] : taken)
            member_workers_ += (member_workers_.empty() ? "" : "/") + std::to_string(w) + ":" +
                               std::to_string(n);
        members_total_ = members.size();
        std::vector<std::string> lists(children_.size());
        for (int g : members)
            for (size_t ci = 0; ci < children_.size(); ci++) {
                Child& c = children_[ci];
                if (g >= c.first_global && g < c.first_global + c.count) {
                    uint32_t local = uint32_t(g - c.first_global);
                    lists[ci].append(reinterpret_cast<char*>(&local), 4);
                }
            }
        active_children_ = 0;
        for (size_t ci = 0; ci < children_.size(); ci++) {
            send_msg(children_[ci].fd, kMembers, lists[ci].data(), uint32_t(lists[ci].size()));
            active_children_ += !lists[ci].empty();
        }
        uint64_t deadline = now_ns() + 10000000000ull;
        auto acked = [&] {
            for (auto& c : children_)
                if (!c.members_ack) return false;
            return true;
        };
        while (!acked() && now_ns() < deadline) pump(10);
        if (!acked()) return false;
        std::vector<int> joiners = members;  // + intruders: non-members that join unannounced
        std::set<int> is_member(members.begin(), members.end());
        for (auto& t : targets_) {
            if (joiners.size() >= members.size() + size_t(o_.group_intruders)) break;
            if (!is_member.count(t.first) && size_t(t.first) < client_ids_.size() &&
                !client_ids_[size_t(t.first)].empty())
                joiners.push_back(t.first);
        }
        uint64_t t = now_ns();
        ApiDriver api(o_, o_.api_conns, o_.pipeline);
        size_t next = 0;
        ApiStats& st = api.run(
            [&](size_t, std::string& path) {
                if (next >= joiners.size()) return false;
                path = api_path("join_group", client_ids_[size_t(joiners[next++])], "group",
                                o_.group_name);
                return true;
            },
            UINT64_MAX, t + 120000000000ull, "ok");
        setup_secs_ = double(now_ns() - t) / 1e9;
        setup_ops_ = st.answers;
        setup_errors_ = st.errors + st.not_ok + (st.sent - st.answers);
        if (!st.first_error.empty()) fprintf(stderr, "loadgen: join: %s\n", st.first_error.c_str());
        ApiDriver q(o_, 1, 1);
        bool asked = false;
        ApiStats& qs = q.run(
            [&](size_t, std::string& path) {
                if (asked) return false;
                asked = true;
                path = "/api/group_count?group=" + url_encode(o_.group_name);
                return true;
            },
            UINT64_MAX, now_ns() + 10000000000ull, "");
        size_t pc = qs.last_body.find("\"count\":");
        group_count_ = pc == std::string::npos ? -1 : atol(qs.last_body.c_str() + pc + 8);
        printf("# %s group %s: %zu members (workers %s) joined in %.2fs (%.0f joins/s), %" PRIu64
               " errors, group_count %ld\n",
               o_.label.c_str(), o_.group_name.c_str(), members.size(), member_workers_.c_str(),
               setup_secs_, setup_secs_ > 0 ? double(setup_ops_) / setup_secs_ : 0, setup_errors_,
               group_count_);
        return setup_errors_ == 0 && setup_ops_ == joiners.size();
    }

    std::string group_fields() {
        if (o_.mode != "group") return "";
        char b[256];
        snprintf(b, sizeof b,
                 " group_members=%" PRIu64 " group_count=%ld member_workers=%s setup_s=%.2f "
                 "setup_ops_per_s=%.0f setup_errors=%" PRIu64,
                 members_total_, group_count_, member_workers_.empty() ? "-" : member_workers_.c_str(),
                 setup_secs_, setup_secs_ > 0 ? double(setup_ops_) / setup_secs_ : 0, setup_errors_);
        return b;
    }

    // Churn: every API connection runs cycles join_group(cK), bind_uid(uK), leave_group(cK),
    // unbind_uid on client K mod N, K fresh per cycle, so every operation is one bus subscribe or
    // unsubscribe on the owning worker (and its round trip http worker -> owner -> http worker).
    int run_churn() {
        std::vector<int> ids = clients_with_ids();
        if (ids.empty()) return finish_with_error("no client_id in the welcomes (welcome: json?)");
        ApiDriver api(o_, o_.api_conns, o_.pipeline);
        struct State {
            int step = 0;
            uint64_t k = 0;
        };
        std::vector<State> st(size_t(o_.api_conns));
        uint64_t cycles = 0;
        auto gen = [&](size_t i, std::string& path) {
            State& s = st[i];
            if (s.step == 0) s.k = cycles++;
            const std::string& id = client_ids_[size_t(ids[s.k % ids.size()])];
            std::string k = std::to_string(s.k);
            switch (s.step) {
                case 0: path = api_path("join_group", id, "group", "c" + k); break;
                case 1: path = api_path("bind_uid", id, "uid", "u" + k); break;
                case 2: path = api_path("leave_group", id, "group", "c" + k); break;
                default: path = api_path("unbind_uid", id); break;
            }
            s.step = (s.step + 1) % 4;
            return true;
        };
        begin_measure();
        ApiStats& r = api.run(gen, t0_ + uint64_t(o_.duration * 1e9),
                              t0_ + uint64_t((o_.duration + 10) * 1e9), "ok");
        end_measure();
        collect_reports();
        FinalReport total = totals();
        if (!r.first_error.empty()) fprintf(stderr, "loadgen: churn: %s\n", r.first_error.c_str());
        double secs = double(t1_ - t0_) / 1e9, scpu = server_cpu1_ - server_cpu0_,
               ccpu = client_cpu1_ - client_cpu0_;
        double other = std::max(0.0, (machine_cpu1_ - machine_cpu0_) - scpu - ccpu);
        double ops_s = secs > 0 ? double(r.answers) / secs : 0;
        double ms_per_1k = r.answers ? scpu * 1e6 / double(r.answers) : 0;
        std::string procs = comm_fields("cpu_by_proc", comm_cpu0_, comm_cpu1_, 1, "bus_cpu_s");
        size_t bp = procs.find("bus_cpu_s=");
        double bus = bp == std::string::npos ? 0 : atof(procs.c_str() + bp + 10);
        auto us = [&](double q) { return double(r.hist.percentile(q)) / 1000.0; };
        printf("bench mode=churn label=%s n=%d connected=%" PRIu64 " connect_fail=%" PRIu64
               " api_conns=%d pipeline=%d sent=%" PRIu64 " ops=%" PRIu64 " cycles=%" PRIu64
               " errors=%" PRIu64 " not_ok=%" PRIu64 " unanswered=%" PRIu64
               " reconnects=%" PRIu64 " secs=%.3f ops_per_s=%.0f server_procs=%zu"
               " server_cpu_s=%.2f cpu_ms_per_1k_ops=%.1f bus_cpu_share=%.3f client_cpu_s=%.2f"
               " other_cpu_s=%.2f api_p50_us=%.0f api_p99_us=%.0f api_max_us=%.0f closed=%" PRIu64
               "%s%s\n",
               o_.label.c_str(), o_.n, connected_, connect_failed_, o_.api_conns, o_.pipeline,
               r.sent, r.answers, cycles, r.errors, r.not_ok, r.sent - r.answers, r.reconnects,
               secs, ops_s, server_pids_.size(), scpu, ms_per_1k, scpu > 0 ? bus / scpu : 0,
               ccpu, other, us(0.5), us(0.99), double(r.hist.max()) / 1000.0, total.closed,
               procs.c_str(), client_fields(total).c_str());
        printf("# %s churn N=%" PRIu64 ": %" PRIu64 " API operations (join/bind/leave/unbind, "
               "fresh names) in %.2fs = %.0f/s, %.1f ms server CPU per 1k (bus %.0f%%), latency "
               "p50 %.0f us p99 %.0f us, %" PRIu64 " errors\n",
               o_.label.c_str(), connected_, r.answers, secs, ops_s, ms_per_1k,
               scpu > 0 ? 100 * bus / scpu : 0, us(0.5), us(0.99),
               r.errors + r.not_ok + (r.sent - r.answers));
        return 0;
    }

    // idle --identity 1: binds every client to user u<i> and groups g<i mod G>, g<(i+G/2) mod G>.
    void bind_identities() {
        std::vector<int> ids = clients_with_ids();
        uint64_t t = now_ns();
        ApiDriver api(o_, o_.api_conns, o_.pipeline);
        size_t next = 0;
        int G = o_.groups;
        ApiStats& st = api.run(
            [&](size_t, std::string& path) {
                if (next >= ids.size() * 3) return false;
                int g = ids[next / 3];
                const std::string& id = client_ids_[size_t(g)];
                switch (next++ % 3) {
                    case 0: path = api_path("bind_uid", id, "uid", "u" + std::to_string(g)); break;
                    case 1: path = api_path("join_group", id, "group", "g" + std::to_string(g % G)); break;
                    default:
                        path = api_path("join_group", id, "group", "g" + std::to_string((g + G / 2) % G));
                }
                return true;
            },
            UINT64_MAX, t + 300000000000ull, "ok");
        setup_secs_ = double(now_ns() - t) / 1e9;
        setup_ops_ = st.answers;
        setup_errors_ = st.errors + st.not_ok + (st.sent - st.answers);
        ident_clients_ = ids.size();
        if (!st.first_error.empty()) fprintf(stderr, "loadgen: identity: %s\n", st.first_error.c_str());
    }

    int run_idle() {
        uint64_t until = now_ns() + uint64_t(o_.hold * 1e9);
        while (now_ns() < until) pump(100);
        server_pids_ = resolve_server_pids(o_);
        uint64_t rss_after = sum_rss(server_pids_), pss_after = sum_pss(server_pids_);
        std::string ident;
        if (o_.identity) {
            auto rss_of = [](int p) { return double(proc_rss_bytes(p)) / 1024.0; };
            auto anon_by = by_comm(server_pids_, rss_of);
            bind_identities();
            until = now_ns() + uint64_t(o_.hold * 1e9);
            while (now_ns() < until) pump(100);
            server_pids_ = resolve_server_pids(o_);
            uint64_t rss_id = sum_rss(server_pids_), pss_id = sum_pss(server_pids_);
            auto id_by = by_comm(server_pids_, rss_of);
            double n = connected_ ? double(connected_) : 1;
            char b[512];
            snprintf(b, sizeof b,
                     " identity=1 groups=%d ident_clients=%" PRIu64 " ident_ops=%" PRIu64
                     " ident_errors=%" PRIu64 " ident_setup_s=%.2f ident_ops_per_s=%.0f"
                     " rss_ident_kb=%" PRIu64 " rss_ident_per_conn_b=%.0f pss_ident_per_conn_b=%.0f"
                     " ident_extra_per_conn_b=%.0f",
                     o_.groups, ident_clients_, setup_ops_, setup_errors_, setup_secs_,
                     setup_secs_ > 0 ? double(setup_ops_) / setup_secs_ : 0, rss_id / 1024,
                     (double(rss_id) - double(rss_before_)) / n,
                     (double(pss_id) - double(pss_before_)) / n,
                     (double(rss_id) - double(rss_after)) / n);
            ident = b;
            ident += comm_fields("ident_rss_delta_kb_by_proc", anon_by, id_by, 1, "ident_bus_rss_delta_kb");
            printf("# %s identity: %" PRIu64 " clients bound to a user and 2 of %d groups (%" PRIu64
                   " API operations in %.2fs, %" PRIu64 " errors): server RSS %.1f -> %.1f MiB, "
                   "%.0f B per connection (anonymous %.0f B)\n",
                   o_.label.c_str(), ident_clients_, o_.groups, setup_ops_, setup_secs_,
                   setup_errors_, rss_after / 1048576.0, rss_id / 1048576.0,
                   (double(rss_id) - double(rss_before_)) / n,
                   (double(rss_after) - double(rss_before_)) / n);
        }
        collect_reports();
        FinalReport total = totals();
        double per_conn =
            connected_ ? (double(rss_after) - double(rss_before_)) / double(connected_) : 0;
        double pss_per_conn =
            connected_ ? (double(pss_after) - double(pss_before_)) / double(connected_) : 0;
        printf("bench mode=idle label=%s n=%d connected=%" PRIu64 " connect_fail=%" PRIu64
               " connect_s=%.3f connect_rate=%.0f server_procs=%zu rss_before_kb=%" PRIu64
               " rss_after_kb=%" PRIu64 " rss_per_conn_b=%.0f pss_per_conn_b=%.0f closed=%" PRIu64
               " bad=%" PRIu64 "%s%s%s\n",
               o_.label.c_str(), o_.n, connected_, connect_failed_, connect_secs_, connect_rate(),
               server_pids_.size(), rss_before_ / 1024, rss_after / 1024, per_conn, pss_per_conn,
               total.closed, total.bad, transport_fields().c_str(), ident.c_str(),
               client_fields(total).c_str());
        print_transport_line();
        printf("# %s idle: %" PRIu64
               "/%d connected in %.2fs (%.0f conn/s), server RSS %.1f -> %.1f MiB "
               "over %zu processes = %.0f B per connection\n",
               o_.label.c_str(), connected_, o_.n, connect_secs_, connect_rate(),
               rss_before_ / 1048576.0, rss_after / 1048576.0, server_pids_.size(), per_conn);
        return 0;
    }

    double connect_rate() const {
        return connect_secs_ > 0 ? double(connected_) / connect_secs_ : 0;
    }

    FinalReport totals() {
        FinalReport t;
        for (auto& c : children_) {
            t.got += c.report.got;
            t.dup += c.report.dup;
            t.misdelivered += c.report.misdelivered;
            t.bad += c.report.bad;
            t.closed += c.report.closed;
            t.pings += c.report.pings;
            t.hist.merge(c.report.hist);
            t.rx_bytes += c.report.rx_bytes;
            t.compressed += c.report.compressed;
            t.inflated += c.report.inflated;
            t.cache_hits += c.report.cache_hits;
            t.inflate_checked += c.report.inflate_checked;
            t.inflate_bad += c.report.inflate_bad;
            t.closed_frame += c.report.closed_frame;
            t.closed_eof += c.report.closed_eof;
            t.closed_reset += c.report.closed_reset;
            t.close_kinds_other += c.report.close_kinds_other;
        }
        return t;
    }

    // For every mode's bench line: the client processes and their source addresses (at most
    // per_addr_cap connections each, kMaxConnsPerSourceAddr), and the welcomed clients the
    // server closed before the end of the run: how (close frame, end of stream, socket
    // error) and the close frames by code and reason ("1001:idle_timeout:12,...").
    std::string client_fields(const FinalReport& t, bool with_procs = true) {
        std::map<std::pair<int, std::string>, uint64_t> kinds;
        for (auto& c : children_)
            for (const CloseKind& k : c.report.close_kinds)
                if (k.n) kinds[{k.code, std::string(k.reason, strnlen(k.reason, sizeof k.reason))}] += k.n;
        std::string codes;
        for (auto& [kind, n] : kinds)
            codes += (codes.empty() ? "" : ",") + std::to_string(kind.first) + ":" +
                     (kind.second.empty() ? "-" : kind.second) + ":" + std::to_string(n);
        if (t.close_kinds_other) codes += (codes.empty() ? "" : ",") + std::string("other:") +
                                          std::to_string(t.close_kinds_other);
        char b[256];
        snprintf(b, sizeof b,
                 "%s src_addrs=%d per_addr_max=%d per_addr_cap=%d closed_by_server=%" PRIu64
                 " closed_how=frame:%" PRIu64 ",eof:%" PRIu64 ",reset:%" PRIu64 " close_codes=",
                 with_procs ? (" procs=" + std::to_string(children_.size())).c_str() : "",
                 src_addrs_, per_addr_max_, o_.per_addr, t.closed, t.closed_frame,
                 t.closed_eof, t.closed_reset);
        return b + (codes.empty() ? std::string("-") : codes);
    }

    // tls=, deflate= and what was negotiated, for the bench line (no spaces in values).
    std::string transport_fields() {
        char b[256];
        snprintf(b, sizeof b,
                 " tls=%d tls_failed=%" PRIu64
                 " tls_proto=%s deflate_offered=%d deflate_conns=%" PRIu64
                 " deflate_no_ctx_conns=%" PRIu64,
                 int(o_.tls), tls_failed_, tls_desc_.empty() ? "-" : tls_desc_.c_str(),
                 int(o_.deflate), deflate_conns_, no_ctx_conns_);
        return b;
    }

    void print_transport_line() {
        if (o_.tls)
            printf("# %s TLS: %s, %" PRIu64 " handshakes failed, certificate %s\n",
                   o_.label.c_str(), tls_desc_.empty() ? "none" : tls_desc_.c_str(), tls_failed_,
                   o_.tls_verify ? "verified" : "not verified");
        if (o_.deflate)
            printf("# %s permessage-deflate: offered '%s', negotiated on %" PRIu64 "/%" PRIu64
                   " connections (%" PRIu64 " with server_no_context_takeover), answer '%s'\n",
                   o_.label.c_str(), o_.deflate_offer.c_str(), deflate_conns_, connected_,
                   no_ctx_conns_, ext_desc_.c_str());
    }

    void print_results() {
        FinalReport t = totals();
        double secs = double(t1_ - t0_) / 1e9;
        double scpu = server_cpu1_ - server_cpu0_, ccpu = client_cpu1_ - client_cpu0_;
        uint64_t lost = expected_ > t.got ? expected_ - t.got : 0;
        // Busy CPU of everything else on the machine during the run (noise from other work).
        double other = std::max(0.0, (machine_cpu1_ - machine_cpu0_) - scpu - ccpu);
        uint64_t http_err = 0, not_exact = 0;
        for (auto& p : pubs_) http_err += p.errors, not_exact += p.not_exact;
        double dps = secs > 0 ? double(t.got) / secs : 0;
        double dpc = scpu > 0 ? double(t.got) / scpu : 0;
        auto us = [&](double q) { return double(t.hist.percentile(q)) / 1000.0; };
        printf("bench mode=%s label=%s n=%d payload=%zu connected=%" PRIu64 " connect_fail=%" PRIu64
               " connect_rate=%.0f published=%" PRIu64 " expected=%" PRIu64 " delivered=%" PRIu64
               " lost=%" PRIu64 " dup=%" PRIu64 " misdelivered=%" PRIu64 " bad=%" PRIu64
               " closed=%" PRIu64 " completed=%" PRIu64 " timed_out=%" PRIu64
               " http_errors=%" PRIu64 " http_not_exact=%" PRIu64
               " secs=%.3f deliveries_per_s=%.0f msgs_per_s=%.1f"
               " server_procs=%zu server_cpu_s=%.2f deliveries_per_cpu_s=%.0f client_cpu_s=%.2f "
               "other_cpu_s=%.2f"
               " p50_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f completion_p50_us=%.0f"
               " completion_p99_us=%.0f payload_kind=%s rx_bytes=%" PRIu64
               " rx_b_per_delivery=%.1f compressed=%" PRIu64 " inflated=%" PRIu64
               " inflate_cache_hits=%" PRIu64 " inflate_checked=%" PRIu64 " inflate_bad=%" PRIu64
               "%s%s%s%s\n",
               o_.mode.c_str(), o_.label.c_str(), o_.n, o_.payload, connected_, connect_failed_,
               connect_rate(), published_, expected_, t.got, lost, t.dup, t.misdelivered, t.bad,
               t.closed, completed_, timed_out_, http_err, not_exact, secs, dps,
               secs > 0 ? double(published_) / secs : 0, server_pids_.size(), scpu, dpc, ccpu,
               other, us(0.5), us(0.99), us(0.999), double(t.hist.max()) / 1000.0,
               double(completion_.percentile(0.5)) / 1000.0,
               double(completion_.percentile(0.99)) / 1000.0, o_.json ? "json" : "plain",
               t.rx_bytes, t.got ? double(t.rx_bytes) / double(t.got) : 0.0, t.compressed,
               t.inflated, t.cache_hits, t.inflate_checked, t.inflate_bad,
               transport_fields().c_str(),
               comm_fields("cpu_by_proc", comm_cpu0_, comm_cpu1_, 1, "bus_cpu_s").c_str(),
               group_fields().c_str(), client_fields(t).c_str());
        printf("# %s %s N=%" PRIu64 " payload=%zuB: %" PRIu64
               " msgs, %.0f deliveries/s, %.0f per server "
               "CPU-s (%.2f s on %zu procs), latency p50 %.0f us p99 %.0f us p99.9 %.0f us, lost "
               "%" PRIu64 " dup %" PRIu64 "\n",
               o_.label.c_str(), o_.mode.c_str(), connected_, o_.payload, published_, dps, dpc,
               scpu, server_pids_.size(), us(0.5), us(0.99), us(0.999), lost, t.dup);
        print_transport_line();
        if (o_.deflate || t.compressed)
            printf("# %s wire: %.1f B per delivery (socket bytes after the connect phase), %" PRIu64
                   " of %" PRIu64 " messages compressed, %" PRIu64 " inflated (%" PRIu64
                   " checked byte for byte, %" PRIu64 " bad), %" PRIu64 " recognised\n",
                   o_.label.c_str(), t.got ? double(t.rx_bytes) / double(t.got) : 0.0, t.compressed,
                   t.got + t.dup, t.inflated, t.inflate_checked, t.inflate_bad, t.cache_hits);
        else
            printf("# %s wire: %.1f B per delivery (socket bytes after the connect phase)\n",
                   o_.label.c_str(), t.got ? double(t.rx_bytes) / double(t.got) : 0.0);
    }

    // ---- issue #15: hand-over ----------------------------------------------------------------
    // Numbered broadcasts at --rate (open loop: a broadcast due while --window are in flight goes
    // as soon as one is answered, its payload keeping the time it was due) and a push by client id
    // to a sample client every --targeted-interval, while --during runs (reloads, an upgrade).
    // Then: every broadcast to every client once and in order, every push to its client once,
    // nobody closed, and the longest time a client went without a broadcast, per window.
    int run_handover() {
        std::vector<int> ids = clients_with_ids();
        if (ids.empty())
            return finish_with_error("no client_id in the welcomes (the server needs \"welcome\": \"json\")");
        if (!o_.ids_out.empty() && !write_ids(o_.ids_out)) return finish_with_error("--ids-out: cannot write");
        size_t S = std::min(ids.size(), size_t(o_.sample));
        for (size_t k = 0; k < S; k++) sample_.push_back(ids[k * ids.size() / S]);
        bpub_.init(o_, ep_, kSeqPubTag, [this](const SeqPublisher::Req&, bool ok, uint64_t t) {
            if (ok) b_answers_.push_back(t);
        });
        tpub_.init(o_, ep_, kSeqPubTag + 1, [this](const SeqPublisher::Req& r, bool ok, uint64_t) {
            if (!ok) return;
            t_ok_++;
            t_sent_to_[sample_[r.id % sample_.size()]]++;
        });
        begin_measure();
        uint64_t interval = uint64_t(1e9 / std::max(0.001, o_.rate));
        uint64_t t_interval = uint64_t(o_.targeted_interval * 1e9);
        uint64_t hard = t0_ + uint64_t(o_.duration * 1e9), stop_at = o_.during.empty() ? hard : UINT64_MAX;
        uint64_t next_b = t0_, next_t = t0_ + t_interval / 2, bseq = 0, tseq = 0;
        std::deque<uint64_t> due;
        for (;;) {
            uint64_t t = now_ns();
            if (t >= stop_at || t >= hard) break;
            if (!o_.during.empty() && during_pid_ < 0 && !during_done_ &&
                t >= t0_ + uint64_t(o_.during_delay * 1e9))
                start_during();
            while (next_b <= t) {
                due.push_back(next_b);
                next_b += interval;
            }
            while (!due.empty() && bpub_.in_flight() < size_t(o_.window)) {
                std::string content = make_payload_kind(o_.json, bseq, due.front(), -1, o_.payload);
                bpub_.send(bseq++, "/?content=" + url_encode(content));
                due.pop_front();
            }
            if (next_t <= t) {
                next_t += t_interval;
                if (tpub_.in_flight() < size_t(o_.window)) {
                    int g = sample_[tseq % sample_.size()];
                    std::string content = make_payload_kind(o_.json, tseq, t, g, o_.payload);
                    tpub_.send(tseq++, "/?to_client_id=" + url_encode(client_ids_[size_t(g)]) +
                                           "&content=" + url_encode(content));
                } else {
                    t_skipped_++;
                }
            }
            bpub_.check_timeout(t);
            tpub_.check_timeout(t);
            if (during_done_ && stop_at == UINT64_MAX) stop_at = during_end_ns_ + uint64_t(o_.tail * 1e9);
            uint64_t wake = std::min({next_b, next_t, stop_at});
            pump(wake > t ? int(std::min<uint64_t>((wake - t) / 1000000 + 1, 10)) : 0);
        }
        t_stop_ = now_ns();
        if (during_pid_ > 0) {  // still running at --duration: stopped, and said so
            fprintf(stderr, "loadgen: --during still running after --duration %.0f s: killed\n", o_.duration);
            kill(-during_pid_, SIGTERM);
            waitpid(during_pid_, nullptr, 0);
            during_pid_ = -1;
            during_rc_ = -2;
        }
        published_ = bseq;
        targeted_published_ = tseq;
        // What is in flight is answered (or sent again) within 30 s.
        uint64_t deadline = now_ns() + 30000000000ull;
        while ((bpub_.in_flight() || tpub_.in_flight()) && now_ns() < deadline) {
            pump(10);
            bpub_.check_timeout(now_ns());
            tpub_.check_timeout(now_ns());
        }
        expected_ = uint64_t(b_answers_.size()) * connected_ + t_ok_;
        drain();
        end_measure();
        if (!o_.after.empty()) {
            int rc = system(o_.after.c_str());
            after_rc_ = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
        }
        collect_reports();
        print_handover();
        return 0;
    }

    // "ADDR:PORT WORKER CONNECTION CLIENT_ID" per welcomed client, for a comparison with
    // `pusher connections --json` (its "peer", "worker_id", "connection_id").
    bool write_ids(const std::string& path) {
        FILE* f = fopen(path.c_str(), "w");
        if (!f) return false;
        std::map<int, WelcomeId> welcome(targets_.begin(), targets_.end());
        for (size_t ci = 0; ci < children_.size(); ci++) {
            Child& c = children_[ci];
            for (size_t k = 0; k < c.ports.size(); k++) {
                int g = c.first_global + int(k);
                auto it = welcome.find(g);
                if (!c.ports[k] || it == welcome.end()) continue;
                fprintf(f, "127.0.0.%d:%u %u %u %s\n",
                        src_octet(o_, int(ci), c.count, int(k)), c.ports[k],
                        it->second.worker, it->second.conn,
                        size_t(g) < client_ids_.size() ? client_ids_[size_t(g)].c_str() : "-");
            }
        }
        return fclose(f) == 0;
    }

    void start_during() {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) die("pipe2");
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) {
            setpgid(0, 0);  // its own group: a hung command is stopped with everything it started
            dup2(p[1], 1);
            execl("/bin/sh", "sh", "-c", o_.during.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        close(p[1]);
        during_fd_ = p[0];
        during_pid_ = pid;
        set_nonblock(during_fd_);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = kDuringTag;
        epoll_ctl(ep_, EPOLL_CTL_ADD, during_fd_, &ev);
    }

    // The command's lines: "mark begin NAME" / "mark end NAME" open and close a window (told to
    // every client process at once); every line is echoed with its time since the start.
    void read_during() {
        char buf[4096];
        bool eof = false;
        for (;;) {
            ssize_t r = read(during_fd_, buf, sizeof buf);
            if (r > 0) {
                during_buf_.append(buf, size_t(r));
                continue;
            }
            if (r < 0 && errno == EINTR) continue;
            eof = r == 0 || errno != EAGAIN;
            break;
        }
        uint64_t t = now_ns();
        for (size_t e; (e = during_buf_.find('\n')) != std::string::npos;) {
            std::string line = during_buf_.substr(0, e);
            during_buf_.erase(0, e + 1);
            printf("# during +%.3fs: %s\n", double(t - t0_) / 1e9, line.c_str());
            char what[16], name[64];
            if (sscanf(line.c_str(), "mark %15s %63s", what, name) != 2) continue;
            MarkMsg m{0, 0, t};
            if (!strcmp(what, "begin") && windows_.size() < size_t(kMaxWindows)) {
                m.window = uint32_t(windows_.size());
                windows_.push_back({name, t, 0});
            } else if (!strcmp(what, "end")) {
                size_t w = windows_.size();
                while (w > 0 && !(windows_[w - 1].name == name && windows_[w - 1].end == 0)) w--;
                if (w == 0) continue;
                windows_[w - 1].end = t;
                m.window = uint32_t(w - 1);
                m.is_end = 1;
            } else {
                continue;
            }
            for (auto& c : children_) send_msg(c.fd, kMark, &m, sizeof m);
        }
        if (!eof) return;
        epoll_ctl(ep_, EPOLL_CTL_DEL, during_fd_, nullptr);
        close(during_fd_);
        during_fd_ = -1;
        int status = 0;
        waitpid(during_pid_, &status, 0);
        during_rc_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        during_pid_ = -1;
        during_done_ = true;
        during_end_ns_ = t;
    }

    // The longest time between two answered broadcasts overlapping [from, to).
    uint64_t publisher_gap(uint64_t from, uint64_t to) const {
        uint64_t m = 0;
        for (size_t k = 1; k < b_answers_.size(); k++)
            if (b_answers_[k - 1] < to && b_answers_[k] > from)
                m = std::max(m, b_answers_[k] - b_answers_[k - 1]);
        return m;
    }

    void print_handover() {
        FinalReport t = totals();
        HandoverReport h;
        uint64_t dup_of_resent = 0, dup_seqs = 0;
        bool dup_listed = true;
        for (auto& c : children_) {
            if (!c.ho) continue;
            HandoverReport& x = *c.ho;
            h.out_of_order += x.out_of_order;
            h.targeted_got += x.targeted_got;
            h.targeted_dup += x.targeted_dup;
            h.closed_frame += x.closed_frame;
            if (x.first_close_ns && (!h.first_close_ns || x.first_close_ns < h.first_close_ns))
                h.first_close_ns = x.first_close_ns;
            if (h.first_close_code < 0) h.first_close_code = x.first_close_code;
            if (x.gap_max_ns > h.gap_max_ns) {
                h.gap_max_ns = x.gap_max_ns;
                h.gap_max_end_ns = x.gap_max_end_ns;
            }
            h.gap_conns += x.gap_conns;
            h.gap_hist.merge(x.gap_hist);
            for (int w = 0; w < kMaxWindows; w++) {
                h.win_max_ns[w] = std::max(h.win_max_ns[w], x.win_max_ns[w]);
                h.win_hist[w].merge(x.win_hist[w]);
            }
            dup_seqs += x.dup_seqs;
            dup_listed = dup_listed && x.dup_seqs <= uint64_t(kMaxDupSeqs);
            for (uint64_t k = 0; k < std::min<uint64_t>(x.dup_seqs, kMaxDupSeqs); k++)
                if (bpub_.resent_ids.count(x.dup_seq[k])) dup_of_resent += x.dup_count[k];
        }
        uint64_t reports = 0;
        for (auto& c : children_) reports += c.ho != nullptr;
        double secs = double(t_stop_ - t0_) / 1e9;
        uint64_t b_expected = uint64_t(b_answers_.size()) * connected_;
        uint64_t lost = b_expected > t.got ? b_expected - t.got : 0;
        uint64_t t_lost = t_ok_ > h.targeted_got ? t_ok_ - h.targeted_got : 0;
        // Per target: what a client that stayed connected did not get is lost; what a closed one
        // did not get was (mostly) sent after its close.
        uint64_t t_lost_open = 0, t_lost_closed = 0, t_closed_targets = 0;
        bool t_known = true;
        for (auto& [g, sent] : t_sent_to_) {
            uint32_t v = UINT32_MAX;
            for (auto& c : children_)
                if (g >= c.first_global && g < c.first_global + c.count &&
                    size_t(g - c.first_global) < c.targets.size())
                    v = c.targets[size_t(g - c.first_global)];
            if (v == UINT32_MAX) {
                t_known = false;
                continue;
            }
            uint64_t got = v & 0x7fffffffu, miss = sent > got ? sent - got : 0;
            if (v >> 31)
                t_lost_closed += miss, t_closed_targets++;
            else
                t_lost_open += miss;
        }
        double ccpu = client_cpu1_ - client_cpu0_;  // (the server's processes change: not summed)
        auto ms = [](uint64_t ns) { return double(ns) / 1e6; };
        std::string win;
        char b[512];
        for (size_t w = 0; w < windows_.size(); w++) {
            const Window& x = windows_[w];
            uint64_t end = x.end ? x.end : t_stop_;
            snprintf(b, sizeof b,
                     " w%zu=%s w%zu_at_s=%.3f w%zu_s=%.3f w%zu_gap_max_ms=%.1f w%zu_gap_p99_ms=%.1f"
                     " w%zu_gap_p50_ms=%.1f w%zu_pub_gap_ms=%.1f",
                     w + 1, x.name.c_str(), w + 1, double(x.begin - t0_) / 1e9, w + 1,
                     double(end - x.begin) / 1e9, w + 1, ms(h.win_max_ns[w]), w + 1,
                     ms(h.win_hist[w].percentile(0.99)), w + 1, ms(h.win_hist[w].percentile(0.5)),
                     w + 1, ms(publisher_gap(x.begin, end)));
            win += b;
        }
        std::string gap_window = "-";  // the windows the longest gap ended in
        for (auto& x : windows_)
            if (h.gap_max_end_ns >= x.begin && (!x.end || h.gap_max_end_ns - h.gap_max_ns < x.end))
                gap_window = gap_window == "-" ? x.name : gap_window + "," + x.name;
        printf("bench mode=handover label=%s n=%d procs=%zu connected=%" PRIu64 " connect_fail=%" PRIu64
               " connect_rate=%.0f rate=%.1f window=%d payload=%zu secs=%.3f published=%" PRIu64
               " published_ok=%zu expected=%" PRIu64 " delivered=%" PRIu64 " lost=%" PRIu64
               " dup=%" PRIu64 " dup_of_resent=%" PRIu64 " dup_seqs=%" PRIu64 " dup_classified=%d"
               " out_of_order=%" PRIu64 " misdelivered=%" PRIu64 " bad=%" PRIu64 " closed=%" PRIu64
               " closed_frame=%" PRIu64 " closed_eof=%" PRIu64 " first_close_code=%" PRId64
               " first_close_at_s=%.3f targeted_sent=%" PRIu64 " targeted_ok=%" PRIu64
               " targeted_received=%" PRIu64 " targeted_lost=%" PRIu64 " targeted_dup=%" PRIu64
               " targeted_lost_open=%" PRIu64 " targeted_lost_closed=%" PRIu64
               " targeted_closed_clients=%" PRIu64 " targeted_per_client=%d"
               " targeted_skipped=%" PRIu64 " sample=%zu http_reconnects=%" PRIu64
               " http_resent=%" PRIu64 " http_not_ok=%" PRIu64 " http_unanswered=%zu"
               " http_p99_ms=%.1f http_max_ms=%.1f gap_max_ms=%.1f gap_p99_ms=%.1f gap_p50_ms=%.1f"
               " gap_max_at_s=%.3f gap_max_in=%s gap_clients=%" PRIu64 " pub_gap_max_ms=%.1f"
               " lat_p50_ms=%.1f lat_p99_ms=%.1f lat_max_ms=%.1f during_rc=%d after_rc=%d"
               " reports=%" PRIu64 "/%zu client_cpu_s=%.2f windows=%zu%s%s\n",
               o_.label.c_str(), o_.n, children_.size(), connected_, connect_failed_, connect_rate(),
               o_.rate, o_.window, o_.payload, secs, published_, b_answers_.size(), b_expected,
               t.got, lost, t.dup, dup_of_resent, dup_seqs, int(dup_listed), h.out_of_order,
               t.misdelivered, t.bad, t.closed, h.closed_frame, t.closed - std::min(t.closed, h.closed_frame),
               h.first_close_code, h.first_close_ns ? double(h.first_close_ns - t0_) / 1e9 : 0.0,
               targeted_published_, t_ok_, h.targeted_got, t_lost, h.targeted_dup, t_lost_open,
               t_lost_closed, t_closed_targets, int(t_known), t_skipped_,
               sample_.size(), bpub_.reconnects + tpub_.reconnects, bpub_.resent + tpub_.resent,
               bpub_.not_ok + tpub_.not_ok, bpub_.in_flight() + tpub_.in_flight(),
               ms(bpub_.answer_hist.percentile(0.99)), ms(bpub_.answer_hist.max()),
               ms(h.gap_max_ns), ms(h.gap_hist.percentile(0.99)), ms(h.gap_hist.percentile(0.5)),
               h.gap_max_end_ns ? double(h.gap_max_end_ns - t0_) / 1e9 : 0.0, gap_window.c_str(),
               h.gap_conns, ms(publisher_gap(t0_, t_stop_)), ms(t.hist.percentile(0.5)),
               ms(t.hist.percentile(0.99)), ms(t.hist.max()), during_rc_, after_rc_, reports,
               children_.size(), ccpu, windows_.size(), win.c_str(), client_fields(t, false).c_str());
        printf("# %s handover N=%" PRIu64 " in %zu client processes, %.1f s at %.0f msg/s: %zu "
               "broadcasts, lost %" PRIu64 " dup %" PRIu64 " (%" PRIu64 " of requests sent again)"
               " out of order %" PRIu64 ", closed %" PRIu64 ", pushes by client id %" PRIu64
               " sent / %" PRIu64 " received (not received: %" PRIu64 " by clients still connected, %"
               PRIu64 " by closed ones); longest gap %.1f ms (p99 of per-client max %.1f ms)\n",
               o_.label.c_str(), connected_, children_.size(), secs, o_.rate, b_answers_.size(), lost,
               t.dup, dup_of_resent, h.out_of_order, t.closed, t_ok_, h.targeted_got, t_lost_open,
               t_lost_closed,
               ms(h.gap_max_ns), ms(h.gap_hist.percentile(0.99)));
        for (size_t w = 0; w < windows_.size(); w++) {
            const Window& x = windows_[w];
            uint64_t end = x.end ? x.end : t_stop_;
            printf("# %s   window %-10s +%7.3fs %6.3fs: longest gap %.1f ms, p99 of per-client max "
                   "%.1f ms, publisher's longest gap %.1f ms\n",
                   o_.label.c_str(), x.name.c_str(), double(x.begin - t0_) / 1e9,
                   double(end - x.begin) / 1e9, ms(h.win_max_ns[w]),
                   ms(h.win_hist[w].percentile(0.99)), ms(publisher_gap(x.begin, end)));
        }
        if (!bpub_.first_error.empty() || !tpub_.first_error.empty())
            fprintf(stderr, "loadgen: first publish error: %s%s\n", bpub_.first_error.c_str(),
                    tpub_.first_error.c_str());
    }

    // ---- issue #16: one million clients ------------------------------------------------------
    // What every client process has so far: deliveries, and welcomed clients closed by the
    // server (a child that does not answer within 5 s counts with its last answer).
    struct Snap {
        uint64_t got = 0, closed = 0;
    };
    Snap snapshot() {
        for (auto& c : children_) {
            c.progress_fresh = false;
            send_msg(c.fd, kStatus, nullptr, 0);
        }
        uint64_t deadline = now_ns() + 5000000000ull;
        auto all_fresh = [&] {
            for (auto& c : children_)
                if (!c.progress_fresh) return false;
            return true;
        };
        while (!all_fresh() && now_ns() < deadline) pump(10);
        Snap s;
        for (auto& c : children_) s.got += c.progress, s.closed += c.progress_closed;
        return s;
    }

    // The most socket buffer memory (sockstat "TCP mem", pages) seen during the broadcasts,
    // sampled every 100 ms at most: near net.ipv4.tcp_mem's pressure threshold a fan-out to 1M
    // stalls.
    void sample_tcp_mem() {
        uint64_t t = now_ns();
        if (t - last_mem_sample_ns_ < 100000000ull) return;
        last_mem_sample_ns_ = t;
        tcp_mem_peak_ = std::max(tcp_mem_peak_, kernel_tcp_mem_pages());
    }

    void pump_until(uint64_t t) {
        for (uint64_t n; (n = now_ns()) < t;)
            pump(int(std::min<uint64_t>((t - n) / 1000000 + 1, 100)));
    }

    // Connect (done), idle hold, --broadcasts closed-loop broadcasts to all, then a numbered
    // broadcast every --every s for --period-duration s; then the drain and one report.
    int run_million() {
        if (connected_ == 0) return finish_with_error("no client connected");
        double ccpu0 = client_cpu();
        Snap s_conn = snapshot();
        printf("# %s million: %" PRIu64 "/%d connected in %.1fs (%.0f conn/s), %zu processes, "
               "%d source addresses, at most %d connections on one; holding %.0fs\n",
               o_.label.c_str(), connected_, o_.n, connect_secs_, connect_rate(), children_.size(),
               src_addrs_, per_addr_max_, o_.hold);

        // (b) the idle hold: server CPU over its last --cpu-window seconds, then memory.
        uint64_t h0 = now_ns(), h1 = h0 + uint64_t(o_.hold * 1e9);
        double win = std::min(o_.cpu_window, o_.hold);
        pump_until(h1 - uint64_t(win * 1e9));
        server_pids_ = resolve_server_pids(o_);
        std::vector<int> cpu_pids = server_pids_;
        double ka_cpu0 = sum_cpu(cpu_pids);
        uint64_t ka_t0 = now_ns();
        pump_until(h1);
        double ka_cpu1 = sum_cpu(cpu_pids);
        uint64_t ka_t1 = now_ns();
        size_t ka_procs_now = resolve_server_pids(o_).size();
        server_pids_ = resolve_server_pids(o_);
        uint64_t rss_after = sum_rss(server_pids_), pss_after = sum_pss(server_pids_);
        KernelMem km1 = kernel_mem();
        Snap s_hold = snapshot();
        double ka_secs = double(ka_t1 - ka_t0) / 1e9, ka_cpu = ka_cpu1 - ka_cpu0;
        printf("# %s million: hold over, server CPU %.2fs in the last %.1fs (%.3f cores), "
               "%" PRIu64 " closed so far; broadcasting\n",
               o_.label.c_str(), ka_cpu, ka_secs, ka_secs > 0 ? ka_cpu / ka_secs : 0, s_hold.closed);

        // (c) closed loop: one broadcast at a time, the next once every client has it (or
        // --msg-timeout).
        open_publishers();
        double bc_cpu0 = sum_cpu(server_pids_);
        uint64_t bc_t0 = now_ns(), seq = 0;
        std::vector<uint64_t> sent_ns;  // per broadcast number: its publish (or due) time
        for (int k = 0; k < o_.broadcasts; k++) {
            uint64_t give_up = now_ns() + uint64_t(o_.msg_timeout * 1e9);
            Publisher* p = nullptr;
            while (!(p = free_publisher()) && now_ns() < give_up) pump(10);
            if (!p) break;
            uint64_t t = now_ns();
            in_flight_[seq] = {0, t};
            sent_ns.push_back(t);
            publish(*p, seq++, t, nullptr);
            while (!in_flight_.empty()) {
                pump(10);
                sample_tcp_mem();
                give_up_on_stuck_messages();
            }
        }
        uint64_t bc_t1 = now_ns();
        double bc_cpu1 = sum_cpu(server_pids_);
        uint64_t bc_published = seq;
        Snap s_bc = snapshot();

        // (d) periodic: open loop, every --every s (a broadcast due while no publisher is free
        // goes as soon as one is, with the time it was due in its payload).
        double p_cpu0 = sum_cpu(server_pids_);
        uint64_t every = uint64_t(o_.every * 1e9), p_t0 = now_ns(),
                 p_end = p_t0 + uint64_t(o_.period_duration * 1e9), next = p_t0;
        std::deque<uint64_t> due;
        for (;;) {
            uint64_t t = now_ns();
            while (next < p_end && next <= t) {
                due.push_back(next);
                next += every;
            }
            while (!due.empty()) {
                Publisher* p = free_publisher();
                if (!p) break;
                sent_ns.push_back(due.front());
                publish(*p, seq++, due.front(), nullptr);
                due.pop_front();
            }
            if (next >= p_end && due.empty()) break;
            if (t > p_end + uint64_t(o_.msg_timeout * 1e9)) break;  // publishers stuck
            sample_tcp_mem();
            pump(next > t ? int(std::min<uint64_t>((next - t) / 1000000 + 1, 10)) : 1);
        }
        uint64_t p_unpublished = due.size(), p_published = seq - bc_published;
        published_ = seq;
        // Drain: until every client has every number, or nothing arrived for 10 s while some
        // client was closed, or --drain-timeout.
        expected_ = published_ * connected_;
        uint64_t drain_end = now_ns() + uint64_t(o_.drain_timeout * 1e9), moved = now_ns();
        Snap s_end = snapshot();
        while (s_end.got < expected_ && now_ns() < drain_end) {
            pump(200);
            sample_tcp_mem();
            Snap s2 = snapshot();
            if (s2.got != s_end.got) moved = now_ns();
            s_end = s2;
            if (s_end.closed > 0 && now_ns() - moved > 10000000000ull) break;
        }
        uint64_t p_t1 = now_ns();
        double p_cpu1 = sum_cpu(server_pids_);
        uint64_t answer_deadline = now_ns() + 2000000000ull;
        while (free_publisher_count() < pubs_.size() && now_ns() < answer_deadline) pump(10);
        double ccpu1 = client_cpu();
        collect_reports();
        FinalReport t = totals();

        // Per broadcast number over all processes.
        std::vector<SeqStat> seqs(static_cast<size_t>(published_));
        Histogram lat[2];
        std::vector<uint32_t> pings;
        uint64_t reports = 0;
        for (auto& c : children_) {
            if (c.million.size() < sizeof(MillionHdr)) continue;
            reports++;
            auto hdr = std::make_unique<MillionHdr>();
            memcpy(hdr.get(), c.million.data(), sizeof(MillionHdr));
            size_t need = sizeof(MillionHdr) + hdr->nseq * sizeof(SeqStat) + hdr->nsec * sizeof(uint32_t);
            if (c.million.size() < need) continue;
            lat[0].merge(hdr->hist[0]);
            lat[1].merge(hdr->hist[1]);
            const char* p = c.million.data() + sizeof(MillionHdr);
            for (uint32_t k = 0; k < hdr->nseq; k++, p += sizeof(SeqStat)) {
                SeqStat x;
                memcpy(&x, p, sizeof x);
                if (k >= seqs.size()) {
                    t.misdelivered += x.got;  // a number never published
                    continue;
                }
                SeqStat& a = seqs[k];
                a.got += x.got;
                a.dup += x.dup;
                a.out_of_order += x.out_of_order;
                if (x.got) {
                    a.first_ns = a.first_ns ? std::min(a.first_ns, x.first_ns) : x.first_ns;
                    a.last_ns = std::max(a.last_ns, x.last_ns);
                }
            }
            if (pings.size() < hdr->nsec) pings.resize(hdr->nsec, 0);
            for (uint32_t k = 0; k < hdr->nsec; k++, p += sizeof(uint32_t)) {
                uint32_t v;
                memcpy(&v, p, sizeof v);
                pings[k] += v;
            }
        }
        auto ms = [](uint64_t ns) { return double(ns) / 1e6; };
        auto reach = [&](uint64_t k) {  // publish (due) time -> the last client got it
            return seqs[k].last_ns > sent_ns[k] ? seqs[k].last_ns - sent_ns[k] : 0;
        };
        // (c) figures
        std::string per_b;
        uint64_t bc_got = 0, bc_dup = 0, bc_ooo = 0, bc_reach_max = 0, bc_incomplete = 0;
        char b[512];
        for (uint64_t k = 0; k < bc_published; k++) {
            const SeqStat& x = seqs[k];
            uint64_t lost = connected_ > x.got ? connected_ - x.got : 0;
            bc_got += x.got, bc_dup += x.dup, bc_ooo += x.out_of_order;
            bc_incomplete += lost > 0;
            bc_reach_max = std::max(bc_reach_max, reach(k));
            if (k < 10) {
                snprintf(b, sizeof b,
                         " b%" PRIu64 "_delivered=%" PRIu64 " b%" PRIu64 "_lost=%" PRIu64
                         " b%" PRIu64 "_dup=%" PRIu64 " b%" PRIu64 "_reach_ms=%.1f",
                         k + 1, x.got, k + 1, lost, k + 1, x.dup, k + 1, ms(reach(k)));
                per_b += b;
            }
        }
        uint64_t bc_expected = bc_published * connected_;
        double bc_cpu = bc_cpu1 - bc_cpu0;
        // (d) figures
        uint64_t p_got = 0, p_dup = 0, p_ooo = 0, p_incomplete = 0;
        std::vector<double> p_reach;
        for (uint64_t k = bc_published; k < published_; k++) {
            const SeqStat& x = seqs[k];
            p_got += x.got, p_dup += x.dup, p_ooo += x.out_of_order;
            p_incomplete += x.got < connected_;
            p_reach.push_back(ms(reach(k)));
        }
        std::sort(p_reach.begin(), p_reach.end());
        auto pct = [](const std::vector<double>& v, double q) {
            if (v.empty()) return 0.0;
            size_t i = size_t(q * double(v.size()));
            return v[std::min(i, v.size() - 1)];
        };
        uint64_t p_expected = p_published * connected_;
        // Pings per second: whole seconds inside the hold, and inside its last --cpu-window.
        auto sec_of = [](uint64_t ns) { return (ns - std::min(ns, g_epoch_ns)) / 1000000000ull; };
        uint64_t hs0 = sec_of(h0) + 1, hs1 = sec_of(h1), ws0 = sec_of(ka_t0) + 1;
        uint64_t pings_hold = 0, w_sum = 0, w_n = 0, w_max = 0, w_min = UINT64_MAX;
        double w_sq = 0;
        std::string series;
        for (uint64_t k = hs0; k < hs1; k++) {
            uint64_t v = k < pings.size() ? pings[k] : 0;
            pings_hold += v;
            series += (series.empty() ? "" : ",") + std::to_string(v);
            if (k >= ws0) {
                w_sum += v, w_n++, w_max = std::max(w_max, v), w_min = std::min(w_min, v);
                w_sq += double(v) * double(v);
            }
        }
        double w_mean = w_n ? double(w_sum) / double(w_n) : 0;
        double w_cv = w_n && w_mean > 0 ? sqrt(std::max(0.0, w_sq / double(w_n) - w_mean * w_mean)) / w_mean : 0;
        if (!w_n) w_min = 0;
        // Memory
        double n = double(connected_);
        double rss_pc = (double(rss_after) - double(rss_before_)) / n;
        double pss_pc = (double(pss_after) - double(pss_before_)) / n;
        double slab_pp = (double(km1.slab_kb) - double(kmem0_.slab_kb)) * 1024 / n;
        double unrecl_pp = (double(km1.sunreclaim_kb) - double(kmem0_.sunreclaim_kb)) * 1024 / n;
        double sockmem_pp = (double(km1.tcp_mem_pages) - double(kmem0_.tcp_mem_pages)) *
                            double(sysconf(_SC_PAGESIZE)) / n;
        std::vector<std::pair<double, std::string>> grew;
        for (auto& [name, bytes] : km1.caches) {
            auto it = kmem0_.caches.find(name);
            double d = double(bytes) - double(it == kmem0_.caches.end() ? 0 : it->second);
            if (d > 0) grew.push_back({d / n, name});
        }
        std::sort(grew.rbegin(), grew.rend());
        // The caches a socket pair itself allocates (both socks, their inodes, dentries and
        // files, the epoll items of both ends): the slab figure without what other work on the
        // machine grew meanwhile (e.g. proc_inode_cache from whatever walks /proc).
        static const char* const kSocketCaches[] = {
            "TCP", "sock_inode_cache", "dentry", "filp", "eventpoll_epi", "eventpoll_pwq",
            "lsm_file_cache", "lsm_inode_cache", "tcp_bind_bucket", "tcp_bind2_bucket",
            "inet_peer_cache", "skbuff_head_cache", "skbuff_fclone_cache"};
        double sock_caches_pp = 0;
        for (const char* name : kSocketCaches)
            for (auto& [pp, cache] : grew)
                if (cache == name) sock_caches_pp += pp;
        std::string top;
        for (size_t k = 0; k < grew.size() && k < 8; k++) {
            snprintf(b, sizeof b, "%s%s:%.0f", top.empty() ? "" : ",", grew[k].second.c_str(), grew[k].first);
            top += b;
        }
        uint64_t http_err = 0;
        for (auto& p : pubs_) http_err += p.errors;
        uint64_t closed_hold = s_hold.closed - std::min(s_hold.closed, s_conn.closed);
        uint64_t closed_bc = s_bc.closed - std::min(s_bc.closed, s_hold.closed);
        uint64_t closed_p = s_end.closed - std::min(s_end.closed, s_bc.closed);
        double p_cpu = p_cpu1 - p_cpu0, p_secs = double(p_t1 - p_t0) / 1e9;

        printf("bench mode=million label=%s n=%d connected=%" PRIu64 " connect_fail=%" PRIu64
               " connect_s=%.3f connect_rate=%.0f server_procs=%zu hold_s=%.1f rss_before_kb=%" PRIu64
               " rss_after_kb=%" PRIu64 " rss_per_conn_b=%.0f pss_per_conn_b=%.0f"
               " kmem_src=meminfo_Slab+sockstat_TCP_mem kern_slab_per_pair_b=%.0f"
               " kern_slab_unreclaim_per_pair_b=%.0f kern_sockmem_per_pair_b=%.0f"
               " kern_per_pair_b=%.0f kern_socket_caches_per_pair_b=%.0f kern_slab_top=%s"
               " keepalive_window_s=%.1f keepalive_server_cpu_s=%.3f keepalive_cores=%.4f"
               " keepalive_server_procs=%zu/%zu pings_hold=%" PRIu64 " pings_win_s=%" PRIu64
               " pings_per_s_mean=%.1f pings_per_s_max=%" PRIu64 " pings_per_s_min=%" PRIu64
               " pings_per_s_cv=%.3f pings_total=%" PRIu64
               " bcasts=%" PRIu64 " bcast_expected=%" PRIu64 " bcast_delivered=%" PRIu64
               " bcast_lost=%" PRIu64 " bcast_dup=%" PRIu64 " bcast_out_of_order=%" PRIu64
               " bcast_incomplete=%" PRIu64 " bcast_timed_out=%" PRIu64 " bcast_reach_max_ms=%.1f"
               " bcast_secs=%.3f bcast_server_cpu_s=%.3f bcast_cpu_us_per_delivery=%.3f%s"
               " p_every_s=%.2f p_duration_s=%.1f p_published=%" PRIu64 " p_unpublished=%" PRIu64
               " p_expected=%" PRIu64 " p_delivered=%" PRIu64 " p_lost=%" PRIu64 " p_dup=%" PRIu64
               " p_out_of_order=%" PRIu64 " p_incomplete=%" PRIu64 " p_reach_p50_ms=%.1f"
               " p_reach_p99_ms=%.1f p_reach_max_ms=%.1f p_lat_p50_ms=%.1f p_lat_p99_ms=%.1f"
               " p_server_cpu_s=%.2f p_secs=%.1f p_closed_by_server=%" PRIu64
               " closed_connect=%" PRIu64 " closed_hold=%" PRIu64 " closed_bcast=%" PRIu64
               " expected=%" PRIu64 " delivered=%" PRIu64 " lost=%" PRIu64 " dup=%" PRIu64
               " misdelivered=%" PRIu64 " bad=%" PRIu64 " http_errors=%" PRIu64
               " client_cpu_s=%.2f reports=%" PRIu64 "/%zu tcp_mem_peak_pages=%" PRIu64
               " tcp_mem_limits=%s%s\n",
               o_.label.c_str(), o_.n, connected_, connect_failed_, connect_secs_, connect_rate(),
               server_pids_.size(), o_.hold, rss_before_ / 1024, rss_after / 1024, rss_pc, pss_pc,
               slab_pp, unrecl_pp, sockmem_pp, slab_pp + sockmem_pp, sock_caches_pp,
               top.empty() ? "-" : top.c_str(),
               ka_secs, ka_cpu, ka_secs > 0 ? ka_cpu / ka_secs : 0, cpu_pids.size(), ka_procs_now,
               pings_hold, w_n, w_mean, w_max, w_min, w_cv, t.pings, bc_published, bc_expected, bc_got,
               bc_expected > bc_got ? bc_expected - bc_got : 0, bc_dup, bc_ooo, bc_incomplete,
               timed_out_, ms(bc_reach_max), double(bc_t1 - bc_t0) / 1e9, bc_cpu,
               bc_got ? bc_cpu * 1e6 / double(bc_got) : 0, per_b.c_str(), o_.every,
               o_.period_duration, p_published, p_unpublished, p_expected, p_got,
               p_expected > p_got ? p_expected - p_got : 0, p_dup, p_ooo, p_incomplete,
               pct(p_reach, 0.5), pct(p_reach, 0.99), p_reach.empty() ? 0 : p_reach.back(),
               ms(lat[1].percentile(0.5)), ms(lat[1].percentile(0.99)), p_cpu, p_secs, closed_p,
               s_conn.closed, closed_hold, closed_bc, expected_, t.got,
               expected_ > t.got ? expected_ - t.got : 0, t.dup, t.misdelivered, t.bad, http_err,
               ccpu1 - ccpu0, reports, children_.size(), tcp_mem_peak_, tcp_mem_limits().c_str(),
               client_fields(t).c_str());
        printf("# %s million N=%" PRIu64 " (%d asked, %" PRIu64 " failed) connected in %.1fs at %.0f/s"
               " over %zu processes and %d source addresses (max %d per address)\n",
               o_.label.c_str(), connected_, o_.n, connect_failed_, connect_secs_, connect_rate(),
               children_.size(), src_addrs_, per_addr_max_);
        printf("# %s   idle %.0fs: server RSS %.1f -> %.1f MiB = %.0f B per connection (PSS %.0f B);"
               " kernel %.0f B per socket pair (slab %.0f B of which unreclaimable %.0f B, socket"
               " buffers %.0f B; machine-wide /proc/meminfo Slab and /proc/net/sockstat TCP mem"
               " deltas from before the connect phase to the end of the hold)\n",
               o_.label.c_str(), o_.hold, rss_before_ / 1048576.0, rss_after / 1048576.0, rss_pc,
               pss_pc, slab_pp + sockmem_pp, slab_pp, unrecl_pp, sockmem_pp);
        printf("# %s   slab caches that grew, bytes per socket pair: %s (the socket's own caches: "
               "%.0f B)\n", o_.label.c_str(),
               top.empty() ? "- (/proc/slabinfo not readable)" : top.c_str(), sock_caches_pp);
        printf("# %s   keep-alive: server CPU %.3fs over the last %.1fs of the hold = %.4f cores;"
               " pings received %" PRIu64 " in the hold, per second over the last %" PRIu64
               "s: mean %.1f max %" PRIu64 " min %" PRIu64 " (cv %.3f)\n",
               o_.label.c_str(), ka_cpu, ka_secs, ka_secs > 0 ? ka_cpu / ka_secs : 0, pings_hold, w_n,
               w_mean, w_max, w_min, w_cv);
        printf("# %s   pings per second over the hold (whole seconds, from +1s): %s\n",
               o_.label.c_str(), series.empty() ? "-" : series.c_str());
        for (uint64_t k = 0; k < bc_published; k++) {
            const SeqStat& x = seqs[k];
            printf("# %s   broadcast %" PRIu64 ": delivered %" PRIu64 "/%" PRIu64 ", lost %" PRIu64
                   ", dup %" PRIu64 ", last client after %.1f ms\n",
                   o_.label.c_str(), k + 1, x.got, connected_, connected_ > x.got ? connected_ - x.got : 0,
                   x.dup, ms(reach(k)));
        }
        printf("# %s   broadcasts: server CPU %.3fs for %" PRIu64 " deliveries = %.3f us per delivery\n",
               o_.label.c_str(), bc_cpu, bc_got, bc_got ? bc_cpu * 1e6 / double(bc_got) : 0);
        printf("# %s   periodic: %" PRIu64 " broadcasts every %.1fs: delivered %" PRIu64 "/%" PRIu64
               ", lost %" PRIu64 ", dup %" PRIu64 ", out of order %" PRIu64 ", time to reach everyone"
               " p50 %.1f ms p99 %.1f ms max %.1f ms, %" PRIu64 " closed by the server in the phase\n",
               o_.label.c_str(), p_published, o_.every, p_got, p_expected,
               p_expected > p_got ? p_expected - p_got : 0, p_dup, p_ooo, pct(p_reach, 0.5),
               pct(p_reach, 0.99), p_reach.empty() ? 0 : p_reach.back(), closed_p);
        printf("# %s   closed by the server: %" PRIu64 " in all (connect %" PRIu64 ", hold %" PRIu64
               ", broadcasts %" PRIu64 ", periodic %" PRIu64 ")%s\n",
               o_.label.c_str(), t.closed, s_conn.closed, closed_hold, closed_bc, closed_p,
               client_fields(t).c_str());
        return 0;
    }

    int finish_with_error(const char* why) {
        fprintf(stderr, "loadgen: %s\n", why);
        for (auto& c : children_) kill(c.pid, SIGKILL);
        for (auto& c : children_) waitpid(c.pid, nullptr, 0);
        printf("bench mode=%s label=%s n=%d error=1\n", o_.mode.c_str(), o_.label.c_str(), o_.n);
        return 1;
    }

    const Options& o_;
    int ep_ = -1;
    std::vector<Child> children_;
    // handover (issue #15)
    struct Window {
        std::string name;
        uint64_t begin, end;  // end 0: still open
    };
    SeqPublisher bpub_, tpub_;  // broadcasts; pushes by client id
    std::vector<int> sample_;   // global indices of the clients pushed to by client id
    std::vector<uint64_t> b_answers_;  // when each broadcast was answered ok, in order
    uint64_t t_ok_ = 0, t_skipped_ = 0, targeted_published_ = 0, t_stop_ = 0;
    std::map<int, uint64_t> t_sent_to_;  // global index -> pushes by client id answered ok
    std::vector<Window> windows_;
    pid_t during_pid_ = -1;
    int during_fd_ = -1, during_rc_ = -1, after_rc_ = -1;
    bool during_done_ = false;
    uint64_t during_end_ns_ = 0;
    uint64_t drain_got_ = UINT64_MAX, drain_moved_ns_ = 0;
    std::string during_buf_;
    std::vector<Publisher> pubs_;
    std::vector<int> server_pids_;
    int src_addrs_ = 0, per_addr_max_ = 0;  // source addresses used; most connections on one
    KernelMem kmem0_;                       // million: before the connect phase
    uint64_t tcp_mem_peak_ = 0, last_mem_sample_ns_ = 0;  // million: sample_tcp_mem()
    std::vector<std::pair<int, WelcomeId>> targets_;  // global index -> welcome ids
    std::vector<std::string> client_ids_;             // global index -> JSON welcome client_id
    std::map<std::string, double> comm_cpu0_, comm_cpu1_;  // server CPU per process name
    uint64_t members_total_ = 0, setup_ops_ = 0, setup_errors_ = 0, ident_clients_ = 0;
    long group_count_ = -1;
    double setup_secs_ = 0;
    std::string member_workers_;  // "worker:members/..."
    std::map<uint64_t, std::pair<uint64_t, uint64_t>>
        in_flight_;         // seq -> (done children, sent ns)
    Histogram completion_;  // broadcast: publish -> last client of all processes
    uint64_t rss_before_ = 0, pss_before_ = 0, connected_ = 0, connect_failed_ = 0,
             active_children_ = 0;
    uint64_t deflate_conns_ = 0, no_ctx_conns_ = 0, tls_failed_ = 0;
    std::string tls_desc_, ext_desc_;
    pid_t on_measure_pid_ = -1;
    uint64_t published_ = 0, expected_ = 0, completed_ = 0, timed_out_ = 0, t0_ = 0, t1_ = 0;
    double connect_secs_ = 0, server_cpu0_ = 0, server_cpu1_ = 0, client_cpu0_ = 0,
           client_cpu1_ = 0;
    double machine_cpu0_ = 0, machine_cpu1_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, nullptr, _IOLBF, 0);
    g_epoch_ns = now_ns();
    Options o = parse_options(argc, argv);
    return Coordinator(o).run();
}
