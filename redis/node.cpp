#include "redis/node.h"

#include <cstring>

#include "runtime/log.h"
#include "runtime/stats.h"

namespace pusher::redis {

namespace {

bool is(const redisReply* r, const char* word) {
    size_t n = strlen(word);
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) && r->len == n &&
           strncasecmp(r->str, word, n) == 0;
}

bool moved(const redisReply* r) {
    return r->type == REDIS_REPLY_ERROR && r->len >= 4 &&
           (strncmp(r->str, "MOVED", 5) == 0 || strncmp(r->str, "ASK ", 4) == 0);
}

std::string text(const redisReply* r) {
    return r->str ? std::string(r->str, r->len) : std::string();
}

}  // namespace

Node::Node(runtime::Loop& loop, const runtime::RedisAddress& server, const runtime::BusConfig& bus,
           bool cluster, std::string probe_channel, bool grace_first_up, Backlog& backlog,
           Events& events)
    : loop_(loop),
      server_(server),
      bus_(bus),
      cluster_(cluster),
      backlog_(backlog),
      events_(events),
      pub_(loop, server, bus, "redis publisher", *this),
      grace_next_up_(grace_first_up),
      grace_timer_(loop, [this] { grace_over(); }),
      probe_timer_(loop, [this] { probe_tick(); }),
      probe_channel_(std::move(probe_channel)) {}

Node::~Node() {
    stop();
}

void Node::start() {
    started_ = true;
    pub_.start();
    if (sub_) sub_->start();
    if (!probe_timer_.armed()) probe_timer_.start(bus_.probe_interval, true);
}

std::deque<Node::Pending> Node::stop() {
    started_ = false;
    probe_timer_.cancel();
    grace_timer_.cancel();
    pub_.stop();  // writes this turn's commands first: still unconfirmed
    if (sub_) sub_->stop();
    runtime::bump(loop_.stats().bus_dropped, sent_.size());
    sent_.clear();
    owed_.clear();
    ready_ = false;
    backlog_.queued -= queue_.size();
    return std::move(queue_);
}

bool Node::healthy() const {
    return pub_.up() && probe_ok_ &&
           (!sub_ || (sub_->up() && subscribing_.empty() && lost_.empty()));
}

bool Node::idle() const {
    return queue_.empty() && sent_.empty() && pub_.idle();
}

// ---- publishing ---------------------------------------------------------------

void Node::publish(const std::string& channel, const std::string& payload) {
    if (ready_ && pub_.up() && queue_.empty() && !pub_.busy()) return send({channel, payload});
    if (backlog_.queued >= backlog_.cap) {
        runtime::bump(loop_.stats().bus_dropped);  // the bound: counted, never silent
        return;
    }
    queue_.push_back({channel, payload});
    ++backlog_.queued;
}

void Node::send(Pending p) {
    pub_.command({cluster_ ? "SPUBLISH" : "PUBLISH", p.channel, p.payload});
    owed_.push_back({Owed::Publish, 0});
    sent_.push_back(std::move(p));
}

void Node::hold() {
    ready_ = false;
    if (!grace_timer_.armed()) grace_timer_.start(kResubscribeGrace, false);
}

std::deque<Node::Pending> Node::take_queue() {
    backlog_.queued -= queue_.size();
    return std::move(queue_);
}

// The link is up and subscribers had time to come back.
void Node::grace_over() {
    ready_ = pub_.up();
    drain();
}

// The queue goes out in order, ahead of anything published from now on, as
// far as the socket keeps up; the rest on link_drained.
void Node::drain() {
    while (ready_ && pub_.up() && !pub_.busy() && !queue_.empty()) {
        send(std::move(queue_.front()));
        queue_.pop_front();
        --backlog_.queued;
    }
}

void Node::link_drained(Link& l) {
    if (&l == &pub_) drain();
}

void Node::pub_reply(redisReply* r) {
    if (owed_.empty()) return pub_.restart("sent a reply nobody asked for");
    Command c = owed_.front();
    owed_.pop_front();
    if (c.what == Owed::Publish) sent_.pop_front();
    if (r->type == REDIS_REPLY_ERROR) {
        if (c.what == Owed::Publish) runtime::bump(loop_.stats().bus_dropped);
        runtime::log_peer("redis: " + pub_.address() + " refused a publish: " + text(r));
        if (moved(r)) events_.node_moved(*this);
        return;
    }
    if (c.what == Owed::Ping) return probe_back();
    // A probe that reached no subscriber: ours is not on the server that
    // takes the publishes (it died quietly, or a failover moved the channel).
    if (c.what == Owed::Probe && c.seq == static_cast<uint32_t>(probe_seq_) && probe_pending_ &&
        r->type == REDIS_REPLY_INTEGER && r->integer == 0 && sub_)
        probe_failed(*sub_, "lost its subscription (a probe reached no subscriber)");
}

