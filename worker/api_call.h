// One publish-API request that waits for ws workers to answer over the bus:
// an operation on a client (its owner answers once the change is in effect)
// or a presence query (every worker in the roster answers with its part).
// It gathers the answers and renders the HTTP reply; HttpService does the
// plumbing (worker/http_api.cpp).
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "protocol/php_value.h"

namespace pusher::worker {

struct ApiCall {
    uint64_t connection_id = 0;  // who asked (may be gone when the answer comes)
    std::string op;              // api_wire.h's name
    std::string arg;             // uid, group or client id, as asked
    double deadline = 0;
    bool keep_alive = true;
    bool query = false;              // presence: every worker answers
    std::set<std::string> expected;  // query: the roster when it was asked
    std::set<std::string> answered;

    // Owner's answer (operation), or gathered parts (query).
    bool ok = false;
    bool done = false;  // operation: its owner answered
    std::string error;
    protocol::php::Value result;
    int64_t count = 0;
    std::vector<std::string> ids;
    std::set<std::string> uids;
    bool truncated = false;  // some worker held more than one answer carries

    // One answer ({rid, node, worker_id, ok, result}). true: nothing more to wait for.
    bool add(const protocol::php::Value& answer);
    bool complete() const;
    // The HTTP response, now (all answered) or at the deadline.
    std::string render(bool timed_out) const;
};

}  // namespace pusher::worker
