// What runs inside a worker process: one service per process (the channel
// bus, the WebSocket push service or the HTTP publish API). worker_run()
// (worker/worker_main.h) owns the loop, the signals and the drain; the service
// owns its connections. Which factory makes which service is decided at the
// top (master/service_registry.cpp), the only place that knows every concrete
// type: a worker is handed its factories in its WorkerContext.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "runtime/bus.h"
#include "runtime/config.h"
#include "runtime/loop.h"
#include "runtime/stats.h"

namespace pusher::runtime {

struct WorkerContext;

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
    // Leaving, once idle(): closes the upstream links cleanly (Bus::finish);
    // true once they are. The worker exits then (or at its deadline).
    virtual bool finish_upstream() { return idle(); }
    // reload-certs: re-read the TLS certificate for new handshakes; the
    // connections already open keep theirs. Services without TLS ignore it.
    virtual void reload_certs() {}
    // Reload with hand-over (worker/handover.h): fd is the Unix socket to
    // this slot's replacement. The service hands its clients over and calls
    // leave() once done (or failed). false: it cannot; the worker stops as for
    // a plain reload.
    virtual bool hand_over(int fd, std::function<void()> leave) {
        (void)fd;
        (void)leave;
        return false;
    }
    // stop -g and a reload that cannot hand over: tell the clients goodbye one
    // by one over `window` seconds instead of all at once (counted as
    // paced_closes). false: this service has no such goodbye (it drains).
    virtual bool go_away_paced(double window) {
        (void)window;
        return false;
    }
    // Appends one row per connection (format in worker/worker_main.h) for `connections`.
    virtual void dump_connections(std::string& out) const = 0;
};

using ServiceFactory = std::unique_ptr<Service> (*)(Loop& loop, const WorkerContext& ctx);
// Makes the bus link of a service that uses the bus (the Channel client).
using BusFactory = std::unique_ptr<Bus> (*)(Loop& loop, const WorkerContext& ctx);

// What a worker process is given by the master.
struct WorkerContext {
    const Config* config = nullptr;
    int service_index = 0;  // into config->services and stats->services
    int worker_id = 0;      // 0..count-1, kept across re-forks
    int listen_fd = -1;     // inherited listening socket; -1 for services without one
    int control_fd = -1;    // the master's socket to this process (hand-over requests)
    int handover_fd = -1;   // a replacement: the socket to the worker it takes over from
    StatsRegion* stats = nullptr;
    WorkerSlot* slot = nullptr;
    std::string connections_file;           // SIGIO dump target (written to .tmp, then renamed)
    ServiceFactory make_service = nullptr;  // this worker's service
    BusFactory make_bus = nullptr;          // its bus link, for services that use the bus

    const ServiceConfig& service() const { return config->services[service_index]; }
};

}  // namespace pusher::runtime
