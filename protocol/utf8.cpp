#include "protocol/utf8.h"

#include <cstring>

namespace pusher::protocol {

namespace {

constexpr uint8_t kFailed = 0xFF;

// The range the byte after lead byte c must fall in: this is where overlongs
// (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points above
// U+10FFFF (F4 90..BF) are refused, on the second byte already.
void second_range(uint8_t c, uint8_t* lo, uint8_t* hi) {
    *lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    *hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
}

// Skips a run of ASCII eight bytes at a time: text is mostly ASCII.
size_t ascii_run(const uint8_t* s, size_t len) {
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ull) break;
    }
    while (i < len && s[i] < 0x80) ++i;
    return i;
}

}  // namespace

// Starts a sequence at lead byte c; false if c cannot lead one (C0, C1, F5..FF
// and stray continuation bytes).
bool Utf8Validator::lead(uint8_t c) {
    if (c >= 0xC2 && c <= 0xDF)
        need_ = 1;
    else if (c >= 0xE0 && c <= 0xEF)
        need_ = 2;
    else if (c >= 0xF0 && c <= 0xF4)
        need_ = 3;
    else
        return false;
    second_ = c;
    return true;
}

bool Utf8Validator::feed(const char* data, size_t len) {
    if (need_ == kFailed) return false;
    auto s = reinterpret_cast<const uint8_t*>(data);
    size_t i = 0;
    while (i < len) {
        if (need_ == 0) {
            i += ascii_run(s + i, len - i);
            if (i == len) break;
            if (!lead(s[i++])) return need_ = kFailed, false;
            continue;
        }
        uint8_t c = s[i++], lo = 0x80, hi = 0xBF;
        if (second_) second_range(second_, &lo, &hi);
        if (c < lo || c > hi) return need_ = kFailed, false;
        second_ = 0;
        --need_;
    }
    return true;
}

bool utf8_valid(const char* data, size_t len) {
    Utf8Validator v;
    return v.feed(data, len) && v.complete();
}

}  // namespace pusher::protocol
