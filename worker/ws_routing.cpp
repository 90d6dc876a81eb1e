// A ws worker's side of users, groups and presence (issue 14): it subscribes
// to a user's or group's bus channel while it holds a member, applies the
// operations the publish API sends to a client's owner, and answers presence
// queries about what it holds. Pushes to users and groups are encoded once
// per message (and variant) and the same bytes go to every recipient.
#include <algorithm>
#include <unordered_set>

#include "runtime/log.h"
#include "worker/api_wire.h"
#include "worker/ws_service.h"

namespace pusher::worker {

using protocol::php::Key;
using protocol::php::Type;
using protocol::php::Value;
using runtime::BufferRef;
using runtime::bump;
using runtime::Connection;
using runtime::SharedBuffer;

// Multi-target push ids remembered; duplicates arrive within one bus round.
static constexpr size_t kRecentPushes = 4096;
// Each group is a bus subscription and a search in the client's list.
static constexpr size_t kMaxGroupsPerClient = 256;
// Ids (at most ~200 bytes each) in one presence answer: far below channel_max_frame.
static constexpr size_t kMaxAnswerItems = 20000;

void WsService::membership_changed(const std::string& channel, bool first) {
    Value ch = Value::string(channel);
    if (first) return listen(ch);
    // Handing over, the old worker keeps every subscription until the cut:
    // it forwards what they bring to the new one.
    if (!handover_.frozen()) bus_->unsubscribe(ch);
}

bool WsService::seen_before(const std::string& mid) {
    if (!recent_.insert(mid).second) return true;
    recent_order_.push_back(mid);
    if (recent_order_.size() > kRecentPushes) {
        recent_.erase(recent_order_.front());
        recent_order_.pop_front();
    }
    return false;
}

// A push to users and groups: every local member of any target, once,
// except the excluded client ids.
void WsService::on_routed(const Value& data) {
    bump(loop_.stats().bus_routed_in);
    const Value* content = data.get("content");
    if (!content) return;
    std::vector<std::string> uids = api::list_of(data.get("uids"));
    std::vector<std::string> groups = api::list_of(data.get("groups"));
    if (uids.size() + groups.size() > 1) {
        const Value* mid = data.get("mid");
        if (mid && seen_before(mid->as_string())) return;
    }
    std::unordered_set<Connection*> except;  // built only when the push has one
    if (const Value* ex = data.get("except"))
        for (const std::string& id : api::list_of(ex))
            if (Connection* c = own_client(id)) except.insert(c);
    std::vector<Connection*> to;
    std::unordered_set<Connection*> taken;
    bool single = uids.size() + groups.size() == 1;
    auto take = [&](const Membership::Members* m) {
        if (!m) return;
        for (Connection* c : *m) {
            if (!c->ready || except.count(c)) continue;
            if (single || taken.insert(c).second) to.push_back(c);
        }
    };
    for (const std::string& u : uids) take(members_.uid_members(u));
    for (const std::string& g : groups) take(members_.group_members(g));
    deliver(to, content->as_string());
}

void WsService::broadcast_except(const std::string& content, const Value& except) {
    std::unordered_set<Connection*> skip;
    for (const std::string& id : api::list_of(&except))
        if (Connection* c = own_client(id)) skip.insert(c);
    std::vector<Connection*> to;
    tcp_.for_each([&](Connection& c) {
        if (c.ready && !skip.count(&c)) to.push_back(&c);
    });
    deliver(to, content);
}

// One frame per deflate variant in use among the recipients, made when the
// first recipient of that variant comes; the same bytes go to each.
void WsService::deliver(const std::vector<Connection*>& to, const std::string& content) {
    if (to.empty()) return;
    flush_broadcasts();  // keep the order of what arrived on the bus
    uint8_t opcode = opcode_for(content);
    std::array<BufferRef, DeflateVariants::kCount> frames;
    uint64_t sent = 0;
    for (Connection* c : to) {
        uint8_t v = deflate_variant(*c);
        if (!frames[v].get()) {
            std::string f;
            deflate_.append_frame(v, opcode, content, &f);
            frames[v] = BufferRef(SharedBuffer::copy(f.data(), f.size()));
        }
        if (c->send(frames[v].get())) ++sent;
    }
    bump(loop_.stats().messages_out, sent);
}

// ---- operations on one client, sent to its owner -------------------------------

void WsService::client_op(Connection* c, const Value& data) {
    const Value* op_v = data.get("op");
    std::string op = op_v ? op_v->as_string() : "";
    if (!c) return answer(data, false, Value::string("no such client"));
    const Value* arg_v = data.get("arg");
    std::string arg = arg_v ? arg_v->as_string() : "";
    // A bind or join waits for the bus even when the user or group already
    // had a member here: that member's subscription may itself be unconfirmed
    // (asked a moment ago) or being restored after a lost link.
    bool subscribes = false;
    if (op == api::kBindUid) {
        if (arg.empty()) return answer(data, false, Value::string("empty uid"));
        members_.bind_uid(*c, arg);
        subscribes = true;
        c->flags |= kBound;
    } else if (op == api::kUnbindUid) {
        members_.unbind_uid(*c);
    } else if (op == api::kJoin) {
        if (arg.empty()) return answer(data, false, Value::string("empty group"));
        const auto* groups = members_.groups_of(*c);
        if (groups && groups->size() >= kMaxGroupsPerClient &&
            std::find(groups->begin(), groups->end(), arg) == groups->end())
            return answer(data, false, Value::string("too many groups for this client (256)"));
        members_.join(*c, arg);
        subscribes = true;
        c->flags |= kBound;
    } else if (op == api::kLeave) {
        members_.leave(*c, arg);
    } else if (op == api::kSetSession) {
        members_.set_session(*c, arg);
        c->flags |= kBound;
    } else if (op == api::kGetSession) {
        const std::string* s = members_.session_of(*c);
        return answer(data, true, s ? Value::string(*s) : Value::null());
    } else if (op == api::kClose) {
        send_close(*c, protocol::kWsNormal, "closed by server");
    } else {
        return answer(data, false, Value::string("unknown operation"));
    }
    if (!subscribes) return answer(data, true, Value::null());
    // The push that follows the answer must find this worker subscribed.
    Value ask = data;
    when_live([this, ask] { answer(ask, true, Value::null()); });
}

void WsService::answer(const Value& ask, bool ok, Value result, bool truncated) {
    const Value* reply = ask.get("reply");
    const Value* rid = ask.get("rid");
    if (!reply || !rid) return;
    Value d = Value::array();
    api::put(d, "rid", *rid);
    api::put(d, "node", config_.node_name);
    api::put(d, "worker_id", Value::integer(ctx_.worker_id));
    api::put(d, "ok", Value::integer(ok ? 1 : 0));
    api::put(d, "result", std::move(result));
    if (truncated) api::put(d, "truncated", Value::integer(1));
    bus_->publish({*reply}, d);
}

// ---- presence ---------------------------------------------------------------------

void WsService::on_query(const Value& data) {
    const Value* op_v = data.get("op");
    const Value* arg_v = data.get("arg");
    if (!op_v) return;
    std::string op = op_v->as_string(), arg = arg_v ? arg_v->as_string() : "";
    if (op == api::kRollCall) return announce(false);
    // One answer is one bus frame: lists stop at kMaxAnswerItems (said so).
    bool truncated = false;
    auto ids = [&](const Membership::Members* m) {
        std::vector<std::string> out;
        if (m)
            for (Connection* c : *m) {
                if (!c->ready) continue;
                if (out.size() == kMaxAnswerItems) {
                    truncated = true;
                    break;
                }
                out.push_back(client_id(*c));
            }
        return api::list_value(out);
    };
    if (op == api::kUidClients || op == api::kGroupClients) {
        Value list = ids(op == api::kUidClients ? members_.uid_members(arg)
                                                : members_.group_members(arg));
        return answer(data, true, std::move(list), truncated);
    }
    if (op == api::kGroupCount) {
        const Membership::Members* m = members_.group_members(arg);
        int64_t n = 0;
        if (m)
            for (Connection* c : *m) n += c->ready;
        return answer(data, true, Value::integer(n));
    }
    if (op == api::kUids) {
        std::vector<std::string> uids;
        members_.each_uid([&](const std::string& u, const Membership::Members&) {
            if (uids.size() < kMaxAnswerItems)
                uids.push_back(u);
            else
                truncated = true;
        });
        return answer(data, true, api::list_value(uids), truncated);
    }
    if (op == api::kClientCount) {
        int64_t n = 0;
        tcp_.for_each([&](Connection& c) { n += c.ready; });
        return answer(data, true, Value::integer(n));
    }
    answer(data, false, Value::string("unknown query"));
}

// The publish API learns from these which workers a presence answer waits for.
void WsService::announce(bool leaving) {
    Value d = Value::array();
    api::put(d, "node", config_.node_name);
    api::put(d, "worker_id", Value::integer(ctx_.worker_id));
    api::put(d, "instance", std::to_string(instance_));
    api::put(d, "leaving", Value::integer(leaving ? 1 : 0));
    bus_->publish({Value::string(api::kRosterChannel)}, d);
}

}  // namespace pusher::worker
