#include "protocol/base64.h"

namespace pusher::protocol {

std::string base64_encode(const uint8_t* p, size_t len) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = uint32_t(p[i]) << 16;
        if (i + 1 < len) v |= uint32_t(p[i + 1]) << 8;
        if (i + 2 < len) v |= p[i + 2];
        out += t[(v >> 18) & 63];
        out += t[(v >> 12) & 63];
        out += i + 1 < len ? t[(v >> 6) & 63] : '=';
        out += i + 2 < len ? t[v & 63] : '=';
    }
    return out;
}

}  // namespace pusher::protocol
