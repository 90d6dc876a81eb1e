// The `http` service (worker name "publisher"): the start_http.php of the
// original, plus /metrics, /healthz and a /demo page. Publishes go to the bus;
// the answer is the original's "ok", byte for byte.
#pragma once
#include <string>

#include "protocol/http_params.h"
#include "protocol/http_request.h"
#include "worker/bus_service.h"

namespace pusher::worker {

class HttpService : public BusService {
  public:
    using BusService::BusService;

    void dump_connections(std::string& out) const override;

    void on_accept(runtime::Connection& c) override;
    void on_data(runtime::Connection& c, const char* data, size_t len) override;
    void on_buffer_drain(runtime::Connection& c) override;
    void on_close(runtime::Connection& c) override;

  private:
    struct Session;
    // Returns the bytes to answer.
    std::string handle(const protocol::HttpRequest& req);
    void serve(runtime::Connection& c, Session& s, const char* data, size_t len);
    std::string publish(const protocol::HttpRequest& req);
    bool authorized(const protocol::HttpRequest& req) const;
    std::string healthz() const;
    std::string metrics() const;
    void sweep() override;
};

}  // namespace pusher::worker
