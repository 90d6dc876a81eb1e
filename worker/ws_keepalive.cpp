// Keep-alive and deadlines of WebSocket clients: the once-a-second sweep
// (docs/ARCHITECTURE.md "Keep-alive").
//
// What counts as life: any byte read from the client (a pong, a ping, a
// message or part of one), and any byte the kernel took for it. The second
// is safe because every client socket has TCP_USER_TIMEOUT = idle_timeout:
// data the peer's TCP does not acknowledge within that long makes the kernel
// abort the connection (counted as an idle close). So a client that is being
// pushed to is not pinged: the pushes prove it alive or end it, and they keep
// a proxy's idle timer fresh as a ping would.
//
// Two cursors walk the connection table a slice per sweep, so the work is
// spread evenly whatever order clients connected in:
//  - the ping cursor gives each connection a turn every half interval; at
//    its turn a client silent for more than half an interval gets a
//    heartbeat, so no client goes much more than an interval without
//    traffic (what a proxy's idle timer needs), and a million idle clients
//    cost n/interval heartbeats a second, never a burst. (A client moved in
//    the table by another's removal may wait up to a round longer, once.) Three turns in four
//    the heartbeat is an unsolicited pong (RFC 6455 5.5.3: a one-way
//    heartbeat, no answer expected): one write, which the client's TCP must
//    acknowledge (see above), and no answer to read. The fourth is a real
//    ping, whose answer proves the client's program alive, not only its
//    kernel: a program that hangs is found within 4 intervals + the time to
//    answer. Reading a pong is about a third of what a ping costs the
//    server (docs/BENCHMARKS.md "Issue #16");
//  - the deadline cursor comes round every few seconds: handshakes and
//    closing handshakes past handshake_timeout, pings left unanswered.
//
// A busy server never closes a healthy client. A client is closed as dead
// only when (1) our ping has been out for idle_timeout - ping_interval
// seconds of time in which this worker kept up (StallLog: a turn that ran
// long does not count), (2) nothing waits unread in its socket (the pong may
// have arrived while we were busy) and (3) nothing of ours has waited
// unwritten to it all along (a client behind on reading whose queue moves
// is the send queue's and TCP's to judge, not silence's). Handshake and
// closing deadlines discount the stalls the same way.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "runtime/log.h"
#include "worker/ws_service.h"
#include "worker/ws_session.h"

