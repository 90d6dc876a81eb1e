// Who is who on one ws worker: the user a connection is bound to, the groups
// it joined and its session data (GatewayWorker's bindUid / joinGroup /
// setSession). Only connections that have one pay for it: an anonymous
// connection is in none of these maps (the service marks bound ones with a
// flag bit, so a close looks nothing up for the others).
//
// The registry says when a user or group gets its first member on this
// worker and loses its last one: the service subscribes to that bus channel
// then and unsubscribes then, so a push to a user or group is read only by
// the workers that hold its members.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/connection.h"

namespace pusher::worker {

class Membership {
  public:
    using Conn = runtime::Connection;
    using Members = std::unordered_set<Conn*>;
    // (bus channel, true: first member arrived / false: last member left)
    using Change = std::function<void(const std::string& channel, bool first)>;

    static std::string uid_channel(const std::string& uid) { return "uid:" + uid; }
    static std::string group_channel(const std::string& group) { return "group:" + group; }
    // A uid or group name: 1..128 bytes of UTF-8 without control characters
    // (names end up in bus channel names, logs and `connections` rows).
    static bool valid_name(std::string_view name);

    explicit Membership(Change change) : change_(std::move(change)) {}

    // Binds c to uid (unbinding it from another uid first). false: already bound to it.
    bool bind_uid(Conn& c, const std::string& uid);
    bool unbind_uid(Conn& c);
    bool join(Conn& c, const std::string& group);
    bool leave(Conn& c, const std::string& group);
    void set_session(Conn& c, std::string json) { ids_[&c].session = std::move(json); }
    // c closes: leaves everything.
    void forget(Conn& c);

    const Members* uid_members(const std::string& uid) const { return find(uids_, uid); }
    const Members* group_members(const std::string& g) const { return find(groups_, g); }
    const std::string* uid_of(const Conn& c) const;
    const std::vector<std::string>* groups_of(const Conn& c) const;
    const std::string* session_of(const Conn& c) const;
    size_t user_count() const { return uids_.size(); }
    size_t group_count() const { return groups_.size(); }
    template <class F>
    void each_uid(F&& f) const {
        for (const auto& [uid, members] : uids_) f(uid, members);
    }

  private:
    struct Identity {
        std::string uid;
        std::vector<std::string> groups;
        std::string session;  // a JSON object, as set_session stored it
    };
    using Index = std::unordered_map<std::string, Members>;
    static const Members* find(const Index& idx, const std::string& key) {
        auto it = idx.find(key);
        return it == idx.end() ? nullptr : &it->second;
    }
    void add(Index& idx, const std::string& key, std::string channel, Conn& c);
    void remove(Index& idx, const std::string& key, std::string channel, Conn& c);
    void drop_if_empty(Conn& c);

    Change change_;
    Index uids_, groups_;
    std::unordered_map<const Conn*, Identity> ids_;
};

}  // namespace pusher::worker
