// The Redis bus engine: runtime::Bus over one Redis, over independent shards,
// or over a Redis Cluster (docs/CONFIG.md "bus", docs/ARCHITECTURE.md "Bus
// engines"). Each channel lives on one node: single, the one server;
// sharded, jump_hash(fnv1a64(name), shards) so every host agrees with no
// coordination; cluster, the master owning the name's slot, found with
// CLUSTER SHARDS and found again on MOVED, a sunsubscribe sent by the server
// or a lost node. Events are decoded once per worker and handed to the
// handler of their channel; the handlers of one read run before the batch
// hook, as with the Channel engine.
#pragma once
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "redis/cluster_map.h"
#include "redis/node.h"
#include "runtime/bus.h"

namespace pusher::redis {

class Engine : public runtime::Bus, public Node::Events, public ClusterMap::Listener {
  public:
    // probe_base: a channel name unique to this process (node name and pid):
    // each node's probe channel is derived from it.
    Engine(runtime::Loop& loop, const runtime::BusConfig& bus, std::string probe_base);
    ~Engine() override;

    // Bus
    void on(const Value& channel, Handler handler) override;
    void unsubscribe(const Value& channel) override;
    void publish(const std::vector<Value>& channels, const Value& data) override;
    bool connected() const override { return healthy_; }
    void connect() override;
    void close() override;
    bool idle() const override;
    void set_batch_end(std::function<void()> hook) override { batch_end_ = std::move(hook); }
    // Channels live on several servers and publishes may go to another one
    // than the subscription: fn waits until every node confirmed its
    // subscribe commands.
    void sync(std::function<void()> fn) override;
    // One cut channel per shard (single: one); cluster: per master of the
    // map known now (one before the first map).
    std::vector<Value> cut_channels(const std::string& base) const override;
    size_t stream_of(const Value& channel) const override;

    // Node::Events
    void node_message(std::string_view channel, std::string_view payload) override;
    void node_read_end() override;
    void node_moved(Node& n) override;
    void node_changed(Node& n) override;
    void node_confirmed(Node&) override { run_sync_waiters(); }
    // ClusterMap::Listener
    void topology_changed() override;

  private:
    bool cluster() const { return bus_.mode == runtime::RedisMode::Cluster; }
    Node* node_for(const std::string& channel);
    Node* make_node(const runtime::RedisAddress& server, std::string probe, bool grace);
    Node* cluster_node(int master);
    void place_nodes();
    void update_health();

    runtime::Loop& loop_;
    const runtime::BusConfig& bus_;
    std::string probe_base_;
    bool started_ = false, closed_ = false, healthy_ = false;
    struct Subscription {
        Value channel;  // as the service gave it
        Handler handler;
        Node* node = nullptr;  // where it is subscribed now
    };
    std::unordered_map<std::string, Subscription> subs_;  // by Redis channel name
    Node::Backlog backlog_;  // before the nodes: they count in it until they are gone
    // single/sharded: by shard; cluster: by master, made when first used
    std::vector<std::unique_ptr<Node>> nodes_;
    std::vector<bool> fresh_;  // cluster: masters new in the last map (their nodes wait the grace)
    bool had_map_ = false;
    std::unique_ptr<ClusterMap> cluster_;
    std::deque<Node::Pending> unplaced_;  // published before the cluster map was known
    std::function<void()> batch_end_;
    std::string lookup_;  // a message's channel, to find its subscription
    // A sync() waits for the subscribe commands each node had sent when it
    // was asked (its mark), not for every later one. A node made after the
    // waiter (a new cluster master) must have confirmed everything.
    struct SyncWaiter {
        std::vector<std::pair<uint64_t, uint64_t>> marks;  // (node serial, its mark)
        std::function<void()> fn;
    };
    std::vector<SyncWaiter> sync_waiters_;
    bool synced(const SyncWaiter& w) const;
    void run_sync_waiters();
};

}  // namespace pusher::redis
