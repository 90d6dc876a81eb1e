// UTF-8 validation as RFC 6455 requires for text messages and close reasons
// (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
#pragma once
#include <cstddef>
#include <cstdint>

namespace pusher::protocol {

// Whole-buffer check: valid UTF-8 that ends on a code point boundary.
bool utf8_valid(const char* data, size_t len);

// Incremental check for input that arrives in pieces (frame fragments, TCP
// reads): a code point may be split anywhere. It fails fast: feed() returns
// false on the first byte that no valid continuation could follow, e.g. the
// 0xA0 of "\xED\xA0" (a surrogate) or the 0x90 of "\xF4\x90" (> U+10FFFF),
// without waiting for the rest of the sequence. 2 bytes, no allocation.
class Utf8Validator {
  public:
    // false once the bytes so far cannot start valid UTF-8; it stays false.
    bool feed(const char* data, size_t len);
    // true when the bytes so far end on a code point boundary.
    bool complete() const { return need_ == 0; }
    void reset() { need_ = 0, second_ = 0; }
    // Hand-over: the state as one number, and back (WsDecoder::save).
    uint16_t state() const { return static_cast<uint16_t>(need_ | (second_ << 8)); }
    void set_state(uint16_t s) { need_ = static_cast<uint8_t>(s), second_ = static_cast<uint8_t>(s >> 8); }

  private:
    bool lead(uint8_t c);
    uint8_t need_ = 0;    // continuation bytes still expected; 0xFF: failed
    uint8_t second_ = 0;  // the lead byte while its second byte is awaited, else 0
};

}  // namespace pusher::protocol
