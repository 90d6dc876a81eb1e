#include "redis/reply_view.h"

#include <hiredis/hiredis.h>

namespace pusher::redis {

namespace {
bool is_map_type(int type) {
#ifdef REDIS_REPLY_MAP  // hiredis >= 1.0 (RESP3)
    if (type == REDIS_REPLY_MAP) return true;
#endif
    return type == REDIS_REPLY_ARRAY;
}
}  // namespace

bool reply_is_array(const redisReply* r) {
    return r && r->type == REDIS_REPLY_ARRAY;
}

bool reply_is_map(const redisReply* r) {
    return r && is_map_type(r->type) && r->elements % 2 == 0;
}

size_t reply_size(const redisReply* r) {
    if (!r || !is_map_type(r->type) || !r->element) return 0;
    return r->elements;
}

const redisReply* reply_at(const redisReply* r, size_t i) {
    return i < reply_size(r) ? r->element[i] : nullptr;
}

bool reply_string(const redisReply* r, std::string_view* s) {
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return false;
    if (!r->str && r->len > 0) return false;
    *s = std::string_view(r->str ? r->str : "", r->len);
    return true;
}

bool reply_is_nil(const redisReply* r) {
    return r && r->type == REDIS_REPLY_NIL;
}

bool reply_integer(const redisReply* r, long long* v) {
    if (!r || r->type != REDIS_REPLY_INTEGER) return false;
    *v = r->integer;
    return true;
}

bool reply_is_error(const redisReply* r) {
    return r && r->type == REDIS_REPLY_ERROR;
}

const char* reply_type_name(const redisReply* r) {
    if (!r) return "nothing";
    switch (r->type) {
        case REDIS_REPLY_STRING:
            return "string";
        case REDIS_REPLY_ARRAY:
            return "array";
        case REDIS_REPLY_INTEGER:
            return "integer";
        case REDIS_REPLY_NIL:
            return "nil";
        case REDIS_REPLY_STATUS:
            return "status";
        case REDIS_REPLY_ERROR:
            return "error";
#ifdef REDIS_REPLY_MAP
        case REDIS_REPLY_MAP:
            return "map";
#endif
        default:
            return "other";
    }
}

std::string log_safe(std::string_view s, size_t max) {
    std::string text(s.substr(0, max));
    for (char& c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return text;
}

std::string reply_error_text(const redisReply* r) {
    if (!reply_is_error(r) || !r->str) return "";
    return log_safe(std::string_view(r->str, r->len));
}

}  // namespace pusher::redis
