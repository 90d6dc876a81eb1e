// redis/topology.h on real CLUSTER SHARDS / CLUSTER SLOTS replies of a live
// redis-server 7.0.15 cluster (tests/redis/cluster_replies.h), and the
// Topology queries the engine routes with.
#include "redis/topology.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/redis/cluster_replies.h"
#include "tests/redis/resp.h"

namespace pusher::redis {
namespace {

using namespace resp;
using Ranges = std::vector<std::pair<uint16_t, uint16_t>>;

const char* const kId7301 = "19596480b0a84409edf2da44f916f40076249707";
const char* const kId7302 = "feecc2dc1938edd208625a2a3adb9caab06973ff";
const char* const kId7303 = "74ac49f553cb0a849639318689f0e4610c0a95ba";
const char* const kId7306 = "b89261fdfd262171055649626592842b9328c50a";

Topology shards(std::string_view bytes) {
    Reply r(bytes);
    Topology t;
    std::string error;
    EXPECT_TRUE(parse_cluster_shards(r.get(), &t, &error)) << error;
    return t;
}

Topology slots(std::string_view bytes) {
    Reply r(bytes);
    Topology t;
    std::string error;
    EXPECT_TRUE(parse_cluster_slots(r.get(), &t, &error)) << error;
    return t;
}

void expect_node(const Topology& t, int i, const char* host, int port, const char* id) {
    ASSERT_GE(i, 0);
    ASSERT_LT(size_t(i), t.masters.size());
    EXPECT_EQ(t.masters[i].host, host);
    EXPECT_EQ(t.masters[i].port, port);
    EXPECT_EQ(t.masters[i].id, id);
}

TEST(TopologyReal, ShardsOfAHealthyCluster) {
    const Topology t = shards(testdata::kShardsHealthy);
    ASSERT_EQ(t.masters.size(), 3u);  // replicas are not kept
    // Canonical order: by first slot, though the reply listed 7303's shard first.
    expect_node(t, 0, "127.0.0.1", 7301, kId7301);
    expect_node(t, 1, "127.0.0.1", 7302, kId7302);
    expect_node(t, 2, "127.0.0.1", 7303, kId7303);
    EXPECT_TRUE(t.covers_all());
    EXPECT_EQ(t.master_of(0), 0);
    EXPECT_EQ(t.master_of(5460), 0);
    EXPECT_EQ(t.master_of(5461), 1);
    EXPECT_EQ(t.master_of(10922), 1);
    EXPECT_EQ(t.master_of(10923), 2);
    EXPECT_EQ(t.master_of(16383), 2);
    EXPECT_EQ(t.master_of(16384), -1);
    EXPECT_EQ(t.slots_of(1), (Ranges{{5461, 10922}}));
    EXPECT_TRUE(t.slots_of(3).empty());
}

TEST(TopologyReal, SlotsOfTheSameClusterRouteTheSame) {
    const Topology t = slots(testdata::kSlotsHealthy);
    ASSERT_EQ(t.masters.size(), 3u);
    expect_node(t, 0, "127.0.0.1", 7301, kId7301);  // the hostname metadata is not the endpoint
    EXPECT_TRUE(t.covers_all());
    EXPECT_TRUE(same_routing(t, shards(testdata::kShardsHealthy)));
}

TEST(TopologyReal, PreferredHostnamesAndUnknownEndpoints) {
    // 7301 announces node-a.example; 7302 and 7303 have none: endpoint "?", so the ip.
    for (const Topology& t :
         {shards(testdata::kShardsPreferHostname), slots(testdata::kSlotsPreferHostname)}) {
        ASSERT_EQ(t.masters.size(), 3u);
        expect_node(t, 0, "node-a.example", 7301, kId7301);
        expect_node(t, 1, "127.0.0.1", 7302, kId7302);
        expect_node(t, 2, "127.0.0.1", 7303, kId7303);
        EXPECT_TRUE(t.covers_all());
    }
    EXPECT_TRUE(same_routing(shards(testdata::kShardsPreferHostname),
                             slots(testdata::kSlotsPreferHostname)));
    // Another host for 7301: that is a routing change.
    EXPECT_FALSE(
        same_routing(shards(testdata::kShardsPreferHostname), shards(testdata::kShardsHealthy)));
}

TEST(TopologyReal, AfterAFailoverTheReplicaServes) {
    const Topology t = shards(testdata::kShardsAfterFailover);
    // The failed old master (7302, no slots, health "fail") is not a master here.
    ASSERT_EQ(t.masters.size(), 3u);
    expect_node(t, 1, "127.0.0.1", 7306, kId7306);
    EXPECT_EQ(t.master_of(5461), 1);
    EXPECT_TRUE(t.covers_all());
    EXPECT_TRUE(same_routing(t, slots(testdata::kSlotsAfterFailover)));
    EXPECT_FALSE(same_routing(t, shards(testdata::kShardsHealthy)));
}

TEST(TopologyReal, AMasterLostWithoutReplicaLeavesItsSlotsUncovered) {
    const Topology t = shards(testdata::kShardsMasterLost);
    ASSERT_EQ(t.masters.size(), 2u);
    expect_node(t, 0, "127.0.0.1", 7301, kId7301);
    expect_node(t, 1, "127.0.0.1", 7303, kId7303);
    EXPECT_FALSE(t.covers_all());
    EXPECT_EQ(t.master_of(5460), 0);
    EXPECT_EQ(t.master_of(5461), -1);
    EXPECT_EQ(t.master_of(10922), -1);
    EXPECT_EQ(t.master_of(10923), 1);
    // CLUSTER SLOTS cannot tell: it still names the dead 7306.
    const Topology s = slots(testdata::kSlotsAfterFailover);
    EXPECT_EQ(s.masters[s.master_of(5461)].port, 7306);
    EXPECT_FALSE(same_routing(t, s));
}

TEST(TopologyReal, ServerWithoutClusterMode) {
    Reply r(testdata::kClusterDisabled);
    Topology t;
    std::string error;
    EXPECT_FALSE(parse_cluster_shards(r.get(), &t, &error));
    EXPECT_EQ(error, "CLUSTER SHARDS: server says: ERR This instance has cluster support disabled");
    EXPECT_FALSE(parse_cluster_slots(r.get(), &t, &error));
    EXPECT_EQ(error, "CLUSTER SLOTS: server says: ERR This instance has cluster support disabled");
}

TEST(TopologyReal, EachParserRefusesTheOtherCommandsReply) {
    Topology t;
    std::string error;
    EXPECT_FALSE(parse_cluster_slots(Reply(testdata::kShardsHealthy).get(), &t, &error));
    EXPECT_FALSE(error.empty());
    EXPECT_FALSE(parse_cluster_shards(Reply(testdata::kSlotsHealthy).get(), &t, &error));
    EXPECT_FALSE(error.empty());
}

// ---- canonical form ----

std::string shard(std::initializer_list<std::string> slot_numbers, std::string nodes) {
    return map({{"slots", arr(slot_numbers)}, {"nodes", nodes}});
}
const std::string kNodeA = shard_node("aaaa", 7001, "10.0.0.1", "10.0.0.1", "master", "online");
const std::string kNodeB = shard_node("bbbb", 7002, "10.0.0.2", "10.0.0.2", "master", "online");

TEST(TopologyCanonical, OrderOfTheReplyDoesNotMatter) {
    const Topology x = shards(arr({shard({num(0), num(99), num(200), num(16383)}, arr({kNodeA})),
                                   shard({num(100), num(199)}, arr({kNodeB}))}));
    const Topology y = shards(arr({shard({num(100), num(199)}, arr({kNodeB})),
                                   shard({num(200), num(16383), num(0), num(99)}, arr({kNodeA}))}));
    EXPECT_TRUE(same_routing(x, y));
    ASSERT_EQ(x.masters.size(), 2u);
    EXPECT_EQ(x.masters[0].id, "aaaa");
    EXPECT_EQ(y.masters[0].id, "aaaa");
    EXPECT_EQ(x.slots_of(0), (Ranges{{0, 99}, {200, 16383}}));
    EXPECT_TRUE(x.covers_all());
}

TEST(TopologyCanonical, AdjacentRangesOfOneMasterAreMerged) {
    const std::string a = arr({bulk("10.0.0.1"), num(7001), bulk("aaaa")});
    const Topology t = slots(arr(
        {arr({num(101), num(200), a}), arr({num(0), num(100), a}), arr({num(201), num(201), a})}));
    ASSERT_EQ(t.ranges.size(), 1u);
    EXPECT_EQ(t.slots_of(0), (Ranges{{0, 201}}));
    EXPECT_FALSE(t.covers_all());
    EXPECT_EQ(t.master_of(202), -1);
}

TEST(TopologyCanonical, HealthyMasterWithoutSlotsIsListedLast) {
    const std::string empty =
        shard_node("0000", 7009, "10.0.0.9", "10.0.0.9", "master", "online");  // sorts first by id
    const Topology t =
        shards(arr({shard({}, arr({empty})), shard({num(0), num(16383)}, arr({kNodeB}))}));
    ASSERT_EQ(t.masters.size(), 2u);
    EXPECT_EQ(t.masters[0].id, "bbbb");
    EXPECT_EQ(t.masters[1].id, "0000");
    EXPECT_TRUE(t.slots_of(1).empty());
    // Masters without slots do not count for routing.
    EXPECT_TRUE(same_routing(t, shards(arr({shard({num(0), num(16383)}, arr({kNodeB}))}))));
}

TEST(TopologyShards, MasterIsTheFirstOnlineMaster) {
    const std::string failed = shard_node("f", 7000, "10.0.0.7", "10.0.0.7", "master", "fail");
    const std::string loading = shard_node("l", 7000, "10.0.0.8", "10.0.0.8", "master", "loading");
    const std::string replica = shard_node("r", 7000, "10.0.0.3", "10.0.0.3", "replica", "online");
    const Topology t =
        shards(arr({shard({num(0), num(16383)}, arr({failed, replica, loading, kNodeA, kNodeB}))}));
    ASSERT_EQ(t.masters.size(), 1u);
    EXPECT_EQ(t.masters[0].id, "aaaa");
    // Only replicas, or only unhealthy masters: no master, slots uncovered.
    const Topology none =
        shards(arr({shard({num(0), num(16383)}, arr({failed, replica, loading}))}));
    EXPECT_TRUE(none.masters.empty());
    EXPECT_EQ(none.master_of(0), -1);
}

TEST(TopologyShards, HostIsEndpointElseIp) {
    auto host_of = [](std::string_view ip, std::string endpoint) {
        std::string node = map({{"id", bulk("x")},
                                {"port", num(1)},
                                {"ip", bulk(ip)},
                                {"endpoint", endpoint},
                                {"role", bulk("master")},
                                {"health", bulk("online")}});
        const Topology t = shards(arr({shard({num(0), num(1)}, arr({node}))}));
        return t.masters.empty() ? std::string("(none)") : t.masters[0].host;
    };
    EXPECT_EQ(host_of("10.0.0.1", bulk("redis-a.internal")), "redis-a.internal");
    EXPECT_EQ(host_of("10.0.0.1", bulk("?")), "10.0.0.1");
    EXPECT_EQ(host_of("10.0.0.1", bulk("")), "10.0.0.1");
    EXPECT_EQ(host_of("10.0.0.1", nil()), "10.0.0.1");
    // A node that does not know its own address yet: "" (use the one you asked).
    EXPECT_EQ(host_of("", bulk("")), "");
}

TEST(TopologyShards, UnknownFieldsAreSkipped) {
    // Newer servers add fields (tls-port, shard-id, ...), of any type.
    const std::string node = map({{"id", bulk("aaaa")},
                                  {"port", num(7001)},
                                  {"tls-port", num(0)},
                                  {"future", arr({num(1), arr({})})},
                                  {"ip", bulk("10.0.0.1")},
                                  {"role", bulk("master")},
                                  {"health", bulk("online")}});
    const Topology t = shards(arr({map({{"slots", arr({num(0), num(16383)})},
                                        {"shard-id", bulk("x")},
                                        {"nodes", arr({node})},
                                        {"extra", nil()}})}));
    ASSERT_EQ(t.masters.size(), 1u);
    expect_node(t, 0, "10.0.0.1", 7001, "aaaa");
}

TEST(TopologySlots, OldServersWithoutIdOrMetadata) {
    // Redis < 4: [ip, port] only. Nodes are then told apart by address.
    const Topology t = slots(arr({arr({num(0), num(8191), arr({bulk("10.0.0.1"), num(7001)})}),
                                  arr({num(8192), num(16383), arr({bulk("10.0.0.2"), num(7001)}),
                                       arr({bulk("10.0.0.3"), num(7001)})})}));
    ASSERT_EQ(t.masters.size(), 2u);
    expect_node(t, 0, "10.0.0.1", 7001, "");
    expect_node(t, 1, "10.0.0.2", 7001, "");
    EXPECT_TRUE(t.covers_all());
}

TEST(TopologySlots, NilEndpointFallsBackToMetadataIp) {
    const std::string node = arr({nil(), num(7001), bulk("aaaa"), map({{"ip", bulk("10.0.0.1")}})});
    expect_node(slots(arr({arr({num(0), num(16383), node})})), 0, "10.0.0.1", 7001, "aaaa");
    const std::string bare = arr({nil(), num(7001), bulk("aaaa"), map({})});
    expect_node(slots(arr({arr({num(0), num(16383), bare})})), 0, "", 7001, "aaaa");
}

// ---- queries on hand-built topologies ----

Topology made(std::initializer_list<SlotRange> ranges, int masters) {
    Topology t;
    for (int i = 0; i < masters; ++i)
        t.masters.push_back(
            ClusterNode{"10.0.0." + std::to_string(i), 7000 + i, "id" + std::to_string(i)});
    t.ranges = ranges;
    return t;
}

TEST(TopologyQueries, MasterOfWithGaps) {
    const Topology t = made({{5, 9, 0}, {10, 10, 1}, {100, 200, 0}, {16383, 16383, 1}}, 2);
    const std::pair<int, int> cases[] = {{0, -1},  {4, -1},   {5, 0},      {9, 0},
                                         {10, 1},  {11, -1},  {99, -1},    {100, 0},
                                         {200, 0}, {201, -1}, {16382, -1}, {16383, 1}};
    for (const auto& [slot, master] : cases) EXPECT_EQ(t.master_of(uint16_t(slot)), master) << slot;
    EXPECT_EQ(t.slots_of(0), (Ranges{{5, 9}, {100, 200}}));
    EXPECT_EQ(t.slots_of(1), (Ranges{{10, 10}, {16383, 16383}}));
    EXPECT_TRUE(t.slots_of(-1).empty());
    EXPECT_EQ(Topology{}.master_of(0), -1);
}

TEST(TopologyQueries, CoversAll) {
    EXPECT_TRUE(made({{0, 16383, 0}}, 1).covers_all());
    EXPECT_TRUE(made({{0, 0, 0}, {1, 16383, 1}}, 2).covers_all());
    EXPECT_FALSE(Topology{}.covers_all());
    EXPECT_FALSE(made({{1, 16383, 0}}, 1).covers_all());                 // slot 0 missing
    EXPECT_FALSE(made({{0, 16382, 0}}, 1).covers_all());                 // slot 16383 missing
    EXPECT_FALSE(made({{0, 100, 0}, {102, 16383, 0}}, 1).covers_all());  // a hole
}

TEST(TopologyQueries, SameRoutingComparesNodesNotIndexes) {
    Topology a = made({{0, 99, 0}, {100, 16383, 1}}, 2);
    Topology b = made({{0, 99, 1}, {100, 16383, 0}}, 2);
    std::swap(b.masters[0], b.masters[1]);
    EXPECT_TRUE(same_routing(a, b));
    Topology c = a;
    c.masters[1].port = 7777;  // same id, moved
    EXPECT_FALSE(same_routing(a, c));
    c = a;
    c.masters[0].id = "other";  // replaced by another node at the same address
    EXPECT_FALSE(same_routing(a, c));
    c = a;
    c.ranges[0].last = 98;
    c.ranges[1].first = 99;  // one slot moved
    EXPECT_FALSE(same_routing(a, c));
    c = a;
    c.ranges.pop_back();
    EXPECT_FALSE(same_routing(a, c));
    c = a;
    c.ranges[0].master = 5;  // a dangling index is never "the same"
    EXPECT_FALSE(same_routing(a, c));
    EXPECT_TRUE(same_routing(Topology{}, Topology{}));
}

}  // namespace
}  // namespace pusher::redis
