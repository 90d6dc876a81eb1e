// Base64 encoding (RFC 4648), for Sec-WebSocket-Accept and test clients, and
// its URL-safe alphabet without padding (RFC 4648 §5), as JWTs carry it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pusher::protocol {

std::string base64_encode(const uint8_t* data, size_t len);

// "-_" instead of "+/", no '=' padding.
std::string base64url_encode(std::string_view data);
// Strict: only the URL-safe alphabet, no padding, no length of 4k+1, and the
// unused low bits of the last character zero, so each byte string has exactly
// one accepted encoding. false on anything else (*out is then unspecified).
bool base64url_decode(std::string_view in, std::string* out);

}  // namespace pusher::protocol
