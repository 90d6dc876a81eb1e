#include "redis/link.h"

#include <memory>

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
    flush();  // what this turn sent still goes out
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
    budget_ = {0, reply_limit()};
    reader_ = budgeted_reader(&budget_);
    handshake_owed_ = 0;
    command_ends_.clear();
    stream_end_ = 0;
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
    came_back_ = failed_since_up_;
    failed_since_up_ = false;
    dialer_.established();
    owner_.link_up(*this);
    return true;
}

namespace {
struct ReplyFree {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
}  // namespace

void Link::on_data(runtime::Connection& c, const char* data, size_t len) {
    if (redisReaderFeed(reader_, data, len) != REDIS_OK) return c.close_now();
    // A reply far larger than any bus frame may be (unparsed bytes here,
    // parsed objects in the budget) is not one we serve: the link is
    // dropped instead of buffering it all. One a little over the frame
    // bound is read, and the node drops (and counts) that event alone.
    if (reader_->len - reader_->pos > budget_.limit) {
        runtime::log_peer(what_ + ": " + address() + " sent an oversized reply");
        runtime::bump(loop_.stats().bus_dropped);
        return c.close_now();
    }
    bool delivered = false;
    while (c.is_open()) {
        void* reply = nullptr;
        if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
            bool oversized = budget_.used > budget_.limit;
            runtime::log_peer(what_ + ": " + address() + ": " +
                              (oversized ? "sent an oversized reply" : reader_->errstr));
            if (oversized) runtime::bump(loop_.stats().bus_dropped);
            c.close_now();
            break;
        }
        if (!reply) break;
        budget_.used = 0;  // the next reply starts
        std::unique_ptr<redisReply, ReplyFree> r(static_cast<redisReply*>(reply));
        if (!up_) {
            if (!handshake_reply(r.get())) c.close_now();
        } else {
            owner_.link_reply(*this, r.get());
            delivered = true;
        }
    }
    // Also when the link closed mid-read: what was handed over is flushed.
    if (delivered) owner_.link_read_end(*this);
}

void Link::on_close(runtime::Connection& c) {
    bool was_up = up_;
    conn_ = nullptr;
    up_ = false;
    unwritten_ = 0;
    for (uint64_t end : command_ends_) unwritten_ += end > c.bytes_out();
    command_ends_.clear();
    outbox_.clear();  // commands of a dead link: the owner re-sends what it must
    if (!was_up) failed_since_up_ = true;
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
    stream_end_ += static_cast<uint64_t>(len);
    command_ends_.push_back(stream_end_);
}

// Four frames (and some room for the reply around the payload): an event up
// to that size is read and dropped alone; beyond it the link goes.
size_t Link::reply_limit() const {
    return 4 * loop_.limits().channel_max_frame + 65536;
}

bool Link::busy() const {
    return conn_ && outbox_.size() + conn_->queued() >= loop_.limits().max_send_queue;
}

void Link::on_buffer_drain(runtime::Connection&) {
    flush();
    if (up() && !busy()) owner_.link_drained(*this);
}

void Link::on_flush(evutil_socket_t, short, void* arg) {
    static_cast<Link*>(arg)->flush();
}

// Hands the turn's commands to the socket, unless it still has some of an
// earlier write: they wait here (the owner stops adding once busy()) and go
// out on the drain. A slow Redis is not a dead one; a dead one is found by
// the owner's probe, by time.
void Link::flush() {
    if (!conn_ || !conn_->is_open()) return;
    while (!command_ends_.empty() && command_ends_.front() <= conn_->bytes_out())
        command_ends_.pop_front();
    if (outbox_.empty() || conn_->queued() > 0) return;
    std::string out;
    out.swap(outbox_);
    conn_->send(out.data(), out.size());  // a failed write closes it: on_close counts
    if (outbox_.empty()) {
        out.clear();
        out.swap(outbox_);  // keep the capacity for the next turn
    }
    // The kernel took it all: no drain event will come, so say it now.
    if (up() && conn_->queued() == 0) owner_.link_drained(*this);
}

}  // namespace pusher::redis
