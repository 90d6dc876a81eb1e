// One connection to one Redis server, on the worker's loop: the transport of
// the Redis bus engine. A runtime::Dialer keeps it up; the handshake (AUTH
// when configured, then PING) must be answered before the link counts as up,
// so a server that accepts but never answers (stopped, overloaded) is given
// up by the dialer's deadline like an unreachable one. Replies are parsed by
// hiredis's reader (no RESP parser of our own) and handed to the owner in
// order; commands of one loop turn go out in one write.
#pragma once
#include <hiredis/hiredis.h>

#include <deque>
#include <string>
#include <string_view>

#include "redis/reply_objects.h"
#include "runtime/config.h"
#include "runtime/connection.h"
#include "runtime/dialer.h"

namespace pusher::redis {

class Link : public runtime::ConnectionHandler {
  public:
    class Owner {
      public:
        virtual ~Owner() = default;
        virtual void link_up(Link& l) = 0;
        // An up link was lost: the replies it owed will never come.
        virtual void link_down(Link& l) = 0;
        // Every reply after the handshake, in order; owned by the link.
        virtual void link_reply(Link& l, redisReply* r) = 0;
        // All replies of one read were handled: lets the bus batch them.
        virtual void link_read_end(Link&) {}
        // Everything handed over is written: a busy link takes commands again.
        virtual void link_drained(Link&) {}
    };

    Link(runtime::Loop& loop, const runtime::RedisAddress& server, const runtime::BusConfig& bus,
         std::string what, Owner& owner);
    ~Link() override;
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;

    void start() { dialer_.start(); }
    // For good: no close event, nothing more reaches the owner.
    void stop();
    // Found dead while open (a probe lost, replies overdue): drop it and
    // reconnect after a back-off, as if the server had closed it.
    void restart(const std::string& why);
    bool up() const { return up_ && conn_ && conn_->is_open(); }
    // Appends one command to this turn's write (while connected; the owner
    // sends only once up, the handshake before).
    static constexpr size_t kMaxArgs = 4;
    void command(std::initializer_list<std::string_view> args);
    std::string address() const { return dialer_.address(); }
    bool idle() const { return outbox_.empty() && (!conn_ || conn_->queued() == 0); }
    // The socket does not keep up (a burst, a slow Redis): the owner holds
    // further commands in its own bounded queue until link_drained.
    bool busy() const;
    // In link_down: how many of the last commands never reached the socket
    // (Redis never saw them: the owner may send them again).
    size_t unwritten() const { return unwritten_; }
    // In link_up: attempts failed before this one (the server was away).
    bool came_back() const { return came_back_; }

    // ConnectionHandler
    void on_connect(runtime::Connection& c) override;
    void on_data(runtime::Connection& c, const char* data, size_t len) override;
    void on_close(runtime::Connection& c) override;

    void on_buffer_drain(runtime::Connection& c) override;

  private:
    bool handshake_reply(redisReply* r);
    static void on_flush(evutil_socket_t, short, void* arg);
    void flush();

    runtime::Loop& loop_;
    const runtime::BusConfig& bus_;
    std::string what_;
    Owner& owner_;
    runtime::Dialer dialer_;
    runtime::Connection* conn_ = nullptr;
    redisReader* reader_ = nullptr;
    ReplyBudget budget_;  // the reader builds replies under it
    size_t reply_limit() const;
    int handshake_owed_ = 0;
    bool up_ = false, failed_since_up_ = false, came_back_ = false;
    std::string outbox_;
    // Where each command not yet known written ends in this connection's
    // byte stream (bytes_out counts what the socket took).
    std::deque<uint64_t> command_ends_;
    uint64_t stream_end_ = 0;
    size_t unwritten_ = 0;
    event* flush_ev_ = nullptr;
};

}  // namespace pusher::redis
