#include "redis/topology.h"

#include <algorithm>
#include <tuple>

#include "redis/reply_view.h"
#include "redis/sharding.h"
#include "redis/topology_builder.h"

namespace pusher::redis {

bool operator==(const ClusterNode& a, const ClusterNode& b) {
    return a.host == b.host && a.port == b.port && a.id == b.id;
}

int Topology::master_of(uint16_t slot) const {
    // The last range that starts at or before slot, if it reaches slot.
    auto after = std::upper_bound(ranges.begin(), ranges.end(), slot,
                                  [](uint16_t s, const SlotRange& r) { return s < r.first; });
    if (after == ranges.begin()) return -1;
    const SlotRange& r = *(after - 1);
    return slot <= r.last ? r.master : -1;
}

std::vector<std::pair<uint16_t, uint16_t>> Topology::slots_of(int master) const {
    std::vector<std::pair<uint16_t, uint16_t>> out;
    for (const SlotRange& r : ranges) {
        if (r.master == master) out.emplace_back(r.first, r.last);
    }
    return out;
}

bool Topology::covers_all() const {
    int next = 0;  // the first slot not yet covered
    for (const SlotRange& r : ranges) {
        if (r.first != next || r.master < 0) return false;
        next = r.last + 1;
    }
    return next == kClusterSlots;
}

bool same_routing(const Topology& a, const Topology& b) {
    if (a.ranges.size() != b.ranges.size()) return false;
    auto node = [](const Topology& t, int i) -> const ClusterNode* {
        return i >= 0 && size_t(i) < t.masters.size() ? &t.masters[i] : nullptr;
    };
    for (size_t i = 0; i < a.ranges.size(); ++i) {
        const SlotRange &x = a.ranges[i], &y = b.ranges[i];
        if (x.first != y.first || x.last != y.last) return false;
        const ClusterNode *p = node(a, x.master), *q = node(b, y.master);
        if (!p || !q || *p != *q) return false;
    }
    return true;
}

bool TopologyBuilder::add_master(const ClusterNode& node, int* index, std::string* why) {
    // Redis Cluster is designed for up to 1000 nodes: a map naming more is
    // broken or hostile, and would cost every worker a link per master.
    if (masters_.size() >= kMaxMasters) {
        *why = "more than " + std::to_string(kMaxMasters) + " masters";
        return false;
    }
    for (size_t i = 0; i < masters_.size(); ++i) {
        const ClusterNode& m = masters_[i];
        const bool same = node.id.empty()
                              ? m.id.empty() && m.host == node.host && m.port == node.port
                              : m.id == node.id;
        if (!same) continue;
        if (m != node) {
            *why = "node " + log_safe(node.id, 64) + " listed at " + log_safe(m.host, 100) + ":" +
                   std::to_string(m.port) + " and at " + log_safe(node.host, 100) + ":" +
                   std::to_string(node.port);
            return false;
        }
        *index = int(i);
        return true;
    }
    masters_.push_back(node);
    *index = int(masters_.size() - 1);
    return true;
}

void TopologyBuilder::claim(uint16_t first, uint16_t last, int master) {
    ranges_.push_back(SlotRange{first, last, master});
}

namespace {
std::string range_text(const SlotRange& r) {
    return std::to_string(r.first) + "-" + std::to_string(r.last);
}
}  // namespace

bool TopologyBuilder::finish(Topology* out, std::string* why) const {
    std::vector<SlotRange> ranges = ranges_;
    std::sort(ranges.begin(), ranges.end(),
              [](const SlotRange& a, const SlotRange& b) { return a.first < b.first; });
    std::vector<SlotRange> merged;
    for (const SlotRange& r : ranges) {
        if (r.master < 0 || size_t(r.master) >= masters_.size() || r.first > r.last) {
            *why = "slots " + range_text(r) + " claimed for no known master";  // a parser's bug
            return false;
        }
        if (!merged.empty() && r.first <= merged.back().last) {
            *why = "slots " + range_text(merged.back()) + " and " + range_text(r) + " overlap";
            return false;
        }
        if (!merged.empty() && merged.back().master == r.master &&
            merged.back().last + 1 == r.first)
            merged.back().last = r.last;
        else
            merged.push_back(r);
    }
    // New numbering: masters in order of their first slot, then the slotless by id.
    std::vector<int> renumber(masters_.size(), -1);
    std::vector<int> order;
    for (const SlotRange& r : merged) {
        if (renumber[r.master] < 0) {
            renumber[r.master] = int(order.size());
            order.push_back(r.master);
        }
    }
    std::vector<int> slotless;
    for (size_t i = 0; i < masters_.size(); ++i) {
        if (renumber[i] < 0) slotless.push_back(int(i));
    }
    std::sort(slotless.begin(), slotless.end(), [this](int a, int b) {
        const ClusterNode &x = masters_[a], &y = masters_[b];
        return std::tie(x.id, x.host, x.port) < std::tie(y.id, y.host, y.port);
    });
    for (int i : slotless) {
        renumber[i] = int(order.size());
        order.push_back(i);
    }
    Topology t;
    for (int i : order) t.masters.push_back(masters_[i]);
    for (SlotRange r : merged) {
        r.master = renumber[r.master];
        t.ranges.push_back(r);
    }
    *out = std::move(t);
    return true;
}

}  // namespace pusher::redis
