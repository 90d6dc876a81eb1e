// Where a channel lives: pure functions, no I/O.
//
// Two schemes, one per Redis mode:
// - sharded (independent Redis servers, client-side sharding): shard_of() =
//   jump_hash(channel_hash(name)). Both halves are specified below precisely
//   enough that an application in any language can compute the same shard.
// - cluster: Redis Cluster's own key_hash_slot(), as the server computes it for
//   SPUBLISH/SSUBSCRIBE, then the topology says which master holds the slot.
// The probe_channel_* helpers find a channel name that lands on a given shard
// or slot range, so that a link can publish and receive its own liveness probe.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pusher::redis {

// FNV-1a, 64-bit (Fowler/Noll/Vo, draft-eastlake-fnv): h = 14695981039346656037
// (0xcbf29ce484222325); for each byte b of the name: h ^= b; h *= 1099511628211
// (0x100000001b3), modulo 2^64. Bytes as given (no Unicode normalisation).
// Stable: changing it would move every channel to another shard.
uint64_t channel_hash(std::string_view name);

// Jump consistent hash (Lamping & Veach, "A Fast, Minimal Memory, Consistent
// Hash Algorithm", 2014): a bucket in [0, buckets) for key. Going from n to n+1
// buckets moves only the keys that land in the new bucket n, about 1/(n+1) of
// them; every other key stays where it was. So a shard may be added at the END
// of the list cheaply; removing or reordering one in the middle moves most keys.
// Same outputs as the paper's reference and Guava's Hashing.consistentHash.
// buckets < 1: -1.
int32_t jump_hash(uint64_t key, int32_t buckets);

// The shard (index into the configured list of `shards` servers) of a channel.
// shards < 1: -1.
int shard_of(std::string_view channel, int shards);

constexpr int kClusterSlots = 16384;

// Redis Cluster's hash slot (cluster spec, "Keys distribution model"):
// CRC16-XMODEM (poly 0x1021, init 0, no reflection, no final xor) of the key,
// mod 16384. If the key has a '{' and a '}' after it with at least one byte
// between them, only those bytes (the hash tag) are hashed.
uint16_t key_hash_slot(std::string_view key);

// The CRC itself, exposed for tests: crc16("123456789") == 0x31C3.
uint16_t crc16_xmodem(std::string_view data);

// Upper bound of every probe search; kProbeSlotWorst: see probe_channel_for_slots.
constexpr uint32_t kProbeTries = 2000000;
constexpr uint32_t kProbeSlotWorst = 109757;

// "base:N" for the smallest N >= 0 with shard_of(name, shards) == shard.
// About `shards` tries on average (jump hash is uniform). "" if shard is not
// in [0, shards) or nothing hits within kProbeTries (for any sane shard count
// the chance is about e^(-kProbeTries / shards), i.e. never).
std::string probe_channel_for_shard(std::string_view base, int shard, int shards);

// "base:{N}" for the smallest N >= 0 whose name's slot falls in one of the
// inclusive slot ranges. Ranges with first > last or last > 16383 are ignored.
// The name's hash tag is "N", so its slot depends on N alone. (A base with a
// '{' of its own changes which bytes are the tag: "a{b}" pins every name to
// one slot. The bound below is for bases without '{'.)
// Bounded and fast even for a one-slot range: the decimal strings "0".."109757"
// cover all 16384 slots (kProbeSlotWorst, checked by the tests; about what a
// random hash gives: 16384 * ln 16384 is ~159,000), so any range is hit within
// ~110,000 tries of a few bytes each, a few milliseconds; a range of k slots
// needs about 16384 / k tries. "" if no range is valid or nothing hits within
// kProbeTries.
std::string probe_channel_for_slots(std::string_view base,
                                    const std::vector<std::pair<uint16_t, uint16_t>>& ranges);

}  // namespace pusher::redis
