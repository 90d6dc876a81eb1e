#include "redis/engine.h"

#include "redis/names.h"
#include "redis/sharding.h"
#include "runtime/log.h"
#include "runtime/stats.h"

namespace pusher::redis {

Engine::Engine(runtime::Loop& loop, const runtime::BusConfig& bus, std::string probe_base)
    : loop_(loop), bus_(bus), probe_base_(std::move(probe_base)) {
    backlog_.cap = loop.limits().channel_pending_publishes;
    // A brace (a node name "web{1}") would make a cluster hash tag of the
    // base and pin every probe to one slot: the probe places itself with a
    // tag of its own.
    for (char& ch : probe_base_)
        if (ch == '{' || ch == '}') ch = '_';
}

Engine::~Engine() {
    close();
}

Node* Engine::make_node(const runtime::RedisAddress& server, std::string probe, bool grace) {
    return new Node(loop_, server, bus_, cluster(), std::move(probe), grace, backlog_, *this);
}

// Single and sharded: one node per configured server, fixed. Cluster: the
// nodes follow the map (topology_changed), once it is known.
void Engine::connect() {
    if (started_ || closed_) return;
    started_ = true;
    if (cluster()) {
        cluster_ = std::make_unique<ClusterMap>(loop_, bus_, *this);
        return cluster_->start();
    }
    int n = static_cast<int>(bus_.redis.size());
    for (int i = 0; i < n; ++i)
        nodes_.emplace_back(make_node(bus_.redis[i], probe_channel_for_shard(probe_base_, i, n), false));
    place_nodes();
    for (auto& node : nodes_) node->start();
    update_health();
}

// One name per stream, in stream order (stream_of's numbering): shards from
// the config (known before the nodes are made), cluster masters from the map
// known now (one name before the first map).
std::vector<Engine::Value> Engine::cut_channels(const std::string& base) const {
    std::string full = redis_channel(bus_.prefix, Value::string(base));
    auto named = [&](const std::string& probe) {
        return Value::string(probe.empty() ? base : base + probe.substr(full.size()));
    };
    std::vector<Value> out;
    if (cluster()) {
        if (!cluster_ || cluster_->topology().masters.empty()) return {Value::string(base)};
        const Topology& t = cluster_->topology();
        for (size_t m = 0; m < t.masters.size(); ++m)
            out.push_back(named(probe_channel_for_slots(full, t.slots_of(static_cast<int>(m)))));
        return out;
    }
    int shards = static_cast<int>(bus_.redis.size());
    if (shards <= 1) return {Value::string(base)};
    for (int i = 0; i < shards; ++i) out.push_back(named(probe_channel_for_shard(full, i, shards)));
    return out;
}

size_t Engine::stream_of(const Value& channel) const {
    std::string name = redis_channel(bus_.prefix, channel);
    if (cluster()) {
        int m = cluster_ ? cluster_->master_of(name) : -1;
        return m < 0 ? 0 : static_cast<size_t>(m);
    }
    int shards = static_cast<int>(bus_.redis.size());
    return shards <= 1 ? 0 : static_cast<size_t>(shard_of(name, shards));
}

Node* Engine::node_for(const std::string& channel) {
    if (cluster()) {
        int m = cluster_ ? cluster_->master_of(channel) : -1;
        if (m < 0 || static_cast<size_t>(m) >= nodes_.size()) return nullptr;
        return nodes_[m] ? nodes_[m].get() : cluster_node(m);
    }
    if (nodes_.size() <= 1) return nodes_.empty() ? nullptr : nodes_[0].get();
    return nodes_[shard_of(channel, static_cast<int>(nodes_.size()))].get();
}

// A cluster master's node is made when a channel first needs it: a map of
// many masters costs links (and probe names) only for those in use.
Node* Engine::cluster_node(int m) {
    const Topology& t = cluster_->topology();
    const ClusterNode& cn = t.masters[m];
    std::string probe = probe_channel_for_slots(probe_base_, t.slots_of(m));
    nodes_[m].reset(make_node({cn.host, cn.port}, probe, fresh_[m]));
    if (started_ && !closed_) nodes_[m]->start();
    return nodes_[m].get();
}

// Every subscription on the node its channel lives on now.
void Engine::place_nodes() {
    for (auto& [name, sub] : subs_) {
        Node* target = node_for(name);
        if (target == sub.node) continue;
        if (sub.node) sub.node->unsubscribe(name);
        sub.node = target;
        if (target) target->subscribe(name);
    }
}

void Engine::close() {
    if (closed_) return;
    closed_ = true;
    if (cluster_) cluster_->stop();
    size_t lost = unplaced_.size();
    for (auto& node : nodes_)
        if (node) lost += node->stop().size();
    runtime::bump(loop_.stats().bus_dropped, lost);  // never sent: counted
    unplaced_.clear();
    backlog_.queued = 0;
    healthy_ = false;
    if (loop_.owns_slot()) loop_.stats().channel_connected.store(0, std::memory_order_relaxed);
}

bool Engine::idle() const {
    if (!unplaced_.empty()) return false;
    for (auto& node : nodes_)
        if (node && !node->idle()) return false;
    return true;
}

// ---- Bus ------------------------------------------------------------------------

void Engine::on(const Value& channel, Handler handler) {
    std::string name = redis_channel(bus_.prefix, channel);
    auto& sub = subs_[name];
    sub.channel = channel;
    sub.handler = std::move(handler);
    if (!started_ || sub.node) return;
    sub.node = node_for(name);
    if (sub.node) sub.node->subscribe(name);
}

void Engine::unsubscribe(const Value& channel) {
    auto it = subs_.find(redis_channel(bus_.prefix, channel));
    if (it == subs_.end()) return;
    if (it->second.node) it->second.node->unsubscribe(it->first);
    subs_.erase(it);
}

// Encoded once for every channel; each channel goes to the node it lives on,
// or waits (bounded, counted) for the cluster map.
void Engine::publish(const std::vector<Value>& channels, const Value& data) {
    if (!started_) connect();
    std::string payload = encode_payload(data);
    for (const Value& ch : channels) {
        std::string name = redis_channel(bus_.prefix, ch);
        if (closed_) {
            runtime::bump(loop_.stats().bus_dropped);
            continue;
        }
        Node* node = unplaced_.empty() ? node_for(name) : nullptr;
        if (node) {
            node->publish(name, payload);
        } else if (backlog_.queued >= backlog_.cap) {
            runtime::bump(loop_.stats().bus_dropped);
        } else {
            unplaced_.push_back({std::move(name), payload});
            ++backlog_.queued;
        }
    }
}

// ---- Node::Events ---------------------------------------------------------------

void Engine::node_message(std::string_view channel, std::string_view payload) {
    lookup_.assign(channel.data(), channel.size());  // no allocation per message
    auto it = subs_.find(lookup_);
    if (it == subs_.end() || !it->second.handler) {
        runtime::log_peer("redis: event on '" + lookup_ + "' has no handler");
        return;
    }
    Value data;
    std::string error;
    if (!decode_payload(payload, &data, &error)) {
        runtime::log_peer("redis: bad payload on '" + lookup_ + "': " + error);
        return;
    }
    // Copies: the handler may unsubscribe, which erases the entry.
    Handler h = it->second.handler;
    Value ch = it->second.channel;
    h(ch, data);
}

void Engine::node_read_end() {
    if (batch_end_) batch_end_();
}

void Engine::node_moved(Node&) {
    if (cluster_) cluster_->refresh();
}

void Engine::node_changed(Node& n) {
    // A lost link in a cluster may be a failover: look at the map again.
    if (cluster_ && !n.links_up()) cluster_->refresh();
    update_health();
    run_sync_waiters();
}

bool Engine::synced(const SyncWaiter& w) const {
    if (!started_) return false;
    if (cluster())  // a channel waiting for the cluster map has no node yet
        for (const auto& [name, sub] : subs_)
            if (!sub.node) return false;
    for (const auto& n : nodes_) {
        if (!n) continue;
        auto mark = std::find_if(w.marks.begin(), w.marks.end(),
                                 [&](const auto& m) { return m.first == n->serial(); });
        bool ok = mark != w.marks.end() ? n->confirmed_through(mark->second)
                                        : n->subscriptions_confirmed();
        if (!ok) return false;
    }
    return true;
}

void Engine::sync(std::function<void()> fn) {
    SyncWaiter w;
    for (const auto& n : nodes_)
        if (n) w.marks.emplace_back(n->serial(), n->subscribe_mark());
    w.fn = std::move(fn);
    if (synced(w)) return w.fn();
    sync_waiters_.push_back(std::move(w));
}

// In the order asked; each runs once its marks are confirmed. A callback may
// call sync() again: it joins the list after this pass.
void Engine::run_sync_waiters() {
    if (sync_waiters_.empty()) return;
    std::vector<SyncWaiter> waiting;
    waiting.swap(sync_waiters_);
    std::vector<std::function<void()>> ready;
    for (auto& w : waiting) {
        if (synced(w))
            ready.push_back(std::move(w.fn));
        else
            sync_waiters_.push_back(std::move(w));
    }
    for (auto& fn : ready) fn();
}

// Healthy: every node answers and proves its subscriptions, and (cluster) the
// map covers every slot.
void Engine::update_health() {
    bool ok = started_ && !closed_ && (cluster_ ? cluster_->known() : !nodes_.empty());
    for (auto& node : nodes_) ok = ok && (!node || node->healthy());
    healthy_ = ok;
    if (loop_.owns_slot()) loop_.stats().channel_connected.store(ok ? 1 : 0, std::memory_order_relaxed);
}

// ---- the cluster map changed ----------------------------------------------------

// Nodes follow the masters: a master still there keeps its node (and links);
// a new one gets a node whose first link waits the resubscribe grace (its
// subscribers are moving too); a gone one is stopped and what it queued is
// routed again, in order. Then every subscription moves to its slot's master.
void Engine::topology_changed() {
    const Topology& t = cluster_->topology();
    std::vector<std::unique_ptr<Node>> old;
    old.swap(nodes_);
    std::vector<bool> fresh(t.masters.size(), false);
    for (size_t m = 0; m < t.masters.size(); ++m) {
        const ClusterNode& cn = t.masters[m];
        std::string address = cn.host + ":" + std::to_string(cn.port);
        std::unique_ptr<Node> node;
        bool known = false;
        for (auto& o : old) {
            if (!o || o->address() != address) continue;
            known = true;
            // Kept while its probe still lands on its own slots.
            if (t.master_of(key_hash_slot(o->probe_channel())) == static_cast<int>(m))
                node = std::move(o);
        }
        fresh[m] = had_map_ && !known;  // a promoted replica, a new shard
        nodes_.push_back(std::move(node));
    }
    fresh_.swap(fresh);
    had_map_ = true;
    for (auto& [name, sub] : subs_) {  // off the nodes that go
        for (auto& o : old)
            if (o && sub.node == o.get()) sub.node = nullptr;
    }
    // Everything queued anywhere is routed again, in order: a channel's
    // publishes all sit in one queue, so their order is kept.
    std::deque<Node::Pending> again;
    auto take = [&again](std::deque<Node::Pending>&& q) {
        for (auto& p : q) again.push_back(std::move(p));
    };
    for (auto& o : old)
        if (o) take(o->stop());
    old.clear();
    for (auto& node : nodes_)
        if (node) take(node->take_queue());
    backlog_.queued -= unplaced_.size();
    take(std::move(unplaced_));
    unplaced_.clear();
    place_nodes();
    for (auto& p : again) {
        Node* node = node_for(p.channel);
        if (!node) {
            runtime::bump(loop_.stats().bus_dropped);
            continue;
        }
        node->hold();  // its channels' subscribers elsewhere move too
        node->publish(p.channel, p.payload);
    }
    update_health();
}

}  // namespace pusher::redis
