#include "channel/client.h"

#include <unistd.h>

#include <cstdlib>

#include "channel/channel_key.h"
#include "protocol/channel_message.h"
#include "worker/log.h"

namespace pusher::channel {

using protocol::frame_encode;
using protocol::channel::build_client_message;

Client::Client(worker::Loop& loop, std::string host, int port)
    : loop_(loop),
      host_(std::move(host)),
      port_(port),
      reconnect_timer_(loop, [this] { connect(); }),
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
    reconnect_timer_.cancel();
    ping_timer_.cancel();
    if (conn_) {
        conn_->abandon();  // for good: no close event, no reconnect
        conn_ = nullptr;
        up_ = false;
        set_subscribed(false);
    }
}

void Client::connect() {
    if (conn_ || closed_) return;
    std::string err;
    conn_ = worker::Connection::connect(loop_, host_, port_, this, &err);
    if (!conn_) {
        worker::log_line("channel client: " + err);
        schedule_reconnect();
        return;
    }
    decoder_ = std::make_unique<protocol::FrameDecoder>(loop_.limits().channel_max_frame);
}

void Client::adopt(int fd) {
    if (conn_ || closed_) {
        ::close(fd);
        return;
    }
    reconnect_timer_.cancel();
    // Connecting: the first EV_WRITE finishes it through on_connect, as for connect().
    conn_ = new worker::Connection(loop_, fd, 0, this, worker::ConnState::Connecting);
    decoder_ = std::make_unique<protocol::FrameDecoder>(loop_.limits().channel_max_frame);
}

// About a second, with jitter so that the workers of a host do not all knock
// on a restarted channel server in the same millisecond.
void Client::schedule_reconnect() {
    if (closed_) return;
    reconnect_timer_.start(kReconnectDelay + (rand() % 250) / 1000.0, false);
}

void Client::set_subscribed(bool up) {
    subscribed_ = up;
    loop_.stats().channel_connected.store(up ? 1 : 0, std::memory_order_relaxed);
}

void Client::on_connect(worker::Connection&) {
    up_ = true;
    // One subscribe with every event, as the original; then every watch.
    if (!events_.empty()) {
        std::vector<Value> channels;
        for (auto& e : events_) channels.push_back(e.second.first);
        send_now(build_client_message("subscribe", channels));
    }
    bool reserve_needed = false;
    for (auto& w : watches_) {
        send_now(build_client_message("watch", {w.second.name}));
        reserve_needed |= w.second.auto_reserve;
    }
    if (reserve_needed) send_now(protocol::channel::build_reserve());
    while (!pending_.empty() && up_) {
        send_now(pending_.front());
        pending_.pop_front();
    }
    ping_timer_.start(kPingInterval, true);
    set_subscribed(true);
    if (on_connected) on_connected();
}

void Client::on_close(worker::Connection&) {
    bool was_up = up_;
    conn_ = nullptr;
    up_ = false;
    ping_timer_.cancel();
    set_subscribed(false);
    if (closed_) return;
    if (was_up) {
        worker::bump(loop_.stats().channel_reconnects);
        worker::log_line("channel connection to " + host_ + ":" + std::to_string(port_) +
                         " closed, reconnecting");
        if (on_disconnected) on_disconnected();
    }
    schedule_reconnect();
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
    if (up_ && conn_) conn_->send(outbox_.data(), outbox_.size());
    outbox_.clear();
}

void Client::send_or_queue(const std::string& body) {
    if (up_) return send_now(body);
    if (pending_.size() >= loop_.limits().channel_pending_publishes) {
        worker::bump(loop_.stats().bus_dropped);
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

void Client::on_data(worker::Connection& c, const char* data, size_t len) {
    decoder_->feed(data, len);
    std::string_view body;
    while (c.is_open() && decoder_->next(&body)) {
        if (!body.empty()) dispatch(body);
    }
    if (on_batch_end) on_batch_end();
    if (!decoder_->error().empty() && c.is_open()) {
        worker::log_line("channel client: " + decoder_->error());
        c.close_now();
    }
}

void Client::dispatch(std::string_view body) {
    protocol::channel::Delivery d;
    std::string err;
    if (!protocol::channel::parse_delivery(body, &d, &err)) {
        worker::log_line("channel client: bad message from the server: " + err);
        return;
    }
    std::string key = channel_key(d.channel);
    if (d.type == "event") {
        auto it = events_.find(key);
        Handler h = it != events_.end() && it->second.second ? it->second.second : on_message;
        if (h) return h(d.channel, d.data);
        worker::log_line("channel client: event on '" + d.channel.as_string() + "' has no handler");
        return;
    }
    auto it = watches_.find(key);
    if (it == watches_.end() || !it->second.handler) {
        worker::log_line("channel client: queue message on '" + d.channel.as_string() +
                         "' has no watcher");
        return;
    }
    bool auto_reserve = it->second.auto_reserve;
    Handler h = it->second.handler;  // a copy: the handler may unwatch
    h(d.channel, d.data);
    if (auto_reserve) reserve();
}

}  // namespace pusher::channel
