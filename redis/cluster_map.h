// Where each slot of a Redis Cluster lives, as this worker knows it. Asks
// CLUSTER SHARDS (CLUSTER SLOTS on a Redis that lacks it) of a seed or a
// known node, and asks again when the engine sees the map is stale (MOVED,
// a sunsubscribe the server sent, a node lost) and every few seconds. A map
// that leaves slots uncovered (a failover under way) is not taken: the old
// one stays, so the dead master's channels queue on its node until a
// replica is promoted, and the question is asked again soon.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "redis/link.h"
#include "redis/topology.h"
#include "runtime/timer.h"

namespace pusher::redis {

class ClusterMap : public Link::Owner {
  public:
    class Listener {
      public:
        virtual ~Listener() = default;
        virtual void topology_changed() = 0;
    };
    static constexpr double kAnswerTimeout = 2.0;   // then the next candidate is asked
    static constexpr double kRetry = 0.25;          // after an unusable or incomplete map
    static constexpr double kPeriodic = 5.0;        // a quiet change is found this late

    ClusterMap(runtime::Loop& loop, const runtime::BusConfig& bus, Listener& listener);
    ~ClusterMap() override;

    void start();
    void stop();
    // Asks again soon (at most one question in flight).
    void refresh();
    bool known() const { return known_; }
    const Topology& topology() const { return topo_; }
    // The master index serving a channel name, -1 before the map is known.
    int master_of(std::string_view channel) const;

    // Link::Owner
    void link_up(Link& l) override;
    void link_down(Link& l) override;
    void link_reply(Link& l, redisReply* r) override;

  private:
    void ask();
    void next_candidate();
    void learn(Topology t);
    void remember(const runtime::RedisAddress& s);

    runtime::Loop& loop_;
    const runtime::BusConfig& bus_;
    Listener& listener_;
    std::vector<runtime::RedisAddress> candidates_;  // seeds, then every node seen
    size_t next_ = 0;
    runtime::RedisAddress asked_;  // where link_ goes
    std::unique_ptr<Link> link_;
    bool asking_ = false, again_ = false, known_ = false, stopped_ = false, slots_fallback_ = false;
    bool rotate_ = false;  // the last answer was of no use: ask another node
    Topology topo_;
    runtime::Timer deadline_, retry_, periodic_;
};

}  // namespace pusher::redis
