#include "worker/client_id.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

namespace pusher::worker {

std::string ClientId::str() const {
    char tail[64];
    snprintf(tail, sizeof tail, "-%d-%" PRIu64 "-%016" PRIx64, worker_id, connection_id, instance);
    return node + tail;
}

std::string ClientId::route_channel(const std::string& node, int worker_id) {
    return "client:" + node + ":" + std::to_string(worker_id);
}

// Parses from the right, since only the node part may contain '-'.
std::optional<ClientId> ClientId::parse(const std::string& s) {
    size_t p3 = s.rfind('-');
    if (p3 == std::string::npos || p3 == 0) return std::nullopt;
    size_t p2 = s.rfind('-', p3 - 1);
    if (p2 == std::string::npos || p2 == 0) return std::nullopt;
    size_t p1 = s.rfind('-', p2 - 1);
    if (p1 == std::string::npos || p1 == 0) return std::nullopt;
    auto number = [&](size_t from, size_t to, int base, uint64_t* out) {
        if (to <= from || to - from > 20) return false;
        std::string part = s.substr(from, to - from);
        char* end = nullptr;
        *out = strtoull(part.c_str(), &end, base);
        return end && *end == '\0' && part[0] != '+' && part[0] != '-';
    };
    ClientId id;
    uint64_t w = 0;
    if (!number(p1 + 1, p2, 10, &w) || w > 65535) return std::nullopt;
    if (!number(p2 + 1, p3, 10, &id.connection_id)) return std::nullopt;
    if (!number(p3 + 1, s.size(), 16, &id.instance)) return std::nullopt;
    id.node = s.substr(0, p1);
    id.worker_id = static_cast<int>(w);
    return id;
}

}  // namespace pusher::worker
