#include "worker/roster.h"

#include "worker/api_wire.h"

namespace pusher::worker {

using protocol::php::Value;

void Roster::heard(const Value& a, double now) {
    const Value* node = a.get("node");
    const Value* worker = a.get("worker_id");
    if (!node || !worker) return;
    std::string who = name(node->as_string(), worker->type == protocol::php::Type::Int
                                                  ? worker->i
                                                  : std::atoll(worker->as_string().c_str()));
    const Value* leaving = a.get("leaving");
    if (leaving && leaving->as_string() == "1")
        workers_.erase(who);
    else
        workers_[who] = now;
    // Names not heard for long are gone for good (a host removed, a renamed node).
    for (auto it = workers_.begin(); it != workers_.end();)
        it = now - it->second > 10 * api::kRosterExpiry ? workers_.erase(it) : std::next(it);
}

std::set<std::string> Roster::alive(double now) const {
    std::set<std::string> out;
    for (const auto& [who, at] : workers_)
        if (now - at <= api::kRosterExpiry) out.insert(who);
    return out;
}

}  // namespace pusher::worker
