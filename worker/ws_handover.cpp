// The WebSocket service's side of a reload with hand-over (worker/handover.h
// has the protocol and the cut): what a connection's state is made of, taken
// out of the old worker and put back in the new one, and the paced goodbyes
// for clients that cannot be handed over.
#include <algorithm>
#include <random>

#include "protocol/ws_handshake.h"
#include "runtime/log.h"
#include "worker/ws_service.h"
#include "worker/ws_session.h"

namespace pusher::worker {

using runtime::bump;
using runtime::Connection;
using runtime::ConnState;

// A replacement accepts new clients only once live: until the cut it drops
// what it reads from the bus (the old worker forwards it), so a client it
// welcomed before would miss what follows its welcome. Meanwhile the old
// worker accepts, until it freezes; connects wait in the shared backlog.
bool WsService::start(std::string* error) {
    if (ctx_.handover_fd >= 0) accept_on_start_ = false;
    if (!BusService::start(error)) return false;
    if (ctx_.handover_fd >= 0) {
        accept_on_start_ = true;
        handover_.begin_new(ctx_.handover_fd, config_.handover_timeout);
    }
    return true;
}

// TLS connections stay: their cipher state is in this process's OpenSSL.
bool WsService::hand_over(int fd, std::function<void()> leave) {
    if (ctx_.service().tls.enabled() || handover_.role() != Handover::Role::None) return false;
    leave_ = std::move(leave);
    handover_.begin_old(fd, config_.handover_timeout);
    return true;
}

void WsService::leave() {
    if (leave_) leave_();
}

void WsService::resume_serving() {
    leave_ = nullptr;
    runtime::log_line("hand-over: nothing was handed over; this worker serves on");
}

// Everything open and not closing goes, also clients mid-handshake (with the
// bytes of their request so far) and clients awaiting their welcome. Each
// leaves this table without a close event: its deflate variant and its
// memberships are released here, its subscriptions kept until the cut.
void WsService::export_connections(std::vector<Handover::Conn>* out, std::vector<int>* fds) {
    stop_accepting();  // the replacement accepts once it is live
    tcp_.for_each([&](Connection& c) {
        if (c.state() != ConnState::Open || (c.flags & kCloseSent) || c.tls()) return;
        Session& s = c.session<Session>();
        Handover::Conn rec;
        rec.id = c.id();
        rec.phase = s.open() ? Handover::Conn::kOpen : Handover::Conn::kHandshake;
        rec.flags = c.flags;
        rec.ready = c.ready;
        rec.last_active = c.last_active;
        rec.phase_since = c.phase_since;
        rec.bytes_in = c.bytes_in();
        rec.bytes_out = c.bytes_out();
        rec.input = s.open() ? s.decoder.save() : s.handshake->raw;
        if (c.flags & kBound) {
            if (const std::string* uid = members_.uid_of(c)) rec.has_uid = true, rec.uid = *uid;
            if (const auto* groups = members_.groups_of(c)) rec.groups = *groups;
            if (const std::string* sess = members_.session_of(c))
                rec.has_session = true, rec.session = *sess;
            members_.forget(c);
        }
        if (uint8_t v = deflate_variant(c)) deflate_.leave(v);
        tcp_.remove(c);
        int fd = c.hand_off(&rec.output);
        out->push_back(std::move(rec));
        fds->push_back(fd);
    });
}

void WsService::adopt_connection(int fd, Handover::Conn& rec) {
    Connection* c = tcp_.adopt(fd, rec.id);  // on_accept: a fresh session, mid-handshake
    if (!c->is_open()) return;
    Session& s = c->session<Session>();
    c->set_counters(rec.bytes_in, rec.bytes_out);
    if (!rec.output.empty()) c->send(rec.output.data(), rec.output.size());
    if (rec.phase == Handover::Conn::kHandshake) {
        c->phase_since = rec.phase_since;
        if (!rec.input.empty()) handshake(*c, s, rec.input.data(), rec.input.size());
        return;
    }
    s.handshake.reset();
    if (!s.decoder.restore(rec.input, config_.limits.ws_max_message)) {
        runtime::log_line("hand-over: connection " + std::to_string(rec.id) +
                          ": decoder state refused");
        return c->close_now();
    }
    c->flags = rec.flags;
    c->ready = rec.ready;
    c->last_active = rec.last_active;
    c->phase_since = rec.phase_since;
    if (uint8_t v = deflate_variant(*c)) deflate_.join(v);
    restore_identity(*c, rec);
    // A token client whose welcome was waiting for its subscriptions.
    if (!c->ready)
        when_live([this, id = c->id()] {
            Connection* late = tcp_.find(id);
            if (!late || !late->is_open() || late->ready || (late->flags & kCloseSent)) return;
            late->ready = true;
            welcome(*late);
        });
}

void WsService::restore_identity(Connection& c, Handover::Conn& rec) {
    if (!rec.has_uid && rec.groups.empty() && !rec.has_session) return;
    if (rec.has_uid) members_.bind_uid(c, rec.uid);
    for (const std::string& g : rec.groups) members_.join(c, g);
    if (rec.has_session) members_.set_session(c, std::move(rec.session));
    c.flags |= kBound;
}

// What waited for the cut (answers, welcomes) goes once the subscriptions
// it promises are in effect.
void WsService::went_live() {
    if (accept_on_start_) tcp_.start_accepting();
    std::vector<std::function<void()>> waiting;
    waiting.swap(after_live_);
    for (auto& fn : waiting) bus_->sync(std::move(fn));
}

// The ids of multi-target pushes already delivered: the other copies of such
// a push may reach the new worker after the cut (another stream).
std::string WsService::export_state() {
    std::string out;
    for (const std::string& mid : recent_order_) out += mid + "\n";
    return out;
}

void WsService::import_state(const std::string& state) {
    size_t at = 0;
    for (size_t nl; (nl = state.find('\n', at)) != std::string::npos; at = nl + 1)
        seen_before(state.substr(at, nl - at));
}

// ---- paced goodbyes -----------------------------------------------------------------

// Clients told 1001 all in the same second come back in the same second: a
// reconnect storm. These are spread evenly over the window, in random order.
bool WsService::go_away_paced(double window) {
    if (handover_.role() != Handover::Role::Old) announce(true);
    roster_timer_.cancel();
    pace_ids_.clear();
    tcp_.for_each([&](Connection& c) {
        if (c.state() != ConnState::Open || (c.flags & kCloseSent)) return;
        if (!c.ready) return c.close_now();  // mid-handshake: nothing to say
        pace_ids_.push_back(c.id());
    });
    std::shuffle(pace_ids_.begin(), pace_ids_.end(), std::mt19937_64(std::random_device{}()));
    pace_total_ = pace_ids_.size();
    pace_began_ = loop_.now();
    pace_window_ = std::max(0.0, window);
    pace_tick();
    if (!pace_ids_.empty()) pace_timer_.start(0.05, true);
    return true;
}

void WsService::pace_tick() {
    double f = pace_window_ <= 0 ? 1.0 : (loop_.now() - pace_began_) / pace_window_;
    size_t due = static_cast<size_t>(std::min(1.0, f) * static_cast<double>(pace_total_));
    size_t closed = pace_total_ - pace_ids_.size();
    while (closed < due && !pace_ids_.empty()) {
        Connection* c = tcp_.find(pace_ids_.back());
        pace_ids_.pop_back();
        ++closed;
        if (!c || c->state() != ConnState::Open || (c->flags & kCloseSent)) continue;
        send_close(*c, protocol::kWsGoingAway, "server restarting, reconnect");
        bump(loop_.stats().paced_closes);
    }
    if (pace_ids_.empty()) pace_timer_.cancel();
}

}  // namespace pusher::worker
