#include "worker/ws_auth.h"

#include "protocol/http_params.h"

namespace pusher::worker {

WsAuth::WsAuth(const runtime::AuthConfig& config) : config_(config) {
    if (config.enabled() &&
        !verifier_.load(config.hs256_secret, config.public_key_pem, &load_error_))
        load_error_ = "auth key did not load: " + load_error_;
}

WsAuth::Result WsAuth::admit(const protocol::HttpRequest& req, int64_t now,
                             protocol::JwtClaims* claims, std::string* why) const {
    protocol::Params params;
    protocol::parse_urlencoded(req.query(), &params);
    auto token = params.find("token");
    if (token == params.end()) {
        if (config_.anonymous) return Result::Anonymous;
        return *why = "token required", Result::Refused;
    }
    if (!config_.enabled()) return *why = "tokens are not configured", Result::Refused;
    if (!load_error_.empty()) return *why = load_error_, Result::Refused;
    auto leeway = static_cast<int64_t>(config_.leeway);
    if (!verifier_.verify(token->second, now, leeway, claims, why)) return Result::Refused;
    return Result::Token;
}

std::string ws_unauthorized(const std::string& reason) {
    std::string body = reason + "\n";
    return "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace pusher::worker
