// A PHP value as serialize() writes it, ordered like PHP arrays are: the data
// model of the Channel bus. Objects and references are carried as data, never
// instantiated.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pusher::protocol::php {

// An array key: PHP keeps only int and string keys, and a string that is a
// canonical decimal int64 ("0", "-7"; not "007", "+1", "-0") IS that int.
struct Key {
    bool is_int = false;
    int64_t i = 0;
    std::string s;

    static Key integer(int64_t v) { return Key{true, v, {}}; }
    // Normalises as PHP does for array keys.
    static Key from_string(std::string_view v);
    // Keeps a string key even if it looks numeric (object property names).
    static Key raw_string(std::string_view v) { return Key{false, 0, std::string(v)}; }
    bool operator==(const Key& o) const {
        return is_int == o.is_int && (is_int ? i == o.i : s == o.s);
    }
    std::string str() const { return is_int ? std::to_string(i) : s; }
};

bool canonical_int(std::string_view s, int64_t* out);

enum class Type : uint8_t { Null, Bool, Int, Double, String, Array, Object, Ref, RefHard };

struct Value {
    Type type = Type::Null;
    bool b = false;
    int64_t i = 0;  // Int, and the index of Ref (r:) / RefHard (R:)
    double d = 0;
    std::string s;                             // String bytes, or an Object's class name
    std::vector<std::pair<Key, Value>> items;  // Array entries, Object properties

    static Value null() { return Value{}; }
    static Value boolean(bool v);
    static Value integer(int64_t v);
    static Value dbl(double v);
    static Value string(std::string_view v);
    static Value array();
    Value& set(Key k, Value v);  // appends, or replaces an existing key as PHP does
    const Value* get(const Key& k) const;
    const Value* get(std::string_view key) const { return get(Key::from_string(key)); }
    bool is_string() const { return type == Type::String; }
    // PHP's scalar-to-string view for ids and content (int → decimal, ...).
    std::string as_string() const;
};

// A value used as an array key (a Channel event name, a queue name): ints
// stay ints, numeric strings like "0" become ints, other scalars are cast as
// PHP casts an array offset: bool → 0/1, a float → truncated to int (0 when
// not finite or out of range), null → "".
inline Key php_array_key(const Value& v) {
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

}  // namespace pusher::protocol::php