// A dead publishing link: what its socket never took goes back to the head
// of the queue, in order (Redis never saw it); what it took and never
// confirmed is counted as dropped (Redis may or may not have delivered it).
void Node::requeue_unwritten() {
    size_t unwritten = std::min(pub_.unwritten(), owed_.size());
    size_t resend = 0;
    for (size_t i = owed_.size() - unwritten; i < owed_.size(); ++i)
        resend += owed_[i].what == Owed::Publish;
    runtime::bump(loop_.stats().bus_dropped, sent_.size() - resend);
    for (size_t i = 0; i < resend; ++i) {
        queue_.push_front(std::move(sent_.back()));
        sent_.pop_back();
        ++backlog_.queued;
    }
    sent_.clear();
    owed_.clear();
    while (backlog_.queued > backlog_.cap && !queue_.empty()) {
        queue_.pop_back();  // the newest beyond the bound: counted
        --backlog_.queued;
        runtime::bump(loop_.stats().bus_dropped);
    }
}

// ---- subscribing --------------------------------------------------------------

void Node::subscribe(const std::string& channel) {
    if (!channels_.insert(channel).second) return;
    if (!sub_) {
        sub_ = std::make_unique<Link>(loop_, server_, bus_, "redis subscriber", *this);
        if (started_) sub_->start();
    } else if (sub_->up()) {
        send_subscribe(channel);
    }
    events_.node_changed(*this);  // unhealthy until it is confirmed
}

void Node::unsubscribe(const std::string& channel) {
    lost_.erase(channel);
    if (!channels_.erase(channel) || !sub_ || !sub_->up()) return;
    ++unsubscribing_[channel];  // its answer is ours, even if subscribed again meanwhile
    sub_->command({cluster_ ? "SUNSUBSCRIBE" : "UNSUBSCRIBE", channel});
}

void Node::send_subscribe(const std::string& channel) {
    sub_->command({cluster_ ? "SSUBSCRIBE" : "SUBSCRIBE", channel});
    if (subscribing_.empty()) subscribe_progress_at_ = loop_.now();
    subscribing_.push_back({channel, ++sub_seq_});
}

// Refused (MOVED: the map is stale) or revoked by the server (slot
// migration, failover): that channel only is missing; the node is unhealthy,
// the map is asked again and the channel subscribed again at the next probe
// tick, here or, if the map moved it, on its new node.
void Node::subscription_lost(const std::string& channel, const std::string& why) {
    runtime::log_peer("redis: " + sub_->address() + " " + why + " '" + channel + "'");
    if (channels_.count(channel)) lost_.insert(channel);
    events_.node_moved(*this);
    events_.node_changed(*this);
}

void Node::sub_reply(redisReply* r) {
    if (r->type == REDIS_REPLY_ERROR) {
        // Only subscribe commands get answers here: the oldest one failed.
        std::string channel = subscribing_.empty() ? "" : subscribing_.front().channel;
        if (!subscribing_.empty()) {
            confirmed_seq_ = subscribing_.front().seq;  // answered; lost_ holds it back
            subscribing_.pop_front();
        }
        return subscription_lost(channel, "refused a subscription (" + text(r) + ") to");
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[1]->type != REDIS_REPLY_STRING)
        return;
    const redisReply* kind = r->element[0];
    std::string_view channel(r->element[1]->str, r->element[1]->len);
    if (is(kind, "message") || is(kind, "smessage")) {
        const redisReply* p = r->element[2];
        if (p->type != REDIS_REPLY_STRING) return;
        if (p->len > loop_.limits().channel_max_frame) {  // any client may PUBLISH it
            runtime::bump(loop_.stats().bus_dropped);
            return runtime::log_peer("redis: an event of " + std::to_string(p->len) +
                                     " bytes on '" + std::string(channel) +
                                     "' is above channel_max_frame: dropped");
        }
        std::string_view payload(p->str, p->len);
        if (channel == probe_channel_) {
            if (payload == std::to_string(probe_seq_)) probe_back();
            return;
        }
        return events_.node_message(channel, payload);
    }
    if (is(kind, "subscribe") || is(kind, "ssubscribe")) {
        if (!subscribing_.empty()) {
            confirmed_seq_ = subscribing_.front().seq;
            subscribing_.pop_front();
        }
        subscribe_progress_at_ = loop_.now();
        if (subscribing_.empty()) {
            events_.node_changed(*this);
            probe_tick();  // prove it at once
        } else {
            events_.node_confirmed(*this);  // a sync waiter may be through
        }
        return;
    }
    if (is(kind, "unsubscribe") || is(kind, "sunsubscribe")) {
        std::string ch(channel);
        auto ours = unsubscribing_.find(ch);
        if (ours != unsubscribing_.end()) {
            if (--ours->second == 0) unsubscribing_.erase(ours);
            return;
        }
        if (channels_.count(ch) || ch == probe_channel_)
            subscription_lost(ch, "took away the subscription to");
    }
}

