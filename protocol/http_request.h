// Incremental HTTP/1.x request parsing on llhttp: keep-alive, pipelining,
// chunked bodies, size limits. Used by the publish API and by the WebSocket
// handshake. A request's storage is released once it is handed out, so an
// idle keep-alive connection holds only the llhttp state.
#pragma once
#include <llhttp.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pusher::protocol {

struct HttpRequest {
    std::string method;
    std::string url;  // as sent: path + '?' + query
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    int version_major = 1, version_minor = 1;
    bool keep_alive = true;
    bool upgrade = false;

    std::string_view path() const;
    std::string_view query() const;
    // Case-insensitive; nullptr when absent.
    const std::string* header(std::string_view name) const;
};

struct HttpLimits {
    size_t max_header = 16384;  // request line + headers
    size_t max_headers = 100;
    size_t max_body = 1 << 20;
};

class HttpParser {
  public:
    explicit HttpParser(const HttpLimits& limits = {});
    HttpParser(const HttpParser&) = delete;
    HttpParser& operator=(const HttpParser&) = delete;

    enum class Result { NeedMore, Request, Error };
    // Parses from data; stops after one complete request (Result::Request, with
    // *consumed bytes used) so pipelined requests are answered in order.
    // Call again with the rest. On Error, status() is 400, 413 or 431.
    Result feed(const char* data, size_t len, size_t* consumed);
    HttpRequest take() { return std::move(req_); }
    int status() const { return status_; }
    const std::string& reason() const { return reason_; }

  private:
    static int on_url(llhttp_t*, const char*, size_t);
    static int on_header_field(llhttp_t*, const char*, size_t);
    static int on_header_value(llhttp_t*, const char*, size_t);
    static int on_headers_complete(llhttp_t*);
    static int on_body(llhttp_t*, const char*, size_t);
    static int on_message_complete(llhttp_t*);
    bool count_header(size_t n);
    int fail(int status, const char* reason);

    llhttp_t parser_;
    HttpLimits limits_;
    HttpRequest req_;
    size_t header_bytes_ = 0;
    bool in_value_ = false;
    bool done_ = false;
    int status_ = 0;
    std::string reason_;
};

}  // namespace pusher::protocol
