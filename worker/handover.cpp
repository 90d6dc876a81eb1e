#include "worker/handover.h"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <random>

#include "runtime/log.h"
#include "worker/api_wire.h"

namespace pusher::worker {

using protocol::handover::kMaxFds;

// Each batch (and each acknowledgement) moves the deadline to at least this
// far ahead: a large hand-over that progresses is not cut off.
static constexpr double kProgressGrace = 3.0;

// Fault injection for the tests of a hand-over's failures
// (tests/integration/handover_faults_test.cpp): PUSHER_TEST_HANDOVER names a
// process that dies (SIGKILL) right after the first batch of connections.
static bool test_fault(const char* which) {
    static const char* fault = getenv("PUSHER_TEST_HANDOVER");
    return fault && strcmp(fault, which) == 0;
}
using runtime::bump;
using runtime::FdLink;
using runtime::log_line;
namespace wire = protocol::handover;

Handover::Handover(runtime::Loop& loop, runtime::Bus& bus, Owner& owner, std::string cut_base)
    : loop_(loop),
      bus_(bus),
      owner_(owner),
      cut_base_(std::move(cut_base)),
      timer_(loop, [this] { tick(); }) {}

Handover::~Handover() = default;

runtime::WorkerSlot& Handover::stats() {
    return loop_.stats();
}

static std::string random_nonce() {
    std::random_device rd;
    return std::to_string(getpid()) + "-" + std::to_string((uint64_t(rd()) << 32) | rd());
}

void Handover::subscribe_cut() {
    for (const Value& ch : cut_channels())
        if (cut_subscribed_.insert(ch.as_string()).second)
            bus_.on(ch, [this](const Value& c, const Value& d) { on_marker(c, d); });
}

void Handover::begin_old(int fd, double timeout) {
    role_ = Role::Old;
    nonce_.clear();  // a process that was new once is old now: a fresh start
    frozen_ = finished_ = peer_counted_ = false;
    sent_ = acked_ = 0;
    cut_.clear();
    began_ = loop_.now();
    deadline_ = began_ + timeout;
    link_ = std::make_unique<FdLink>(
        loop_, fd, [this](FdLink::Message& m) { on_message(m); },
        [this](const std::string& why) { on_link_closed(why); });
    timer_.start(0.01, true);
}

void Handover::begin_new(int fd, double timeout) {
    role_ = Role::New;
    if (test_fault("new_dies_at_start")) raise(SIGKILL);
    began_ = loop_.now();
    deadline_ = began_ + timeout;
    nonce_ = random_nonce();
    link_ = std::make_unique<FdLink>(
        loop_, fd, [this](FdLink::Message& m) { on_message(m); },
        [this](const std::string& why) { on_link_closed(why); });
    link_->set_batch_end([this] { owner_.dispatch_end(); });
    timer_.start(0.01, true);
}

// The new worker says Hello once its bus link is up with every base
// subscription sent: the old one freezes on it, so the gap clients see
// starts only when the new worker can take over at once.
void Handover::tick() {
    if (role_ == Role::New && !hello_sent_ && bus_.connected()) {
        hello_sent_ = true;
        bus_.sync([this] {
            if (!link_ || !link_->open()) return;
            link_->send(wire::kHello, std::string(wire::kVersion) + " " + nonce_);
        });
    }
    // A busy old worker may take seconds to read Hello (one loop turn of a
    // fan-out to thousands on a loaded machine): it is waited for up to
    // handover_timeout, not taken for a stuck one. Nobody waits on us
    // meanwhile: we accept clients only once live.
    if (role_ == Role::Old && finished_ && frozen_ && (!link_ || link_->queued_bytes() == 0)) {
        timer_.cancel();
        link_.reset();
        return owner_.leave();
    }
    if (loop_.now() < deadline_) return;
    if (role_ == Role::Old && !finished_) old_finish(false, "timed out");
    if (role_ == Role::New && !live_) new_go_live(false, "timed out");
}

void Handover::on_message(FdLink::Message& m) {
    if (role_ == Role::Old) {
        if (m.type == wire::kHello && !frozen_ && nonce_.empty()) {
            size_t sp = m.body.find(' ');
            if (sp == std::string::npos || m.body.compare(0, sp, wire::kVersion) != 0)
                return old_finish(false, "the new worker speaks another hand-over version (" +
                                             m.body.substr(0, sp) + ")");
            nonce_ = m.body.substr(sp + 1);
            link_->send(wire::kHelloAck, "");  // alive: the export may take a while
            // Every cut channel of now must be in effect before the new
            // worker can publish its markers (it does after our last batch).
            subscribe_cut();
            return bus_.sync([this] {
                if (role_ == Role::Old && !finished_ && !frozen_) old_freeze();
            });
        }
        if (m.type == wire::kAck) {
            acked_ += strtoull(m.body.c_str(), nullptr, 10);
            deadline_ = std::max(deadline_, loop_.now() + kProgressGrace);  // progress
        }
        if (m.type == wire::kAbort) peer_counted_ = true;  // it gave up and counted it
        return;
    }
    if (role_ != Role::New || live_) return;
    answered_ = true;
    switch (m.type) {
        case wire::kConnections:
            deadline_ = std::max(deadline_, loop_.now() + kProgressGrace);  // progress
            return new_adopt(m);
        case wire::kEndOfConns:
            all_sent_ = true;
            owner_.import_state(m.body);
            // Markers go out once every adopted user and group, and every
            // cut channel of now, is subscribed: what is published after
            // them reaches us, and we hear our own markers.
            subscribe_cut();
            return bus_.sync([this] { new_publish_markers(); });
        case wire::kEvent: {
            Value ch, data;
            std::string error;
            if (wire::decode_event(m.body, &ch, &data, &error)) owner_.dispatch(ch, data);
            return;
        }
        case wire::kDone:
            done_ = true;
            return new_check_live();
        default:
            return;
    }
}

void Handover::on_link_closed(const std::string& why) {
    if (role_ == Role::Old && !finished_) old_finish(false, peer_counted_ ? why : why + ", the new worker died");
    // After Done the old worker leaves: its close is expected, and we wait
    // for our own markers (bounded by the deadline).
    if (role_ != Role::New || live_ || done_) return;
    // The old worker died. What it read and did not forward is lost, but
    // nothing needs to be repeated: our markers still split our stream, so
    // we wait for them (publishing them now if it died before its last
    // batch) and deliver only what follows them.
    old_gone_ = true;
    old_gone_why_ = why;
    if (!markers_sent_) {
        subscribe_cut();
        bus_.sync([this] { new_publish_markers(); });
    }
    new_check_live();
}

// ---- the old worker ------------------------------------------------------------

// A batch is at most kMaxFds connections and about kBatchBytes of state
// (queued output can be up to max_send_queue each).
static constexpr size_t kBatchBytes = 64 << 20;

void Handover::old_freeze() {
    // The new worker may have given up meanwhile (we were slow): then nothing
    // leaves our table, and we stop as a plain reload does.
    if (link_->peer_gone()) {
        peer_counted_ = true;  // it gave up on us (or died: then the slot is re-forked)
        return old_finish(false, "the new worker is gone");
    }
    frozen_ = true;
    streams_ = cut_channels().size();
    cut_.assign(streams_, false);
    std::vector<Conn> conns;
    std::vector<int> fds;
    owner_.export_connections(&conns, &fds);
    sent_ = conns.size();
    size_t i = 0;
    while (i < conns.size()) {
        std::vector<Conn> part;
        std::vector<int> part_fds;
        size_t bytes = 0;
        while (i < conns.size() && part.size() < kMaxFds && (part.empty() || bytes < kBatchBytes)) {
            bytes += conns[i].output.size() + conns[i].input.size();
            part_fds.push_back(fds[i]);
            part.push_back(std::move(conns[i++]));
        }
        link_->send(wire::kConnections, wire::encode_conns(part), std::move(part_fds));
        if (test_fault("old_dies_after_first_batch")) raise(SIGKILL);
    }
    link_->send(wire::kEndOfConns, owner_.export_state());
    log_line("hand-over: " + std::to_string(sent_) + " connections sent to the new worker");
}

bool Handover::intercept(const Value& channel, const Value& data) {
    if (role_ == Role::Old) {
        if (!frozen_) return false;
        size_t s = bus_.stream_of(channel);
        if (!finished_ && s < cut_.size() && !cut_[s]) {
            link_->send(wire::kEvent, wire::encode_event(channel, data));
            bump(stats().handover_forwarded);
        }
        return true;  // nothing of ours is left to deliver to
    }
    if (role_ != Role::New || live_) return false;
    size_t s = bus_.stream_of(channel);
    if (s < cut_.size() && cut_[s]) held_.emplace_back(channel, data);
    return true;  // before our marker: the old worker has it and forwards it
}

void Handover::on_marker(const Value& channel, const Value& data) {
    const Value* v = data.get("cut");
    if (!v || v->as_string() != nonce_ || role_ == Role::None) return;
    size_t s = bus_.stream_of(channel);
    if (s >= cut_.size()) return;
    cut_[s] = true;
    if (role_ == Role::Old) return old_check_cut();
    new_check_live();
}

void Handover::old_check_cut() {
    for (bool c : cut_)
        if (!c) return;
    link_->send(wire::kDone, "");
    old_finish(true, "");
}

// Leaves once what is queued for the new worker is written (tick).
void Handover::old_finish(bool ok, const std::string& why) {
    finished_ = true;
    if (!ok) {
        // The new worker counts a failure it saw; we count the ones it
        // cannot (it died, or never came).
        if (!peer_counted_) bump(stats().handover_failures);
        uint64_t lost = frozen_ ? sent_ - std::min(sent_, acked_) : 0;
        bump(stats().handover_lost, lost);
        log_line("hand-over failed (" + why + "): " + std::to_string(lost) +
                 " connections not confirmed by the new worker");
        if (link_) link_->close();
    }
    // Nothing left our table. If the new worker serves (it gave up on us),
    // we leave as a plain reload does (1001 to our clients). If it died, or
    // hangs, we go on serving: the master gives the slot back to us (or
    // kills the hung one first).
    if (!frozen_) {
        role_ = Role::None;
        timer_.cancel();
        if (peer_counted_) return owner_.leave();
        owner_.resume_serving();
    }
}

// ---- the new worker ------------------------------------------------------------

void Handover::new_adopt(FdLink::Message& m) {
    std::vector<Conn> conns;
    std::string error;
    if (!wire::decode_conns(m.body, &conns, &error) || conns.size() != m.fds.size()) {
        log_line("hand-over: bad connection batch: " + error);
        return;  // the fds are closed by the link: those clients reconnect
    }
    for (size_t i = 0; i < conns.size(); ++i) {
        owner_.adopt_connection(m.fds[i], conns[i]);
        m.fds[i] = -1;
    }
    if (test_fault("new_dies_after_first_batch")) raise(SIGKILL);
    adopted_ += conns.size();
    bump(stats().handover_adopted, conns.size());
    link_->send(wire::kAck, std::to_string(conns.size()));
}

void Handover::new_publish_markers() {
    if (markers_sent_ || live_) return;
    markers_sent_ = true;
    std::vector<Value> chans = cut_channels();
    streams_ = chans.size();
    if (cut_.size() != streams_) cut_.assign(streams_, false);
    Value d = Value::array();
    api::put(d, "cut", nonce_);
    for (const Value& ch : chans) bus_.publish({ch}, d);
}

void Handover::new_check_live() {
    if ((!done_ && !old_gone_) || cut_.empty() || live_) return;
    for (bool c : cut_)
        if (!c) return;
    if (old_gone_ && !done_) return new_go_live(false, old_gone_why_);
    new_go_live(true, "");
}

// Held events go after every forwarded one: per channel, bus order.
void Handover::new_go_live(bool ok, const std::string& why) {
    live_ = true;
    timer_.cancel();
    std::vector<std::pair<Value, Value>> held;
    held.swap(held_);
    for (auto& [ch, data] : held) owner_.dispatch(ch, data);
    owner_.dispatch_end();
    double took = loop_.now() - began_;
    stats().handover_last_ms.store(static_cast<uint64_t>(took * 1000));
    if (ok) {
        bump(stats().handovers);
        log_line("hand-over: " + std::to_string(adopted_) + " connections adopted, live after " +
                 std::to_string(int(took * 1000)) + " ms");
    } else {
        bump(stats().handover_failures);
        log_line("hand-over incomplete (" + why + "): serving the " + std::to_string(adopted_) +
                 " connections adopted");
        if (link_ && link_->open()) link_->send(wire::kAbort, why);  // the old one need not count it
    }
    if (link_) link_->close();
    role_ = Role::None;  // this process may hand over in turn at the next reload
    owner_.went_live();
}

}  // namespace pusher::worker
