// Bytes from a "Redis Cluster node" through hiredis's reader into our
// topology parsers (redis/topology_parse.cpp): a reply from the network must
// give a topology or a reason, never a crash, a hang or an out-of-range slot.
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "redis/reply_objects.h"
#include "redis/topology.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The reader the engine uses: replies built under a budget, so an array
    // header of 2^28 elements is refused instead of allocated.
    pusher::redis::ReplyBudget budget{0, 4 << 20};
    redisReader* reader = pusher::redis::budgeted_reader(&budget);
    redisReaderFeed(reader, reinterpret_cast<const char*>(data), size);
    void* reply = nullptr;
    for (int i = 0; i < 16 && redisReaderGetReply(reader, &reply) == REDIS_OK && reply; ++i) {
        auto* r = static_cast<redisReply*>(reply);
        for (bool shards : {true, false}) {
            pusher::redis::Topology t;
            std::string error;
            bool ok = shards ? pusher::redis::parse_cluster_shards(r, &t, &error)
                             : pusher::redis::parse_cluster_slots(r, &t, &error);
            if (!ok) continue;
            for (const auto& range : t.ranges) {
                if (range.first > range.last || range.last >= 16384 || range.master < 0 ||
                    static_cast<size_t>(range.master) >= t.masters.size())
                    __builtin_trap();
            }
            (void)t.covers_all();
            (void)t.master_of(static_cast<uint16_t>(size % 16384));
        }
        freeReplyObject(r);
        reply = nullptr;
        budget.used = 0;
    }
    redisReaderFree(reader);
    return 0;
}
