#include "redis/cluster_map.h"

#include <cstring>

#include "redis/sharding.h"
#include "runtime/log.h"

namespace pusher::redis {

ClusterMap::ClusterMap(runtime::Loop& loop, const runtime::BusConfig& bus, Listener& listener)
    : loop_(loop),
      bus_(bus),
      listener_(listener),
      candidates_(bus.redis),
      deadline_(loop, [this] { next_candidate(); }),
      retry_(loop,
             [this] {
                 if (!rotate_) return refresh();
                 rotate_ = false;
                 next_candidate();
             }),
      periodic_(loop, [this] { refresh(); }) {}

ClusterMap::~ClusterMap() {
    stop();
}

void ClusterMap::start() {
    stopped_ = false;
    periodic_.start(kPeriodic, true);
    refresh();
}

void ClusterMap::stop() {
    stopped_ = true;
    deadline_.cancel();
    retry_.cancel();
    periodic_.cancel();
    if (link_) link_->stop();
}

int ClusterMap::master_of(std::string_view channel) const {
    return known_ ? topo_.master_of(key_hash_slot(channel)) : -1;
}

void ClusterMap::refresh() {
    if (stopped_) return;
    if (asking_) {
        again_ = true;
        return;
    }
    asking_ = true;
    retry_.cancel();
    deadline_.start(kAnswerTimeout, false);
    if (!link_) {
        if (candidates_.empty()) return;
        asked_ = candidates_[next_ % candidates_.size()];
        link_ = std::make_unique<Link>(loop_, asked_, bus_, "redis cluster", *this);
        link_->start();
        return;  // link_up asks
    }
    if (link_->up()) ask();
}

void ClusterMap::ask() {
    if (slots_fallback_)
        link_->command({"CLUSTER", "SLOTS"});
    else
        link_->command({"CLUSTER", "SHARDS"});
}

// No answer in time (a node down, stopped, unreachable): the next candidate.
// From a timer, never from the link's own callbacks: the link can go.
void ClusterMap::next_candidate() {
    if (stopped_) return;
    asking_ = false;
    if (link_) link_->stop();
    link_.reset();
    ++next_;
    slots_fallback_ = false;  // the next one may have CLUSTER SHARDS
    refresh();
}

void ClusterMap::link_up(Link&) {
    if (asking_) ask();
}

void ClusterMap::link_down(Link&) {
    // An answer that was owed will not come: the deadline moves on.
}

void ClusterMap::link_reply(Link&, redisReply* r) {
    if (!asking_) return;
    // Only a Redis without CLUSTER SHARDS (before 7) gets CLUSTER SLOTS,
    // which says nothing of health: any other error is this node's problem.
    if (r->type == REDIS_REPLY_ERROR && !slots_fallback_ && r->str &&
        strcasestr(r->str, "unknown subcommand")) {
        slots_fallback_ = true;
        return ask();
    }
    Topology t;
    std::string error;
    bool ok = slots_fallback_ ? parse_cluster_slots(r, &t, &error)
                              : parse_cluster_shards(r, &t, &error);
    asking_ = false;
    deadline_.cancel();
    if (!ok)
        runtime::log_peer("redis cluster: " + asked_.host + ":" + std::to_string(asked_.port) +
                          ": unusable topology: " + error);
    else
        learn(t);
    // Unusable or with a hole (not a cluster node, a minority side, a
    // failover under way, a stale view): ask the next candidate soon.
    if (!ok || !t.covers_all()) {
        rotate_ = true;
        retry_.start(kRetry, false);
    }
    if (again_) {
        again_ = false;
        refresh();
    }
}

// A map with a hole (a master failed, no replica promoted yet) is not taken:
// the old one stays, so the dead master's channels wait on its node.
void ClusterMap::learn(Topology t) {
    for (auto& m : t.masters) {
        if (m.host.empty()) m.host = asked_.host;  // "the address you asked"
        remember({m.host, m.port});
    }
    if (!t.covers_all()) return;
    if (known_ && same_routing(t, topo_)) return;
    topo_ = t;
    known_ = true;
    listener_.topology_changed();
}

void ClusterMap::remember(const runtime::RedisAddress& s) {
    for (auto& c : candidates_)
        if (c.host == s.host && c.port == s.port) return;
    candidates_.push_back(s);
}

}  // namespace pusher::redis
