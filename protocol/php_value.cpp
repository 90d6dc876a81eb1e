#include "protocol/php_value.h"

#include <cstdio>

namespace pusher::protocol::php {

bool canonical_int(std::string_view s, int64_t* out) {
    if (s.empty() || s.size() > 20) return false;
    size_t i = 0;
    bool neg = s[0] == '-';
    if (neg) i = 1;
    if (i == s.size()) return false;
    if (s[i] == '0' && (s.size() > i + 1 || neg)) return false;  // "007", "-0"
    uint64_t v = 0;
    for (; i < s.size(); ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        uint64_t digit = static_cast<uint64_t>(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10) return false;
        v = v * 10 + digit;
    }
    uint64_t limit = neg ? (uint64_t(1) << 63) : (uint64_t(1) << 63) - 1;
    if (v > limit) return false;
    *out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
    return true;
}

Key Key::from_string(std::string_view v) {
    int64_t n;
    if (canonical_int(v, &n)) return integer(n);
    return raw_string(v);
}

Value Value::boolean(bool v) {
    Value x;
    x.type = Type::Bool;
    x.b = v;
    return x;
}
Value Value::integer(int64_t v) {
    Value x;
    x.type = Type::Int;
    x.i = v;
    return x;
}
Value Value::dbl(double v) {
    Value x;
    x.type = Type::Double;
    x.d = v;
    return x;
}
Value Value::string(std::string_view v) {
    Value x;
    x.type = Type::String;
    x.s = std::string(v);
    return x;
}
Value Value::array() {
    Value x;
    x.type = Type::Array;
    return x;
}

Value& Value::set(Key k, Value v) {
    for (auto& kv : items) {
        if (kv.first == k) {
            kv.second = std::move(v);
            return kv.second;
        }
    }
    items.emplace_back(std::move(k), std::move(v));
    return items.back().second;
}

const Value* Value::get(const Key& k) const {
    for (const auto& kv : items)
        if (kv.first == k) return &kv.second;
    return nullptr;
}

std::string Value::as_string() const {
    switch (type) {
        case Type::String:
            return s;
        case Type::Int:
            return std::to_string(i);
        case Type::Bool:
            return b ? "1" : "";
        case Type::Double: {
            char buf[32];
            snprintf(buf, sizeof buf, "%.17g", d);
            return buf;
        }
        default:
            return "";
    }
}

}  // namespace pusher::protocol::php
