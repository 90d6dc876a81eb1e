// The server side of the RFC 6455 opening handshake, answering as Workerman
// 5.x does byte for byte (spec workerman.md §6), plus an optional Origin check.
#pragma once
#include <string>
#include <vector>

#include "protocol/http_request.h"
#include "protocol/ws_deflate.h"

namespace pusher::protocol {

struct WsHandshakeResult {
    bool ok = false;
    std::string response;        // the 101, or the error answer to send before closing
    std::string reason;          // why it failed, for the log
    WsDeflateAgreement deflate;  // permessage-deflate, when offered and allowed
};

// The Sec-WebSocket-Accept value for a key.
std::string ws_accept_key(const std::string& key);

// Checks a parsed upgrade request. allowed_origins empty: any origin.
// deflate: permessage-deflate may be negotiated (ws_deflate.h).
WsHandshakeResult ws_handshake(const HttpRequest& req,
                               const std::vector<std::string>& allowed_origins = {},
                               bool deflate = false);

// The 400 answer for a request that did not even parse.
std::string ws_bad_request();

}  // namespace pusher::protocol
