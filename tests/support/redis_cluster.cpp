// RedisCluster (declared in redis_server.h): nodes are RedisServers; the
// cluster's state is read from CLUSTER INFO / CLUSTER NODES over hiredis.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "tests/support/pusher_instance.h"
#include "tests/support/redis_server.h"

namespace pusher::testing {

namespace {

constexpr int kSlots = 16384;
// A poll of the cluster's state is a dozen connections and round trips: each
// leaves a socket in TIME_WAIT, so poll at a pace that cannot pile them up.
constexpr int kPollMs = 100;

// One line of CLUSTER NODES: "<id> <ip:port@cport> <flags> <master> <ping> <pong>
// <epoch> <link> <slot ranges...>".
struct NodeLine {
    std::string id, address;
    std::vector<std::string> flags;
    std::vector<std::pair<int, int>> slots;
    bool has(const std::string& flag) const {
        return std::find(flags.begin(), flags.end(), flag) != flags.end();
    }
    bool master() const { return has("master"); }
    bool failing() const { return has("fail") || has("fail?"); }
};

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string part;
    std::istringstream in(s);
    while (std::getline(in, part, sep))
        if (!part.empty()) out.push_back(part);
    return out;
}

NodeLine parse_line(const std::string& line) {
    std::vector<std::string> f = split(line, ' ');
    NodeLine n;
    if (f.size() < 8) return n;
    n.id = f[0];
    n.address = f[1].substr(0, f[1].find('@'));  // "ip:port@cport[,hostname]"
    n.flags = split(f[2], ',');
    for (size_t i = 8; i < f.size(); ++i) {
        if (f[i][0] == '[') continue;  // a slot being migrated or imported
        size_t dash = f[i].find('-');
        int a = std::stoi(f[i]);
        n.slots.emplace_back(a, dash == std::string::npos ? a : std::stoi(f[i].substr(dash + 1)));
    }
    return n;
}

std::vector<NodeLine> parse_nodes(const std::string& text) {
    std::vector<NodeLine> out;
    for (auto& line : split(text, '\n'))
        if (NodeLine n = parse_line(line); !n.id.empty()) out.push_back(n);
    return out;
}

// Who serves which slots, as one comparable string; *covered counts the slots.
std::string slot_map(const std::vector<NodeLine>& nodes, int* covered) {
    std::vector<std::pair<std::pair<int, int>, std::string>> ranges;
    for (auto& n : nodes)
        if (n.master())
            for (auto& r : n.slots) ranges.push_back({r, n.address});
    std::sort(ranges.begin(), ranges.end());
    std::string s;
    *covered = 0;
    for (auto& [r, owner] : ranges) {
        s += std::to_string(r.first) + "-" + std::to_string(r.second) + "=" + owner + " ";
        *covered += r.second - r.first + 1;
    }
    return s;
}

const NodeLine* owner_of(const std::vector<NodeLine>& nodes, int slot) {
    for (auto& n : nodes)
        if (n.master())
            for (auto& r : n.slots)
                if (r.first <= slot && slot <= r.second) return &n;
    return nullptr;
}

std::vector<std::string> node_args(const RedisClusterOptions& o) {
    auto yes = [](bool b) { return std::string(b ? "yes" : "no"); };
    std::vector<std::string> a = {
        "--cluster-enabled", "yes", "--cluster-node-timeout", std::to_string(o.node_timeout_ms),
        "--cluster-require-full-coverage", yes(o.require_full_coverage),
        "--cluster-allow-reads-when-down", yes(o.allow_reads_when_down),
        // Shard pub/sub goes on where its own shard is up (the default; said so here).
        "--cluster-allow-pubsubshard-when-down", "yes",
        // A replica that lost its master's link a while ago (a busy machine)
        // still takes over: tests want the failover, not data freshness.
        "--cluster-replica-validity-factor", "0",
        // Replicas sync at once instead of waiting 5 s for more replicas to batch.
        "--repl-diskless-sync-delay", "0"};
    a.insert(a.end(), o.args.begin(), o.args.end());
    return a;
}

}  // namespace

RedisCluster::RedisCluster(RedisClusterOptions o) {
    if (o.masters < 3) throw std::invalid_argument("redis-cli --cluster create needs 3 masters");
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> args = node_args(o);
    for (int i = 0; i < o.masters * (1 + o.replicas); ++i)
        nodes_.push_back(std::make_unique<RedisServer>(args));
    create(o);
    formed_in_ = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
}

// redis-cli assigns slots and replicas, then the nodes gossip until they agree;
// replicas must have synced too, else they cannot take over (the validity check
// is off, but a replica that never linked has no master offset to offer).
void RedisCluster::create(const RedisClusterOptions& o) {
    auto t0 = std::chrono::steady_clock::now();
    std::string cmd = "timeout -k 5 " + std::to_string(o.form_timeout_ms / 1000 + 1) +
                      " redis-cli --cluster create";
    for (auto& s : seeds()) cmd += " " + s;
    cmd += " --cluster-replicas " + std::to_string(o.replicas) + " --cluster-yes";
    CmdResult r = run(cmd);
    if (r.code != 0) throw std::runtime_error("redis-cli --cluster create failed:\n" + r.out);
    int left =
        o.form_timeout_ms - static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::steady_clock::now() - t0)
                                                 .count());
    if (!eventually([&] { return converged() && replicas_linked(); }, std::max(left, 1000),
                    kPollMs))
        throw std::runtime_error("the cluster did not converge within " +
                                 std::to_string(o.form_timeout_ms) + " ms:\n" + describe());
}

std::vector<std::string> RedisCluster::seeds() const {
    std::vector<std::string> s;
    for (auto& n : nodes_) s.push_back(n->address());
    return s;
}