// ---- links --------------------------------------------------------------------

void Node::link_up(Link& l) {
    if (&l == &pub_) {
        // After an outage, also one before the first link (Redis was not
        // there when this worker started), subscribers need the time to
        // come back: what is published meanwhile waits with the queue.
        if (grace_next_up_ || pub_.came_back()) {
            grace_timer_.start(kResubscribeGrace, false);
        } else {
            grace_over();
        }
        grace_next_up_ = true;  // every later reconnect is an outage's end
    } else {
        subscribing_.clear();
        unsubscribing_.clear();
        lost_.clear();
        probe_ok_ = false;  // proven again end to end, not by the PING alone
        send_subscribe(probe_channel_);
        for (const auto& c : channels_) send_subscribe(c);
        resent_through_ = sub_seq_;
    }
    probe_tick();
    events_.node_changed(*this);
}

void Node::link_down(Link& l) {
    if (&l == &pub_) {
        requeue_unwritten();
        ready_ = false;
        grace_timer_.cancel();
    } else {
        subscribing_.clear();
        unsubscribing_.clear();
    }
    probe_pending_ = false;
    probe_ok_ = false;  // proven again once both links are back
    events_.node_changed(*this);
}

void Node::link_reply(Link& l, redisReply* r) {
    if (&l == &pub_) return pub_reply(r);
    sub_reply(r);
}

void Node::link_read_end(Link& l) {
    if (&l != &pub_) events_.node_read_end();
}

// ---- the probe ----------------------------------------------------------------

void Node::probe_tick() {
    if (!started_) return;
    // A subscribe never answered (a half-open link, a server that drops it)
    // is a lost probe too: otherwise nothing would ever try again.
    if (sub_ && sub_->up() && !subscribing_.empty() &&
        loop_.now() - subscribe_progress_at_ >= bus_.probe_timeout)
        return probe_failed(*sub_, "did not confirm a subscription in time");
    if (sub_ && sub_->up() && subscribing_.empty()) {  // lost ones: try again
        std::set<std::string> again;
        again.swap(lost_);
        for (const auto& c : again)
            if (channels_.count(c)) send_subscribe(c);
    }
    if (probe_pending_) {
        if (loop_.now() - probe_sent_at_ < bus_.probe_timeout) return;
        bool pub_owes = false;
        for (auto& o : owed_) pub_owes |= o.what != Owed::Publish;
        if (pub_owes || !sub_) return probe_failed(pub_, "did not answer in time (probe_timeout)");
        return probe_failed(*sub_, "lost the probe (subscription dead while open)");
    }
    if (!pub_.up()) return;
    if (!sub_) {
        pub_.command({"PING"});
        owed_.push_back({Owed::Ping, 0});
    } else {
        if (!sub_->up() || !subscribing_.empty()) return;
        ++probe_seq_;
        pub_.command({cluster_ ? "SPUBLISH" : "PUBLISH", probe_channel_, std::to_string(probe_seq_)});
        owed_.push_back({Owed::Probe, static_cast<uint32_t>(probe_seq_)});
    }
    probe_pending_ = true;
    probe_sent_at_ = loop_.now();
}

void Node::probe_back() {
    probe_pending_ = false;
    probe_ok_ = true;
    events_.node_changed(*this);
}

void Node::probe_failed(Link& culprit, const std::string& why) {
    runtime::bump(loop_.stats().bus_probe_failures);
    probe_pending_ = false;
    probe_ok_ = false;
    culprit.restart(why);
    events_.node_changed(*this);
}

}  // namespace pusher::redis
