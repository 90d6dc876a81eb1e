// SHA-1 (FIPS 180-1), only for the WebSocket handshake's Sec-WebSocket-Accept.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace pusher::protocol {

std::array<uint8_t, 20> sha1(std::string_view data);

}  // namespace pusher::protocol
