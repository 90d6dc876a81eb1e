#include "protocol/http_response.h"

namespace pusher::protocol {

const char* http_reason(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 413:
            return "Payload Too Large";
        case 431:
            return "Request Header Fields Too Large";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        default:
            return "Internal Server Error";
    }
}

std::string http_response(int status, std::string_view content_type, std::string_view body,
                          bool keep_alive, std::string_view extra_headers) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + http_reason(status) + "\r\n";
    out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    out.append(extra_headers.data(), extra_headers.size());
    out += "Content-Type: ";
    out.append(content_type.data(), content_type.size());
    out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    out.append(body.data(), body.size());
    return out;
}

std::string http_error(int status, std::string_view message) {
    std::string body(message);
    body += "\n";
    return http_response(status, "text/plain;charset=utf-8", body, false);
}

}  // namespace pusher::protocol
