#include "channel/server.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <set>

#include "channel/access_rule.h"
#include "channel/channel_key.h"
#include "runtime/connection_rows.h"
#include "runtime/log.h"

namespace pusher::channel {

using protocol::channel::ClientMessage;
using protocol::php::Value;
using runtime::Connection;
using runtime::SharedBuffer;

// A queue holds at most this much; Workerman's has no bound at all.
static constexpr size_t kMaxQueueBytes = 64 << 20;
// Longer than a client's reconnect delay (1 s + jitter), bounded in memory.
static constexpr double kStartupGrace = 3.0;
static constexpr size_t kMaxReplayBytes = 16 << 20;

struct Server::Session : runtime::Session {
    explicit Session(size_t max_frame) : decoder(max_frame) {}
    protocol::FrameDecoder decoder;
    std::set<std::string> channels;    // keys this connection subscribed
    std::vector<std::string> watches;  // queue keys, in watch order
};

Server::Server(runtime::Loop& loop, int listen_fd, const runtime::Config& config,
               const std::string& name, int worker_id)
    : loop_(loop),
      config_(config),
      name_(name),
      worker_id_(worker_id),
      tcp_(loop, listen_fd, this, this) {
    // A subscriber's queue is the bus's back-pressure limit, not a client's.
    loop.mutable_limits().max_send_queue = config.limits.channel_subscriber_queue;
}

bool Server::start(std::string*) {
    grace_until_ = loop_.now() + kStartupGrace;
    tcp_.start_accepting();
    return true;
}

bool Server::allowed(const std::string& peer) const {
    if (config_.channel_allow.empty()) return true;
    std::string ip = peer.substr(0, peer.rfind(':'));
    return access_allowed(config_.channel_allow, ip);
}

void Server::on_accept(Connection& c) {
    c.set_session(std::make_unique<Session>(config_.limits.channel_max_frame));
    std::string peer = c.peer();
    if (!allowed(peer)) reject(c, "peer " + peer + " is not in channel_allow");
}

void Server::reject(Connection& c, const std::string& why) {
    runtime::log_peer("channel: closing " + c.peer() + ": " + why);
    c.close_now();
}

void Server::on_data(Connection& c, const char* data, size_t len) {
    // One read may carry many publishes: each subscriber then gets one writev.
    runtime::CorkGuard cork(loop_);
    auto* s = &c.session<Session>();
    s->decoder.feed(data, len);
    std::string_view body;
    while (c.is_open() && s->decoder.next(&body)) {
        runtime::bump(loop_.stats().total_request);
        if (body.empty()) continue;  // ping
        ClientMessage m;
        std::string err;
        if (!protocol::channel::parse_client_message(body, &m, &err)) return reject(c, err);
        handle(c, *s, m);
    }
    if (!s->decoder.error().empty() && c.is_open()) reject(c, s->decoder.error());
}

void Server::handle(Connection& c, Session& s, ClientMessage& m) {
    const std::string& t = m.type;
    if (t == "subscribe") {
        for (const Value& ch : m.channels) subscribe(c, s, ch);
    } else if (t == "unsubscribe") {
        for (const Value& ch : m.channels) unsubscribe(c, s, channel_key(ch));
    } else if (t == "publish" || t == "publishLoop") {
        if (m.has_data) publish(m, t == "publishLoop");
    } else if (t == "watch") {
        for (const Value& ch : m.channels) watch(c, s, ch);
    } else if (t == "unwatch") {
        for (const Value& ch : m.channels) unwatch(c, s, channel_key(ch));
    } else if (t == "enqueue") {
        if (m.has_data) enqueue(m);
    } else if (t == "reserve") {
        reserve(c, s);
    }  // unknown types are ignored, as the original does
}

void Server::subscribe(Connection& c, Session& s, const Value& ch) {
    std::string key = channel_key(ch);
    if (!s.channels.insert(key).second) return;  // idempotent
    channels_[key].subscribers.push_back(&c);
    if (!replay_.empty()) replay(c, key);
}

Server::Remembered* Server::remember(const std::string& key, SharedBuffer* frame) {
    if (replay_bytes_ + frame->size() > kMaxReplayBytes) {
        runtime::bump(loop_.stats().dropped);
        return nullptr;
    }
    frame->ref();
    auto& frames = replay_[key].frames;
    frames.push_back(Remembered{runtime::BufferRef(frame), {}});
    replay_bytes_ += frame->size();
    return &frames.back();
}

void Server::replay(Connection& c, const std::string& key) {
    if (!in_grace()) {  // the window is over: let the memory go
        replay_.clear();
        replay_bytes_ = 0;
        return;
    }
    auto it = replay_.find(key);
    if (it == replay_.end()) return;
    for (const Remembered& r : it->second.frames) {
        const auto& had = r.delivered;
        if (std::find(had.begin(), had.end(), c.id()) == had.end()) deliver(c, r.frame.get());
    }
}

void Server::unsubscribe(Connection& c, Session& s, const std::string& key) {
    if (s.channels.erase(key) == 0) return;
    auto it = channels_.find(key);
    if (it == channels_.end()) return;
    Channel& ch = it->second;
    auto pos = std::find(ch.subscribers.begin(), ch.subscribers.end(), &c);
    if (pos != ch.subscribers.end()) {
        // PHP's array pointer stays on its element when an earlier one is
        // removed (and moves to the next one when its own is): keep
        // publishLoop's order identical to the original's.
        if (static_cast<size_t>(pos - ch.subscribers.begin()) < ch.loop_pos) --ch.loop_pos;
        ch.subscribers.erase(pos);
    }
    if (ch.subscribers.empty()) channels_.erase(it);
}

void Server::deliver(Connection& c, SharedBuffer* frame) {
    if (c.send(frame)) {
        runtime::bump(loop_.stats().messages_out);
    } else {
        runtime::bump(loop_.stats().dropped);  // a slow subscriber: dropped, counted
    }
}

void Server::publish(const ClientMessage& m, bool loop) {
    assert(loop_.corked());
    for (const Value& ch : m.channels) {
        std::string key = channel_key(ch);
        auto it = channels_.find(key);
        bool grace = !loop && in_grace();
        if (it == channels_.end() && !grace) continue;  // nobody listens: dropped silently
        std::string bytes = protocol::channel::build_delivery("event", ch, m);
        SharedBuffer* frame = SharedBuffer::copy(bytes.data(), bytes.size());
        Remembered* kept = grace ? remember(key, frame) : nullptr;
        if (it == channels_.end()) {
            frame->unref();
            continue;
        }
        Channel& channel = it->second;
        if (loop) {
            // PHP's next() then reset(): with A,B,C the order is B, C, A, B, ...
            // A subscriber closed this turn (its close event is pending) is
            // passed over, so the event reaches the next one instead.
            bool delivered = false;
            for (size_t tries = 0; tries < channel.subscribers.size() && !delivered; ++tries) {
                if (++channel.loop_pos >= channel.subscribers.size()) channel.loop_pos = 0;
                Connection* sub = channel.subscribers[channel.loop_pos];
                if (sub->is_open()) {
                    deliver(*sub, frame);
                    delivered = true;
                }
            }
            if (!delivered) runtime::bump(loop_.stats().dropped);
        } else {
            // No copy of the list is needed: publishes are handled while the loop
            // is corked (on_data), where send() only queues and never closes a
            // subscriber, so the list cannot change under this loop.
            for (Connection* sub : channel.subscribers) {
                if (!sub->is_open()) continue;
                deliver(*sub, frame);
                if (kept) kept->delivered.push_back(sub->id());
            }
        }
        frame->unref();
    }
}

void Server::watch(Connection& c, Session& s, const Value& ch) {
    std::string key = channel_key(ch);
    Queue& q = queues_[key];
    if (q.watchers.empty() && q.messages.empty()) q.name = ch;
    if (std::find(q.watchers.begin(), q.watchers.end(), &c) == q.watchers.end())
        q.watchers.push_back(&c);
    if (std::find(s.watches.begin(), s.watches.end(), key) == s.watches.end())
        s.watches.push_back(key);
}

void Server::unwatch(Connection& c, Session& s, const std::string& key) {
    s.watches.erase(std::remove(s.watches.begin(), s.watches.end(), key), s.watches.end());
    auto it = queues_.find(key);
    if (it == queues_.end()) return;
    erase_conn(it->second.watchers, &c);
    erase_conn(it->second.consumers, &c);
    if (it->second.idle()) queues_.erase(it);
}

void Server::enqueue(const ClientMessage& m) {
    // Stored as it will stand inside the queue delivery: back-references
    // re-numbered for that envelope, not the enqueue message's.
    std::string data = protocol::channel::delivery_data(m);
    for (const Value& ch : m.channels) {
        std::string key = channel_key(ch);
        auto [it, created] = queues_.try_emplace(key);
        Queue& q = it->second;
        if (created) q.name = ch;
        if (q.bytes + data.size() > kMaxQueueBytes) {
            runtime::bump(loop_.stats().dropped);
            continue;
        }
        q.bytes += data.size();
        q.messages.push_back(data);
        dispatch(q);
    }
}

void Server::reserve(Connection& c, Session& s) {
    for (const std::string& key : s.watches) {
        auto it = queues_.find(key);
        if (it == queues_.end()) continue;
        Queue& q = it->second;
        if (std::find(q.consumers.begin(), q.consumers.end(), &c) == q.consumers.end())
            q.consumers.push_back(&c);
        dispatch(q);
    }
}

void Server::dispatch(Queue& q) {
    while (!q.messages.empty() && !q.consumers.empty()) {
        Connection* consumer = q.consumers.front();
        q.consumers.erase(q.consumers.begin());
        if (!consumer->is_open()) continue;  // closed this turn; its close event is pending
        std::string data = std::move(q.messages.front());
        q.messages.pop_front();
        q.bytes -= data.size();
        ClientMessage stored;  // data is already serialized: frame it as it is
        stored.has_data = true;
        stored.data_raw = data;
        std::string bytes = protocol::channel::build_delivery("queue", q.name, stored);
        SharedBuffer* frame = SharedBuffer::copy(bytes.data(), bytes.size());
        deliver(*consumer, frame);
        frame->unref();
    }
}

void Server::on_close(Connection& c) {
    auto& s = c.session<Session>();
    for (std::string key : std::set<std::string>(s.channels)) unsubscribe(c, s, key);
    for (std::string key : std::vector<std::string>(s.watches)) unwatch(c, s, key);
    tcp_.remove(c);
}

void Server::dump_connections(std::string& out) const {
    runtime::append_connection_rows(out, tcp_, name_, worker_id_, "frame",
                                    [](Connection&) { return "ESTABLISHED"; });
}

}  // namespace pusher::channel
