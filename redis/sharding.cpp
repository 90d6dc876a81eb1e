#include "redis/sharding.h"

#include <array>

namespace pusher::redis {

uint64_t channel_hash(std::string_view name) {
    constexpr uint64_t kOffsetBasis = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
    constexpr uint64_t kPrime = 0x100000001b3ULL;             // FNV 64-bit prime, 2^40 + 2^8 + 0xb3
    uint64_t h = kOffsetBasis;
    for (unsigned char c : name) {
        h ^= c;
        h *= kPrime;  // unsigned: wraps modulo 2^64, as FNV specifies
    }
    return h;
}

// The paper's idea: follow a key as the bucket count grows from 1. Bucket b's
// key jumps to a later bucket j with the right probability; the next jump
// target after b is computed directly as j = (b + 1) / r for a uniform r in
// (0, 1], so only O(log n) jumps are taken. r comes from a 64-bit linear
// congruential generator seeded by the key (multiplier 2862933555777941757,
// increment 1), using its top 31 bits: r = (top31 + 1) / 2^31. The last
// bucket reached below `buckets` is the answer.
int32_t jump_hash(uint64_t key, int32_t buckets) {
    constexpr uint64_t kLcgMultiplier = 2862933555777941757ULL;
    int64_t bucket = -1;  // stays -1 when buckets < 1
    int64_t next = 0;
    while (next < buckets) {
        bucket = next;
        key = key * kLcgMultiplier + 1;
        const double r_inverse = double(1LL << 31) / double((key >> 33) + 1);
        next = int64_t(double(bucket + 1) * r_inverse);
    }
    return int32_t(bucket);
}

int shard_of(std::string_view channel, int shards) {
    return jump_hash(channel_hash(channel), shards);
}

namespace {

// CRC16-XMODEM table, built at compile time from the polynomial: entry i is
// the CRC register after shifting the byte i through it MSB first.
constexpr std::array<uint16_t, 256> make_crc16_table() {
    std::array<uint16_t, 256> t{};
    for (unsigned i = 0; i < 256; ++i) {
        uint16_t reg = uint16_t(i << 8);
        for (int bit = 0; bit < 8; ++bit)
            reg = (reg & 0x8000) ? uint16_t((reg << 1) ^ 0x1021) : uint16_t(reg << 1);
        t[i] = reg;
    }
    return t;
}
constexpr std::array<uint16_t, 256> kCrc16Table = make_crc16_table();

}  // namespace

uint16_t crc16_xmodem(std::string_view data) {
    uint16_t crc = 0;  // XMODEM: initial value 0, no final xor
    for (unsigned char c : data) crc = uint16_t((crc << 8) ^ kCrc16Table[((crc >> 8) ^ c) & 0xff]);
    return crc;
}

uint16_t key_hash_slot(std::string_view key) {
    const size_t open = key.find('{');
    if (open != std::string_view::npos) {
        const size_t close = key.find('}', open + 1);
        // "{}" (nothing between) is no tag: the whole key is hashed.
        if (close != std::string_view::npos && close > open + 1)
            key = key.substr(open + 1, close - open - 1);
    }
    return uint16_t(crc16_xmodem(key) & (kClusterSlots - 1));  // 16384 is 2^14
}

std::string probe_channel_for_shard(std::string_view base, int shard, int shards) {
    if (shards < 1 || shard < 0 || shard >= shards) return "";
    std::string name(base);
    name += ':';
    const size_t prefix = name.size();
    for (uint32_t n = 0; n < kProbeTries; ++n) {
        name.resize(prefix);
        name += std::to_string(n);
        if (shard_of(name, shards) == shard) return name;
    }
    return "";
}

std::string probe_channel_for_slots(std::string_view base,
                                    const std::vector<std::pair<uint16_t, uint16_t>>& ranges) {
    // Which slots are wanted, as a bitmap: each try is then one CRC and a lookup.
    std::vector<bool> wanted(kClusterSlots, false);
    bool any = false;
    for (const auto& [first, last] : ranges) {
        if (first > last || last >= kClusterSlots) continue;
        for (unsigned s = first; s <= last; ++s) wanted[s] = true;
        any = true;
    }
    if (!any) return "";
    // The whole name is hashed (not just N) so that a '{' in base is honoured:
    // a base with its own tag ("a{b}") pins every name to one slot, and then
    // nothing but that slot can be hit.
    std::string name(base);
    name += ":{";
    const size_t prefix = name.size();
    for (uint32_t n = 0; n < kProbeTries; ++n) {
        name.resize(prefix);
        name += std::to_string(n);
        name += '}';
        if (wanted[key_hash_slot(name)]) return name;
    }
    return "";
}

}  // namespace pusher::redis
