#include "channel/client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <iterator>

#include "channel/channel_key.h"
#include "protocol/channel_message.h"
#include "runtime/log.h"

namespace pusher::channel {

using protocol::frame_encode;
using protocol::channel::build_client_message;

Client::Client(runtime::Loop& loop, std::string host, int port)
    : loop_(loop),
      dialer_(loop, std::move(host), port, "channel client", this),
      ping_timer_(loop, [this] {
          if (up_) conn_->send(protocol::frame_ping().data(), protocol::frame_ping().size());
      }) {
    flush_ev_ = event_new(loop.base(), -1, 0, on_flush, this);
}

Client::~Client() {
    close();
    event_free(flush_ev_);
}

void Client::close() {
    flush();  // what this turn sent still goes out
    closed_ = true;
    ping_timer_.cancel();
    if (conn_) {
        drop_unwritten(*conn_);
        discard_unread(conn_->fd());
    }
    dialer_.stop();  // abandons the link: no close event, no reconnect
    conn_ = nullptr;
    up_ = false;
    set_subscribed(false);
    // Publishes that never found a link: counted, not silently forgotten.
    runtime::bump(loop_.stats().bus_dropped, pending_.size());
    pending_.clear();
}

// A socket closed with unread bytes in its receive buffer (events the server
// still sent us) ends with a reset instead of a FIN, and a reset makes the
// server's kernel throw away what it had not read yet: the publishes this
// worker wrote last. Reading them out first keeps the close a FIN.
void Client::discard_unread(int fd) {
    char buf[16384];
    while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
    ::shutdown(fd, SHUT_WR);
}

bool Client::finish() {
    if (!conn_ || !up_ || !conn_->is_open()) return true;
    if (!finishing_) {
        finishing_ = true;
        ping_timer_.cancel();
        ::shutdown(conn_->fd(), SHUT_WR);
    }
    return false;
}

bool Client::idle() const {
    return pending_.empty() && outbox_.empty() && (!conn_ || conn_->queued() == 0);
}

size_t Client::unwritten_publishes(const runtime::Connection& c) {
    while (!in_flight_.empty() && in_flight_.front().first <= c.bytes_out()) in_flight_.pop_front();
    size_t n = 0;
    for (const auto& w : in_flight_) n += w.second;
    return n;
}

void Client::drop_unwritten(const runtime::Connection& c) {
    runtime::bump(loop_.stats().bus_dropped, unwritten_publishes(c));
    in_flight_.clear();
}

void Client::connect() {
    if (!closed_) dialer_.start();
}

void Client::adopt(int fd) {
    if (closed_) {
        ::close(fd);
        return;
    }
    dialer_.adopt(fd);
}

void Client::set_subscribed(bool up) {
    subscribed_ = up;
    if (loop_.owns_slot()) loop_.stats().channel_connected.store(up ? 1 : 0, std::memory_order_relaxed);
}

void Client::on_connect(runtime::Connection& c) {
    conn_ = &c;
    up_ = true;
    dialer_.established();
    decoder_ = std::make_unique<protocol::FrameDecoder>(loop_.limits().channel_max_frame);
    in_flight_.clear();
    // Every event subscribed again, as the original does in one subscribe;
    // here in as many as keep each frame well below channel_max_frame: a
    // worker holding many users' and groups' channels would otherwise send
    // one frame the server refuses, and reconnect, forever.
    if (!events_.empty()) {
        const size_t budget = loop_.limits().channel_max_frame / 2;
        std::vector<Value> channels;
        size_t bytes = 0;
        for (auto& e : events_) {
            size_t item = e.second.first.as_string().size() + 32;  // name, key, type, lengths
            if (!channels.empty() && bytes + item > budget) {
                send_now(build_client_message("subscribe", channels));
                channels.clear();
                bytes = 0;
            }
            channels.push_back(e.second.first);
            bytes += item;
        }
        send_now(build_client_message("subscribe", channels));
    }
    bool reserve_needed = false;
    for (auto& w : watches_) {
        send_now(build_client_message("watch", {w.second.name}));
        reserve_needed |= w.second.auto_reserve;
    }
    if (reserve_needed) send_now(protocol::channel::build_reserve());
    while (!pending_.empty() && up_) {
        send_publish(pending_.front());
        pending_.pop_front();
    }
    ping_timer_.start(kPingInterval, true);
    set_subscribed(true);
    if (on_connected) on_connected();
}

void Client::on_close(runtime::Connection& c) {
    conn_ = nullptr;
    up_ = false;
    ping_timer_.cancel();
    set_subscribed(false);
    drop_unwritten(c);  // handed to the dead link, never written: counted
    // Publishes of this turn not yet handed over wait for the next link.
    requeue_outbox(outbox_, outbox_publishes_);
    if (finishing_) return dialer_.finished();  // the server's answer to our FIN: done
    if (closed_ || dialer_.closed(c)) return;   // only an attempt failed
    runtime::bump(loop_.stats().channel_reconnects);
    if (on_disconnected) on_disconnected();
}

void Client::send_now(const std::string& body) {
    // Libevent runs an event activated now after the callbacks already
    // pending in this turn: everything sent until then shares one write.
    if (outbox_.empty()) event_active(flush_ev_, 0, 0);
    protocol::frame_append(outbox_, body);
}

void Client::on_flush(evutil_socket_t, short, void* arg) {
    static_cast<Client*>(arg)->flush();
}

void Client::flush() {
    if (outbox_.empty()) return;
    // A link closed this turn: its close event (deferred to the end of the
    // turn) hands the whole outbox back to pending_, in order.
    if (conn_ && !conn_->is_open()) return;
    // Taken out first: a failed write closes the link, and nothing must
    // requeue what is being written twice.
    std::string frames;
    std::vector<size_t> publishes;
    frames.swap(outbox_);
    publishes.swap(outbox_publishes_);
    bool sent = up_ && conn_ && conn_->send(frames.data(), frames.size());
    if (sent) {
        if (!publishes.empty()) {
            unwritten_publishes(*conn_);  // forget what the socket has taken
            // Everything handed to the link so far is written or queued: this
            // write ends there (pings sent beside flush() included).
            in_flight_.emplace_back(conn_->bytes_out() + conn_->queued(),
                                    static_cast<uint32_t>(publishes.size()));
        }
        frames.clear();  // keep the capacity for the next turn
        frames.swap(outbox_);
        return;
    }
    if (conn_ && !conn_->is_open()) {  // the write failed and closed it: on_close requeues
        frames.swap(outbox_);
        publishes.swap(outbox_publishes_);
        return;
    }
    if (!up_) return requeue_outbox(frames, publishes);  // the link is gone: keep them
    // The link is up but its send queue is full: these are lost, and counted.
    runtime::bump(loop_.stats().bus_dropped, publishes.size());
}

// Subscribes, watches and reserves are sent again on connect; publishes are
// not, so they move to pending_, ahead of those made since, within the bound.
void Client::requeue_outbox(std::string& frames, std::vector<size_t>& publishes) {
    std::deque<std::string> kept;
    for (size_t at : publishes) {
        uint32_t total = protocol::frame_read_length(frames.data() + at);
        kept.emplace_back(frames, at + protocol::kFrameHeader, total - protocol::kFrameHeader);
    }
    frames.clear();
    publishes.clear();
    if (kept.empty()) return;
    kept.insert(kept.end(), std::make_move_iterator(pending_.begin()),
                std::make_move_iterator(pending_.end()));
    size_t cap = loop_.limits().channel_pending_publishes;
    if (kept.size() > cap) {
        runtime::bump(loop_.stats().bus_dropped, kept.size() - cap);
        kept.resize(cap);
    }
    pending_.swap(kept);
}

// A publish is remembered in the outbox: unlike a subscribe it is not sent
// again by the next connect, so a dropped link must hand it back.
void Client::send_publish(const std::string& body) {
    outbox_publishes_.push_back(outbox_.size());
    send_now(body);
}

void Client::send_or_queue(const std::string& body) {
    if (up_) return send_publish(body);
    if (pending_.size() >= loop_.limits().channel_pending_publishes) {
        runtime::bump(loop_.stats().bus_dropped);
        return;
    }
    pending_.push_back(body);
    connect();
}

void Client::on(const Value& channel, Handler handler) {
    std::string key = channel_key(channel);
    bool known = events_.count(key) > 0;
    events_[key] = {channel, std::move(handler)};
    if (!known && up_) send_now(build_client_message("subscribe", {channel}));
}

void Client::subscribe(const std::vector<Value>& channels) {
    for (const Value& ch : channels) {
        auto key = channel_key(ch);
        if (!events_.count(key)) events_[key] = {ch, nullptr};
    }
    if (up_) send_now(build_client_message("subscribe", channels));
}

void Client::unsubscribe(const Value& channel) {
    events_.erase(channel_key(channel));
    if (up_) send_now(build_client_message("unsubscribe", {channel}));
}

void Client::publish(const std::vector<Value>& channels, const Value& data) {
    send_or_queue(build_client_message("publish", channels, &data));
}

void Client::publish_loop(const std::vector<Value>& channels, const Value& data) {
    send_or_queue(build_client_message("publishLoop", channels, &data));
}

void Client::enqueue(const std::vector<Value>& channels, const Value& data) {
    send_or_queue(build_client_message("enqueue", channels, &data));
}

void Client::watch(const Value& queue, Handler handler, bool auto_reserve) {
    watches_[channel_key(queue)] = Watch{queue, std::move(handler), auto_reserve};
    if (!up_) return;
    send_now(build_client_message("watch", {queue}));
    if (auto_reserve) reserve();
}

void Client::unwatch(const Value& queue) {
    watches_.erase(channel_key(queue));
    if (up_) send_now(build_client_message("unwatch", {queue}));
}

void Client::reserve() {
    if (up_) send_now(protocol::channel::build_reserve());
}

void Client::on_data(runtime::Connection& c, const char* data, size_t len) {
    decoder_->feed(data, len);
    std::string_view body;
    while (c.is_open() && decoder_->next(&body)) {
        if (!body.empty()) dispatch(body);
    }
    if (on_batch_end) on_batch_end();
    if (!decoder_->error().empty() && c.is_open()) {
        runtime::log_peer("channel client: " + decoder_->error());
        c.close_now();
    }
}

void Client::dispatch(std::string_view body) {
    protocol::channel::Delivery d;
    std::string err;
    if (!protocol::channel::parse_delivery(body, &d, &err)) {
        runtime::log_peer("channel client: bad message from the server: " + err);
        return;
    }
    std::string key = channel_key(d.channel);
    if (d.type == "event") {
        auto it = events_.find(key);
        Handler h = it != events_.end() && it->second.second ? it->second.second : on_message;
        if (h) return h(d.channel, d.data);
        runtime::log_peer("channel client: event on '" + d.channel.as_string() +
                          "' has no handler");
        return;
    }
    auto it = watches_.find(key);
    if (it == watches_.end() || !it->second.handler) {
        runtime::log_peer("channel client: queue message on '" + d.channel.as_string() +
                          "' has no watcher");
        return;
    }
    bool auto_reserve = it->second.auto_reserve;
    Handler h = it->second.handler;  // a copy: the handler may unwatch
    h(d.channel, d.data);
    if (auto_reserve) reserve();
}

}  // namespace pusher::channel
