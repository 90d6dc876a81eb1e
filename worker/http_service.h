// The `http` service (worker name "publisher"): the start_http.php of the
// original, plus /metrics, /healthz and a /demo page. Publishes go to the bus;
// the answer is the original's "ok", byte for byte.
#pragma once
#include <string>

#include "channel/client.h"
#include "protocol/http_params.h"
#include "protocol/http_request.h"
#include "worker/service.h"
#include "worker/tcp_server.h"
#include "worker/timer.h"

namespace pusher::worker {

class HttpService : public Service, public ConnectionHandler, public TcpServer::Acceptor {
  public:
    HttpService(Loop& loop, const WorkerContext& ctx);
    ~HttpService() override;

    bool start(std::string* error) override;
    void stop_accepting() override { tcp_.stop_accepting(); }
    size_t client_count() const override { return tcp_.size(); }
    void close_all() override;
    void dump_connections(std::string& out) const override;

    void on_accept(Connection& c) override;
    void on_data(Connection& c, const char* data, size_t len) override;
    void on_close(Connection& c) override;

  private:
    struct Session;
    // Returns the bytes to answer.
    std::string handle(const protocol::HttpRequest& req);
    std::string publish(const protocol::HttpRequest& req);
    bool authorized(const protocol::HttpRequest& req) const;
    std::string healthz() const;
    std::string metrics() const;
    void sweep();

    Loop& loop_;
    const WorkerContext& ctx_;
    const Config& config_;
    TcpServer tcp_;
    channel::Client bus_;
    Timer sweep_timer_;
};

}  // namespace pusher::worker
