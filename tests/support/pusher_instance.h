// A real pusher instance for integration tests: writes a config with free
// ports into a temporary directory, runs `pusher start -d -c ...`, and stops
// it on destruction. Commands run the binary named by $PUSHER_BIN.
//
// On destruction it also fails the test if a worker died that the test did
// not kill: the abnormal exits of `status --json` and the master log's
// "exit with status" lines must number exactly what the test declared with
// expect_worker_deaths(n) (0 unless declared), or anything after
// allow_worker_deaths().
#pragma once
#include <json/json.h>

#include <functional>
#include <string>

namespace pusher::testing {

struct CmdResult {
    int code = -1;
    std::string out;  // stdout + stderr
};
CmdResult run(const std::string& cmd);
std::string pusher_bin();

class PusherInstance {
  public:
    // extra_json: more top-level config keys, e.g. "\"welcome\": \"json\",".
    // bus_json: a "bus" object (e.g. the Redis engine) in place of the
    // instance's own channel service; channel_port is then 0.
    // ws_json, http_json: more keys of the websocket / http service, e.g.
    // "\"tls\": {...}" (a wss:// or https:// listener).
    explicit PusherInstance(const std::string& extra_json = "", int ws_count = 2,
                            const std::string& host = "127.0.0.1", const std::string& bus_json = "",
                            const std::string& ws_json = "", const std::string& http_json = "");
    ~PusherInstance();
    CmdResult start();                       // start -d
    CmdResult cli(const std::string& args);  // e.g. "status --json"
    CmdResult stop();
    // The test kills exactly n workers itself (kill -9 ...); each must show up.
    void expect_worker_deaths(int n) { expected_deaths_ = n; }
    // The test cannot tell how many workers it kills.
    void allow_worker_deaths() { any_deaths_ = true; }
    // Every master log line of this instance (every *.log in dir) containing `what`.
    std::string log_lines(const std::string& what) const;
    int ws_port = 0, http_port = 0, channel_port = 0;
    std::string dir, config;
    // The binary the instance runs and is driven with (an upgrade test runs
    // a copy in dir and replaces it there).
    std::string bin = pusher_bin();
    // GET http://host:http_port/<target>; returns the body ("" on failure).
    std::string http_get(const std::string& target, int* status = nullptr) const;
    std::string host;
    // Polls /healthz until 200 (every worker up and on the bus) or the deadline.
    bool wait_healthy(int ms = 5000) const;
    // pid of worker `worker_id` of the service named `name`, from status --json; 0 if none.
    int worker_pid(const std::string& name, int worker_id = 0);
    // A numeric field of that worker in status --json (e.g. "dropped"); -1 if none.
    long worker_stat(const std::string& name, int worker_id, const std::string& field);

  private:
    void check_worker_deaths();
    int expected_deaths_ = 0;
    bool any_deaths_ = false;
};

// `status --json` of the instance, parsed (null if it did not answer).
Json::Value status_json(PusherInstance& p);

// Polls f (another process's state: no event to await) until it holds or ms pass,
// every every_ms (longer where each poll is itself costly, e.g. many round trips).
bool eventually(const std::function<bool()>& f, int ms = 5000, int every_ms = 10);

// A raw HTTP/1.1 exchange on a new connection; returns the whole response.
std::string http_request(const std::string& host, int port, const std::string& raw);

}  // namespace pusher::testing
