#include "worker/http_service.h"

#include <unistd.h>

#include "protocol/http_response.h"
#include "protocol/utf8.h"
#include "runtime/connection_rows.h"
#include "runtime/log.h"
#include "worker/api_wire.h"
#include "worker/client_id.h"
#include "worker/client_script.h"
#include "worker/demo_page.h"
#include "worker/health.h"

namespace pusher::worker {

using runtime::append_connection_rows;
using runtime::bump;
using runtime::Connection;
using runtime::log_peer;
using runtime::ServiceConfig;
using runtime::ServiceType;

using protocol::HttpRequest;
using protocol::php::Key;
using protocol::php::Value;

struct HttpService::Session : runtime::Session {
    explicit Session(const protocol::HttpLimits& l) : parser(l) {}
    protocol::HttpParser parser;
    bool mid_request = false;    // bytes of an unfinished request have arrived
    uint32_t request_start = 0;  // when they began: the deadline is not reset by each byte
    // Back-pressure: pipelined requests not yet parsed because this client's
    // answers reached max_send_queue, or because an answer waits for the
    // cluster (awaiting); reading is paused until they drain.
    std::string stash;
    bool awaiting = false;
};

HttpService::HttpService(runtime::Loop& loop, const runtime::WorkerContext& ctx)
    : BusService(loop, ctx),
      reply_channel_(api::reply_channel(ctx.config->node_name)),
      calls_timer_(loop, [this] { expire_calls(); }) {
    if (config_.bus.engine == runtime::BusEngine::Channel) inbox_ = ctx.make_bus(loop, ctx);
}

HttpService::~HttpService() {
    if (inbox_) inbox_->close();
}

void HttpService::close_all() {
    BusService::close_all();
    if (inbox_) inbox_->close();
}

void HttpService::on_accept(Connection& c) {
    protocol::HttpLimits limits;
    limits.max_header = config_.limits.http_max_header;
    limits.max_body = config_.limits.http_max_body;
    c.set_session(std::make_unique<Session>(limits));
    c.phase_since = static_cast<uint32_t>(loop_.now());  // the TLS handshake's deadline
}

void HttpService::on_close(Connection& c) {
    tcp_.remove(c);
}

void HttpService::on_data(Connection& c, const char* data, size_t len) {
    auto& s = c.session<Session>();
    if (s.awaiting) {  // a read already under way: waits with the rest
        s.stash.append(data, len);
        return;
    }
    serve(c, s, data, len);
}

// The answers drained: parse what was held back, then read again.
void HttpService::on_buffer_drain(Connection& c) {
    auto& s = c.session<Session>();
    if (s.stash.empty() || s.awaiting) return;
    std::string rest;
    rest.swap(s.stash);
    c.resume_reading();
    serve(c, s, rest.data(), rest.size());
}

// Pipelined requests that arrive in one read get their answers in one write.
// A client that pipelines faster than it reads its answers is held at
// max_send_queue (plus one answer): parsing stops, the rest of the read waits
// in the session and reading pauses until the answers drain. No answer is
// ever skipped, and memory stays bounded.
void HttpService::serve(Connection& c, Session& session, const char* data, size_t len) {
    auto* s = &session;
    std::string answers;
    bool close = false;
    while (len > 0 && !close) {
        if (c.queued() + answers.size() >= loop_.limits().max_send_queue) {
            s->stash.assign(data, len);
            c.pause_reading();
            break;
        }
        size_t used = 0;
        auto r = s->parser.feed(data, len, &used);
        data += used;
        len -= used;
        if (r == protocol::HttpParser::Result::NeedMore) {
            if (!s->mid_request) s->request_start = static_cast<uint32_t>(loop_.now());
            s->mid_request = true;
            break;
        }
        s->mid_request = false;
        if (r == protocol::HttpParser::Result::Error) {
            log_peer("publisher: closing " + c.peer() + ": " + std::to_string(s->parser.status()) +
                     " " + s->parser.reason());
            answers += protocol::http_error(s->parser.status(), s->parser.reason());
            close = true;
            break;
        }
        HttpRequest req = s->parser.take();
        bump(loop_.stats().total_request);
        bool pending = false;
        std::string answer = handle(req, c, &pending);
        if (pending) {  // the rest waits for this answer (finish())
            s->awaiting = true;
            s->stash.assign(data, len);
            c.pause_reading();
            break;
        }
        if (answers.empty())
            answers.swap(answer);  // the usual one request per read: no copy
        else
            answers += answer;
        close = !req.keep_alive || req.upgrade;
    }
    if (!answers.empty()) c.send(answers.data(), answers.size());
    if (close) return c.close();
    // The socket took it all at once: no drain event will come for the rest.
    if (!s->stash.empty() && c.queued() == 0 && c.is_open()) on_buffer_drain(c);
}

// The answer is ready: it goes out, then the requests that waited behind it.
void HttpService::finish(uint64_t rid, bool timed_out) {
    auto it = calls_.find(rid);
    if (it == calls_.end()) return;
    ApiCall call = std::move(it->second);
    calls_.erase(it);
    Connection* c = tcp_.find(call.connection_id);
    if (!c || !c->is_open()) return;  // the asker left
    auto& s = c->session<Session>();
    s.awaiting = false;
    std::string answer = call.render(timed_out);
    c->send(answer.data(), answer.size());
    if (!call.keep_alive) return c->close();
    resume(*c, s);
}

void HttpService::resume(Connection& c, Session& s) {
    std::string rest;
    rest.swap(s.stash);
    c.resume_reading();
    if (!rest.empty()) serve(c, s, rest.data(), rest.size());
}

std::string HttpService::handle(const HttpRequest& req, Connection& c, bool* pending) {
    std::string_view path = req.path();
    if (path.substr(0, 5) == "/api/") return api(req, c, pending);
    if (path == "/healthz") return healthz();
    if (path == "/metrics") {
        return protocol::http_response(200, "text/plain; version=0.0.4", metrics(), req.keep_alive);
    }
    if (path == "/demo") {
        std::string page(kDemoPage);
        std::string ws_port = "4236", scheme = "ws";
        for (const ServiceConfig& s : config_.services)
            if (s.type == ServiceType::WebSocket) {
                ws_port = std::to_string(s.port);
                scheme = s.tls.enabled() ? "wss" : "ws";
            }
        page.replace(page.find("%WS_PORT%"), 9, ws_port);
        page.replace(page.find("%WS_SCHEME%"), 11, scheme);
        return protocol::http_response(200, "text/html;charset=utf-8", page, req.keep_alive);
    }
    if (path == "/client/pusher.js") {  // the browser client, compiled in (worker/client_script.h)
        return protocol::http_response(200, "text/javascript;charset=utf-8", client_script(),
                                       req.keep_alive);
    }
    return publish(req);  // like the original, every other path publishes
}

bool HttpService::authorized(const HttpRequest& req) const {
    if (config_.api_key.empty()) return true;
    const std::string* bearer = req.header("Authorization");
    if (bearer && *bearer == "Bearer " + config_.api_key) return true;
    const std::string* key = req.header("X-Api-Key");
    return key && *key == config_.api_key;
}

static Value content_data(const std::string& content) {
    Value d = Value::array();
    d.set(Key::from_string("content"), Value::string(content));
    return d;
}

std::string HttpService::publish(const HttpRequest& req) {
    if (!authorized(req)) return protocol::http_error(401, "missing or wrong api key");
    protocol::Params p;
    protocol::ParamLists lists;
    std::string error;
    if (!protocol::request_params(req, &p, &error, &lists)) return protocol::http_error(400, error);
    bool keep = req.keep_alive && !req.upgrade;
    std::string ok(keep ? protocol::kOkKeepAlive : protocol::kOkClose);
    auto content = p.find("content");
    // Missing or empty: "ok" and nothing published. "0" is published (PHP's empty("0") is not
    // kept).
    if (content == p.end() || content->second.empty()) return ok;
    // It would go out as a WebSocket text frame, which a browser must fail
    // the whole connection on (RFC 6455 8.1): refuse it here, where the
    // publisher gets an answer, instead of breaking every subscriber.
    if (!protocol::utf8_valid(content->second.data(), content->second.size())) {
        bump(loop_.stats().publish_refused);
        return protocol::http_error(400, "content is not valid UTF-8");
    }
    bool targets = p.count("to_uid") || p.count("to_group") || lists.count("to_uid") ||
                   lists.count("to_group") || p.count("exclude") || lists.count("exclude");
    bool to_clients = p.count("to_client_id") || lists.count("to_client_id");
    if (targets && to_clients)  // one push, one way of addressing: no silent half
        return protocol::http_error(400, "to_client_id cannot be combined with to_uid, to_group "
                                         "or exclude");
    if (targets) return publish_targets(p, lists, content->second, keep);
    if (to_clients) {
        std::vector<std::string> ids = protocol::param_list(p, lists, "to_client_id");
        if (ids.size() > 10000)
            return protocol::http_error(400, "too many targets in one push (10000 at most)");
        for (const std::string& to : ids) {
            auto id = ClientId::parse(to);
            if (!id) continue;  // an id that cannot exist reaches nobody
            Value d = Value::array();
            d.set(Key::from_string("to_client_id"), Value::string(to));
            d.set(Key::from_string("content"), Value::string(content->second));
            bus_->publish({Value::string(id->channel())}, d);
            bump(loop_.stats().bus_publishes);
        }
    } else if (p.count("to_worker_id") && p.count("to_connection_id")) {
        // As the original: strings from $_GET; the channel "0" matches int 0.
        Value d = Value::array();
        d.set(Key::from_string("to_connection_id"), Value::string(p["to_connection_id"]));
        d.set(Key::from_string("content"), Value::string(content->second));
        bus_->publish({Value::string(p["to_worker_id"])}, d);
        bump(loop_.stats().bus_publishes);
    } else {
        bus_->publish({Value::string(config_.broadcast_event)}, content_data(content->second));
        bump(loop_.stats().bus_publishes);
    }
    return ok;
}

std::string HttpService::healthz() const {
    std::string why = "no status region";
    bool ok = ctx_.stats && healthy(*ctx_.stats, &why);
    return protocol::http_response(ok ? 200 : 503, "text/plain;charset=utf-8",
                                   ok ? "ok\n" : why + "\n", ok);
}

std::string HttpService::metrics() const {
    return ctx_.stats ? prometheus_text(*ctx_.stats) : "";
}

void HttpService::sweep() {
    uint32_t now = static_cast<uint32_t>(loop_.now());
    tcp_.for_each([&](Connection& c) {
        auto* s = &c.session<Session>();
        uint32_t idle = now - c.last_active;
        // Slowloris: an unfinished request gets handshake_timeout in total.
        bool handshake_late =
            c.tls_handshaking() && now - c.phase_since > config_.limits.handshake_timeout;
        if (handshake_late) bump(loop_.stats().tls_handshake_failures);
        // Whole seconds on both sides: ">" so that no one is cut before the timeout.
        if ((s->mid_request && now - s->request_start > config_.limits.handshake_timeout) ||
            handshake_late ||
            idle >= config_.limits.idle_timeout)
            c.close_now();
    });
}

void HttpService::dump_connections(std::string& out) const {
    append_connection_rows(out, tcp_, ctx_.service().name, ctx_.worker_id, "http",
                           [](Connection&) { return "ESTABLISHED"; });
}

}  // namespace pusher::worker
