// What the WebSocket and HTTP services share: a TcpServer on the worker's
// listening socket, a bus link (made by the context's BusFactory: a service
// sees only the Bus interface), and a once-a-second sweep for timeouts,
// started and stopped the same way.
#pragma once
#include <memory>
#include <string>

#include "runtime/bus.h"
#include "runtime/service.h"
#include "runtime/tcp_server.h"
#include "runtime/timer.h"
#include "runtime/tls_context.h"

namespace pusher::worker {

class BusService : public runtime::Service,
                   public runtime::ConnectionHandler,
                   public runtime::TcpServer::Acceptor {
  public:
    BusService(runtime::Loop& loop, const runtime::WorkerContext& ctx)
        : loop_(loop),
          ctx_(ctx),
          config_(*ctx.config),
          tcp_(loop, ctx.listen_fd, this, this),
          bus_(ctx.make_bus(loop, ctx)),
          sweep_timer_(loop, [this] { sweep(); }) {}
    ~BusService() override { bus_->close(); }

    bool start(std::string* error) override {
        if (!start_tls(error)) return false;
        // The slot's gauge is ours now (a predecessor may have left a count).
        if (loop_.owns_slot()) loop_.stats().connections.store(0, std::memory_order_relaxed);
        subscribe();
        bus_->connect();
        if (accept_on_start_) tcp_.start_accepting();
        sweep_timer_.start(kSweepPeriod, true);
        return true;
    }
    void stop_accepting() override {
        accept_on_start_ = false;  // a later start_accepting_if_wanted() keeps it so
        tcp_.stop_accepting();
    }
    size_t client_count() const override { return tcp_.size(); }
    void go_away() override { tcp_.close_all(); }  // the bus stays up meanwhile
    bool idle() const override { return bus_->idle(); }
    bool finish_upstream() override { return bus_->idle() && bus_->finish(); }
    // A connection handed over already connected (see TcpServer::adopt).
    runtime::Connection* adopt(int fd) { return tcp_.adopt(fd); }
    // Tests and fuzzers: the once-a-second sweep, now (with Loop::set_test_clock).
    void sweep_now() { sweep(); }
    void reload_certs() override;
    void close_all() override {
        sweep_timer_.cancel();
        tcp_.close_all();
        bus_->close();
    }

  protected:
    static constexpr double kSweepPeriod = 1.0;  // seconds between sweeps
    virtual void subscribe() {}  // bus handlers, registered before connecting
    virtual void sweep() = 0;    // timeouts, once a second
    bool start_tls(std::string* error);
    void answer_reload(bool ok);  // for reload-certs, in this worker's status slot

    runtime::Loop& loop_;
    const runtime::WorkerContext& ctx_;
    const runtime::Config& config_;
    runtime::TcpServer tcp_;
    std::unique_ptr<runtime::Bus> bus_;
    runtime::Timer sweep_timer_;
    runtime::TlsContext tls_;  // loaded when the service has "tls"
    // false: start() does not accept yet (a replacement accepts once it took
    // over its slot), nor does anything once the worker stopped accepting.
    bool accept_on_start_ = true;
};

}  // namespace pusher::worker
