// One keep-alive HTTP/1.1 connection to the publish API, for tests that send
// several requests on it (one after another, or pipelined in one write) and
// read the answers in order.
#pragma once
#include <string>

namespace pusher::testing {

class HttpConn {
  public:
    HttpConn() = default;
    ~HttpConn();
    HttpConn(const HttpConn&) = delete;
    HttpConn& operator=(const HttpConn&) = delete;

    bool connect(const std::string& host, int port);
    // "GET <target> HTTP/1.1" with Host and nothing else (keep-alive), plus extra headers.
    static std::string get_request(const std::string& target, const std::string& headers = "");
    bool send(const std::string& raw);  // the whole of raw, in one write where the kernel allows
    // The next answer: its status and body (Content-Length framed); false on
    // EOF, garbage or timeout (error() says which).
    bool read(int* status, std::string* body, int timeout_ms = 5000);
    // A request and its answer's body; status 0 on failure.
    std::string get(const std::string& target, int* status = nullptr,
                    const std::string& headers = "");
    const std::string& error() const { return error_; }
    bool closed_by_peer() const { return eof_; }

  private:
    int fd_ = -1;
    bool eof_ = false;
    std::string buf_, error_;
};

}  // namespace pusher::testing
