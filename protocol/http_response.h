// HTTP answers of the publish API. The publish answer is the original's, byte
// for byte; unlike the original, a request that asked to close gets
// "Connection: close" and is closed.
#pragma once
#include <string>
#include <string_view>

namespace pusher::protocol {

// Workerman 5.2's answer to $connection->send('ok').
inline constexpr std::string_view kOkKeepAlive =
    "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\n"
    "Content-Length: 2\r\n\r\nok";
inline constexpr std::string_view kOkClose =
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/html;charset=utf-8\r\n"
    "Content-Length: 2\r\n\r\nok";

const char* http_reason(int status);
std::string http_response(int status, std::string_view content_type, std::string_view body,
                          bool keep_alive, std::string_view extra_headers = {});
// Error answers always close the connection.
std::string http_error(int status, std::string_view message);

}  // namespace pusher::protocol
