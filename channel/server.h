// The Channel server (Workerman Channel's Server.php + Queue.php): pub/sub
// with publish and publishLoop, and work queues with watch/enqueue/reserve.
// Each event frame is built once per channel and the same bytes go to every
// subscriber; data is forwarded without re-encoding unless it holds PHP
// back-references that must be re-numbered.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "channel/queue.h"
#include "protocol/channel_message.h"
#include "protocol/frame.h"
#include "runtime/service.h"
#include "runtime/tcp_server.h"

namespace pusher::channel {

class Server : public runtime::Service,
               public runtime::ConnectionHandler,
               public runtime::TcpServer::Acceptor {
  public:
    Server(runtime::Loop& loop, int listen_fd, const runtime::Config& config,
           const std::string& name = "ChannelServer", int worker_id = 0);

    // Service
    bool start(std::string* error) override;
    void stop_accepting() override { tcp_.stop_accepting(); }
    size_t client_count() const override { return tcp_.size(); }
    void close_all() override { tcp_.close_all(); }
    // A connection handed over already connected (see TcpServer::adopt).
    runtime::Connection* adopt(int fd) { return tcp_.adopt(fd); }
    void dump_connections(std::string& out) const override;

    // ConnectionHandler / Acceptor
    void on_accept(runtime::Connection& c) override;
    void on_data(runtime::Connection& c, const char* data, size_t len) override;
    void on_close(runtime::Connection& c) override;

    size_t channel_count() const { return channels_.size(); }
    size_t queue_count() const { return queues_.size(); }

  private:
    struct Session;
    struct Channel {
        std::vector<runtime::Connection*> subscribers;  // subscribe order
        size_t loop_pos = 0;                           // publishLoop's array pointer
    };

    void handle(runtime::Connection& c, Session& s, protocol::channel::ClientMessage& m);
    void subscribe(runtime::Connection& c, Session& s, const protocol::php::Value& ch);
    void unsubscribe(runtime::Connection& c, Session& s, const std::string& key);
    void publish(const protocol::channel::ClientMessage& m, bool loop);
    void watch(runtime::Connection& c, Session& s, const protocol::php::Value& ch);
    void unwatch(runtime::Connection& c, Session& s, const std::string& key);
    void enqueue(const protocol::channel::ClientMessage& m);
    void reserve(runtime::Connection& c, Session& s);
    void dispatch(Queue& q);
    void deliver(runtime::Connection& c, runtime::SharedBuffer* frame);
    void reject(runtime::Connection& c, const std::string& why);
    bool allowed(const std::string& peer) const;

    // Startup grace: for a few seconds after a (re)start, publishers that
    // reconnected first would otherwise publish into channels whose
    // subscribers have not re-subscribed yet. Events of that window are kept
    // per channel and replayed to each subscriber that arrives within it,
    // unless it had the event already: a worker that subscribed, left and
    // subscribes again (a user's channel whose clients come and go) would
    // otherwise get it twice.
    struct Remembered {
        runtime::BufferRef frame;
        std::vector<uint64_t> delivered;  // connection ids that had it
    };
    struct Replay {
        std::vector<Remembered> frames;
    };
    // nullptr: over the replay budget (counted), not remembered.
    Remembered* remember(const std::string& key, runtime::SharedBuffer* frame);
    void replay(runtime::Connection& c, const std::string& key);
    bool in_grace() const { return loop_.now() < grace_until_; }

    runtime::Loop& loop_;
    const runtime::Config& config_;
    double grace_until_ = 0;
    size_t replay_bytes_ = 0;
    std::unordered_map<std::string, Replay> replay_;
    std::string name_;
    int worker_id_;
    runtime::TcpServer tcp_;
    std::unordered_map<std::string, Channel> channels_;
    std::unordered_map<std::string, Queue> queues_;
};

}  // namespace pusher::channel
