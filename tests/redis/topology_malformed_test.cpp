// redis/topology.h on replies that are wrong: each must be refused with a
// reason, leave the caller's Topology alone, and never crash (the sanitizer
// build runs these too). The last tests mutate real replies byte by byte.
#include <gtest/gtest.h>

#include <string>

#include "redis/topology.h"
#include "tests/redis/cluster_replies.h"
#include "tests/redis/resp.h"

namespace pusher::redis {
namespace {

using namespace resp;

// Parses bytes with one parser; expects a refusal whose reason contains `why`.
void expect_refused(bool (*parse)(const redisReply*, Topology*, std::string*),
                    const std::string& bytes, const std::string& why) {
    Reply r(bytes);
    Topology t;
    t.masters.push_back(ClusterNode{"sentinel", 1, "keep"});
    std::string error;
    EXPECT_FALSE(parse(r.get(), &t, &error)) << bytes;
    EXPECT_NE(error.find(why), std::string::npos) << "error: '" << error << "', wanted: " << why;
    ASSERT_EQ(t.masters.size(), 1u);  // untouched
    EXPECT_EQ(t.masters[0].host, "sentinel");
    EXPECT_TRUE(t.ranges.empty());
}
void shards_refused(const std::string& bytes, const std::string& why) {
    expect_refused(parse_cluster_shards, bytes, why);
}
void slots_refused(const std::string& bytes, const std::string& why) {
    expect_refused(parse_cluster_slots, bytes, why);
}

const std::string kMaster = shard_node("aaaa", 7001, "10.0.0.1", "10.0.0.1", "master", "online");
std::string shard_with_slots(std::initializer_list<std::string> slots) {
    return arr({map({{"slots", arr(slots)}, {"nodes", arr({kMaster})}})});
}
std::string shard_with_node(const std::string& node) {
    return arr({map({{"slots", arr({num(0), num(16383)})}, {"nodes", arr({node})}})});
}

TEST(TopologyMalformed, NoReplyOrWrongTopLevel) {
    Topology t;
    std::string error;
    EXPECT_FALSE(parse_cluster_shards(nullptr, &t, &error));
    EXPECT_EQ(error, "CLUSTER SHARDS: reply is nothing, not an array");
    EXPECT_FALSE(parse_cluster_slots(nullptr, &t, nullptr));  // no error wanted: fine too
    for (const std::string& top : {num(3), bulk("x"), nil(), status("OK")}) {
        shards_refused(top, "not an array");
        slots_refused(top, "not an array");
    }
}

TEST(TopologyMalformed, ServerErrorTextIsMadeSafe) {
    shards_refused("-ERR bad\x01\x7f thing\r\n", "server says: ERR bad?? thing");
    slots_refused("-" + std::string(1000, 'x') + "\r\n", "server says: " + std::string(200, 'x'));
}

TEST(TopologyMalformed, ShardsShape) {
    shards_refused(arr({num(1)}), "shard 0: not a map");
    shards_refused(arr({arr({bulk("slots"), arr({})})}), "shard 0: nodes missing");
    shards_refused(arr({arr({bulk("slots")})}), "shard 0: not a map");  // odd length
    shards_refused(arr({arr({num(1), arr({})})}), "shard 0: a key is not a string");
    shards_refused(arr({map({{"nodes", arr({kMaster})}})}), "slots missing");
    shards_refused(arr({map({{"slots", num(0)}, {"nodes", arr({kMaster})}})}), "slots missing");
    shards_refused(arr({map({{"slots", arr({})}})}), "nodes missing");
    shards_refused(arr({map({{"slots", arr({})}, {"nodes", bulk("x")}})}), "nodes missing");
    shards_refused(arr({map({{"slots", arr({})}, {"nodes", arr({num(1)})}})}), "node 0: not a map");
}

TEST(TopologyMalformed, ShardsSlots) {
    shards_refused(shard_with_slots({num(0)}), "not an even-length array");
    shards_refused(shard_with_slots({num(0), bulk("5")}), "not an integer in 0..16383");
    shards_refused(shard_with_slots({num(-1), num(5)}), "not an integer in 0..16383");
    shards_refused(shard_with_slots({num(0), num(16384)}), "not an integer in 0..16383");
    shards_refused(shard_with_slots({num(0), num(1LL << 40)}), "not an integer in 0..16383");
    shards_refused(shard_with_slots({num(10), num(9)}), "slot range 10-9 starts after its end");
    shards_refused(shard_with_slots({num(0), num(10), num(10), num(20)}),
                   "slots 0-10 and 10-20 overlap");
    // The same slot in two shards.
    const std::string other = shard_node("bbbb", 7002, "10.0.0.2", "10.0.0.2", "master", "online");
    shards_refused(arr({map({{"slots", arr({num(0), num(100)})}, {"nodes", arr({kMaster})}}),
                        map({{"slots", arr({num(50), num(60)})}, {"nodes", arr({other})}})}),
                   "slots 0-100 and 50-60 overlap");
    // Slots are checked even in a shard whose master is down.
    const std::string down = shard_node("cccc", 7003, "10.0.0.3", "10.0.0.3", "master", "fail");
    shards_refused(arr({map({{"slots", arr({num(5), num(1)})}, {"nodes", arr({down})}})}),
                   "starts after");
}

TEST(TopologyMalformed, ShardsNodes) {
    auto node = [](std::initializer_list<std::pair<std::string_view, std::string>> kv) {
        return shard_with_node(map(kv));
    };
    const auto id = std::pair<std::string_view, std::string>{"id", bulk("aaaa")};
    const auto role = std::pair<std::string_view, std::string>{"role", bulk("master")};
    const auto health = std::pair<std::string_view, std::string>{"health", bulk("online")};
    const auto port = std::pair<std::string_view, std::string>{"port", num(7001)};
    const auto ip = std::pair<std::string_view, std::string>{"ip", bulk("10.0.0.1")};
    shards_refused(shard_with_node(arr({bulk("id")})), "node 0: not a map");
    shards_refused(node({{"id", num(1)}, role, health, port}), "id is not a string");
    shards_refused(node({{"id", bulk("")}, role, health, port}), "lacks id, role or health");
    shards_refused(node({role, health, port, ip}), "lacks id, role or health");
    shards_refused(node({id, health, port, ip}), "lacks id, role or health");
    shards_refused(node({id, role, port, ip}), "lacks id, role or health");
    shards_refused(node({id, {"role", arr({})}, health, port}), "role is not a string");
    shards_refused(node({id, role, {"health", num(1)}, port}), "health is not a string");
    shards_refused(node({id, role, health, port, {"ip", nil()}}), "ip is not a string");
    shards_refused(node({id, role, health, port, {"endpoint", num(3)}}),
                   "endpoint is not a string");
    shards_refused(node({id, role, health, {"port", bulk("7001")}}),
                   "port is not an integer in 1..65535");
    shards_refused(node({id, role, health, {"port", num(0)}}),
                   "port is not an integer in 1..65535");
    shards_refused(node({id, role, health, {"port", num(65536)}}), "port is not an integer");
    shards_refused(node({id, role, health, ip}), "master aaaa has no port");
    shards_refused(arr({map({{"slots", arr({})}, {"nodes", arr({arr({num(1), bulk("x")})})}})}),
                   "node 0: a key is not a string");
}

TEST(TopologyMalformed, ShardsNodeWithTwoAddresses) {
    const std::string moved = shard_node("aaaa", 7999, "10.0.0.1", "10.0.0.1", "master", "online");
    shards_refused(arr({map({{"slots", arr({num(0), num(1)})}, {"nodes", arr({kMaster})}}),
                        map({{"slots", arr({num(2), num(3)})}, {"nodes", arr({moved})}})}),
                   "node aaaa listed at 10.0.0.1:7001 and at 10.0.0.1:7999");
}

const std::string kSlotsNode = arr({bulk("10.0.0.1"), num(7001), bulk("aaaa")});

TEST(TopologyMalformed, SlotsEntries) {
    slots_refused(arr({num(0)}), "entry 0: not an array of start, end and a master");
    slots_refused(arr({arr({num(0), num(5)})}), "entry 0: not an array of start, end and a master");
    slots_refused(arr({arr({bulk("0"), num(5), kSlotsNode})}), "not an integer in 0..16383");
    slots_refused(arr({arr({num(0), num(16384), kSlotsNode})}), "not an integer in 0..16383");
    slots_refused(arr({arr({num(0), nil(), kSlotsNode})}), "not an integer in 0..16383");
    slots_refused(arr({arr({num(7), num(6), kSlotsNode})}), "slot range 7-6 starts after its end");
    slots_refused(arr({arr({num(0), num(9), kSlotsNode}), arr({num(9), num(20), kSlotsNode})}),
                  "slots 0-9 and 9-20 overlap");
    slots_refused(arr({arr({num(0), num(9), kSlotsNode}), arr({num(0), num(9), kSlotsNode})}),
                  "overlap");
}

TEST(TopologyMalformed, SlotsNodes) {
    auto entry = [](const std::string& node) { return arr({arr({num(0), num(16383), node})}); };
    slots_refused(entry(num(1)), "master: not an array of at least host and port");
    slots_refused(entry(arr({bulk("10.0.0.1")})), "master: not an array of at least host and port");
    slots_refused(entry(arr({num(1), num(7001)})), "master: host is not a string");
    slots_refused(entry(arr({bulk("h"), bulk("7001")})),
                  "master: port is not an integer in 1..65535");
    slots_refused(entry(arr({bulk("h"), num(0)})), "port is not an integer in 1..65535");
    slots_refused(entry(arr({bulk("h"), num(-7001)})), "port is not an integer in 1..65535");
    slots_refused(entry(arr({bulk("h"), num(7001), num(5)})), "master: id is not a string");
    slots_refused(entry(arr({bulk("h"), num(7001), bulk("a"), num(1)})), "metadata is not a map");
    slots_refused(entry(arr({bulk("h"), num(7001), bulk("a"), arr({bulk("ip")})})),
                  "metadata is not a map");
    slots_refused(entry(arr({bulk("h"), num(7001), bulk("a"), arr({num(1), bulk("x")})})),
                  "a metadata key is not a string");
    slots_refused(entry(arr({bulk("h"), num(7001), bulk("a"), map({{"ip", num(1)}})})),
                  "metadata ip is not a string");
    // Replicas are checked the same way, though not kept.
    slots_refused(arr({arr({num(0), num(16383), kSlotsNode, arr({bulk("r"), num(0)})})}),
                  "replica 0: port is not an integer");
    slots_refused(arr({arr({num(0), num(16383), kSlotsNode, kSlotsNode, nil()})}),
                  "replica 1: not an array");
    const std::string moved = arr({bulk("10.0.0.9"), num(7001), bulk("aaaa")});
    slots_refused(arr({arr({num(0), num(9), kSlotsNode}), arr({num(10), num(20), moved})}),
                  "node aaaa listed at 10.0.0.1:7001 and at 10.0.0.9:7001");
}

// Every byte of a real reply, replaced by a few others: whatever hiredis still
// reads as a reply goes through both parsers. Nothing may crash or leak (ASan
// build), and a successful parse must still be a sane topology.
void mutate_and_parse(const std::string& original) {
    const char replacements[] = {'0', '9', '-', '*', '$', ':', '\0', 'x', '\r'};
    int parsed = 0, accepted = 0;
    for (size_t i = 0; i < original.size(); ++i) {
        for (char c : replacements) {
            if (original[i] == c) continue;
            std::string bytes = original;
            bytes[i] = c;
            redisReader* reader = redisReaderCreate();
            void* reply = nullptr;
            if (redisReaderFeed(reader, bytes.data(), bytes.size()) == REDIS_OK &&
                redisReaderGetReply(reader, &reply) == REDIS_OK && reply) {
                ++parsed;
                for (auto parse : {parse_cluster_shards, parse_cluster_slots}) {
                    Topology t;
                    std::string error;
                    if (parse(static_cast<redisReply*>(reply), &t, &error)) {
                        ++accepted;
                        for (const SlotRange& r : t.ranges) {
                            ASSERT_LE(r.first, r.last);
                            ASSERT_LT(r.last, 16384);
                            ASSERT_GE(r.master, 0);
                            ASSERT_LT(size_t(r.master), t.masters.size());
                        }
                    } else {
                        ASSERT_FALSE(error.empty());
                    }
                }
                freeReplyObject(reply);
            }
            redisReaderFree(reader);
        }
    }
    EXPECT_GT(parsed, 0);
    EXPECT_GT(accepted, 0);  // some mutations (a digit of an offset) are harmless
}

TEST(TopologyMalformed, MutatedRealShardsReply) {
    mutate_and_parse(testdata::kShardsPreferHostname);
}
TEST(TopologyMalformed, MutatedRealSlotsReply) {
    mutate_and_parse(testdata::kSlotsPreferHostname);
}

}  // namespace
}  // namespace pusher::redis
