#include "worker/membership.h"

#include <algorithm>

#include "protocol/utf8.h"

namespace pusher::worker {

bool Membership::valid_name(std::string_view name) {
    if (name.empty() || name.size() > 128) return false;
    for (unsigned char ch : name)
        if (ch < 0x20 || ch == 0x7f) return false;
    return protocol::utf8_valid(name.data(), name.size());
}

void Membership::add(Index& idx, const std::string& key, std::string channel, Conn& c) {
    Members& m = idx[key];
    m.insert(&c);
    if (m.size() == 1) change_(channel, true);
}

void Membership::remove(Index& idx, const std::string& key, std::string channel, Conn& c) {
    auto it = idx.find(key);
    if (it == idx.end()) return;
    it->second.erase(&c);
    if (!it->second.empty()) return;
    idx.erase(it);
    change_(channel, false);
}

void Membership::drop_if_empty(Conn& c) {
    auto it = ids_.find(&c);
    if (it == ids_.end()) return;
    const Identity& id = it->second;
    if (id.uid.empty() && id.groups.empty() && id.session.empty()) ids_.erase(it);
}

bool Membership::bind_uid(Conn& c, const std::string& uid) {
    Identity& id = ids_[&c];
    if (id.uid == uid) return false;
    if (!id.uid.empty()) remove(uids_, id.uid, uid_channel(id.uid), c);
    id.uid = uid;
    add(uids_, uid, uid_channel(uid), c);
    return true;
}

bool Membership::unbind_uid(Conn& c) {
    auto it = ids_.find(&c);
    if (it == ids_.end() || it->second.uid.empty()) return false;
    std::string uid = std::move(it->second.uid);
    it->second.uid.clear();
    remove(uids_, uid, uid_channel(uid), c);
    drop_if_empty(c);
    return true;
}

bool Membership::join(Conn& c, const std::string& group) {
    Identity& id = ids_[&c];
    if (std::find(id.groups.begin(), id.groups.end(), group) != id.groups.end()) return false;
    id.groups.push_back(group);
    add(groups_, group, group_channel(group), c);
    return true;
}

bool Membership::leave(Conn& c, const std::string& group) {
    auto it = ids_.find(&c);
    if (it == ids_.end()) return false;
    auto& gs = it->second.groups;
    auto g = std::find(gs.begin(), gs.end(), group);
    if (g == gs.end()) return false;
    gs.erase(g);
    remove(groups_, group, group_channel(group), c);
    drop_if_empty(c);
    return true;
}

void Membership::forget(Conn& c) {
    auto it = ids_.find(&c);
    if (it == ids_.end()) return;
    Identity id = std::move(it->second);
    ids_.erase(it);
    if (!id.uid.empty()) remove(uids_, id.uid, uid_channel(id.uid), c);
    for (const std::string& g : id.groups) remove(groups_, g, group_channel(g), c);
}

const std::string* Membership::uid_of(const Conn& c) const {
    auto it = ids_.find(&c);
    return it == ids_.end() || it->second.uid.empty() ? nullptr : &it->second.uid;
}

const std::vector<std::string>* Membership::groups_of(const Conn& c) const {
    auto it = ids_.find(&c);
    return it == ids_.end() ? nullptr : &it->second.groups;
}

const std::string* Membership::session_of(const Conn& c) const {
    auto it = ids_.find(&c);
    return it == ids_.end() || it->second.session.empty() ? nullptr : &it->second.session;
}

}  // namespace pusher::worker
