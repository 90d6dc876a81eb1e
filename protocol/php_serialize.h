// PHP's serialize() / unserialize() for php::Value, byte-identical with PHP 8
// (floats as serialize_precision=-1 prints them). The decoder is for hostile
// input: bounded depth, counts checked against the bytes left before anything
// is allocated, an error reason instead of a crash.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "protocol/php_value.h"

namespace pusher::protocol::php {

struct DecodeLimits {
    int max_depth = 64;
    size_t max_elements = 1 << 20;  // entries of all arrays together
};

// Parses exactly one value; one trailing "\n" is tolerated (Channel servers
// up to v1.2.1 appended it). false: *error says why.
bool unserialize(std::string_view in, Value* out, std::string* error,
                 const DecodeLimits& limits = {});

// The same, also giving the raw bytes of each top-level entry's value (in
// order) and whether any r:/R: back-reference occurs: what the Channel server
// needs to forward `data` without re-encoding it.
bool unserialize_top(std::string_view in, Value* out, std::vector<std::string_view>* top_raw,
                     bool* saw_ref, std::string* error, const DecodeLimits& limits = {});

std::string serialize(const Value& v);
// ref_shift is subtracted from r:/R: indices >= ref_from: re-numbering when a
// value moves inside a different envelope (see channel_message.cpp).
void serialize_to(std::string& out, const Value& v, int64_t ref_shift = 0, int64_t ref_from = 0);
void serialize_key(std::string& out, const Key& k);
void serialize_string(std::string& out, std::string_view s);
// A double as PHP prints it in serialize(): shortest round-trip digits.
std::string format_double(double d);

}  // namespace pusher::protocol::php
