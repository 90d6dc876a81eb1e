#include "redis/link.h"

#include "runtime/log.h"
#include "runtime/stats.h"

namespace pusher::redis {

Link::Link(runtime::Loop& loop, const runtime::RedisAddress& server, const runtime::BusConfig& bus,
           std::string what, Owner& owner)
    : loop_(loop),
      bus_(bus),
      what_(std::move(what)),
      owner_(owner),
      dialer_(loop, server.host, server.port, what_, this) {
    flush_ev_ = event_new(loop.base(), -1, 0, on_flush, this);
}

Link::~Link() {
    stop();
    event_free(flush_ev_);
}

void Link::stop() {
    dialer_.stop();  // abandons the connection: no close event
    conn_ = nullptr;
    up_ = false;
    outbox_.clear();
    if (reader_) redisReaderFree(reader_);
    reader_ = nullptr;
}

void Link::restart(const std::string& why) {
    if (!conn_) return;
    runtime::log_peer(what_ + ": " + address() + " " + why + ", reconnecting");
    dialer_.restart();  // closes now; on_close follows at the end of the turn
}

// Before anything else: AUTH when the operator set a password, then PING.
// Only the answer to these makes the link up; until then the dialer's
// deadline runs, so a server that takes connections and never answers
// (SIGSTOP, a full backlog) is retried like one that refuses them.
void Link::on_connect(runtime::Connection& c) {
    conn_ = &c;
    if (reader_) redisReaderFree(reader_);
    reader_ = redisReaderCreate();
    handshake_owed_ = 0;
    if (!bus_.password.empty()) {
        if (bus_.username.empty())
            command({"AUTH", bus_.password});
        else
            command({"AUTH", bus_.username, bus_.password});
        ++handshake_owed_;
    }
    command({"PING"});
    ++handshake_owed_;
}

// false: the server refused the handshake (wrong password...): retried
// after a back-off, logged once per outage by the dialer.
bool Link::handshake_reply(redisReply* r) {
    if (r->type == REDIS_REPLY_ERROR) {
        // The reply text, never the command: it would carry the password.
        runtime::log_peer(what_ + ": " + address() + " refused the handshake: " +
                          std::string(r->str, r->len));
        return false;
    }
    if (--handshake_owed_ > 0) return true;
    up_ = true;
    dialer_.established();
    owner_.link_up(*this);
    return true;
}

void Link::on_data(runtime::Connection& c, const char* data, size_t len) {
    if (redisReaderFeed(reader_, data, len) != REDIS_OK) return c.close_now();
    // A server that sends a reply larger than any bus frame may be is not a
    // Redis we can serve: the link is dropped instead of buffering it all.
    if (reader_->len - reader_->pos > loop_.limits().channel_max_frame) {
        runtime::log_peer(what_ + ": " + address() + " sent an oversized reply");
        return c.close_now();
    }
    last_reply_at_ = loop_.now();
    void* reply = nullptr;
    while (c.is_open()) {
        if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
            runtime::log_peer(what_ + ": " + address() + ": " + reader_->errstr);
            return c.close_now();
        }
        if (!reply) break;
        auto* r = static_cast<redisReply*>(reply);
        if (!up_) {
            if (!handshake_reply(r)) c.close_now();
        } else {
            owner_.link_reply(*this, r);
        }
        freeReplyObject(r);
    }
    if (up_ && c.is_open()) owner_.link_read_end(*this);
}

void Link::on_close(runtime::Connection& c) {
    bool was_up = up_;
    conn_ = nullptr;
    up_ = false;
    outbox_.clear();  // commands of a dead link: the owner re-sends what it must
    bool lost = !dialer_.closed(c);
    if (lost) runtime::bump(loop_.stats().channel_reconnects);
    if (was_up) owner_.link_down(*this);
}

void Link::command(std::initializer_list<std::string_view> args) {
    if (!conn_ || !conn_->is_open() || args.size() > kMaxArgs) return;
    const char* argv[kMaxArgs];
    size_t lens[kMaxArgs];
    int n = 0;
    for (std::string_view a : args) {
        argv[n] = a.data();
        lens[n++] = a.size();
    }
    char* cmd = nullptr;
    int len = redisFormatCommandArgv(&cmd, n, argv, lens);
    if (len < 0) return;
    // Libevent runs an event activated now after the callbacks already
    // pending in this turn: everything sent until then shares one write.
    if (outbox_.empty()) event_active(flush_ev_, 0, 0);
    outbox_.append(cmd, static_cast<size_t>(len));
    redisFreeCommand(cmd);
}

void Link::on_flush(evutil_socket_t, short, void* arg) {
    static_cast<Link*>(arg)->flush();
}

void Link::flush() {
    if (outbox_.empty() || !conn_ || !conn_->is_open()) return;
    std::string out;
    out.swap(outbox_);
    // 1 MiB owed to a server that does not read is a stalled server: the
    // link is dropped and the owner counts what it owed, as for a lost link.
    if (!conn_->send(out.data(), out.size()) && conn_ && conn_->is_open())
        return restart("does not read what it is sent");
    if (outbox_.empty()) {
        out.clear();
        out.swap(outbox_);  // keep the capacity for the next turn
    }
}

}  // namespace pusher::redis
