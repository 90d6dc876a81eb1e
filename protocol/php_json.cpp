#include "protocol/php_json.h"

#include <cmath>

namespace pusher::protocol::php {

static bool is_list(const Value& v) {
    int64_t i = 0;
    for (const auto& kv : v.items)
        if (!kv.first.is_int || kv.first.i != i++) return false;
    return true;
}

Json::Value to_json(const Value& v) {
    switch (v.type) {
        case Type::Null:
        case Type::Ref:
        case Type::RefHard:
            return Json::Value();
        case Type::Bool:
            return Json::Value(v.b);
        case Type::Int:
            return Json::Value(Json::Int64(v.i));
        case Type::Double:
            return std::isfinite(v.d) ? Json::Value(v.d) : Json::Value();
        case Type::String:
            return Json::Value(v.s);
        case Type::Array:
        case Type::Object: {
            if (v.type == Type::Array && is_list(v) && !v.items.empty()) {
                Json::Value arr(Json::arrayValue);
                for (const auto& kv : v.items) arr.append(to_json(kv.second));
                return arr;
            }
            Json::Value obj(Json::objectValue);
            if (v.type == Type::Object) obj[kJsonClassKey] = v.s;
            for (const auto& kv : v.items) obj[kv.first.str()] = to_json(kv.second);
            return obj;
        }
    }
    return Json::Value();
}

Value from_json(const Json::Value& j) {
    switch (j.type()) {
        case Json::nullValue:
            return Value::null();
        case Json::booleanValue:
            return Value::boolean(j.asBool());
        case Json::intValue:
            return Value::integer(j.asInt64());
        case Json::uintValue:
            return j.isInt64() ? Value::integer(j.asInt64()) : Value::dbl(j.asDouble());
        case Json::realValue:
            return Value::dbl(j.asDouble());
        case Json::stringValue:
            return Value::string(j.asString());
        case Json::arrayValue: {
            Value a = Value::array();
            for (Json::ArrayIndex i = 0; i < j.size(); ++i)
                a.items.emplace_back(Key::integer(i), from_json(j[i]));
            return a;
        }
        case Json::objectValue: {
            Value a = Value::array();
            for (const std::string& k : j.getMemberNames())
                a.set(Key::from_string(k), from_json(j[k]));
            return a;
        }
    }
    return Value::null();
}

}  // namespace pusher::protocol::php
