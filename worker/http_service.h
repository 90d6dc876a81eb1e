// The `http` service (worker name "publisher"): the start_http.php of the
// original, plus /metrics, /healthz and a /demo page. Publishes go to the bus;
// the answer is the original's "ok", byte for byte.
#pragma once
#include <map>
#include <string>

#include "protocol/http_params.h"
#include "protocol/http_request.h"
#include "worker/api_call.h"
#include "worker/bus_service.h"
#include "worker/roster.h"

namespace pusher::worker {

class HttpService : public BusService {
  public:
    HttpService(runtime::Loop& loop, const runtime::WorkerContext& ctx);
    ~HttpService() override;
    void close_all() override;

    void dump_connections(std::string& out) const override;

    void on_accept(runtime::Connection& c) override;
    void on_data(runtime::Connection& c, const char* data, size_t len) override;
    void on_buffer_drain(runtime::Connection& c) override;
    void on_close(runtime::Connection& c) override;

  private:
    struct Session;
    // Returns the bytes to answer, or sets *pending: the answer comes later
    // (an ApiCall), and the connection's next requests wait for it.
    std::string handle(const protocol::HttpRequest& req, runtime::Connection& c, bool* pending);
    void serve(runtime::Connection& c, Session& s, const char* data, size_t len);
    std::string publish(const protocol::HttpRequest& req);
    bool authorized(const protocol::HttpRequest& req) const;
    std::string healthz() const;
    std::string metrics() const;
    void sweep() override;
    void subscribe() override;

    // Users, groups and presence (worker/http_api.cpp).
    std::string api(const protocol::HttpRequest& req, runtime::Connection& c, bool* pending);
    std::string publish_targets(const protocol::Params& p, const protocol::ParamLists& lists,
                                const std::string& content, bool keep);
    std::string ask(ApiCall call, const protocol::php::Value& channel,
                    protocol::php::Value data, bool* pending);
    void on_answer(const protocol::php::Value& data);
    void finish(uint64_t rid, bool timed_out);
    void expire_calls();
    void resume(runtime::Connection& c, Session& s);

    // Answers and the roster arrive on a link of their own with the Channel
    // engine: the link that carries publishes then never has bytes to read.
    // A worker that exits with unread bytes resets its link, and the channel
    // server, writing to a link whose worker is gone, gets that reset and
    // loses what it had not read yet: the publishes this worker answered
    // "ok" to last. (Redis confirms each publish: its engine counts that.)
    std::unique_ptr<runtime::Bus> inbox_;
    runtime::Bus& inbox() { return inbox_ ? *inbox_ : *bus_; }
    Roster roster_;
    std::map<uint64_t, ApiCall> calls_;  // by request id
    uint64_t next_rid_ = 1;
    std::string reply_channel_;
    runtime::Timer calls_timer_;  // ticks while calls wait
};

}  // namespace pusher::worker
