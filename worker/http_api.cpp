// The publish API's users, groups and presence (issue 14), GatewayWorker's
// operations over HTTP:
//   /?to_uid=a,b&to_group=g&exclude=<client ids>&content=X   one bus publish
//   /api/bind_uid, unbind_uid, join_group, leave_group, close_client,
//   set_session, get_session (client_id=...)                  the owner answers
//   /api/is_uid_online, uid_clients (uid=), group_count, group_clients (group=),
//   uid_count, client_count                                   every ws worker answers
// An operation answers "ok" only once its owner applied it (and, for a join
// or a bind, once the owner's subscription is in effect on the bus), so the
// push that follows on the same API connection finds it. A query answers
// when every ws worker in the roster did, or at api_timeout with what came,
// saying which workers are missing.
#include <json/json.h>

#include <exception>
#include <memory>

#include "protocol/http_response.h"
#include "protocol/utf8.h"
#include "runtime/log.h"
#include "worker/api_wire.h"
#include "worker/client_id.h"
#include "worker/http_service.h"
#include "worker/membership.h"

namespace pusher::worker {

using protocol::HttpRequest;
using protocol::ParamLists;
using protocol::Params;
using protocol::php::Value;
using runtime::bump;
using runtime::Connection;

namespace {

constexpr size_t kMaxTargets = 10000;  // uids + groups + excluded ids in one push
constexpr size_t kMaxSession = 4096;   // session data, bytes of JSON

// GatewayWorker's method names, for those who know them.
const std::map<std::string, std::string, std::less<>> kAliases = {
    {"bindUid", api::kBindUid},
    {"unbindUid", api::kUnbindUid},
    {"joinGroup", api::kJoin},
    {"leaveGroup", api::kLeave},
    {"closeClient", api::kClose},
    {"setSession", api::kSetSession},
    {"updateSession", api::kSetSession},
    {"getSession", api::kGetSession},
    {"isUidOnline", "is_uid_online"},
    {"getClientIdByUid", api::kUidClients},
    {"getClientCountByGroup", api::kGroupCount},
    {"getClientIdListByGroup", api::kGroupClients},
    {"getAllUidCount", "uid_count"},
    {"getAllClientCount", api::kClientCount},
};

bool valid_name(const std::string& s) {
    return Membership::valid_name(s);
}

// Session data: one JSON object and nothing after it, strictly (no comments,
// no duplicate keys), nested shallowly. jsoncpp throws past its stackLimit:
// caught, so a deep one is a 400 like any other bad session.
bool session_object(const std::string& text) {
    Json::CharReaderBuilder b;
    Json::CharReaderBuilder::strictMode(&b.settings_);
    b["stackLimit"] = 32;
    std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    Json::Value parsed;
    std::string errs;
    try {
        return reader->parse(text.data(), text.data() + text.size(), &parsed, &errs) &&
               parsed.isObject();
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

static std::string api_error(int status, const std::string& why, bool keep) {
    return protocol::http_response(status, "text/plain;charset=utf-8", why + "\n", keep);
}

void HttpService::subscribe() {
    inbox().on(Value::string(reply_channel_),
               [this](const Value&, const Value& data) { on_answer(data); });
    inbox().on(Value::string(api::kRosterChannel),
             [this](const Value&, const Value& data) { roster_.heard(data, loop_.now()); });
    Value roll = Value::array();
    api::put(roll, "op", api::kRollCall);
    bus_->publish({Value::string(api::kQueryChannel)}, roll);  // the roster, at once
    if (inbox_) inbox_->connect();
}

std::string HttpService::api(const HttpRequest& req, Connection& c, bool* pending) {
    bool keep = req.keep_alive && !req.upgrade;
    if (!authorized(req)) return api_error(401, "missing or wrong api key", keep);
    Params p;
    ParamLists lists;
    std::string error;
    if (!protocol::request_params(req, &p, &error, &lists)) return api_error(400, error, keep);
    std::string op(req.path().substr(5));
    if (auto alias = kAliases.find(op); alias != kAliases.end()) op = alias->second;

    ApiCall call;
    call.connection_id = c.id();
    call.keep_alive = keep;
    call.deadline = loop_.now() + config_.api_timeout;
    auto param = [&](const char* k) { return p.count(k) ? p[k] : std::string(); };

    // Presence: every ws worker of the cluster answers with its part.
    std::string query = op == "is_uid_online" ? api::kUidClients
                        : op == "uid_count"   ? api::kUids
                                              : op;
    if (query == api::kUidClients || query == api::kGroupClients || query == api::kGroupCount ||
        query == api::kUids || query == api::kClientCount) {
        bool by_uid = query == api::kUidClients, by_group = !by_uid && query.find("group") == 0;
        call.arg = by_uid ? param("uid") : by_group ? param("group") : "";
        if ((by_uid || by_group) && !valid_name(call.arg))
            return api_error(400, by_uid ? "uid missing or invalid" : "group missing or invalid",
                             keep);
        call.op = query;
        call.query = true;
        call.expected = roster_.alive(loop_.now());
        Value d = Value::array();
        api::put(d, "op", query);
        api::put(d, "arg", call.arg);
        return ask(std::move(call), Value::string(api::kQueryChannel), std::move(d), pending);
    }

    // Operations on one client: its owner applies them.
    static const std::set<std::string> kOps = {api::kBindUid,   api::kUnbindUid, api::kJoin,
                                               api::kLeave,     api::kClose,     api::kSetSession,
                                               api::kGetSession};
    if (!kOps.count(op)) return api_error(404, "no such API operation: " + op, keep);
    std::string client = param("client_id");
    auto id = ClientId::parse(client);
    // The text welcome's address: worker_id + connection_id (on one host; with
    // several, worker W of each reads it and only the holder answers).
    std::string worker = param("worker_id"), conn = param("connection_id");
    bool legacy = !id && !worker.empty() && !conn.empty() &&
                  worker.find_first_not_of("0123456789") == std::string::npos &&
                  conn.find_first_not_of("0123456789") == std::string::npos;
    if (!id && !legacy)
        return api_error(400, "client_id (or worker_id and connection_id) missing or invalid",
                         keep);
    std::string arg;
    if (op == api::kBindUid) {
        arg = param("uid");
        if (!valid_name(arg)) return api_error(400, "uid missing or invalid", keep);
    } else if (op == api::kJoin || op == api::kLeave) {
        arg = param("group");
        if (!valid_name(arg)) return api_error(400, "group missing or invalid", keep);
    } else if (op == api::kSetSession) {
        arg = param("session");
        if (arg.size() > kMaxSession || !session_object(arg))
            return api_error(400, "session must be a JSON object of at most 4096 bytes", keep);
    }
    call.op = op;
    call.arg = legacy ? worker + "/" + conn : client;
    Value d = Value::array();
    api::put(d, "op", op);
    api::put(d, legacy ? "to_connection_id" : "to_client_id", legacy ? conn : client);
    api::put(d, "arg", arg);
    // As a legacy push: the bus channel of worker W is "W" (the original's).
    Value channel = legacy ? Value::string(worker) : Value::string(id->channel());
    return ask(std::move(call), channel, std::move(d), pending);
}

// Sends the question and parks the request until finish().
std::string HttpService::ask(ApiCall call, const Value& channel, Value data, bool* pending) {
    uint64_t rid = next_rid_++;
    api::put(data, "reply", reply_channel_);
    api::put(data, "rid", std::to_string(rid));
    bus_->publish({channel}, data);
    calls_.emplace(rid, std::move(call));
    if (!calls_timer_.armed()) calls_timer_.start(0.05, true);
    *pending = true;
    return {};
}

void HttpService::on_answer(const Value& data) {
    const Value* rid_v = data.get("rid");
    if (!rid_v) return;
    uint64_t rid = strtoull(rid_v->as_string().c_str(), nullptr, 10);
    auto it = calls_.find(rid);
    if (it == calls_.end()) return;  // answered late: its request was answered already
    if (it->second.add(data)) finish(rid, false);
}

void HttpService::expire_calls() {
    double now = loop_.now();
    std::vector<uint64_t> late;
    for (auto& [rid, call] : calls_)
        if (now >= call.deadline) late.push_back(rid);
    for (uint64_t rid : late) finish(rid, true);
    if (calls_.empty()) calls_timer_.cancel();
}

// A push to users and groups (and everyone but some): one publish on the
// channel of every target; the ws workers holding members read it.
std::string HttpService::publish_targets(const Params& p, const ParamLists& lists,
                                         const std::string& content, bool keep) {
    std::vector<std::string> uids = protocol::param_list(p, lists, "to_uid");
    std::vector<std::string> groups = protocol::param_list(p, lists, "to_group");
    std::vector<std::string> except = protocol::param_list(p, lists, "exclude");
    if (uids.size() + groups.size() + except.size() > kMaxTargets)
        return api_error(400, "too many targets in one push (10000 at most)", keep);
    // A push addressed to users or groups that names none (to_uid=, [],
    // ",") reaches nobody: it must never become the broadcast that a push
    // with exclude alone is.
    bool addressed = p.count("to_uid") || p.count("to_group") || lists.count("to_uid") ||
                     lists.count("to_group");
    if (addressed && uids.empty() && groups.empty())
        return api_error(400, "to_uid / to_group name no uid or group", keep);
    std::vector<Value> channels;
    for (const std::string& u : uids) {
        if (!valid_name(u)) return api_error(400, "invalid uid", keep);
        channels.push_back(Value::string(Membership::uid_channel(u)));
    }
    for (const std::string& g : groups) {
        if (!valid_name(g)) return api_error(400, "invalid group", keep);
        channels.push_back(Value::string(Membership::group_channel(g)));
    }
    Value d = Value::array();
    api::put(d, "content", content);
    if (!except.empty()) api::put(d, "except", api::list_value(except));
    if (channels.empty()) {  // everyone, except some
        bus_->publish({Value::string(config_.broadcast_event)}, d);
    } else {
        api::put(d, "uids", api::list_value(uids));
        api::put(d, "groups", api::list_value(groups));
        if (channels.size() > 1)  // it arrives once per channel a worker holds
            api::put(d, "mid", reply_channel_ + ":" + std::to_string(next_rid_++));
        bus_->publish(channels, d);
    }
    bump(loop_.stats().bus_publishes);
    return std::string(keep ? protocol::kOkKeepAlive : protocol::kOkClose);
}

}  // namespace pusher::worker
