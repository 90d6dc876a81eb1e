// redis/sharding.h probe names: a link's liveness probe must land on the link's
// own shard (sharded mode) or on a slot its master serves (cluster mode).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "redis/sharding.h"

namespace pusher::redis {
namespace {

// The N of "base:N" or "base:{N}".
long probe_number(const std::string& name, const std::string& prefix, const char* suffix) {
    EXPECT_EQ(name.compare(0, prefix.size(), prefix), 0) << name;
    std::string digits = name.substr(prefix.size());
    if (*suffix) {
        EXPECT_EQ(digits.back(), *suffix) << name;
        digits.pop_back();
    }
    return std::stol(digits);
}

TEST(ProbeShard, FirstNameOnEachShard) {
    for (int shards : {1, 2, 3, 7, 16, 100}) {
        for (int shard = 0; shard < shards; ++shard) {
            const std::string name = probe_channel_for_shard("pusher:probe", shard, shards);
            ASSERT_FALSE(name.empty()) << shard << "/" << shards;
            EXPECT_EQ(shard_of(name, shards), shard) << name;
            // The smallest N: no earlier name lands there.
            const long n = probe_number(name, "pusher:probe:", "");
            for (long m = 0; m < n; ++m)
                ASSERT_NE(shard_of("pusher:probe:" + std::to_string(m), shards), shard) << m;
        }
    }
    EXPECT_EQ(probe_channel_for_shard("p", 0, 1), "p:0");  // one shard: everything is on it
}

TEST(ProbeShard, RefusesImpossibleShards) {
    EXPECT_EQ(probe_channel_for_shard("p", -1, 4), "");
    EXPECT_EQ(probe_channel_for_shard("p", 4, 4), "");
    EXPECT_EQ(probe_channel_for_shard("p", 0, 0), "");
    EXPECT_EQ(probe_channel_for_shard("p", 0, -3), "");
}

// The first N whose decimal string hashes to each slot, by one sweep.
std::vector<long> first_hit_per_slot() {
    std::vector<long> first(kClusterSlots, -1);
    int left = kClusterSlots;
    for (long n = 0; left > 0 && n < long(kProbeTries); ++n) {
        const uint16_t slot = key_hash_slot(std::to_string(n));
        if (first[slot] < 0) {
            first[slot] = n;
            --left;
        }
    }
    return first;
}

TEST(ProbeSlots, EverySlotIsReachableWithinTheDocumentedBound) {
    const std::vector<long> first = first_hit_per_slot();
    long worst = 0;
    int worst_slot = -1;
    for (int s = 0; s < kClusterSlots; ++s) {
        ASSERT_GE(first[s], 0) << "slot " << s << " never hit";
        if (first[s] > worst) worst = first[s], worst_slot = s;
    }
    EXPECT_EQ(worst, long(kProbeSlotWorst)) << "slot " << worst_slot;

    // The hardest single slot is found, and quickly.
    const auto t0 = std::chrono::steady_clock::now();
    const uint16_t hardest = uint16_t(worst_slot);
    const std::string name = probe_channel_for_slots("pusher", {{hardest, hardest}});
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    EXPECT_EQ(name, "pusher:{" + std::to_string(kProbeSlotWorst) + "}");
    EXPECT_EQ(key_hash_slot(name), hardest);
    EXPECT_LT(ms.count(), 1000);  // a few ms in release; generous for sanitizers

    // A sample of single slots: the first hit, whatever the base.
    for (int s = 0; s < kClusterSlots; s += 331) {
        const uint16_t slot = uint16_t(s);
        const std::string probe = probe_channel_for_slots("ws:probe", {{slot, slot}});
        EXPECT_EQ(probe, "ws:probe:{" + std::to_string(first[s]) + "}") << "slot " << s;
        EXPECT_EQ(key_hash_slot(probe), slot);
    }
}

TEST(ProbeSlots, AnyOfSeveralRanges) {
    // A master of a three-master cluster with two ranges.
    const std::vector<std::pair<uint16_t, uint16_t>> ranges = {{0, 5460}, {10923, 16383}};
    const std::string name = probe_channel_for_slots("pusher", ranges);
    ASSERT_FALSE(name.empty());
    const uint16_t slot = key_hash_slot(name);
    EXPECT_TRUE(slot <= 5460 || slot >= 10923) << slot;
    // The smallest N that hits either range.
    const long n = probe_number(name, "pusher:{", "}");
    for (long m = 0; m < n; ++m) {
        const uint16_t s = key_hash_slot(std::to_string(m));
        ASSERT_TRUE(s > 5460 && s < 10923) << m;
    }
    // The whole space: N = 0.
    EXPECT_EQ(probe_channel_for_slots("b", {{0, 16383}}), "b:{0}");
}

TEST(ProbeSlots, InvalidRangesAreIgnored) {
    EXPECT_EQ(probe_channel_for_slots("b", {}), "");
    EXPECT_EQ(probe_channel_for_slots("b", {{10, 9}}), "");         // first > last
    EXPECT_EQ(probe_channel_for_slots("b", {{16384, 16384}}), "");  // past the last slot
    EXPECT_EQ(probe_channel_for_slots("b", {{100, 65535}}), "");
    // An invalid range next to a valid one: the valid one is used.
    const std::string name = probe_channel_for_slots("b", {{10, 9}, {42, 42}});
    EXPECT_EQ(key_hash_slot(name), 42);
}

TEST(ProbeSlots, BaseWithItsOwnTag) {
    // "a{b}" pins every name to slot("b"): that slot is hit at once, others never.
    const uint16_t pinned = key_hash_slot("b");
    EXPECT_EQ(probe_channel_for_slots("a{b}", {{pinned, pinned}}), "a{b}:{0}");
    const uint16_t other = uint16_t((pinned + 1) % kClusterSlots);
    EXPECT_EQ(probe_channel_for_slots("a{b}", {{other, other}}), "");  // bounded, then ""
}

}  // namespace
}  // namespace pusher::redis
