#include "channel/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>

#include "channel/channel_key.h"
#include "protocol/channel_message.h"
#include "runtime/log.h"

namespace pusher::channel {

using protocol::frame_encode;
using protocol::channel::build_client_message;

Client::Client(runtime::Loop& loop, std::string host, int port)
    : loop_(loop),
      host_(std::move(host)),
      port_(port),
      reconnect_timer_(loop, [this] { start_attempt(); }),
      ping_timer_(loop,
                  [this] {
                      if (up_)
                          conn_->send(protocol::frame_ping().data(), protocol::frame_ping().size());
                  }),
      connect_timer_(loop, [this] { attempt_timed_out(); }) {
    flush_ev_ = event_new(loop.base(), -1, 0, on_flush, this);
}

Client::~Client() {
    close();
    event_free(flush_ev_);
    if (dns_ && !keep_dns_) evdns_base_free(dns_, 0);
}

void Client::close() {
    flush();  // what this turn sent still goes out
    closed_ = true;
    reconnect_timer_.cancel();
    ping_timer_.cancel();
    connect_timer_.cancel();
    // The cancelled lookup still uses the base until its callback has run
    // (later, from the loop): the base then stays (at shutdown only).
    keep_dns_ = keep_dns_ || lookup_;
    abandon_lookup();
    if (conn_) {
        drop_unwritten(*conn_);
        conn_->abandon();  // for good: no close event, no reconnect
        conn_ = nullptr;
        up_ = false;
        set_subscribed(false);
    }
    // Publishes that never found a link: counted, not silently forgotten.
    runtime::bump(loop_.stats().bus_dropped, pending_.size());
    pending_.clear();
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

void Client::abandon_lookup() {
    if (!lookup_) return;
    Lookup* token = lookup_;
    lookup_ = nullptr;
    resolving_ = false;
    token->owner = nullptr;  // its callback, now or later, only frees it
    if (token->req) evdns_getaddrinfo_cancel(token->req);
}

// A lookup nobody answers, or a connect to an address that drops SYNs, is
// given up after kConnectTimeout: the next address, or back-off.
void Client::attempt_timed_out() {
    if (resolving_) {
        abandon_lookup();
        last_error_ = host_ + ": name lookup timed out";
        return try_next_address();
    }
    if (!conn_ || up_) return;
    connect_timed_out_ = true;
    conn_->close_now();  // on_close tries the next address
}

void Client::use_hosts_file(const std::string& path) {
    if (dns_ || resolving_) return;  // before connect() only
    dns_ = evdns_base_new(loop_.base(), EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (dns_ && evdns_base_load_hosts(dns_, path.c_str()) != 0)
        runtime::log_line("channel client: cannot read hosts file " + path);
}

// Public: starts the first attempt. While a retry is scheduled it waits for
// it: a publish made during an outage must not bypass the back-off.
void Client::connect() {
    if (reconnect_timer_.armed()) return;
    start_attempt();
}

void Client::start_attempt() {
    if (conn_ || closed_ || resolving_) return;
    if (!resolve()) return schedule_reconnect();
    if (!resolving_) try_next_address();
}

static std::string address_text(const sockaddr* sa) {
    char host[INET6_ADDRSTRLEN] = "?";
    const void* a =
        sa->sa_family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
    inet_ntop(sa->sa_family, a, host, sizeof host);
    return host;
}

// A numeric host needs no lookup. A name goes to evdns, which answers from
// the hosts file at once or from a name server later (on_resolved); the loop
// never waits. false: the lookup could not even start.
bool Client::resolve() {
    addrs_.clear();
    next_addr_ = 0;
    Address a{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.addr);
    if (inet_pton(AF_INET, host_.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(port_));
        a.len = sizeof *v4;
        addrs_.push_back(a);
        return true;
    }
    if (inet_pton(AF_INET6, host_.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(port_));
        a.len = sizeof *v6;
        addrs_.push_back(a);
        return true;
    }
    if (!dns_)
        dns_ = evdns_base_new(loop_.base(),
                              EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!dns_) {
        runtime::log_peer("channel client: cannot start a name lookup for " + host_);
        return false;
    }
    evutil_addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    resolving_ = true;
    lookup_ = new Lookup{this, nullptr};
    Lookup* token = lookup_;
    in_resolve_ = true;
    evdns_getaddrinfo_request* req = evdns_getaddrinfo(
        dns_, host_.c_str(), std::to_string(port_).c_str(), &hints, on_resolved, token);
    in_resolve_ = false;
    if (resolving_) {  // answered later; else the callback already ran
        token->req = req;
        connect_timer_.start(kConnectTimeout, false);
    }
    return true;
}

// Runs exactly once per lookup, also after a cancel; the token tells whether
// its client still wants the answer.
void Client::on_resolved(int result, evutil_addrinfo* res, void* arg) {
    auto* token = static_cast<Lookup*>(arg);
    Client* self = token->owner;
    delete token;
    if (!self || result == EVUTIL_EAI_CANCEL) {
        if (res) evutil_freeaddrinfo(res);
        return;
    }
    self->lookup_ = nullptr;
    self->resolving_ = false;
    self->connect_timer_.cancel();
    for (evutil_addrinfo* ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
        Address a{};
        memcpy(&a.addr, ai->ai_addr, ai->ai_addrlen);
        a.len = static_cast<socklen_t>(ai->ai_addrlen);
        self->addrs_.push_back(a);
    }
    if (res) evutil_freeaddrinfo(res);
    if (result != 0)
        self->last_error_ = self->host_ + ": " + evutil_gai_strerror(result);
    else if (self->addrs_.empty())
        self->last_error_ = self->host_ + ": no address";
    if (!self->in_resolve_) self->try_next_address();  // else start_attempt goes on
}

// Each address in turn; when none is left, back off and resolve again.
void Client::try_next_address() {
    if (closed_ || conn_) return;
    while (next_addr_ < addrs_.size()) {
        const Address& a = addrs_[next_addr_++];
        std::string err;
        conn_ = runtime::Connection::connect(loop_, reinterpret_cast<const sockaddr*>(&a.addr),
                                             a.len, this, &err);
        if (conn_) {
            decoder_ = std::make_unique<protocol::FrameDecoder>(loop_.limits().channel_max_frame);
            connect_timer_.start(kConnectTimeout, false);
            return;
        }
        last_error_ = address_text(reinterpret_cast<const sockaddr*>(&a.addr)) + ": " + err;
    }
    // Once per outage, not once per retry: a long outage does not fill the log.
    if (backoff_.attempt() == 0 && !last_error_.empty())
        runtime::log_line("channel client: cannot connect to " + host_ + ":" +
                          std::to_string(port_) + " (" + last_error_ + "), retrying");
    schedule_reconnect();
}

void Client::adopt(int fd) {
    if (conn_ || closed_ || resolving_) {
        ::close(fd);
        return;
    }
    reconnect_timer_.cancel();
    // Connecting: the first EV_WRITE finishes it through on_connect, as for connect().
    conn_ = new runtime::Connection(loop_, fd, 0, this, runtime::ConnState::Connecting);
    decoder_ = std::make_unique<protocol::FrameDecoder>(loop_.limits().channel_max_frame);
}

// Exponential back-off with full jitter from a per-process generator: the
// workers of a host, and the hosts of a cluster, do not knock on a restarted
// channel server in the same millisecond.
void Client::schedule_reconnect() {
    if (closed_) return;
    reconnect_timer_.start(backoff_.next(), false);
}

void Client::set_subscribed(bool up) {
    subscribed_ = up;
    loop_.stats().channel_connected.store(up ? 1 : 0, std::memory_order_relaxed);
}

void Client::on_connect(runtime::Connection&) {
    up_ = true;
    up_since_ = loop_.now();
    connect_timer_.cancel();
    last_error_.clear();
    in_flight_.clear();
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
        send_publish(pending_.front());
        pending_.pop_front();
    }
    ping_timer_.start(kPingInterval, true);
    set_subscribed(true);
    if (on_connected) on_connected();
}

void Client::on_close(runtime::Connection& c) {
    int err = c.connect_error();
    bool was_up = up_;
    conn_ = nullptr;
    up_ = false;
    ping_timer_.cancel();
    connect_timer_.cancel();
    set_subscribed(false);
    drop_unwritten(c);  // handed to the dead link, never written: counted
    // Publishes of this turn not yet handed over wait for the next link.
    requeue_outbox(outbox_, outbox_publishes_);
    if (closed_) return;
    if (!was_up && next_addr_ > 0 && next_addr_ <= addrs_.size()) {  // the next address
        const Address& a = addrs_[next_addr_ - 1];
        last_error_ = address_text(reinterpret_cast<const sockaddr*>(&a.addr)) + ": " +
                      (connect_timed_out_ ? "connect timed out" : strerror(err));
        connect_timed_out_ = false;
        return try_next_address();
    }
    runtime::bump(loop_.stats().channel_reconnects);
    std::string line =
        "channel connection to " + host_ + ":" + std::to_string(port_) + " closed, reconnecting";
    if (was_up && loop_.now() - up_since_ >= kStableLink) {
        backoff_.reset();  // a new outage: retry soon, and say so
        runtime::log_line(line);
    } else {
        runtime::log_peer(line);  // closed again at once: keep backing off, quietly
    }
    if (on_disconnected) on_disconnected();
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
