// Client ids: opaque to users, routable by the cluster. An id names the node,
// the ws worker id, the connection id and the instance (a random number drawn
// at each master start). A push to an id travels only on the owning worker's
// channel, and the worker delivers it only when the instance matches and the
// connection is still there: an id that has gone reaches nobody, across
// re-forks (connection ids are never reused) and host restarts (new instance).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace pusher::worker {

struct ClientId {
    std::string node;
    int worker_id = 0;
    uint64_t connection_id = 0;
    uint64_t instance = 0;

    // "<node>-<worker>-<connection>-<instance hex>"; node may contain '-'.
    std::string str() const;
    static std::optional<ClientId> parse(const std::string& s);
    // The bus channel of the worker that owns this client.
    std::string channel() const { return route_channel(node, worker_id); }
    static std::string route_channel(const std::string& node, int worker_id);
};

}  // namespace pusher::worker
