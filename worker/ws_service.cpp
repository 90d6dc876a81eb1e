#include "worker/ws_service.h"

#include <json/json.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "protocol/http_request.h"
#include "protocol/utf8.h"
#include "protocol/ws_handshake.h"
#include "runtime/connection_rows.h"
#include "runtime/log.h"
#include "worker/api_wire.h"
#include "worker/client_id.h"
#include "worker/ws_session.h"

namespace pusher::worker {

using runtime::append_connection_rows;
using runtime::BufferRef;
using runtime::bump;
using runtime::Connection;
using runtime::ConnState;
using runtime::Limits;
using runtime::log_peer;
using runtime::Loop;
using runtime::SharedBuffer;
using runtime::WorkerContext;

using protocol::php::Value;

static_assert(DeflateVariants::kCount - 1 == (WsService::kDeflateMask >> WsService::kDeflateShift));

uint8_t WsService::deflate_variant(const Connection& c) {
    return static_cast<uint8_t>((c.flags & kDeflateMask) >> kDeflateShift);
}

WsService::WsService(Loop& loop, const WorkerContext& ctx)
    : BusService(loop, ctx),
      deflate_(ctx.service().deflate),
      auth_(config_.auth),
      members_([this](const std::string& ch, bool first) { membership_changed(ch, first); }),
      roster_timer_(loop, [this] { announce(false); }),
      handover_(loop, *bus_, *this,
                "handover:" + config_.node_name + ":" + std::to_string(ctx.worker_id)),
      pace_timer_(loop, [this] { pace_tick(); }) {
    static_assert(sizeof(Session) <= 40, "every connection pays for each byte of its session");
    std::string ping = protocol::ws_encode(protocol::kWsPing, "");
    ping_frame_ = BufferRef(SharedBuffer::copy(ping.data(), ping.size()));
    std::string beat = protocol::ws_encode(protocol::kWsPong, "");
    beat_frame_ = BufferRef(SharedBuffer::copy(beat.data(), beat.size()));
    instance_ = ctx.stats ? ctx.stats->instance_id : 0;
    worker_channel_ = std::to_string(ctx.worker_id);
    route_channel_ = ClientId::route_channel(config_.node_name, ctx.worker_id);
}

void WsService::subscribe() {
    listen(Value::integer(ctx_.worker_id));
    listen(Value::string(config_.broadcast_event));
    listen(Value::string(ClientId::route_channel(config_.node_name, ctx_.worker_id)));
    listen(Value::string(api::kQueryChannel));
    // Every worker hears its slot's cut channels from the start: a hand-over
    // must not wait for (or race) a late subscription.
    handover_.subscribe_cut();
    bus_->set_batch_end([this] { flush_broadcasts(); });
    announce(false);  // queued until the bus is up
    roster_timer_.start(api::kRosterInterval, true);
}

void WsService::listen(const Value& channel) {
    bus_->on(channel, [this](const Value& ch, const Value& data) { on_bus(ch, data); });
}

void WsService::on_bus(const Value& channel, const Value& data) {
    if (handover_.intercept(channel, data)) return;
    dispatch(channel, data);
}

// Where a bus event is routed, by its channel: the worker id (the original's
// to_connection_id pushes), the broadcast event, this worker's client-id
// route, presence queries, and the users and groups it holds members of.
void WsService::dispatch(const Value& channel, const Value& data) {
    std::string name = channel.as_string();
    if (name == worker_channel_) return on_targeted(data);
    if (name == config_.broadcast_event) {
        const Value* content = data.get("content");
        if (!content) return;
        const Value* except = data.get("except");
        if (except) return broadcast_except(content->as_string(), *except);
        return queue_broadcast(content->as_string());
    }
    if (name == api::kQueryChannel) return on_query(data);
    if (name.compare(0, 4, "uid:") == 0 || name.compare(0, 6, "group:") == 0)
        return on_routed(data);
    if (name == route_channel_) return on_client(data);
}

void WsService::when_live(std::function<void()> fn) {
    if (handover_.live()) return bus_->sync(std::move(fn));
    after_live_.push_back(std::move(fn));
}

// ---- connections ------------------------------------------------------------

void WsService::on_accept(Connection& c) {
    auto s = std::make_unique<Session>();
    protocol::HttpLimits limits;
    limits.max_header = config_.limits.http_max_header;
    limits.max_body = 0;
    s->handshake = std::make_unique<Handshake>(limits);
    c.set_session(std::move(s));
    c.phase_since = static_cast<uint32_t>(loop_.now());  // the handshake deadline
    bound_unacknowledged(c);
}

void WsService::on_data(Connection& c, const char* data, size_t len) {
    auto& s = c.session<Session>();
    c.flags &= ~kPingSent;
    if (!s.open()) return handshake(c, s, data, len);
    frames(c, s, data, len);
}

void WsService::handshake(Connection& c, Session& s, const char* data, size_t len) {
    size_t used = 0;
    auto r = s.handshake->parser.feed(data, len, &used);
    if (r == protocol::HttpParser::Result::NeedMore) s.handshake->raw.append(data, len);
    if (r == protocol::HttpParser::Result::NeedMore) return;
    if (r == protocol::HttpParser::Result::Error) {
        std::string answer =
            s.handshake->parser.status() == 431
                ? "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n"
                : protocol::ws_bad_request();
        c.send(answer.data(), answer.size());
        return c.close();
    }
    protocol::HttpRequest req = s.handshake->parser.take();
    auto hs = protocol::ws_handshake(req, config_.allowed_origins, ctx_.service().deflate.enabled);
    // The token is checked before the 101 goes out: a refused client never gets a socket.
    protocol::JwtClaims claims;
    std::string why;
    auto auth = hs.ok ? auth_.admit(req, time(nullptr), &claims, &why) : WsAuth::Result::Refused;
    if (auth == WsAuth::Result::Token && !names_allowed(claims, &why)) auth = WsAuth::Result::Refused;
    if (hs.ok && auth == WsAuth::Result::Refused) {
        bump(loop_.stats().auth_refused);
        hs.ok = false, hs.reason = why, hs.response = ws_unauthorized(why);
    }
    c.send(hs.response.data(), hs.response.size());
    if (!hs.ok) {
        log_peer("websocket: " + c.peer() + " refused: " + hs.reason);
        return c.close();
    }
    if (!c.is_open()) return;  // the peer went away before its answer
    s.handshake.reset();
    if (hs.deflate.agreed()) {
        uint8_t v = DeflateVariants::of_window(hs.deflate.window_bits);
        c.flags |= static_cast<uint8_t>(v << kDeflateShift);
        deflate_.join(v);  // left in on_close(Connection&), which follows every open
        s.decoder.set_deflate(true);
    }
    if (auth == WsAuth::Result::Token) {
        // The welcome says "you are in": a push to the user sent on seeing it
        // must find this worker subscribed. Until then the client is out of
        // the fan-out; the sweep bounds the wait (handshake_timeout). Also
        // when its user and groups had members here already: their
        // subscriptions may not be confirmed yet (Bus::sync runs fn at once
        // when every one is).
        attach_identity(c, claims);
        c.phase_since = static_cast<uint32_t>(loop_.now());
        when_live([this, id = c.id()] {
            Connection* late = tcp_.find(id);
            if (!late || !late->is_open() || late->ready || (late->flags & kCloseSent)) return;
            late->ready = true;
            welcome(*late);
        });
    } else {
        c.ready = true;  // in the fan-out from now on
        welcome(c);
    }
    if (used < len && c.is_open()) frames(c, s, data + used, len - used);
}

// A token's user and groups end up in bus channel names, logs and rows.
bool WsService::names_allowed(const protocol::JwtClaims& claims, std::string* why) {
    bool ok = Membership::valid_name(claims.sub);
    for (const std::string& g : claims.groups) ok = ok && Membership::valid_name(g);
    if (!ok) *why = "sub or a group name is empty or has control characters";
    return ok;
}

// The token's user and groups (subscribing where this worker had no member).
void WsService::attach_identity(Connection& c, const protocol::JwtClaims& claims) {
    members_.bind_uid(c, claims.sub);
    for (const std::string& g : claims.groups) members_.join(c, g);
    c.flags |= kBound;
}

void WsService::welcome(Connection& c) {
    std::string text;
    if (config_.welcome_json) {
        Json::Value w;
        w["type"] = "welcome";
        w["worker_id"] = ctx_.worker_id;
        w["connection_id"] = Json::UInt64(c.id());
        w["client_id"] = client_id(c);
        if (const std::string* uid = members_.uid_of(c)) w["uid"] = *uid;
        if (const auto* groups = members_.groups_of(c); groups && !groups->empty())
            for (const std::string& g : *groups) w["groups"].append(g);
        Json::StreamWriterBuilder b;
        b["indentation"] = "";
        text = Json::writeString(b, w);
    } else {
        text = "workerID:" + std::to_string(ctx_.worker_id) +
               " connectionID:" + std::to_string(c.id()) + " connected\n";
    }
    push_one(c, text);
}

void WsService::frames(Connection& c, Session& s, const char* data, size_t len) {
    protocol::WsDecoder::Error err;
    current_ = &c;
    bool ok = s.decoder.feed(data, len, config_.limits.ws_max_message, *this, &err);
    current_ = nullptr;
    if (ok || !c.is_open()) return;
    log_peer("websocket: closing " + c.peer() + " (" + std::to_string(err.code) +
             "): " + err.reason);
    std::string close = protocol::ws_close_frame(err.code, err.reason);
    c.send(close.data(), close.size());
    c.close();
}

void WsService::on_message(uint8_t, std::string_view) {
    bump(loop_.stats().total_request);
}

void WsService::on_ping(std::string_view payload) {
    std::string pong = protocol::ws_encode(protocol::kWsPong, payload);
    current_->send(pong.data(), pong.size());
}

void WsService::on_close(uint16_t, std::string_view) {
    Connection& c = *current_;
    c.ready = false;
    // The client answers our close: the handshake is complete, the TCP close is ours.
    if (c.flags & kCloseSent) return c.close();
    // The original answers every close with 1000 ("88 02 03 e8") and closes.
    std::string close = protocol::ws_close_frame(protocol::kWsNormal);
    c.send(close.data(), close.size());
    c.close();
}

void WsService::on_close(Connection& c) {
    // TCP gave up on it (TCP_USER_TIMEOUT), unless we had closed it as dead already.
    if (c.connect_error() == ETIMEDOUT && !(c.flags & kCloseSent))
        note_dead(c, "TCP gave up on it (unacknowledged for idle_timeout)");
    if (uint8_t v = deflate_variant(c)) deflate_.leave(v);
    if (c.flags & kBound) members_.forget(c);  // unsubscribes what only it held here
    tcp_.remove(c);
}

// Starts the closing handshake (RFC 6455 7.1.2): our close frame goes out,
// nothing more is pushed, and the connection keeps reading until the client's
// close frame arrives, so the TCP close that follows finds no unread bytes
// (which would turn it into a reset that can destroy the frame in flight).
// The sweep ends a wait longer than handshake_timeout.
void WsService::send_close(Connection& c, uint16_t code, std::string_view reason) {
    std::string close = protocol::ws_close_frame(code, reason);
    c.ready = false;
    c.flags |= kCloseSent;
    c.phase_since = static_cast<uint32_t>(loop_.now());
    c.send(close.data(), close.size());
}

// Stop and reload: every client is told 1001 "going away"; the worker waits
// (bounded) for the handshakes to finish.
void WsService::go_away() {
    // Presence queries stop waiting for this worker, unless it handed its
    // clients over: the same worker name lives on in the new process.
    if (handover_.role() != Handover::Role::Old) announce(true);
    roster_timer_.cancel();
    tcp_.for_each([&](Connection& c) {
        if (c.state() != ConnState::Open) return;
        if (!c.ready) {
            if (!(c.flags & kCloseSent)) c.close_now();  // mid-handshake: nothing to say
            return;
        }
        send_close(c, protocol::kWsGoingAway, "going away");
    });
}

// A client that does not read: its queue is at the cap. Dropping it keeps
// memory bounded and the others on time; it is counted and can reconnect.
// Its queue is discarded except the message its socket is in the middle of,
// and a close frame 1008 follows that: a client that reads again learns why.
// The close frame cannot jump the kernel's socket buffer, so the client gets
// what was already written first; the sweep ends the wait (handshake_timeout).
void WsService::on_buffer_full(Connection& c) {
    bump(loop_.stats().dropped);
    log_peer("websocket: dropping slow client " + c.peer() + " (send queue full)");
    std::string close = protocol::ws_close_frame(protocol::kWsPolicy, "send queue full");
    c.close_discarding(close.data(), close.size());
}

// ---- pushes -------------------------------------------------------------------

// RFC 6455 forbids a text frame that is not UTF-8 (browsers fail the whole
// connection). Content from the bus that is not UTF-8 (the HTTP API refuses
// it, but a PHP Channel\Client may publish anything) goes out as a binary
// frame: delivered intact, never a broken text frame. Checked once per message.
uint8_t WsService::opcode_for(const std::string& content) {
    return protocol::utf8_valid(content.data(), content.size()) ? protocol::kWsText
                                                                : protocol::kWsBinary;
}

void WsService::push_one(Connection& c, const std::string& content) {
    flush_broadcasts();  // keep the order of what arrived on the bus
    std::string frame;   // compressed for this one connection when it negotiated deflate
    deflate_.append_frame(deflate_variant(c), opcode_for(content), content, &frame);
    if (c.send(frame.data(), frame.size())) bump(loop_.stats().messages_out);
}

void WsService::on_targeted(const Value& data) {
    const Value* id = data.get("to_connection_id");
    const Value* content = data.get("content");
    if (!id) return;
    Connection* c = tcp_.find(strtoull(id->as_string().c_str(), nullptr, 10));
    if (data.get("op")) {
        // An operation by worker and connection id (the text welcome's
        // address): worker W of every host reads it; only the holder answers.
        if (c && c->ready) client_op(c, data);
        return;
    }
    if (!content) return;
    if (!c || !c->ready) {
        log_peer("connection not exists");  // as the original echoes (rate-limited)
        return;
    }
    push_one(*c, content->as_string());
}

void WsService::on_client(const Value& data) {
    const Value* id = data.get("to_client_id");
    if (!id) return;
    // A stale id (older instance, another worker) reaches nobody.
    Connection* c = own_client(id->as_string());
    if (data.get("op")) return client_op(c, data);
    const Value* content = data.get("content");
    if (content && c) push_one(*c, content->as_string());
}

// The open connection a client id names, if it is this worker's.
Connection* WsService::own_client(const std::string& id) const {
    auto cid = ClientId::parse(id);
    if (!cid || cid->instance != instance_ || cid->worker_id != ctx_.worker_id ||
        cid->node != config_.node_name)
        return nullptr;
    Connection* c = tcp_.find(cid->connection_id);
    return c && c->ready ? c : nullptr;
}

std::string WsService::client_id(const Connection& c) const {
    return ClientId{config_.node_name, ctx_.worker_id, c.id(), instance_}.str();
}

void WsService::queue_broadcast(const std::string& content) {
    uint8_t opcode = opcode_for(content);
    deflate_.append_frame(0, opcode, content, &batch_);
    deflate_.queue(opcode, content);  // compressed once per variant in use
    ++batch_frames_;
}

// One buffer per variant, chosen by the connection's flag bits: O(1) and no
// allocation per connection.
void WsService::flush_broadcasts() {
    if (batch_.empty()) return;
    BufferRef plain(SharedBuffer::copy(batch_.data(), batch_.size()));
    uint64_t frames = batch_frames_;
    std::array<BufferRef, DeflateVariants::kCount> by_variant;
    deflate_.take(plain, frames, &by_variant);
    batch_.clear();
    batch_frames_ = 0;
    uint64_t sent = 0;
    tcp_.for_each([&](Connection& c) {
        if (c.ready && c.send(by_variant[deflate_variant(c)].get())) ++sent;
    });
    bump(loop_.stats().messages_out, sent * frames);  // messages, not batches
}

// One line of JSON (jsoncpp escapes control characters): the row stays one row.
std::string WsService::identity_json(const Connection& c) const {
    if (!(c.flags & kBound)) return {};
    const std::string* uid = members_.uid_of(c);
    const auto* groups = members_.groups_of(c);
    const std::string* session = members_.session_of(c);
    if (!uid && (!groups || groups->empty()) && !session) return {};
    Json::Value j;
    if (uid) j["uid"] = *uid;
    if (groups)
        for (const std::string& g : *groups) j["groups"].append(g);
    Json::Value parsed;
    Json::Reader reader;
    if (session && reader.parse(*session, parsed)) j["session"] = parsed;
    Json::StreamWriterBuilder b;
    b["indentation"] = "";
    return Json::writeString(b, j);
}

void WsService::dump_connections(std::string& out) const {
    append_connection_rows(
        out, tcp_, ctx_.service().name, ctx_.worker_id, "websocket",
        [](Connection& c) { return c.session<Session>().open() ? "ESTABLISHED" : "HANDSHAKE"; },
        [this](Connection& c) { return identity_json(c); });
}

}  // namespace pusher::worker
