// UTF-8 validation as RFC 6455 requires for text messages (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF).
#pragma once
#include <cstddef>

namespace pusher::protocol {

bool utf8_valid(const char* data, size_t len);

}  // namespace pusher::protocol
