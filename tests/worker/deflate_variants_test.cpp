// worker/deflate_variants: which bytes each kind of connection gets. Frames
// are read back by hand and compressed payloads inflated with zlib as a client
// with exactly the agreed window would.
#include "worker/deflate_variants.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tests/support/deflate_bytes.h"

using pusher::runtime::BufferRef;
using pusher::runtime::DeflateConfig;
using pusher::runtime::SharedBuffer;
using pusher::testing::client_inflate;
using pusher::worker::DeflateVariants;

namespace {

struct Frame {
    bool rsv1;
    uint8_t opcode;
    std::string payload;
};

// Server frames back to back (FIN set, unmasked).
std::vector<Frame> frames(std::string_view b) {
    std::vector<Frame> out;
    while (!b.empty()) {
        EXPECT_GE(b.size(), 2u);
        auto u = [&](size_t i) { return static_cast<uint8_t>(b[i]); };
        EXPECT_TRUE(u(0) & 0x80);
        size_t len = u(1) & 0x7F, at = 2;
        if (len == 126) len = (u(2) << 8) | u(3), at = 4;
        if (len == 127) {
            len = 0;
            for (int i = 0; i < 8; ++i) len = (len << 8) | u(2 + i);
            at = 10;
        }
        out.push_back({(u(0) & 0x40) != 0, static_cast<uint8_t>(u(0) & 0x0F),
                       std::string(b.substr(at, len))});
        b.remove_prefix(at + len);
    }
    return out;
}

std::string_view view(const BufferRef& b) {
    return {b->data(), b->size()};
}

std::string json(size_t n) {
    std::string s;
    for (int i = 0; s.size() < n; ++i)
        s += "{\"id\":" + std::to_string(i) + ",\"v\":\"r\xc3\xa9sum\xc3\xa9\"},";
    return s.substr(0, n);
}

}  // namespace

TEST(DeflateVariants, EachVariantGetsItsOwnCompressionOfTheBatch) {
    DeflateConfig config;  // min_size 256
    DeflateVariants d(config);
    d.join(DeflateVariants::of_window(15));
    d.join(DeflateVariants::of_window(9));
    EXPECT_EQ(d.connections(), 2u);
    std::string big = json(20000), small = "small";
    std::string plain;
    for (const std::string* m : {&big, &small}) {
        d.append_frame(0, 1, *m, &plain);
        d.queue(1, *m);
    }
    BufferRef p(SharedBuffer::copy(plain.data(), plain.size()));
    std::array<BufferRef, DeflateVariants::kCount> out;
    d.take(p, 2, &out);
    EXPECT_EQ(out[0].get(), p.get());
    EXPECT_EQ(out[DeflateVariants::of_window(12)].get(), p.get());  // nobody uses 12
    for (int bits : {15, 9}) {
        auto f = frames(view(out[DeflateVariants::of_window(bits)]));
        ASSERT_EQ(f.size(), 2u) << bits;
        EXPECT_TRUE(f[0].rsv1);
        EXPECT_LT(f[0].payload.size(), big.size() / 3);
        EXPECT_EQ(client_inflate(f[0].payload, bits), big) << bits;
        EXPECT_FALSE(f[1].rsv1);  // under min_size: as it is
        EXPECT_EQ(f[1].payload, small);
    }
    // The next batch starts empty.
    d.take(p, 0, &out);
    EXPECT_EQ(out[DeflateVariants::of_window(15)].get(), p.get());
}

TEST(DeflateVariants, APlainBufferWhenNothingWasCompressedOrAVariantCameLate) {
    DeflateConfig config;
    DeflateVariants d(config);
    d.join(DeflateVariants::of_window(15));
    std::string plain;
    d.append_frame(0, 1, "short", &plain);
    d.queue(1, "short");
    BufferRef p(SharedBuffer::copy(plain.data(), plain.size()));
    std::array<BufferRef, DeflateVariants::kCount> out;
    d.take(p, 1, &out);
    EXPECT_EQ(out[DeflateVariants::of_window(15)].get(), p.get());  // no copy at all
    // A variant whose first connection arrives in the middle of a batch lacks
    // its first messages: it gets the plain batch, complete.
    std::string big = json(5000);
    d.append_frame(0, 1, big, &plain);
    d.queue(1, big);
    d.join(DeflateVariants::of_window(10));
    d.append_frame(0, 1, big, &plain);
    d.queue(1, big);
    d.take(p, 2, &out);
    EXPECT_EQ(out[DeflateVariants::of_window(10)].get(), p.get());
    EXPECT_NE(out[DeflateVariants::of_window(15)].get(), p.get());
    // No connection left: nothing compressed.
    d.leave(DeflateVariants::of_window(10));
    d.leave(DeflateVariants::of_window(15));
    EXPECT_EQ(d.connections(), 0u);
    d.queue(1, big);
    d.take(p, 1, &out);
    for (const BufferRef& b : out) EXPECT_EQ(b.get(), p.get());
}

TEST(DeflateVariants, ATargetedPushIsCompressedOnlyWhenItPays) {
    DeflateConfig config;
    config.min_size = 100;
    DeflateVariants d(config);
    uint8_t v = DeflateVariants::of_window(15);
    std::string out;
    std::string big = json(1000);
    d.append_frame(v, 1, big, &out);
    d.append_frame(v, 2, std::string(99, 'x'), &out);  // under min_size
    std::mt19937 random(1);
    std::string noise(400, '\0');
    for (char& c : noise) c = static_cast<char>(random());
    d.append_frame(v, 2, noise, &out);  // would not get smaller
    d.append_frame(0, 1, big, &out);    // no extension
    auto f = frames(out);
    ASSERT_EQ(f.size(), 4u);
    EXPECT_TRUE(f[0].rsv1);
    EXPECT_EQ(f[0].opcode, 1);
    EXPECT_EQ(client_inflate(f[0].payload), big);
    EXPECT_FALSE(f[1].rsv1);
    EXPECT_EQ(f[1].opcode, 2);
    EXPECT_FALSE(f[2].rsv1);
    EXPECT_EQ(f[2].payload, noise);
    EXPECT_FALSE(f[3].rsv1);
    EXPECT_EQ(f[3].payload, big);
}