const RedisServer* RedisCluster::live() const {
    for (auto& n : nodes_)
        if (n->running() && !n->paused()) return n.get();
    return nullptr;
}

int RedisCluster::index_of(const std::string& address) const {
    for (size_t i = 0; i < nodes_.size(); ++i)
        if (nodes_[i]->address() == address) return static_cast<int>(i);
    return -1;
}

bool RedisCluster::converged() const {
    std::string agreed;
    bool any = false;
    for (auto& n : nodes_) {
        if (!n->running() || n->paused()) continue;
        RedisReply info = n->command({"CLUSTER", "INFO"});
        if (info.error || info.text.find("cluster_state:ok") == std::string::npos ||
            info.text.find("cluster_known_nodes:" + std::to_string(nodes_.size()) + "\r") ==
                std::string::npos)
            return false;
        RedisReply nodes = n->command({"CLUSTER", "NODES"});
        int covered = 0;
        std::string map = slot_map(parse_nodes(nodes.text), &covered);
        if (nodes.error || covered != kSlots || (any && map != agreed)) return false;
        agreed = map;
        any = true;
    }
    return any;
}

bool RedisCluster::replicas_linked() const {
    for (auto& n : nodes_) {
        if (!n->running() || n->paused()) continue;
        std::string info = n->command({"INFO", "replication"}).text;
        if (info.find("role:slave") != std::string::npos &&
            info.find("master_link_status:up") == std::string::npos)
            return false;
    }
    return true;
}

std::vector<std::string> RedisCluster::masters() const {
    const RedisServer* n = live();
    if (!n) return {};
    std::vector<NodeLine> nodes = parse_nodes(n->command({"CLUSTER", "NODES"}).text);
    std::vector<std::pair<int, std::string>> m;
    for (auto& l : nodes)
        if (l.master() && !l.failing() && !l.slots.empty())
            m.emplace_back(std::min_element(l.slots.begin(), l.slots.end())->first, l.address);
    std::sort(m.begin(), m.end());
    std::vector<std::string> out;
    for (auto& p : m) out.push_back(p.second);
    return out;
}

std::string RedisCluster::master_of_slot(int slot) const {
    const RedisServer* n = live();
    if (!n) return "";
    std::vector<NodeLine> nodes = parse_nodes(n->command({"CLUSTER", "NODES"}).text);
    const NodeLine* owner = owner_of(nodes, slot);
    return owner ? owner->address : "";
}

int RedisCluster::keyslot(const std::string& key) const {
    const RedisServer* n = live();
    RedisReply r = n ? n->command({"CLUSTER", "KEYSLOT", key}) : RedisReply{};
    if (!r.answered || r.error) throw std::runtime_error("CLUSTER KEYSLOT failed: " + r.text);
    return std::stoi(r.text);
}

size_t RedisCluster::kill_master(const std::string& address) {
    int i = index_of(address);
    const RedisServer* n = live();
    if (i < 0 || !n) throw std::invalid_argument("no live master " + address + " here");
    killed_slots_.clear();
    for (auto& l : parse_nodes(n->command({"CLUSTER", "NODES"}).text))
        if (l.address == address && l.master()) killed_slots_ = l.slots;
    if (killed_slots_.empty()) throw std::invalid_argument(address + " serves no slots");
    killed_ = address;
    nodes_[i]->kill();
    killed_at_ = std::chrono::steady_clock::now();
    return static_cast<size_t>(i);
}

size_t RedisCluster::kill_master_owning_slot(int slot) {
    std::string owner = master_of_slot(slot);
    if (owner.empty()) throw std::runtime_error("nobody serves slot " + std::to_string(slot));
    return kill_master(owner);
}

// Each slot range of the killed master served by another node that is up.
bool RedisCluster::failed_over() const {
    const RedisServer* n = live();
    if (!n || !converged()) return false;
    std::vector<NodeLine> nodes = parse_nodes(n->command({"CLUSTER", "NODES"}).text);
    for (auto& r : killed_slots_) {
        const NodeLine* owner = owner_of(nodes, r.first);
        if (!owner || owner->address == killed_ || owner->failing()) return false;
        int i = index_of(owner->address);
        if (i < 0 || !nodes_[i]->running()) return false;
    }
    return true;
}

long RedisCluster::wait_failover(int timeout_ms) {
    if (killed_.empty()) throw std::logic_error("wait_failover() before kill_master()");
    if (!eventually([&] { return failed_over(); }, timeout_ms, kPollMs)) {
        ADD_FAILURE() << "no failover of " << killed_ << " within " << timeout_ms << " ms\n"
                      << describe();
        return -1;
    }
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - killed_at_)
                                 .count());
}

RedisCli RedisCluster::spublish(const std::string& channel, const std::string& payload) const {
    const RedisServer* n = live();
    if (!n) throw std::runtime_error("spublish: no live node");
    return n->cli_argv({"SPUBLISH", channel, payload}, {"-c"});
}

std::string RedisCluster::describe() const {
    std::string s;
    for (size_t i = 0; i < nodes_.size(); ++i) {
        const RedisServer& n = *nodes_[i];
        s += "node " + std::to_string(i) + " " + n.address() + ": ";
        if (!n.running() || n.paused()) {
            s += n.running() ? "paused\n" : "not running\n";
            continue;
        }
        std::string info = n.command({"CLUSTER", "INFO"}, 500).text;
        size_t st = info.find("cluster_state:");
        s += (st == std::string::npos ? "no answer" : info.substr(st, info.find('\r', st) - st)) +
             "\n";
    }
    const RedisServer* n = live();
    if (n)
        s += "CLUSTER NODES from " + n->address() + ":\n" + n->command({"CLUSTER", "NODES"}).text;
    return s;
}

}  // namespace pusher::testing
