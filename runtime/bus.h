// What a worker needs from the cluster's event bus. The Channel client is one
// implementation; another engine can serve where one channel server is
// outgrown, without touching the services.
#pragma once
#include <functional>
#include <vector>

#include "protocol/php_value.h"

namespace pusher::channel {

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
};

}  // namespace pusher::channel
