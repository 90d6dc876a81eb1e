#include "protocol/ws_handshake.h"

#include "protocol/base64.h"
#include "protocol/sha1.h"

namespace pusher::protocol {

static const char kGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string ws_accept_key(const std::string& key) {
    auto digest = sha1(key + kGuid);
    return base64_encode(digest.data(), digest.size());
}

std::string ws_bad_request() {
    return "HTTP/1.1 400 Bad Request\r\n\r\n<div style=\"text-align:center\"><h1>400 Bad "
           "Request</h1><hr>workerman</div>";
}

static WsHandshakeResult refuse(std::string response, std::string reason) {
    WsHandshakeResult r;
    r.response = std::move(response);
    r.reason = std::move(reason);
    return r;
}

WsHandshakeResult ws_handshake(const HttpRequest& req, const std::vector<std::string>& origins,
                               bool deflate) {
    if (req.method != "GET") return refuse(ws_bad_request(), "handshake method is not GET");
    const std::string* version = req.header("Sec-WebSocket-Version");
    if (!version)
        return refuse("HTTP/1.1 400 Bad Request\r\nSec-WebSocket-Version: 13\r\n\r\n",
                      "no Sec-WebSocket-Version");
    if (*version != "13")
        return refuse("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n",
                      "unsupported Sec-WebSocket-Version " + *version);
    const std::string* key = req.header("Sec-WebSocket-Key");
    if (!key || key->empty()) return refuse(ws_bad_request(), "no Sec-WebSocket-Key");
    if (!origins.empty()) {
        const std::string* origin = req.header("Origin");
        bool allowed = false;
        for (const std::string& o : origins) allowed |= origin && *origin == o;
        if (!allowed)
            return refuse(
                "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                "origin " + (origin ? *origin : std::string("(none)")) + " not allowed");
    }
    WsHandshakeResult r;
    r.ok = true;
    if (deflate) r.deflate = ws_deflate_negotiate(req);
    r.response =
        "HTTP/1.1 101 Switching Protocol\r\nUpgrade: websocket\r\nSec-WebSocket-Version: "
        "13\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
        ws_accept_key(*key) + "\r\n" + r.deflate.response_header() + "\r\n";
    return r;
}

}  // namespace pusher::protocol
