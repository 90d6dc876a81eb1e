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
    return r->type == REDIS_REPLY_ERROR && r->len >= 5 &&
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
      grace_timer_(loop, [this] { writable(); }),
      probe_timer_(loop, [this] { probe_tick(); }),
      probe_channel_(std::move(probe_channel)) {}

Node::~Node() {
    stop();
}

void Node::start() {
    started_ = true;
    pub_.start();
    if (sub_) sub_->start();
    probe_timer_.start(bus_.probe_interval, true);
}

std::deque<Node::Pending> Node::stop() {
    started_ = false;
    probe_timer_.cancel();
    grace_timer_.cancel();
    for (auto& o : owed_)
        if (o.first == Owed::Publish) runtime::bump(loop_.stats().bus_dropped, o.second);
    owed_.clear();
    pub_.stop();
    if (sub_) sub_->stop();
    ready_ = false;
    backlog_.queued -= queue_.size();
    return std::move(queue_);
}

bool Node::healthy() const {
    return pub_.up() && probe_ok_ && (!sub_ || (sub_->up() && unconfirmed_ == 0));
}

bool Node::idle() const {
    if (!queue_.empty() || !pub_.idle()) return false;
    for (auto& o : owed_)
        if (o.first == Owed::Publish) return false;
    return true;
}

// ---- publishing ---------------------------------------------------------------

void Node::publish(const std::string& channel, const std::string& payload) {
    if (ready_ && pub_.up() && queue_.empty()) return send(channel, payload);
    if (backlog_.queued >= backlog_.cap) {
        runtime::bump(loop_.stats().bus_dropped);  // the bound: counted, never silent
        return;
    }
    queue_.push_back({channel, payload});
    ++backlog_.queued;
}

void Node::send(const std::string& channel, const std::string& payload) {
    pub_.command({cluster_ ? "SPUBLISH" : "PUBLISH", channel, payload});
    if (!owed_.empty() && owed_.back().first == Owed::Publish)
        ++owed_.back().second;
    else
        owed_.emplace_back(Owed::Publish, 1);
}

// The link is up and subscribers had time to come back: the queue goes out,
// in order, ahead of anything published from now on.
void Node::writable() {
    ready_ = pub_.up();
    while (ready_ && pub_.up() && !queue_.empty()) {
        send(queue_.front().channel, queue_.front().payload);
        queue_.pop_front();
        --backlog_.queued;
    }
}

void Node::pub_reply(redisReply* r) {
    if (owed_.empty()) return pub_.restart("sent a reply nobody asked for");
    auto& front = owed_.front();
    Owed what = front.first;
    uint32_t seq = front.second;
    if (what != Owed::Publish || --front.second == 0) owed_.pop_front();
    if (r->type == REDIS_REPLY_ERROR) {
        if (what == Owed::Publish) runtime::bump(loop_.stats().bus_dropped);
        runtime::log_peer("redis: " + pub_.address() + " refused a publish: " + text(r));
        if (moved(r)) events_.node_moved(*this);
        return;
    }
    if (what == Owed::Ping) return probe_back();
    // A probe that reached no subscriber: ours is not on the server that
    // takes the publishes (it died quietly, or a failover moved the channel).
    if (what == Owed::Probe && seq == static_cast<uint32_t>(probe_seq_) && probe_pending_ &&
        r->type == REDIS_REPLY_INTEGER && r->integer == 0 && sub_)
        probe_failed(*sub_, "lost its subscription (a probe reached no subscriber)");
}

// ---- subscribing --------------------------------------------------------------

void Node::subscribe(const std::string& channel) {
    if (!channels_.insert(channel).second) return;
    if (!sub_) {
        sub_ = std::make_unique<Link>(loop_, server_, bus_, "redis subscriber", *this);
        if (started_) sub_->start();
        return;
    }
    if (sub_->up()) send_subscribe(channel);
}

void Node::unsubscribe(const std::string& channel) {
    if (!channels_.erase(channel) || !sub_ || !sub_->up()) return;
    sub_->command({cluster_ ? "SUNSUBSCRIBE" : "UNSUBSCRIBE", channel});
}

