// What the Redis engine puts on Redis (docs/CONFIG.md, "bus"): the event E
// of the Channel protocol is the Redis channel "<prefix>:E", and a message
// carries the same PHP-serialized data a Channel event carries, so any Redis
// client can publish to pusher's clients.
#pragma once
#include <string>
#include <string_view>

#include "protocol/php_value.h"

namespace pusher::redis {

// Channel names are PHP array keys, as on the channel server: the integer 0
// and the string "0" are one channel ("pusher:0").
std::string redis_channel(const std::string& prefix, const protocol::php::Value& event);

std::string encode_payload(const protocol::php::Value& data);
// A payload that is not a PHP serialization is taken as the content itself:
// `PUBLISH pusher:broadcast hello` reaches every client as "hello". false:
// a serialization too deep or too large to decode (*error says why).
bool decode_payload(std::string_view payload, protocol::php::Value* data, std::string* error);

}  // namespace pusher::redis
