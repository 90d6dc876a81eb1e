// One Redis server as the engine uses it: a link that publishes (PUBLISH, or
// SPUBLISH on a Redis Cluster, pipelined), a link that subscribes to the
// worker's channels living there, and the probe that proves the two work end
// to end. Every probe_interval the node publishes a token on a channel of its
// own through the publishing link, exactly as events travel; the subscribing
// link must deliver it within probe_timeout. A subscription that is open but
// dead (a Redis that stopped answering, a failover that left it on a server
// nobody publishes to) loses the probe: it is restarted, counted in
// bus_probe_failures and the node is unhealthy (/healthz red) until a probe
// comes back. Publishes wait in a bounded queue while the node cannot take
// them; what was sent and never confirmed when a link dies is counted as
// dropped.
#pragma once
#include <algorithm>
#include <cstdint>
#include <deque>
#include <set>
#include <map>
#include <memory>
#include <string>

#include "redis/link.h"
#include "runtime/timer.h"

namespace pusher::redis {

class Node : public Link::Owner {
  public:
    class Events {
      public:
        virtual ~Events() = default;
        virtual void node_message(std::string_view channel, std::string_view payload) = 0;
        virtual void node_read_end() = 0;
        // The server says a channel is not (or no longer) its own: MOVED, or
        // a sunsubscribe it sent by itself (slot migration, failover).
        virtual void node_moved(Node& n) = 0;
        // Health changed, or a link was lost (the topology may have changed).
        virtual void node_changed(Node& n) = 0;
        // A subscribe command was answered (node_changed follows the last one).
        virtual void node_confirmed(Node& n) = 0;
    };
    // Publishes queued by all nodes of an engine together, and their bound.
    struct Backlog {
        size_t queued = 0;
        size_t cap = 0;
    };
    struct Pending {
        std::string channel, payload;
    };
    // After an outage, queued publishes wait this long once the link is back:
    // subscribers reconnect with a back-off capped at 2 s (runtime/backoff.h),
    // and an event published before they re-subscribe would reach nobody.
    // The same grace the channel server gives subscribers after its start.
    static constexpr double kResubscribeGrace = 3.0;

    // cluster: SPUBLISH/SSUBSCRIBE. grace_first_up: this node replaces one
    // (a failover): its first link also waits for subscribers to move.
    Node(runtime::Loop& loop, const runtime::RedisAddress& server, const runtime::BusConfig& bus,
         bool cluster, std::string probe_channel, bool grace_first_up, Backlog& backlog,
         Events& events);
    ~Node() override;

    void start();  // again: nothing happens
    // For good. Publishes sent and unconfirmed are counted as dropped; the
    // queued ones (and those never written) are handed back: the engine
    // routes them again or counts them.
    std::deque<Pending> stop();
    void publish(const std::string& channel, const std::string& payload);
    // Publishes from now on wait the resubscribe grace (channels moved here
    // from another node: their subscribers elsewhere are moving too).
    void hold();
    // The queue, handed back to be routed again (the cluster map changed).
    std::deque<Pending> take_queue();
    void subscribe(const std::string& channel);
    void unsubscribe(const std::string& channel);
    bool healthy() const;
    bool links_up() const { return pub_.up() && (!sub_ || sub_->up()); }
    bool idle() const;  // nothing queued, unsent or unconfirmed
    std::string address() const { return pub_.address(); }
    bool has_subscriptions() const { return !channels_.empty(); }
    // Every channel subscribed here has been confirmed by the server.
    bool subscriptions_confirmed() const {
        return channels_.empty() || (sub_ && sub_->up() && subscribing_.empty() && lost_.empty());
    }
    // Bus::sync: the subscribe commands sent so far (a mark), and whether
    // those are all in effect now. Later subscribes do not hold this up: a
    // steady stream of new subscriptions never starves a waiter.
    uint64_t subscribe_mark() const { return sub_seq_; }
    // Unique in the process: a node made later at a freed one's address is another.
    uint64_t serial() const { return serial_; }
    bool confirmed_through(uint64_t mark) const {
        if (channels_.empty()) return true;
        // After a reconnect every channel was sent again: through those too.
        uint64_t need = std::max(mark, resent_through_);
        return sub_ && sub_->up() && lost_.empty() && confirmed_seq_ >= need;
    }
    const std::string& probe_channel() const { return probe_channel_; }

    // Link::Owner
    void link_up(Link& l) override;
    void link_down(Link& l) override;
    void link_reply(Link& l, redisReply* r) override;
    void link_read_end(Link& l) override;
    void link_drained(Link& l) override;

  private:
    enum class Owed : uint8_t { Publish, Probe, Ping };
    struct Command {
        Owed what;
        uint32_t seq;  // a probe's token
    };
    void grace_over();
    void drain();
    void send(Pending p);
    void requeue_unwritten();
    void pub_reply(redisReply* r);
    void sub_reply(redisReply* r);
    void subscription_lost(const std::string& channel, const std::string& why);
    void send_subscribe(const std::string& channel);
    void probe_tick();
    void probe_back();
    void probe_failed(Link& culprit, const std::string& why);

    runtime::Loop& loop_;
    runtime::RedisAddress server_;
    const runtime::BusConfig& bus_;
    bool cluster_;
    Backlog& backlog_;
    Events& events_;
    Link pub_;
    std::unique_ptr<Link> sub_;  // made when a first channel lives here
    bool started_ = false, ready_ = false, grace_next_up_;
    runtime::Timer grace_timer_, probe_timer_;
    std::deque<Pending> queue_;  // waiting for the publishing link
    // What the publishing link owes replies for, one entry per command, and
    // the publishes among them (kept: one the socket never took is sent again).
    std::deque<Command> owed_;
    std::deque<Pending> sent_;
    std::set<std::string> channels_;     // subscribed here
    struct Subscribing {
        std::string channel;
        uint64_t seq;  // numbers every subscribe command sent
    };
    std::deque<Subscribing> subscribing_;  // subscribe commands awaiting their answer
    uint64_t serial_ = next_serial();
    static uint64_t next_serial() {
        static uint64_t n = 0;
        return ++n;
    }
    uint64_t sub_seq_ = 0;        // the last subscribe command sent
    uint64_t confirmed_seq_ = 0;  // the last one answered
    uint64_t resent_through_ = 0;  // the last of the latest re-subscribe of every channel
    std::map<std::string, int> unsubscribing_;  // ours in flight: their answers are no news
    double subscribe_progress_at_ = 0;           // the last subscribe sent or answered
    // Refused (MOVED...) or taken away by the server (a sunsubscribe it sent):
    // the node is unhealthy until they are subscribed again (each probe tick).
    std::set<std::string> lost_;
    std::string probe_channel_;
    uint64_t probe_seq_ = 0;
    bool probe_pending_ = false, probe_ok_ = false;
    double probe_sent_at_ = 0;
};

}  // namespace pusher::redis
