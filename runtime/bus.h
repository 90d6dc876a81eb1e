// What a worker needs from the cluster's event bus, and all a service sees of
// it. The Channel client (channel/client.h) is one implementation, made by the
// BusFactory the worker is handed (runtime/service.h); another engine can
// serve where one channel server is outgrown, without touching the services.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "protocol/php_value.h"

namespace pusher::runtime {

class Bus {
  public:
    using Value = protocol::php::Value;
    // channel as the publisher sent it; data decoded once for all handlers.
    using Handler = std::function<void(const Value& channel, const Value& data)>;

    virtual ~Bus() = default;
    virtual void on(const Value& channel, Handler handler) = 0;  // subscribe with a handler
    virtual void unsubscribe(const Value& channel) = 0;
    virtual void publish(const std::vector<Value>& channels, const Value& data) = 0;
    // Connected, and every subscription has been sent.
    virtual bool connected() const = 0;
    // Starts connecting; reconnects by itself from then on. Handlers given to
    // on() before this are subscribed on every (re)connect.
    virtual void connect() = 0;
    // Stops for good (worker shutdown): what was not written is counted as dropped.
    virtual void close() = 0;
    // Nothing of ours waits to reach the bus (a leaving worker waits for this).
    virtual bool idle() const = 0;
    // Leaving, once idle(): ends the links so that the server reads every byte
    // we wrote; true once it has. Closing a socket with unread bytes of the
    // server's (events it still sends us) makes it a reset, and a reset can
    // destroy what the server had not read yet: accepted publishes, lost.
    virtual bool finish() { return idle(); }
    // Runs after all events of one read were handled: lets a service batch them.
    virtual void set_batch_end(std::function<void()> hook) = 0;
    // Runs fn once every subscription asked for so far is in effect: an event
    // published (by anyone) after fn ran, and after whatever fn publishes
    // arrived there, reaches this worker. A join answered from fn is never
    // overtaken by the push that follows it. fn may never run (the worker
    // stops, the bus never comes back): its caller bounds the wait.
    virtual void sync(std::function<void()> fn) = 0;

    // Hand-over (worker/handover.h, docs/ARCHITECTURE.md "Hand-over"): events
    // reach a worker on one or more independently ordered streams (the one
    // Channel server link; each Redis node). cut_channels(base) names one
    // channel per stream: a publish on name i is seen by every subscriber of
    // it at the same point of stream i. stream_of(channel) is the index of
    // the stream that channel's events come by.
    virtual std::vector<Value> cut_channels(const std::string& base) const {
        return {Value::string(base)};
    }
    virtual size_t stream_of(const Value& channel) const {
        (void)channel;
        return 0;
    }
};

}  // namespace pusher::runtime
