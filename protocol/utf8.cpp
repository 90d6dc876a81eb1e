#include "protocol/utf8.h"

#include <cstdint>

namespace pusher::protocol {

bool utf8_valid(const char* data, size_t len) {
    auto s = reinterpret_cast<const uint8_t*>(data);
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t n;
        uint8_t lo = 0x80, hi = 0xBF;  // the range of the second byte
        if (c >= 0xC2 && c <= 0xDF)
            n = 1;
        else if (c == 0xE0)
            n = 2, lo = 0xA0;
        else if (c == 0xED)
            n = 2, hi = 0x9F;  // no surrogates
        else if (c >= 0xE1 && c <= 0xEF)
            n = 2;
        else if (c == 0xF0)
            n = 3, lo = 0x90;
        else if (c == 0xF4)
            n = 3, hi = 0x8F;  // nothing above U+10FFFF
        else if (c >= 0xF1 && c <= 0xF3)
            n = 3;
        else
            return false;
        if (i + n >= len) return false;  // truncated sequence
        if (s[i + 1] < lo || s[i + 1] > hi) return false;
        for (size_t k = 2; k <= n; ++k)
            if ((s[i + k] & 0xC0) != 0x80) return false;
        i += n + 1;
    }
    return true;
}

}  // namespace pusher::protocol
