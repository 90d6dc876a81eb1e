// permessage-deflate negotiation (RFC 7692 §5, §7.1): which of a client's
// Sec-WebSocket-Extensions offers the server takes, and its answer.
//
// The server always answers server_no_context_takeover and
// client_no_context_takeover (§7.1.1.2 lets it add the latter unasked): each
// message is compressed on its own, so a broadcast is compressed once per
// worker and the same bytes go to every client, and client messages are
// inflated by one inflater per worker. No connection keeps a zlib window.
//
// Offers are walked in order and the first acceptable one is taken. An offer
// with an unknown or repeated parameter, or a value the RFC does not allow,
// is declined and the next one tried; when none is acceptable the connection
// goes ahead without the extension. server_max_window_bits=8 is declined too:
// zlib's raw deflate cannot make an 8-bit window (it silently uses 9).
#pragma once
#include <string>
#include <string_view>

#include "protocol/http_request.h"

namespace pusher::protocol {

struct WsDeflateAgreement {
    // 0: no extension. Else the LZ77 window the server compresses with, 9..15:
    // the offer's server_max_window_bits, or 15.
    int window_bits = 0;
    bool window_named = false;  // the offer named server_max_window_bits: the answer repeats it
    bool agreed() const { return window_bits != 0; }
    // "Sec-WebSocket-Extensions: permessage-deflate; ...\r\n", or "" when not agreed.
    std::string response_header() const;
};

// One header value: a comma-separated list of extension offers.
WsDeflateAgreement ws_deflate_negotiate(std::string_view offers);
// Every Sec-WebSocket-Extensions line of a request, in order, as one list.
WsDeflateAgreement ws_deflate_negotiate(const HttpRequest& req);

}  // namespace pusher::protocol
