// Channel names are PHP array keys: "0" and 0 are one channel, "007" is not 0.
// This turns a channel value into the string the server's tables are keyed by.
#pragma once
#include <string>

#include "protocol/php_value.h"

namespace pusher::channel {

inline std::string channel_key(const protocol::php::Value& v) {
    protocol::php::Key k = protocol::php::php_array_key(v);
    return k.is_int ? "i" + std::to_string(k.i) : "s" + k.s;
}

}  // namespace pusher::channel
