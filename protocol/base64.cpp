#include "protocol/base64.h"

namespace pusher::protocol {

static std::string encode(const uint8_t* p, size_t len, const char* t, bool pad) {
    std::string out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = uint32_t(p[i]) << 16;
        if (i + 1 < len) v |= uint32_t(p[i + 1]) << 8;
        if (i + 2 < len) v |= p[i + 2];
        out += t[(v >> 18) & 63];
        out += t[(v >> 12) & 63];
        if (i + 1 < len || pad) out += i + 1 < len ? t[(v >> 6) & 63] : '=';
        if (i + 2 < len || pad) out += i + 2 < len ? t[v & 63] : '=';
    }
    return out;
}

std::string base64_encode(const uint8_t* p, size_t len) {
    return encode(p, len, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", true);
}

std::string base64url_encode(std::string_view data) {
    return encode(reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", false);
}

static int url_digit(char ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '-') return 62;
    if (ch == '_') return 63;
    return -1;
}

bool base64url_decode(std::string_view in, std::string* out) {
    if (in.size() % 4 == 1) return false;  // one character holds only 6 bits: no byte
    out->clear();
    out->reserve(in.size() / 4 * 3 + 2);
    uint32_t acc = 0;
    int bits = 0;
    for (char ch : in) {
        int d = url_digit(ch);
        if (d < 0) return false;
        acc = (acc << 6) | uint32_t(d);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    // Leftover bits (2 or 4) must be zero: a second spelling of the same bytes is refused.
    return (acc & ((1u << bits) - 1)) == 0;
}

}  // namespace pusher::protocol
