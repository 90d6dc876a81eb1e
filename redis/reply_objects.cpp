#include "redis/reply_objects.h"

#include <cstdlib>
#include <cstring>

namespace pusher::redis {

namespace {

bool charge(const redisReadTask* t, size_t bytes) {
    auto* b = static_cast<ReplyBudget*>(t->privdata);
    b->used += bytes;
    return b->used <= b->limit;
}

redisReply* make(int type) {
    auto* r = static_cast<redisReply*>(calloc(1, sizeof(redisReply)));
    if (r) r->type = type;
    return r;
}

// An element takes its place in the array hiredis is filling.
void* placed(const redisReadTask* t, redisReply* r) {
    if (t->parent) static_cast<redisReply*>(t->parent->obj)->element[t->idx] = r;
    return r;
}

void* create_string(const redisReadTask* t, char* str, size_t len) {
    if (!charge(t, sizeof(redisReply) + len + 1)) return nullptr;
    redisReply* r = make(t->type);
    char* buf = static_cast<char*>(malloc(len + 1));
    if (!r || !buf) {
        free(r);
        free(buf);
        return nullptr;
    }
    memcpy(buf, str, len);
    buf[len] = '\0';
    r->str = buf;
    r->len = len;
    return placed(t, r);
}

void* create_array(const redisReadTask* t, int elements) {
    size_t n = elements > 0 ? static_cast<size_t>(elements) : 0;
    if (!charge(t, sizeof(redisReply) + n * sizeof(redisReply*))) return nullptr;
    redisReply* r = make(REDIS_REPLY_ARRAY);
    if (!r) return nullptr;
    if (n > 0) {
        r->element = static_cast<redisReply**>(calloc(n, sizeof(redisReply*)));
        if (!r->element) {
            free(r);
            return nullptr;
        }
    }
    r->elements = n;
    return placed(t, r);
}

void* create_integer(const redisReadTask* t, long long value) {
    if (!charge(t, sizeof(redisReply))) return nullptr;
    redisReply* r = make(REDIS_REPLY_INTEGER);
    if (!r) return nullptr;
    r->integer = value;
    return placed(t, r);
}

void* create_nil(const redisReadTask* t) {
    if (!charge(t, sizeof(redisReply))) return nullptr;
    redisReply* r = make(REDIS_REPLY_NIL);
    return r ? placed(t, r) : nullptr;
}

redisReplyObjectFunctions budgeted = {create_string, create_array, create_integer, create_nil,
                                      freeReplyObject};

}  // namespace

redisReader* budgeted_reader(ReplyBudget* budget) {
    redisReader* r = redisReaderCreateWithFunctions(&budgeted);
    if (r) r->privdata = budget;  // handed to each create_* as task->privdata
    return r;
}

}  // namespace pusher::redis
