// The rows `pusher connections` prints, one per connection, in the column
// order worker/worker_main.h documents. Every service writes them the same way.
#pragma once
#include <unistd.h>

#include <string>

#include "runtime/tcp_server.h"

namespace pusher::runtime {

// state(c) names the connection's state, e.g. "ESTABLISHED" or "HANDSHAKE";
// identity(c), when given, a JSON object of who the client is (its user,
// groups and session), "" for nobody: a 12th column.
inline std::string no_identity(Connection&) {
    return {};
}
template <class StateFn, class IdentityFn = decltype(&no_identity)>
void append_connection_rows(std::string& out, const TcpServer& tcp, const std::string& worker_name,
                            int worker_id, const char* protocol, StateFn state,
                            IdentityFn identity = &no_identity) {
    std::string prefix =
        std::to_string(getpid()) + "\t" + worker_name + "\t" + std::to_string(worker_id) + "\t";
    tcp.for_each([&](Connection& c) {
        out += prefix + std::to_string(c.id()) + "\t" + protocol + "\t" + c.peer() + "\t" +
               c.local() + "\t" + std::to_string(c.bytes_in()) + "\t" +
               std::to_string(c.bytes_out()) + "\t" + std::to_string(c.queued()) + "\t" + state(c);
        std::string who = identity(c);
        if (!who.empty()) out += "\t" + who;
        out += "\n";
    });
}

}  // namespace pusher::runtime
