// Who serves which hash slot of a Redis Cluster, parsed from CLUSTER SHARDS
// (Redis >= 7) or CLUSTER SLOTS (older servers, and the fallback when SHARDS
// is refused). Pure: the engine sends the command and hands the reply here.
//
// The replies come from the network, so the parsers are strict: anything
// malformed (wrong types, odd lengths, slots outside 0..16383, start > end, a
// slot claimed twice) makes them return false with a reason and leave *out
// untouched; they never crash or read out of bounds.
//
// A parsed Topology is canonical, so that two parses of an unchanged cluster
// compare equal whatever order the server listed things in: ranges sorted by
// first slot, adjacent ranges of one master merged, masters numbered in order
// of their first slot (masters that own no slot last, by id).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

struct redisReply;  // hiredis

namespace pusher::redis {

struct ClusterNode {
    // Where to connect. "" when the node announced no usable address (it does
    // not know its own IP yet, or its endpoint is "?" and no IP came with it):
    // Redis then means "the address you sent this command to".
    std::string host;
    int port = 0;  // 1..65535, the plaintext port
    // As sent (40 hex characters from real servers). Never "" from SHARDS;
    // "" from the SLOTS reply of Redis < 4, which has no ids.
    std::string id;
};
bool operator==(const ClusterNode& a, const ClusterNode& b);
inline bool operator!=(const ClusterNode& a, const ClusterNode& b) {
    return !(a == b);
}

struct SlotRange {
    uint16_t first = 0, last = 0;  // inclusive
    int master = -1;               // index into Topology::masters
};

// The most masters a map may name (Redis Cluster's documented limit is
// 1000 nodes); a parser refuses a map naming more.
constexpr size_t kMaxMasters = 1000;

struct Topology {
    std::vector<ClusterNode> masters;
    std::vector<SlotRange> ranges;  // sorted by first, not overlapping

    // Index of the master serving slot, -1 if no (healthy) master does.
    int master_of(uint16_t slot) const;
    // The inclusive slot ranges a master serves, in slot order.
    std::vector<std::pair<uint16_t, uint16_t>> slots_of(int master) const;
    // Every slot 0..16383 has a master.
    bool covers_all() const;
};

// Same slot ranges served by the same nodes (host, port and id). Masters that
// serve no slot do not count. The engine re-fetches the topology now and then
// and only re-links when this says something changed.
bool same_routing(const Topology& a, const Topology& b);

// CLUSTER SHARDS. A shard's master is its first node with role "master" and
// health "online"; a shard without one is skipped, so its slots stay uncovered
// (master_of() == -1). The host is "endpoint", else "ip" (an endpoint of "?"
// or "" means unknown). Replicas are validated but not kept.
bool parse_cluster_shards(const redisReply* reply, Topology* out, std::string* error);

// CLUSTER SLOTS: [[start, end, [host, port, id, {metadata}], replicas...], ...].
// It says nothing about health: a failed master keeps its slots here until a
// replica takes over. The host is the preferred endpoint, else the metadata's
// "ip" (Redis 7), as for SHARDS.
bool parse_cluster_slots(const redisReply* reply, Topology* out, std::string* error);

}  // namespace pusher::redis
