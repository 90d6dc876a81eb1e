// Collects what a topology reply claims (masters, and which slots each one
// serves) and turns it into a canonical Topology (redis/topology.h), refusing
// claims that contradict each other. Shared by the SHARDS and SLOTS parsers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "redis/topology.h"

namespace pusher::redis {

class TopologyBuilder {
  public:
    // The index of this master, added on first sight. A node is known by its id
    // (by host:port when it has none). False with a reason when the same id
    // comes back with another address.
    bool add_master(const ClusterNode& node, int* index, std::string* why);
    // Slots first..last (already checked: first <= last <= 16383) go to master.
    void claim(uint16_t first, uint16_t last, int master);
    // Sort, refuse a slot claimed twice, merge neighbours, renumber the masters
    // (see topology.h: "canonical"). False with a reason; *out untouched then.
    bool finish(Topology* out, std::string* why) const;

  private:
    std::vector<ClusterNode> masters_;
    std::vector<SlotRange> ranges_;
};

}  // namespace pusher::redis
