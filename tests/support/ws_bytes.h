// Client frames as raw bytes, for tests that send what a real client would
// (or would not) send: header, length in its minimal form unless another is
// declared, mask key and masked payload (RFC 6455 5.2).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace pusher::testing {

inline std::string ws_masked_frame(uint8_t first_byte, std::string_view payload,
                                   uint64_t declared_len, const char mask[4]) {
    std::string f(1, static_cast<char>(first_byte));
    uint64_t n = declared_len;
    if (n < 126) {
        f += static_cast<char>(0x80 | n);
    } else if (n <= 0xFFFF) {
        f += static_cast<char>(0x80 | 126);
        f += static_cast<char>(n >> 8);
        f += static_cast<char>(n & 0xFF);
    } else {
        f += static_cast<char>(0x80 | 127);
        for (int i = 7; i >= 0; --i) f += static_cast<char>(n >> (8 * i));
    }
    f.append(mask, 4);
    for (size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
    return f;
}

inline std::string ws_masked_frame(uint8_t first_byte, std::string_view payload,
                                   const char mask[4] = "\x37\xfa\x21\x3d") {
    return ws_masked_frame(first_byte, payload, payload.size(), mask);
}

}  // namespace pusher::testing
