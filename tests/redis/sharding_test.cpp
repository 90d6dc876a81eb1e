// redis/sharding.h: the hashes applications must be able to reproduce, and the
// probe-name searches. Vectors come from the specifications (FNV, the Redis
// Cluster spec), Guava's cross-language jump hash goldens, and a real
// redis-server 7.0.15 (CLUSTER KEYSLOT), so no server is needed to run these.
#include "redis/sharding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace pusher::redis {
namespace {

TEST(ChannelHash, Fnv1a64Vectors) {
    // From the FNV reference test suite (draft-eastlake-fnv).
    EXPECT_EQ(channel_hash(""), 0xcbf29ce484222325ULL);  // the offset basis
    EXPECT_EQ(channel_hash("a"), 0xaf63dc4c8601ec8cULL);
    EXPECT_EQ(channel_hash("foobar"), 0x85944171f73967e8ULL);
    EXPECT_EQ(channel_hash("chongo was here!\n"), 0x46810940eff5f915ULL);
}

TEST(ChannelHash, BytesNotCharacters) {
    // A byte above 0x7f must not be sign-extended before the xor.
    EXPECT_NE(channel_hash("\xff"), channel_hash("\x7f"));
    EXPECT_EQ(channel_hash(std::string("a\0b", 3)), channel_hash(std::string("a\0b", 3)));
    EXPECT_NE(channel_hash(std::string("a\0b", 3)), channel_hash("ab"));
}

TEST(JumpHash, GuavaGoldenValues) {
    // Guava's Hashing.consistentHash goldens, there "to see that implementations
    // across languages are equivalent".
    const int32_t golden100[] = {0,  55, 62, 8,  45, 59, 86, 97, 82, 59,
                                 73, 37, 17, 56, 86, 21, 90, 37, 38, 83};
    for (uint64_t k = 0; k < 20; ++k) EXPECT_EQ(jump_hash(k, 100), golden100[k]) << "key " << k;
    EXPECT_EQ(jump_hash(10863919174838991ULL, 11), 6);
    EXPECT_EQ(jump_hash(2016238256797177309ULL, 11), 3);
    EXPECT_EQ(jump_hash(1673758223894951030ULL, 11), 5);
    EXPECT_EQ(jump_hash(2, 100001), 80343);
    EXPECT_EQ(jump_hash(2201, 100001), 22152);
    EXPECT_EQ(jump_hash(2202, 100001), 15018);
    // ClickHouse's jumpConsistentHash test (same algorithm, another codebase).
    EXPECT_EQ(jump_hash(42, 57), 43);
    EXPECT_EQ(jump_hash(256, 1024), 520);
    EXPECT_EQ(jump_hash(3735883980ULL, 666), 361);
    EXPECT_EQ(jump_hash(16045690984833335023ULL, 255), 237);
}

TEST(JumpHash, EdgeBucketCounts) {
    EXPECT_EQ(jump_hash(12345, 0), -1);
    EXPECT_EQ(jump_hash(12345, -7), -1);
    for (uint64_t k : {0ULL, 1ULL, 3735883980ULL, ~0ULL}) EXPECT_EQ(jump_hash(k, 1), 0);
    // The largest count works and stays in range.
    for (uint64_t k = 0; k < 1000; ++k) {
        const int32_t b = jump_hash(k * 0x9e3779b97f4a7c15ULL, INT32_MAX);
        EXPECT_GE(b, 0);
        EXPECT_LT(b, INT32_MAX);
    }
}

// 100k channel names, as the engine would hash them.
std::vector<uint64_t> channel_keys(int n) {
    std::vector<uint64_t> keys;
    keys.reserve(n);
    for (int i = 0; i < n; ++i) keys.push_back(channel_hash("pusher:" + std::to_string(i)));
    return keys;
}

TEST(JumpHash, RoughlyUniformUpToTenBuckets) {
    const auto keys = channel_keys(100000);
    for (int32_t n = 1; n <= 10; ++n) {
        std::vector<int> count(n, 0);
        for (uint64_t k : keys) {
            const int32_t b = jump_hash(k, n);
            ASSERT_GE(b, 0);
            ASSERT_LT(b, n);
            ++count[b];
        }
        // Binomial: sigma = sqrt(N p (1-p)) <= 158; 5% of the mean is over 3 sigma.
        const double mean = double(keys.size()) / n;
        for (int32_t b = 0; b < n; ++b)
            EXPECT_NEAR(count[b], mean, mean * 0.05) << n << " buckets, bucket " << b;
    }
}

TEST(JumpHash, GrowingOnlyMovesKeysToTheNewBucket) {
    const auto keys = channel_keys(100000);
    for (int32_t n = 1; n < 64; ++n) {
        int moved = 0;
        for (uint64_t k : keys) {
            const int32_t before = jump_hash(k, n), after = jump_hash(k, n + 1);
            if (before != after) {
                ASSERT_EQ(after, n) << "key " << k << " moved between old buckets at " << n;
                ++moved;
            }
        }
        // About 1/(n+1) of the keys move: the new bucket's fair share.
        const double expected = double(keys.size()) / (n + 1);
        EXPECT_NEAR(moved, expected, 5 * std::sqrt(expected) + 1) << n << " -> " << n + 1;
    }
}

TEST(ShardOf, IsJumpOfFnv) {
    for (const char* name : {"broadcast", "pusher:broadcast", "pusher:0", "", "\xff\xfe"}) {
        for (int shards = 1; shards <= 16; ++shards)
            EXPECT_EQ(shard_of(name, shards), jump_hash(channel_hash(name), shards));
    }
    EXPECT_EQ(shard_of("broadcast", 0), -1);
}

TEST(ShardOf, PinnedForOtherLanguages) {
    // What an application in another language must compute (checked against an
    // independent Python implementation). A change here moves live channels.
    struct Case {
        const char* name;
        uint64_t hash;
        int shards[8];  // for 1, 2, 3, 4, 5, 8, 16, 100 shards
    };
    const Case cases[] = {
        {"broadcast", 0xc22cc76c12e7e854ULL, {0, 1, 1, 1, 1, 1, 1, 88}},
        {"pusher:broadcast", 0xd1b68d18efb96b57ULL, {0, 0, 0, 3, 4, 7, 10, 10}},
        {"pusher:0", 0xd4321488c768c5a4ULL, {0, 1, 1, 3, 3, 5, 15, 15}},
    };
    const int counts[8] = {1, 2, 3, 4, 5, 8, 16, 100};
    for (const Case& c : cases) {
        EXPECT_EQ(channel_hash(c.name), c.hash) << c.name;
        for (int i = 0; i < 8; ++i) EXPECT_EQ(shard_of(c.name, counts[i]), c.shards[i]) << c.name;
    }
}

TEST(KeyHashSlot, Crc16SpecVector) {
    // Redis Cluster spec: CRC16 "XMODEM" of "123456789" is 0x31C3.
    EXPECT_EQ(crc16_xmodem("123456789"), 0x31C3);
    EXPECT_EQ(crc16_xmodem(""), 0);
    EXPECT_EQ(key_hash_slot("123456789"), 0x31C3 % 16384);
}

TEST(KeyHashSlot, HashTagsPerSpec) {
    // The spec's examples.
    EXPECT_EQ(key_hash_slot("{user1000}.following"), key_hash_slot("{user1000}.followers"));
    EXPECT_EQ(key_hash_slot("{user1000}.following"), key_hash_slot("user1000"));
    EXPECT_EQ(key_hash_slot("foo{}{bar}"), crc16_xmodem("foo{}{bar}") % 16384);  // empty: whole key
    EXPECT_EQ(key_hash_slot("foo{{bar}}zap"), key_hash_slot("{bar"));  // tag from the first '{'
    EXPECT_EQ(key_hash_slot("foo{bar}{zap}"), key_hash_slot("bar"));   // only the first tag
    // No closing brace, or a '}' before the '{': the whole key.
    EXPECT_EQ(key_hash_slot("abc{d"), crc16_xmodem("abc{d") % 16384);
    EXPECT_EQ(key_hash_slot("}a{"), crc16_xmodem("}a{") % 16384);
    EXPECT_EQ(key_hash_slot("}a{b}"), key_hash_slot("b"));
    for (int i = 0; i < 1000; ++i) EXPECT_LT(key_hash_slot(std::to_string(i)), 16384);
}

TEST(KeyHashSlot, MatchesRedisServer) {
    // Captured from redis-server 7.0.15 (cluster-enabled): CLUSTER KEYSLOT <key>.
    const std::pair<std::string, int> cases[] = {
        {std::string("", 0), 0},
        {std::string("a", 1), 15495},
        {std::string("foo", 3), 12182},
        {std::string("bar", 3), 5061},
        {std::string("hello", 5), 866},
        {std::string("somekey", 7), 11058},
        {std::string("123456789", 9), 12739},
        {std::string("user:1000", 9), 1649},
        {std::string("user:1001", 9), 5712},
        {std::string("{user1000}.following", 20), 3443},
        {std::string("{user1000}.followers", 20), 3443},
        {std::string("user1000", 8), 3443},
        {std::string("foo{}{bar}", 10), 8363},
        {std::string("foo{{bar}}zap", 13), 4015},
        {std::string("{bar", 4), 4015},
        {std::string("foo{bar}{zap}", 13), 5061},
        {std::string("bar", 3), 5061},
        {std::string("{}", 2), 15257},
        {std::string("}{", 2), 12793},
        {std::string("{", 1), 4092},
        {std::string("}", 1), 12090},
        {std::string("{{}}", 4), 4092},
        {std::string("a{b}c", 5), 3300},
        {std::string("b", 1), 3300},
        {std::string("{a}{b}", 6), 15495},
        {std::string("x{a}", 4), 15495},
        {std::string("}a{b}", 5), 3300},
        {std::string("{}a", 3), 10875},
        {std::string("a{}", 3), 6082},
        {std::string("a{}b{c}", 7), 7353},
        {std::string("broadcast", 9), 16181},
        {std::string("pusher:0", 8), 4789},
        {std::string("pusher:1", 8), 660},
        {std::string("pusher:{0}", 10), 13907},
        {std::string("pusher:{1}", 10), 9842},
        {std::string("channel", 7), 10328},
        {std::string("0", 1), 13907},
        {std::string("1", 1), 9842},
        {std::string("2", 1), 5649},
        {std::string("10", 2), 247},
        {std::string("99999", 5), 14415},
        {std::string("ws:worker:0", 11), 7441},
        {std::string("ws:worker:1", 11), 3376},
        {std::string("events.broadcast", 16), 15307},
        {std::string("\000", 1), 0},
        {std::string("\000\001\377", 3), 11713},
        {std::string("\377\376", 2), 3374},
        {std::string("caf\303\251", 5), 5735},
        {std::string("key with spaces", 15), 13638},
        {std::string("{key with}spaces", 16), 11249},
        {std::string("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                     "aaaaaaaaaaaaaaaaaaaaaaa",
                     100),
         5960},
        {std::string("{zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz}tail", 56), 4987},
        {std::string("tab\011new\012line", 12), 15768},
        {std::string("{\000}x", 4), 0},
        {std::string("{\377}", 3), 7920},
        {std::string("abc{", 4), 3048},
        {std::string("abc}", 4), 11054},
        {std::string("abc{d", 5), 15757},
        {std::string("{abc", 4), 444},
        {std::string("{{a}", 4), 10276},
        {std::string("{}{a}", 5), 13650},
        {std::string("ab{cd}ef{gh}", 12), 12891},
    };
    for (const auto& [key, slot] : cases)
        EXPECT_EQ(key_hash_slot(key), slot) << "key '" << key << "'";
}

}  // namespace
}  // namespace pusher::redis
