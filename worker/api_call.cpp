#include "worker/api_call.h"

#include <json/json.h>

#include "protocol/http_response.h"
#include "worker/api_wire.h"
#include "worker/roster.h"

namespace pusher::worker {

using protocol::php::Type;
using protocol::php::Value;

bool ApiCall::add(const Value& a) {
    const Value* node = a.get("node");
    const Value* worker = a.get("worker_id");
    const Value* ok_v = a.get("ok");
    const Value* r = a.get("result");
    bool good = ok_v && ok_v->as_string() == "1";
    if (!query) {
        done = true;
        ok = good;
        if (r) result = *r;
        if (!good && r) error = r->as_string();
        return true;
    }
    if (!node || !worker) return false;
    std::string who = Roster::name(node->as_string(), std::atoll(worker->as_string().c_str()));
    if (!answered.insert(who).second || !good || !r) return complete();
    if (a.get("truncated")) truncated = true;
    if (r->type == Type::Array) {
        for (const std::string& s : api::list_of(r)) {
            if (op == api::kUids)
                uids.insert(s);
            else
                ids.push_back(s);
        }
    } else {
        count += std::atoll(r->as_string().c_str());
    }
    return complete();
}

bool ApiCall::complete() const {
    if (!query) return done;
    if (expected.empty()) return false;  // no roster yet: wait for whoever answers
    for (const std::string& w : expected)
        if (!answered.count(w)) return false;
    return true;
}

static std::string json_text(const Json::Value& v) {
    Json::StreamWriterBuilder b;
    b["indentation"] = "";
    return Json::writeString(b, v) + "\n";
}

static Json::Value strings(const std::vector<std::string>& v) {
    Json::Value a(Json::arrayValue);
    for (const std::string& s : v) a.append(s);
    return a;
}

std::string ApiCall::render(bool timed_out) const {
    using protocol::http_response;
    auto text = [&](int status, const std::string& body) {
        return http_response(status, "text/plain;charset=utf-8", body + "\n", keep_alive);
    };
    auto json = [&](const Json::Value& v) {
        return http_response(200, "application/json", json_text(v), keep_alive);
    };
    if (!query) {
        if (!done || timed_out)
            return text(504, "no worker answered in time (no such client, or its host is down)");
        if (!ok) return text(error == "no such client" ? 404 : 400, error);
        if (op != api::kGetSession)  // the publish answer's bytes
            return std::string(keep_alive ? protocol::kOkKeepAlive : protocol::kOkClose);
        Json::Value out;
        out["client_id"] = arg;
        out["session"] = Json::nullValue;
        Json::Value parsed;
        Json::Reader reader;
        if (result.type == Type::String && reader.parse(result.s, parsed)) out["session"] = parsed;
        return json(out);
    }
    Json::Value out;
    if (op == api::kUidClients) {
        out["uid"] = arg;
        out["online"] = !ids.empty();
        out["client_ids"] = strings(ids);
    } else if (op == api::kGroupClients) {
        out["group"] = arg;
        out["client_ids"] = strings(ids);
    } else if (op == api::kGroupCount) {
        out["group"] = arg;
        out["count"] = Json::Int64(count);
    } else if (op == api::kUids) {
        out["count"] = Json::UInt64(uids.size());
        out["uids"] = strings(std::vector<std::string>(uids.begin(), uids.end()));
    } else {
        out["count"] = Json::Int64(count);
    }
    // Which workers the answer covers: a partial answer says so.
    out["workers"] = Json::UInt64(std::max(expected.size(), answered.size()));
    out["answered"] = Json::UInt64(answered.size());
    if (truncated) out["truncated"] = true;  // lists hold 20000 items per worker at most
    bool whole = complete();
    out["complete"] = whole;
    if (!whole) {
        Json::Value missing(Json::arrayValue);
        for (const std::string& w : expected)
            if (!answered.count(w)) missing.append(w);
        out["missing"] = missing;
    }
    return json(out);
}

}  // namespace pusher::worker
