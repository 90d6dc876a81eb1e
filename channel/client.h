// The Channel client (Workerman Channel's Client.php), one per worker process
// on its loop. Better than the original: it re-watches queues after a
// reconnect, publishes made while disconnected wait in a bounded queue and go
// out after reconnecting (overflow counted), and an event nobody handles is
// logged instead of killing the process. Its link is kept up by a
// runtime::Dialer (name lookup, every address, deadline, back-off).
#pragma once
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/frame.h"
#include "runtime/bus.h"
#include "runtime/connection.h"
#include "runtime/dialer.h"
#include "runtime/timer.h"

namespace pusher::channel {

class Client : public runtime::Bus, public runtime::ConnectionHandler {
  public:
    static constexpr double kPingInterval = 55.0;  // Client::$pingInterval since v1.2.0
    static constexpr double kConnectTimeout = runtime::Dialer::kConnectTimeout;

    Client(runtime::Loop& loop, std::string host, int port);
    ~Client() override;

    void connect() override;  // starts connecting; reconnects by itself from then on
    void close() override;    // stops for good (worker shutdown)
    // Uses fd, a socket already connected to the bus (a handed-over link, a
    // test's socketpair), as if connect() had reached it; reconnects by
    // connect() from then on. Closes fd if a link exists or close() was called.
    void adopt(int fd);

    // Bus
    void on(const Value& channel, Handler handler) override;
    void unsubscribe(const Value& channel) override;
    void publish(const std::vector<Value>& channels, const Value& data) override;
    bool connected() const override { return subscribed_; }
    void set_batch_end(std::function<void()> hook) override { on_batch_end = std::move(hook); }
    // One link to one server that handles frames in order: a subscribe
    // already sent (or re-sent first on reconnect) precedes any publish made
    // from now on, fn's included, so nothing needs waiting for.
    void sync(std::function<void()> fn) override { fn(); }

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
    // Nothing of ours waits to reach the bus (a leaving worker waits for this).
    bool idle() const override;
    // Half-closes the link (our FIN after the last publish) and waits for the
    // server's close: it has read everything then. Reads meanwhile are discarded.
    bool finish() override;
    static void discard_unread(int fd);
    // Name lookups read this hosts file and ask no name server (tests; call
    // before connect()). By default: /etc/hosts, then resolv.conf's servers.
    void use_hosts_file(const std::string& path) { dialer_.use_hosts_file(path); }
    // Why the last connect attempt failed ("" once connected).
    const std::string& last_error() const { return dialer_.last_error(); }
    bool retry_scheduled() const { return dialer_.retry_scheduled(); }

    // ConnectionHandler
    void on_connect(runtime::Connection& c) override;
    void on_data(runtime::Connection& c, const char* data, size_t len) override;
    void on_close(runtime::Connection& c) override;

  private:
    struct Watch {
        Value name;
        Handler handler;
        bool auto_reserve;
    };
    void send_now(const std::string& body);
    void send_publish(const std::string& body);
    void send_or_queue(const std::string& body);
    void dispatch(std::string_view body);
    void set_subscribed(bool up);
    void requeue_outbox(std::string& frames, std::vector<size_t>& publishes);

    runtime::Loop& loop_;
    runtime::Dialer dialer_;  // resolves, connects, times out and backs off
    runtime::Connection* conn_ = nullptr;
    bool up_ = false, subscribed_ = false, closed_ = false;
    bool finishing_ = false;  // our FIN is out: the server's close ends the link for good
    std::unique_ptr<protocol::FrameDecoder> decoder_;
    std::map<std::string, std::pair<Value, Handler>> events_;  // by channel key
    std::map<std::string, Watch> watches_;
    std::deque<std::string> pending_;  // publish bodies waiting for the link
    runtime::Timer ping_timer_;
    // Frames of one loop turn go out in one write: a publish API answering 50
    // connections in a turn sends the bus one write, not 50 (see flush()).
    std::string outbox_;
    // Where the publishes in outbox_ start: if the link drops before the
    // outbox is written, they go back to pending_ instead of vanishing.
    std::vector<size_t> outbox_publishes_;
    // Publishes handed to the link but maybe not yet written to its socket:
    // (end offset in the link's byte stream, publishes in that write).
    // A link that dies, or is abandoned, with some unwritten counts them in
    // bus_dropped: nothing answered "ok" vanishes without a count.
    std::deque<std::pair<uint64_t, uint32_t>> in_flight_;
    size_t unwritten_publishes(const runtime::Connection& c);
    void drop_unwritten(const runtime::Connection& c);
    event* flush_ev_ = nullptr;
    static void on_flush(evutil_socket_t, short, void* arg);
    void flush();
};

}  // namespace pusher::channel
