#include "redis/names.h"

#include "protocol/php_serialize.h"

namespace pusher::redis {

using protocol::php::Key;
using protocol::php::Value;

std::string redis_channel(const std::string& prefix, const Value& event) {
    Key k = protocol::php::php_array_key(event);
    return prefix + ":" + (k.is_int ? std::to_string(k.i) : k.s);
}

std::string encode_payload(const Value& data) {
    return protocol::php::serialize(data);
}

bool decode_payload(std::string_view payload, Value* data, std::string* error) {
    if (protocol::php::unserialize(payload, data, error)) return true;
    // Not a serialization (or a broken one): the bytes are the content.
    *data = Value::array();
    data->set(Key::from_string("content"), Value::string(std::string(payload)));
    error->clear();
    return true;
}

}  // namespace pusher::redis
