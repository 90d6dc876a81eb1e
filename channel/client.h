// The Channel client (Workerman Channel's Client.php), one per worker process
// on its loop. Better than the original: it re-watches queues after a
// reconnect, publishes made while disconnected wait in a bounded queue and go
// out after reconnecting (overflow counted), and an event nobody handles is
// logged instead of killing the process.
#pragma once
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "channel/bus.h"
#include "protocol/frame.h"
#include "worker/connection.h"
#include "worker/timer.h"

namespace pusher::channel {

class Client : public Bus, public worker::ConnectionHandler {
  public:
    static constexpr double kPingInterval = 55.0;  // Client::$pingInterval since v1.2.0
    static constexpr double kReconnectDelay = 1.0;

    Client(worker::Loop& loop, std::string host, int port);
    ~Client() override;

    void connect();  // starts connecting; reconnects by itself from then on
    void close();    // stops for good (worker shutdown)
    // Uses fd, a socket already connected to the bus (a handed-over link, a
    // test's socketpair), as if connect() had reached it; reconnects by
    // connect() from then on. Closes fd if a link exists or close() was called.
    void adopt(int fd);

    // Bus
    void on(const Value& channel, Handler handler) override;
    void unsubscribe(const Value& channel) override;
    void publish(const std::vector<Value>& channels, const Value& data) override;
    bool connected() const override { return subscribed_; }

    void subscribe(const std::vector<Value>& channels);  // without handlers
    void publish_loop(const std::vector<Value>& channels, const Value& data);
    void enqueue(const std::vector<Value>& channels, const Value& data);
    void watch(const Value& queue, Handler handler, bool auto_reserve = true);
    void unwatch(const Value& queue);
    void reserve();

    Handler on_message;                  // events with no handler of their own
    std::function<void()> on_connected;  // after every (re)connect and re-subscribe
    std::function<void()> on_disconnected;
    // After all events of one read were handled: lets a service batch them.
    std::function<void()> on_batch_end;
    size_t pending() const { return pending_.size(); }

    // ConnectionHandler
    void on_connect(worker::Connection& c) override;
    void on_data(worker::Connection& c, const char* data, size_t len) override;
    void on_close(worker::Connection& c) override;

  private:
    struct Watch {
        Value name;
        Handler handler;
        bool auto_reserve;
    };
    void send_now(const std::string& body);
    void send_or_queue(const std::string& body);
    void dispatch(std::string_view body);
    void schedule_reconnect();
    void set_subscribed(bool up);

    worker::Loop& loop_;
    std::string host_;
    int port_;
    worker::Connection* conn_ = nullptr;
    bool up_ = false, subscribed_ = false, closed_ = false;
    std::unique_ptr<protocol::FrameDecoder> decoder_;
    std::map<std::string, std::pair<Value, Handler>> events_;  // by channel key
    std::map<std::string, Watch> watches_;
    std::deque<std::string> pending_;  // publish bodies waiting for the link
    worker::Timer reconnect_timer_, ping_timer_;
    // Frames of one loop turn go out in one write: a publish API answering 50
    // connections in a turn sends the bus one write, not 50 (see flush()).
    std::string outbox_;
    event* flush_ev_ = nullptr;
    static void on_flush(evutil_socket_t, short, void* arg);
    void flush();
};

}  // namespace pusher::channel
