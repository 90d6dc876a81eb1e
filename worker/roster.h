// The ws workers of the whole cluster as one publish-API worker knows them:
// each announces itself on the bus every api::kRosterInterval (and when asked
// by a roll call, and when it leaves). A presence answer waits for every
// worker heard within api::kRosterExpiry, and says which did not answer.
#pragma once
#include <map>
#include <set>
#include <string>

#include "protocol/php_value.h"

namespace pusher::worker {

class Roster {
  public:
    // An announcement (api_wire.h): {node, worker_id, instance, leaving}.
    void heard(const protocol::php::Value& announce, double now);
    // "node/worker_id" of every worker heard recently enough.
    std::set<std::string> alive(double now) const;
    bool empty() const { return workers_.empty(); }
    static std::string name(const std::string& node, int64_t worker_id) {
        return node + "/" + std::to_string(worker_id);
    }

  private:
    std::map<std::string, double> workers_;  // name -> last heard
};

}  // namespace pusher::worker
