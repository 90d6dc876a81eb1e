// Who may open a WebSocket (docs/CONFIG.md "auth"): the token of the
// handshake's query (`/?token=<JWT>`) checked against the configured keys,
// before the 101 goes out. Kept out of ws_service.cpp: the service only asks
// and, when refused, answers ws_unauthorized().
#pragma once
#include <cstdint>
#include <string>

#include "protocol/http_request.h"
#include "protocol/jwt.h"
#include "runtime/config.h"

namespace pusher::worker {

class WsAuth {
  public:
    // The config was validated at load (the key loads); a key that still
    // does not load here refuses every token rather than none.
    explicit WsAuth(const runtime::AuthConfig& config);

    enum class Result { Anonymous, Token, Refused };
    // Anonymous: no token and anonymous clients allowed. Token: a valid
    // token, *claims filled. Refused: *why says why (no token, a bad one, or
    // a token while no auth is configured: fail closed).
    Result admit(const protocol::HttpRequest& req, int64_t now, protocol::JwtClaims* claims,
                 std::string* why) const;

  private:
    const runtime::AuthConfig& config_;
    protocol::JwtVerifier verifier_;
    std::string load_error_;
};

// The 401 answer, reason in the body, connection closing.
std::string ws_unauthorized(const std::string& reason);

}  // namespace pusher::worker