namespace pusher::worker {

using runtime::Connection;
using runtime::ConnState;
using runtime::bump;

namespace {

// How many of n connections a sweep visits for a round of `round`
// seconds when `dt` seconds passed since the last sweep: n * dt / round,
// the fraction carried to the next sweep. Wall time, not sweeps: a loaded
// loop's sweeps come late, and a round counted in sweeps would then last
// longer than `round` (a heartbeat per turn instead of one per two).
size_t slice(size_t n, double dt, double round, double* carry) {
    *carry += static_cast<double>(n) * std::min(dt / std::max(round, 1.0), 1.0);
    double whole = std::floor(*carry);
    *carry -= whole;
    return std::min(static_cast<size_t>(whole), n);
}

// The deadline cursor's round: handshake and pong deadlines are met within
// half of the shorter one, and within 5 s, at n/5 visits a second at most.
double deadline_round(const runtime::Limits& lim) {
    double shortest = std::min(lim.handshake_timeout, lim.idle_timeout - lim.ping_interval);
    return std::clamp(std::floor(shortest / 2), 1.0, 5.0);
}

}  // namespace

void WsService::sweep() {
    double now_s = loop_.now();
    stalls_.tick(now_s, kSweepPeriod);
    double dt = last_sweep_ < 0 ? kSweepPeriod : std::max(now_s - last_sweep_, 0.0);
    last_sweep_ = now_s;
    uint32_t now = static_cast<uint32_t>(now_s);
    const runtime::Limits& lim = config_.limits;
    size_t n = tcp_.size();
    if (n == 0) return;
    size_t d = slice(n, dt, deadline_round(lim), &deadline_carry_);
    tcp_.for_slice(deadline_cursor_ % n, d, [&](Connection& c) { check_deadlines(c, now); });
    deadline_cursor_ = (deadline_cursor_ % n + d) % n;
    size_t p = slice(n, dt, lim.ping_interval / 2, &ping_carry_);
    size_t from = ping_cursor_ % n;
    // A visit past the end of the table belongs to the next round.
    tcp_.for_slice(from, p, [&](Connection& c) { keep_alive(c, now, ping_round_ + (c.index < from)); });
    if (from + p >= n && p > 0) ++ping_round_;
    ping_cursor_ = (from + p) % n;
}

void WsService::check_deadlines(Connection& c, uint32_t now) {
    if (c.state() == ConnState::Closed) return;
    const runtime::Limits& lim = config_.limits;
    bool waiting = c.state() == ConnState::Closing || !c.ready || (c.flags & kCloseSent);
    if (waiting) {
        // Slowloris, a close frame never read, a close never answered.
        // Whole seconds: "<=" so that no one is cut before the timeout
        // (a client accepted at x.99 would lose a second with "<").
        if (kept_up_since(c.phase_since, now) <= lim.handshake_timeout) return;
        if (c.tls_handshaking()) bump(loop_.stats().tls_handshake_failures);
        c.close_now();
    } else if ((c.flags & kPingSent) && ping_unanswered(c, now)) {
        note_dead(c, "no answer to ping");
        send_close(c, protocol::kWsGoingAway, "idle timeout");
    }
}

// At its turn (every half interval), with no ping out: a heartbeat, every
// kPingEvery-th a real ping (phase_since keeps when it went out), to a
// client silent for about half an interval. Every other round is the
// connection's own (by its id's parity): there a little less silence will
// do, elsewhere a little more, so an idle client's frames fall in its own
// rounds, one per interval, and the two halves of the table take turns
// whatever order clients arrived in; a client that spoke lately gets its
// frame in the other round at most once, then is back in its own. Turns
// come half an interval apart give or take the sweeps' lateness (seconds
// on a loaded box) on a clock of whole seconds: hence a margin either side
// (a tenth of the interval, 2 to 5 s), and no client waits more than an
// interval + the margin (55 s at the default 50 s).
void WsService::keep_alive(Connection& c, uint32_t now, uint64_t round) {
    constexpr uint8_t kPingEvery = 4;  // fits kBeatMask
    if (!c.is_open() || !c.ready || (c.flags & (kPingSent | kCloseSent))) return;
    double half = config_.limits.ping_interval / 2;
    double margin = std::clamp(half / 5, 2.0, 5.0);  // 5 s at the default interval
    bool own = (round & 1) == (c.id() & 1);
    double needed =
        own ? std::max(std::floor(half) - margin, std::min(half, 2.0)) : std::floor(half) + margin;
    if (now - c.last_active < needed) return;
    uint8_t turn = static_cast<uint8_t>((c.flags & kBeatMask) >> kBeatShift);
    c.flags = static_cast<uint8_t>((c.flags & ~kBeatMask) | (((turn + 1) % kPingEvery) << kBeatShift));
    if (turn != 0) {
        bump(loop_.stats().heartbeats_sent);
        c.send(beat_frame_.get());
        return;
    }
    c.flags |= kPingSent;
    c.phase_since = now;
    bump(loop_.stats().pings_sent);
    c.send(ping_frame_.get());
}

// Seconds since `since` in which this worker kept up (whole seconds).
double WsService::kept_up_since(uint32_t since, uint32_t now) const {
    return (now - since) - stalls_.lost_since(since);
}

bool WsService::ping_unanswered(Connection& c, uint32_t now) const {
    const runtime::Limits& lim = config_.limits;
    // Whole seconds: "<=" as for handshakes, so that a ping answered within
    // the time allowed is never judged late by the truncation of both ends.
    if (kept_up_since(c.phase_since, now) <= lim.idle_timeout - lim.ping_interval) return false;
    // Behind on reading, but the kernel took some of its queue lately: not silent.
    if (c.queued() > 0 && now - c.last_active < lim.idle_timeout) return false;
    int unread = 0;
    if (ioctl(c.fd(), FIONREAD, &unread) == 0 && unread > 0) return false;  // read soon
    return true;
}

void WsService::note_dead(Connection& c, const char* why) {
    bump(loop_.stats().idle_closes);
    // peer() of a connection already closed by TCP is gone: its id then.
    std::string who = c.fd() >= 0 ? c.peer() : "connection " + std::to_string(c.id());
    runtime::log_peer("websocket: closing " + who + " as dead: " + why);
}

// Bytes the kernel took for a client count as its sign of life (see the
// top of this file), which holds only if unacknowledged data ends the
// connection within idle_timeout.
// idle_timeout is at most kMaxIdleTimeout (master/config_load.cpp): it fits.
void WsService::bound_unacknowledged(Connection& c) {
    unsigned ms = static_cast<unsigned>(config_.limits.idle_timeout * 1000);
    if (setsockopt(c.fd(), IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms) != 0 && !warned_timeout_) {
        warned_timeout_ = true;  // once: every socket would say the same
        runtime::log_line(std::string("websocket: TCP_USER_TIMEOUT not set (") + strerror(errno) +
                          "): a peer that stops acknowledging is left to TCP's own retries");
    }
}

}  // namespace pusher::worker
