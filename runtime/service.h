// What runs inside a worker process: one service per process (the channel
// bus, the WebSocket push service or the HTTP publish API). worker_run() owns
// the loop, the signals and the drain; the service owns its connections.
#pragma once
#include <memory>
#include <string>

#include "worker/loop.h"
#include "worker/worker_main.h"

namespace pusher::worker {

class Service {
  public:
    virtual ~Service() = default;
    // Starts accepting (and connects to the bus where the service uses it).
    virtual bool start(std::string* error) = 0;
    // Graceful stop or reload: take no new connections, keep serving the others.
    virtual void stop_accepting() = 0;
    // Client connections still open; a draining worker exits at 0. The
    // service's own bus link is not a client (the original counted it, and so
    // `stop -g` never finished).
    virtual size_t client_count() const = 0;
    virtual void close_all() = 0;
    // Stop or reload: tell every client goodbye in its protocol's way (a
    // WebSocket gets close 1001 and its closing handshake). The worker then
    // waits, bounded, for client_count() to reach 0. Default: close at once.
    virtual void go_away() { close_all(); }
    // Nothing this service accepted still waits to go upstream (e.g. publishes
    // queued for the bus): a leaving worker waits, bounded, for this.
    virtual bool idle() const { return true; }
    // Appends one row per connection (format in worker_main.h) for `connections`.
    virtual void dump_connections(std::string& out) const = 0;
};

using ServiceFactory = std::unique_ptr<Service> (*)(Loop& loop, const WorkerContext& ctx);

// Each is defined beside the service it makes.
std::unique_ptr<Service> make_channel_service(Loop& loop, const WorkerContext& ctx);
std::unique_ptr<Service> make_websocket_service(Loop& loop, const WorkerContext& ctx);
std::unique_ptr<Service> make_http_service(Loop& loop, const WorkerContext& ctx);

}  // namespace pusher::worker
