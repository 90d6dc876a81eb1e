// PHP values to and from Json::Value (jsoncpp), for applications that want
// bus data as JSON. Lists (keys 0..n-1 in order) become JSON arrays, other
// arrays JSON objects; an object becomes a JSON object with its class name
// under "__class"; references become null; INF and NAN become null. From JSON,
// objects become string-keyed arrays (keys normalised as PHP does), integers
// stay integers.
#pragma once
#include <json/json.h>

#include "protocol/php_value.h"

namespace pusher::protocol::php {

constexpr const char* kJsonClassKey = "__class";

Json::Value to_json(const Value& v);
Value from_json(const Json::Value& j);

}  // namespace pusher::protocol::php
