// A Channel queue (Queue.php): FIFO messages, FIFO consumers, one message in
// flight per consumer per reserve. Watchers are kept so a queue that nobody
// watches and that holds nothing can be dropped.
#pragma once
#include <deque>
#include <string>
#include <vector>

#include "protocol/php_value.h"
#include "runtime/connection.h"

namespace pusher::channel {

struct Queue {
    protocol::php::Value name;         // as first given, sent back in deliveries
    std::deque<std::string> messages;  // serialized data, ready to frame
    size_t bytes = 0;
    std::vector<runtime::Connection*> watchers;
    std::vector<runtime::Connection*> consumers;  // in reserve order, each at most once

    bool idle() const { return watchers.empty() && messages.empty(); }
};

// Removes c from v, keeping the order of the others.
inline bool erase_conn(std::vector<runtime::Connection*>& v, runtime::Connection* c) {
    for (auto it = v.begin(); it != v.end(); ++it) {
        if (*it == c) {
            v.erase(it);
            return true;
        }
    }
    return false;
}

}  // namespace pusher::channel
