// Strict, crash-free reads of a hiredis reply tree. Replies come from the
// network: every accessor checks the type, the index and the pointers, and
// answers "no" rather than trusting them, so a parser built on these cannot
// read out of bounds whatever the server (or a fuzzer) sends.
//
// Works with hiredis 0.14 (RESP2: maps are flat arrays of key, value) and 1.x
// (also accepts a RESP3 map, which hiredis stores the same flat way).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

struct redisReply;  // hiredis

namespace pusher::redis {

// An array (any length).
bool reply_is_array(const redisReply* r);
// A map: a RESP3 map, or an array of key, value pairs (even length).
bool reply_is_map(const redisReply* r);
// Element i of an array or map; nullptr if r is neither or i is out of range.
const redisReply* reply_at(const redisReply* r, size_t i);
// Number of elements of an array or map, 0 for anything else.
size_t reply_size(const redisReply* r);
// A bulk or status string (not an error).
bool reply_string(const redisReply* r, std::string_view* s);
bool reply_is_nil(const redisReply* r);
bool reply_integer(const redisReply* r, long long* v);
bool reply_is_error(const redisReply* r);

// For messages: "array", "string", "integer", ... or "nothing".
const char* reply_type_name(const redisReply* r);
// Bytes from the network made safe for a log line: at most max bytes,
// control bytes as '?'.
std::string log_safe(std::string_view s, size_t max = 200);
// An error reply's text, log_safe; "" if r is not an error.
std::string reply_error_text(const redisReply* r);

}  // namespace pusher::redis