void Node::send_subscribe(const std::string& channel) {
    sub_->command({cluster_ ? "SSUBSCRIBE" : "SUBSCRIBE", channel});
    ++unconfirmed_;
}

void Node::sub_reply(redisReply* r) {
    if (r->type == REDIS_REPLY_ERROR) {
        runtime::log_peer("redis: " + sub_->address() + " refused a subscription: " + text(r));
        if (moved(r)) events_.node_moved(*this);
        return sub_->restart("refused a subscription");  // health stays red meanwhile
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) return;
    const redisReply* kind = r->element[0];
    if (is(kind, "subscribe") || is(kind, "ssubscribe")) {
        if (unconfirmed_ > 0 && --unconfirmed_ == 0) probe_tick();  // prove it at once
        return;
    }
    if (r->elements < 3 || r->element[1]->type != REDIS_REPLY_STRING) return;
    std::string_view channel(r->element[1]->str, r->element[1]->len);
    if (is(kind, "message") || is(kind, "smessage")) {
        const redisReply* p = r->element[2];
        if (p->type != REDIS_REPLY_STRING) return;
        std::string_view payload(p->str, p->len);
        if (channel == probe_channel_) {
            if (payload == std::to_string(probe_seq_)) probe_back();
            return;
        }
        return events_.node_message(channel, payload);
    }
    // An unsubscribe we did not ask for: the server moved the channel away
    // (slot migration, failover).
    if ((is(kind, "unsubscribe") || is(kind, "sunsubscribe")) &&
        (channels_.count(std::string(channel)) || channel == probe_channel_))
        events_.node_moved(*this);
}

// ---- links --------------------------------------------------------------------

void Node::link_up(Link& l) {
    if (&l == &pub_) {
        // Publishes that waited for a first link-up (Redis unreachable since
        // the start) wait the grace too: the subscribers are coming back on
        // their own back-off, as after any outage.
        if (grace_next_up_ || !queue_.empty()) {
            grace_timer_.start(kResubscribeGrace, false);
        } else {
            writable();
        }
        grace_next_up_ = true;  // every later reconnect is an outage's end
    } else {
        unconfirmed_ = 0;
        send_subscribe(probe_channel_);
        for (const auto& c : channels_) send_subscribe(c);
    }
    probe_tick();
    events_.node_changed(*this);
}

void Node::link_down(Link& l) {
    if (&l == &pub_) {
        // Sent, never confirmed: Redis may or may not have taken them.
        for (auto& o : owed_)
            if (o.first == Owed::Publish) runtime::bump(loop_.stats().bus_dropped, o.second);
        owed_.clear();
        ready_ = false;
        grace_timer_.cancel();
    } else {
        unconfirmed_ = 0;
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
    if (probe_pending_) {
        if (loop_.now() - probe_sent_at_ < bus_.probe_timeout) return;
        bool pub_owes = false;
        for (auto& o : owed_) pub_owes |= o.first != Owed::Publish;
        if (pub_owes || !sub_)
            return probe_failed(pub_, "did not answer in time (probe_timeout)");
        return probe_failed(*sub_, "lost the probe (subscription dead while open)");
    }
    if (!pub_.up()) return;
    if (!sub_) {
        pub_.command({"PING"});
        owed_.emplace_back(Owed::Ping, 0);
    } else {
        if (!sub_->up() || unconfirmed_ > 0) return;
        ++probe_seq_;
        pub_.command({cluster_ ? "SPUBLISH" : "PUBLISH", probe_channel_, std::to_string(probe_seq_)});
        owed_.emplace_back(Owed::Probe, static_cast<uint32_t>(probe_seq_));
    }
    probe_pending_ = true;
    probe_sent_at_ = loop_.now();
}

void Node::probe_back() {
    probe_pending_ = false;
    if (probe_ok_) return;
    probe_ok_ = true;
    events_.node_changed(*this);
}

void Node::probe_failed(Link& culprit, const std::string& why) {
    runtime::bump(loop_.stats().bus_probe_failures);
    probe_pending_ = false;
    bool was_ok = probe_ok_;
    probe_ok_ = false;
    culprit.restart(why);
    if (was_ok) events_.node_changed(*this);
}

}  // namespace pusher::redis
