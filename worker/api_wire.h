// What the publish API (http workers) and the ws workers say to each other on
// the bus, beyond the original's pushes: one place for the channel names and
// the keys of each event (docs/ARCHITECTURE.md "Users, groups and presence").
//
//   push to users/groups  on "uid:<u>" / "group:<g>" of every target, one publish:
//                         {content, uids: [..], groups: [..], except: [..], mid}
//   broadcast except      on the broadcast event: {content, except: [client ids]}
//   client operation      on the owner's route channel (ClientId::channel()):
//                         {op, to_client_id, arg, reply, rid}
//   presence query        on kQueryChannel: {op, arg, reply, rid}
//   answer                on the asker's reply channel:
//                         {rid, node, worker_id, instance, ok, result}
//   roster                on kRosterChannel, every kRosterInterval and at roll call:
//                         {node, worker_id, instance, leaving}
#pragma once
#include <unistd.h>

#include <string>
#include <vector>

#include "protocol/php_value.h"

namespace pusher::worker::api {

using protocol::php::Key;
using protocol::php::Value;

inline constexpr const char kQueryChannel[] = "pusher:query";
inline constexpr const char kRosterChannel[] = "pusher:roster";
// ws workers announce themselves this often; an asker expects an answer from
// every worker heard within kRosterExpiry.
inline constexpr double kRosterInterval = 2.0;
inline constexpr double kRosterExpiry = 3 * kRosterInterval;

// Client operations (owner's route channel) and presence queries (everyone).
inline constexpr const char kBindUid[] = "bind_uid";
inline constexpr const char kUnbindUid[] = "unbind_uid";
inline constexpr const char kJoin[] = "join_group";
inline constexpr const char kLeave[] = "leave_group";
inline constexpr const char kClose[] = "close_client";
inline constexpr const char kSetSession[] = "set_session";
inline constexpr const char kGetSession[] = "get_session";
inline constexpr const char kRollCall[] = "roll_call";
inline constexpr const char kUidClients[] = "uid_clients";      // arg uid: its client ids here
inline constexpr const char kGroupClients[] = "group_clients";  // arg group: client ids here
inline constexpr const char kGroupCount[] = "group_count";      // arg group: how many here
inline constexpr const char kUids[] = "uids";                   // the users bound here
inline constexpr const char kClientCount[] = "client_count";    // open clients here

// An asker's reply channel: unique per process on a node.
inline std::string reply_channel(const std::string& node) {
    return "pusher:reply:" + node + ":" + std::to_string(getpid());
}

inline Value list_value(const std::vector<std::string>& items) {
    Value v = Value::array();  // appended directly: set() would search every key
    v.items.reserve(items.size());
    for (const std::string& s : items)
        v.items.emplace_back(Key::integer(static_cast<int64_t>(v.items.size())), Value::string(s));
    return v;
}

inline std::vector<std::string> list_of(const Value* v) {
    std::vector<std::string> out;
    if (!v || v->type != protocol::php::Type::Array) return out;
    for (const auto& [k, item] : v->items) out.push_back(item.as_string());
    return out;
}

inline void put(Value& v, const char* key, Value item) {
    v.set(Key::from_string(key), std::move(item));
}
inline void put(Value& v, const char* key, const std::string& s) {
    v.set(Key::from_string(key), Value::string(s));
}

}  // namespace pusher::worker::api
