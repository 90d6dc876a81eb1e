// CLUSTER SHARDS and CLUSTER SLOTS replies -> Topology (redis/topology.h).
// Every read goes through redis/reply_view.h, which checks types and bounds.
#include <string_view>

#include "redis/reply_view.h"
#include "redis/sharding.h"
#include "redis/topology.h"
#include "redis/topology_builder.h"

namespace pusher::redis {

namespace {

bool fail(std::string* error, std::string why) {
    if (error) *error = std::move(why);
    return false;
}

// The reply itself: an array, not an error (an error carries the server's words:
// "ERR This instance has cluster support disabled", an unknown command...).
bool check_top(const redisReply* r, const char* command, std::string* error) {
    if (reply_is_error(r))
        return fail(error, std::string(command) + ": server says: " + reply_error_text(r));
    if (!reply_is_array(r))
        return fail(error,
                    std::string(command) + ": reply is " + reply_type_name(r) + ", not an array");
    return true;
}

bool slot_number(const redisReply* r, uint16_t* slot) {
    long long v;
    if (!reply_integer(r, &v) || v < 0 || v >= kClusterSlots) return false;
    *slot = uint16_t(v);
    return true;
}

// Two elements of r from index i: a valid inclusive slot range.
bool slot_range(const redisReply* r, size_t i, uint16_t* first, uint16_t* last,
                const std::string& where, std::string* error) {
    if (!slot_number(reply_at(r, i), first) || !slot_number(reply_at(r, i + 1), last))
        return fail(error, where + ": a slot is not an integer in 0..16383");
    if (*first > *last)
        return fail(error, where + ": slot range " + std::to_string(*first) + "-" +
                               std::to_string(*last) + " starts after its end");
    return true;
}

bool port_number(const redisReply* r, int* port) {
    long long v;
    if (!reply_integer(r, &v) || v < 1 || v > 65535) return false;
    *port = int(v);
    return true;
}

// An address a node announces; "?" and "" mean it does not know one.
bool usable_address(std::string_view s) {
    return !s.empty() && s != "?";
}

// ---- CLUSTER SHARDS ----

// One element of a shard's "nodes": a map of (at least) id, port, ip,
// endpoint, role, health. Known keys must have their types; others are skipped.
struct ShardNode {
    ClusterNode node;
    std::string_view role, health, ip, endpoint;
    bool has_port = false;
};

bool shard_node(const redisReply* r, ShardNode* n, const std::string& where, std::string* error) {
    if (!reply_is_map(r)) return fail(error, where + ": not a map");
    bool has_id = false, has_role = false, has_health = false;
    for (size_t k = 0; k < reply_size(r); k += 2) {
        std::string_view key, text;
        const redisReply* value = reply_at(r, k + 1);
        if (!reply_string(reply_at(r, k), &key))
            return fail(error, where + ": a key is not a string");
        if (key == "port") {
            if (!port_number(value, &n->node.port))
                return fail(error, where + ": port is not an integer in 1..65535");
            n->has_port = true;
            continue;
        }
        const bool want_string = key == "id" || key == "ip" || key == "endpoint" ||
                                 key == "hostname" || key == "role" || key == "health";
        if (!want_string) continue;
        if (reply_is_nil(value) && (key == "endpoint" || key == "hostname")) continue;
        if (!reply_string(value, &text))
            return fail(error, where + ": " + std::string(key) + " is not a string");
        if (key == "id") n->node.id = std::string(text), has_id = true;
        if (key == "ip") n->ip = text;
        if (key == "endpoint") n->endpoint = text;
        if (key == "role") n->role = text, has_role = true;
        if (key == "health") n->health = text, has_health = true;
    }
    if (!has_id || n->node.id.empty() || !has_role || !has_health)
        return fail(error, where + ": lacks id, role or health");
    n->node.host = std::string(usable_address(n->endpoint) ? n->endpoint
                               : usable_address(n->ip)     ? n->ip
                                                           : std::string_view());
    return true;
}

bool shard(const redisReply* r, TopologyBuilder* b, const std::string& where, std::string* error) {
    if (!reply_is_map(r)) return fail(error, where + ": not a map");
    const redisReply *slots = nullptr, *nodes = nullptr;
    for (size_t k = 0; k < reply_size(r); k += 2) {
        std::string_view key;
        if (!reply_string(reply_at(r, k), &key))
            return fail(error, where + ": a key is not a string");
        if (key == "slots") slots = reply_at(r, k + 1);
        if (key == "nodes") nodes = reply_at(r, k + 1);
    }
    if (!reply_is_array(slots) || reply_size(slots) % 2 != 0)
        return fail(error, where + ": slots missing or not an even-length array");
    if (!reply_is_array(nodes)) return fail(error, where + ": nodes missing or not an array");

    const ShardNode* master = nullptr;
    std::vector<ShardNode> all(reply_size(nodes));
    for (size_t i = 0; i < all.size(); ++i) {
        if (!shard_node(reply_at(nodes, i), &all[i], where + ": node " + std::to_string(i), error))
            return false;
        if (!master && all[i].role == "master" && all[i].health == "online") master = &all[i];
    }
    std::vector<std::pair<uint16_t, uint16_t>> ranges;
    for (size_t i = 0; i < reply_size(slots); i += 2) {
        uint16_t first, last;
        if (!slot_range(slots, i, &first, &last, where, error)) return false;
        ranges.emplace_back(first, last);
    }
    if (!master) return true;  // no healthy master: its slots stay uncovered
    if (!master->has_port)
        return fail(error, where + ": master " + log_safe(master->node.id, 64) + " has no port");
    int index;
    std::string why;
    if (!b->add_master(master->node, &index, &why)) return fail(error, where + ": " + why);
    for (const auto& [first, last] : ranges) b->claim(first, last, index);
    return true;
}

// ---- CLUSTER SLOTS ----

// [endpoint, port, id, {metadata}], extra elements ignored. The endpoint may be
// nil (unknown, when hostnames are preferred); metadata (Redis 7) may hold "ip".
bool slots_node(const redisReply* r, ClusterNode* node, const std::string& where,
                std::string* error) {
    if (!reply_is_array(r) || reply_size(r) < 2)
        return fail(error, where + ": not an array of at least host and port");
    std::string_view endpoint, ip, id;
    if (!reply_is_nil(reply_at(r, 0)) && !reply_string(reply_at(r, 0), &endpoint))
        return fail(error, where + ": host is not a string");
    if (!port_number(reply_at(r, 1), &node->port))
        return fail(error, where + ": port is not an integer in 1..65535");
    if (reply_size(r) > 2 && !reply_string(reply_at(r, 2), &id))
        return fail(error, where + ": id is not a string");
    if (reply_size(r) > 3) {
        const redisReply* meta = reply_at(r, 3);
        if (!reply_is_map(meta)) return fail(error, where + ": metadata is not a map");
        for (size_t k = 0; k < reply_size(meta); k += 2) {
            std::string_view key;
            if (!reply_string(reply_at(meta, k), &key))
                return fail(error, where + ": a metadata key is not a string");
            if (key == "ip" && !reply_string(reply_at(meta, k + 1), &ip))
                return fail(error, where + ": metadata ip is not a string");
        }
    }
    node->id = std::string(id);
    node->host = std::string(usable_address(endpoint) ? endpoint
                             : usable_address(ip)     ? ip
                                                      : std::string_view());
    return true;
}

bool slots_entry(const redisReply* r, TopologyBuilder* b, const std::string& where,
                 std::string* error) {
    if (!reply_is_array(r) || reply_size(r) < 3)
        return fail(error, where + ": not an array of start, end and a master");
    uint16_t first, last;
    if (!slot_range(r, 0, &first, &last, where, error)) return false;
    ClusterNode master, replica;
    if (!slots_node(reply_at(r, 2), &master, where + ": master", error)) return false;
    for (size_t i = 3; i < reply_size(r); ++i) {  // checked, not kept
        if (!slots_node(reply_at(r, i), &replica, where + ": replica " + std::to_string(i - 3),
                        error))
            return false;
    }
    int index;
    std::string why;
    if (!b->add_master(master, &index, &why)) return fail(error, where + ": " + why);
    b->claim(first, last, index);
    return true;
}

}  // namespace

bool parse_cluster_shards(const redisReply* reply, Topology* out, std::string* error) {
    if (!check_top(reply, "CLUSTER SHARDS", error)) return false;
    TopologyBuilder b;
    for (size_t i = 0; i < reply_size(reply); ++i) {
        if (!shard(reply_at(reply, i), &b, "CLUSTER SHARDS: shard " + std::to_string(i), error))
            return false;
    }
    std::string why;
    if (!b.finish(out, &why)) return fail(error, "CLUSTER SHARDS: " + why);
    return true;
}

bool parse_cluster_slots(const redisReply* reply, Topology* out, std::string* error) {
    if (!check_top(reply, "CLUSTER SLOTS", error)) return false;
    TopologyBuilder b;
    for (size_t i = 0; i < reply_size(reply); ++i) {
        if (!slots_entry(reply_at(reply, i), &b, "CLUSTER SLOTS: entry " + std::to_string(i),
                         error))
            return false;
    }
    std::string why;
    if (!b.finish(out, &why)) return fail(error, "CLUSTER SLOTS: " + why);
    return true;
}

}  // namespace pusher::redis
