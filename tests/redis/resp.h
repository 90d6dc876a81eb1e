// Test helpers: write RESP2 bytes by hand, and turn RESP bytes into the hiredis
// reply tree a link would hand to the parsers (hiredis's own reader, so the
// trees are exactly what the engine sees).
#pragma once
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace pusher::redis::resp {

inline std::string bulk(std::string_view s) {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
inline std::string num(long long v) {
    return ":" + std::to_string(v) + "\r\n";
}
inline std::string nil() {
    return "$-1\r\n";
}
inline std::string status(std::string_view s) {
    return "+" + std::string(s) + "\r\n";
}
inline std::string arr(std::initializer_list<std::string> items) {
    std::string out = "*" + std::to_string(items.size()) + "\r\n";
    for (const std::string& i : items) out += i;
    return out;
}
// A RESP2 map: a flat array of key, value.
inline std::string map(std::initializer_list<std::pair<std::string_view, std::string>> kv) {
    std::string out = "*" + std::to_string(2 * kv.size()) + "\r\n";
    for (const auto& [k, v] : kv) out += bulk(k) + v;
    return out;
}
// One entry of a CLUSTER SHARDS "nodes" array, as Redis 7.0 writes it.
inline std::string shard_node(std::string_view id, int port, std::string_view ip,
                              std::string_view endpoint, std::string_view role,
                              std::string_view health) {
    return map({{"id", bulk(id)},
                {"port", num(port)},
                {"ip", bulk(ip)},
                {"endpoint", bulk(endpoint)},
                {"role", bulk(role)},
                {"replication-offset", num(0)},
                {"health", bulk(health)}});
}

// A hiredis reply tree built from RESP bytes; fails the test if they do not
// make exactly one complete reply.
class Reply {
  public:
    explicit Reply(std::string_view bytes) {
        redisReader* reader = redisReaderCreate();
        void* reply = nullptr;
        if (redisReaderFeed(reader, bytes.data(), bytes.size()) != REDIS_OK ||
            redisReaderGetReply(reader, &reply) != REDIS_OK || !reply) {
            ADD_FAILURE() << "hiredis does not read a reply from: " << bytes.substr(0, 80);
        } else {
            void* more = nullptr;
            if (redisReaderGetReply(reader, &more) == REDIS_OK && more) {
                ADD_FAILURE() << "more than one reply";
                freeReplyObject(more);
            }
        }
        redisReaderFree(reader);
        reply_ = static_cast<redisReply*>(reply);
    }
    ~Reply() {
        if (reply_) freeReplyObject(reply_);
    }
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;
    const redisReply* get() const { return reply_; }

  private:
    redisReply* reply_ = nullptr;
};

}  // namespace pusher::redis::resp
