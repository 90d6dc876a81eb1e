// Base64 encoding (RFC 4648), for Sec-WebSocket-Accept and test clients.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace pusher::protocol {

std::string base64_encode(const uint8_t* data, size_t len);

}  // namespace pusher::protocol
