// A WebSocket connection's session (private to worker/ws_*.cpp): what the
// service keeps per connection beside the runtime::Connection itself.
#pragma once
#include <memory>
#include <string>

#include "protocol/http_request.h"
#include "protocol/ws_frame.h"
#include "worker/ws_service.h"

namespace pusher::worker {

// Until the handshake completes a connection owns an HTTP parser; after it,
// only the frame decoder (16 bytes idle). Its timing and flags live in the
// Connection's padding (phase_since, flags), which keeps the session at 40
// bytes with its vtable pointer: a smaller malloc size class than 48.
struct WsService::Handshake {
    explicit Handshake(const protocol::HttpLimits& limits) : parser(limits) {}
    protocol::HttpParser parser;
    std::string raw;  // what the client sent so far, for a hand-over mid-handshake
};

struct WsService::Session : runtime::Session {
    std::unique_ptr<Handshake> handshake;
    protocol::WsDecoder decoder;
    bool open() const { return !handshake; }
};

}  // namespace pusher::worker
