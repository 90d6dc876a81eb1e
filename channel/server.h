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
#include "worker/service.h"
#include "worker/tcp_server.h"

namespace pusher::channel {

class Server : public worker::Service,
               public worker::ConnectionHandler,
               public worker::TcpServer::Acceptor {
  public:
    Server(worker::Loop& loop, int listen_fd, const worker::Config& config,
           const std::string& name = "ChannelServer", int worker_id = 0);

    // Service
    bool start(std::string* error) override;
    void stop_accepting() override { tcp_.stop_accepting(); }
    size_t client_count() const override { return tcp_.size(); }
    void close_all() override { tcp_.close_all(); }
    // A connection handed over already connected (see TcpServer::adopt).
    worker::Connection* adopt(int fd) { return tcp_.adopt(fd); }
    void dump_connections(std::string& out) const override;

    // ConnectionHandler / Acceptor
    void on_accept(worker::Connection& c) override;
    void on_data(worker::Connection& c, const char* data, size_t len) override;
    void on_close(worker::Connection& c) override;

    size_t channel_count() const { return channels_.size(); }
    size_t queue_count() const { return queues_.size(); }

  private:
    struct Session;
    struct Channel {
        std::vector<worker::Connection*> subscribers;  // subscribe order
        size_t loop_pos = 0;                           // publishLoop's array pointer
    };

    void handle(worker::Connection& c, Session& s, protocol::channel::ClientMessage& m);
    void subscribe(worker::Connection& c, Session& s, const protocol::php::Value& ch);
    void unsubscribe(worker::Connection& c, Session& s, const std::string& key);
    void publish(const protocol::channel::ClientMessage& m, bool loop);
    void watch(worker::Connection& c, Session& s, const protocol::php::Value& ch);
    void unwatch(worker::Connection& c, Session& s, const std::string& key);
    void enqueue(const protocol::channel::ClientMessage& m);
    void reserve(worker::Connection& c, Session& s);
    void dispatch(Queue& q);
    void deliver(worker::Connection& c, worker::SharedBuffer* frame);
    void reject(worker::Connection& c, const std::string& why);
    bool allowed(const std::string& peer) const;

    // Startup grace: for a few seconds after a (re)start, publishers that
    // reconnected first would otherwise publish into channels whose
    // subscribers have not re-subscribed yet. Events of that window are kept
    // per channel and replayed to each subscriber that arrives within it.
    struct Replay {
        std::vector<worker::BufferRef> frames;
    };
    void remember(const std::string& key, worker::SharedBuffer* frame);
    void replay(worker::Connection& c, const std::string& key);
    bool in_grace() const { return loop_.now() < grace_until_; }

    worker::Loop& loop_;
    const worker::Config& config_;
    double grace_until_ = 0;
    size_t replay_bytes_ = 0;
    std::unordered_map<std::string, Replay> replay_;
    std::string name_;
    int worker_id_;
    worker::TcpServer tcp_;
    std::unordered_map<std::string, Channel> channels_;
    std::unordered_map<std::string, Queue> queues_;
};

}  // namespace pusher::channel
