// Channel names are PHP array keys: "0" and 0 are one channel, "007" is not 0.
// This turns a channel value into the string the server's tables are keyed by.
#pragma once
#include <cmath>
#include <string>

#include "protocol/php_value.h"

namespace pusher::channel {

// Other scalars are cast as PHP casts an array offset: bool → 0/1, a float
// → truncated to int (0 when not finite or out of range), null → "".
inline protocol::php::Key php_array_key(const protocol::php::Value& v) {
    using protocol::php::Key;
    using protocol::php::Type;
    switch (v.type) {
        case Type::Int: return Key::integer(v.i);
        case Type::Bool: return Key::integer(v.b ? 1 : 0);
        case Type::Double: {
            bool fits = std::isfinite(v.d) && v.d >= -0x1p63 && v.d < 0x1p63;
            return Key::integer(fits ? static_cast<int64_t>(v.d) : 0);
        }
        default: return Key::from_string(v.as_string());
    }
}

inline std::string channel_key(const protocol::php::Value& v) {
    protocol::php::Key k = php_array_key(v);
    return k.is_int ? "i" + std::to_string(k.i) : "s" + k.s;
}

}  // namespace pusher::channel
