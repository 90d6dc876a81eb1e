// protocol/deflate_codec: the compressor checked against zlib used as a client
// would, and the bounded inflater fed what clients (and attackers) send.
#include "protocol/deflate_codec.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

#include "tests/support/deflate_bytes.h"

using namespace pusher::protocol;
using pusher::testing::client_deflate;
using pusher::testing::client_inflate;
using pusher::testing::deflate_bomb;

namespace {

std::string json_like(size_t n) {
    std::string s;
    for (int i = 0; s.size() < n; ++i)
        s += "{\"id\":" + std::to_string(i) + ",\"name\":\"r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac\"},";
    s.resize(n);
    return s;
}

std::string random_bytes(size_t n, unsigned seed) {
    std::mt19937 g(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(g());
    return s;
}

}  // namespace

TEST(DeflateCompressor, RoundTripsThroughAClientsInflater) {
    DeflateCompressor z(6, 15);
    for (const std::string& m : {std::string(), std::string("a"), json_like(300),
                                 json_like(100 << 10), random_bytes(5000, 1)}) {
        std::string_view out;
        ASSERT_TRUE(z.compress(m, &out)) << m.size();
        EXPECT_EQ(client_inflate(out), m) << m.size();
    }
}

TEST(DeflateCompressor, StripsTheSyncFlushTail) {
    DeflateCompressor z(6, 15);
    std::string m = json_like(1000);
    std::string_view out;
    ASSERT_TRUE(z.compress(m, &out));
    // zlib's own sync flush of the same message ends in 00 00 ff ff; ours is that, less those 4.
    std::string with_tail = client_deflate(m, 15, false, true);
    ASSERT_EQ(with_tail.substr(with_tail.size() - 4), std::string("\0\0\xff\xff", 4));
    EXPECT_EQ(std::string(out), with_tail.substr(0, with_tail.size() - 4));
    // RFC 7692 §7.2.3.6: an empty message compresses to the single byte 00.
    ASSERT_TRUE(z.compress("", &out));
    EXPECT_EQ(std::string(out), std::string(1, '\0'));
}

TEST(DeflateCompressor, EveryMessageStandsAlone) {
    // server_no_context_takeover: the second message must inflate without the first.
    DeflateCompressor z(6, 15);
    std::string m = json_like(2000);
    std::string_view out;
    ASSERT_TRUE(z.compress(m, &out));
    std::string first(out);
    ASSERT_TRUE(z.compress(m, &out));
    EXPECT_EQ(std::string(out), first);  // no back-reference into the first one
    EXPECT_EQ(client_inflate(out), m);
}

TEST(DeflateCompressor, KeepsWithinTheAgreedWindow) {
    // Repeats 2 KiB apart: a 15-bit window refers back to them, a 9-bit one
    // (512 bytes) must not. A client inflating with 9 bits fails on any
    // distance past 512.
    std::string block = random_bytes(2048, 7);
    std::string m = block + block + block;
    DeflateCompressor wide(9, 15), narrow(9, 9);
    std::string_view out;
    ASSERT_TRUE(wide.compress(m, &out));
    EXPECT_LT(out.size(), 3000u);  // the window reached the repeats
    EXPECT_THROW(client_inflate(out, 9), std::runtime_error);
    ASSERT_TRUE(narrow.compress(m, &out));
    EXPECT_EQ(client_inflate(out, 9), m);
}

TEST(DeflateInflater, InflatesWhatClientsSend) {
    DeflateInflater in;
    std::string out;
    std::string m = json_like(50000);
    for (int bits : {9, 12, 15}) {
        ASSERT_EQ(in.inflate(client_deflate(m, bits), 1 << 20, &out), DeflateInflater::Result::kOk);
        EXPECT_EQ(out, m) << bits;
    }
    // A message that ends in a final block (BFINAL) instead of a sync flush.
    ASSERT_EQ(in.inflate(client_deflate(m, 15, true), 1 << 20, &out), DeflateInflater::Result::kOk);
    EXPECT_EQ(out, m);
    // Exactly at the bound is fine; one byte more is not.
    ASSERT_EQ(in.inflate(client_deflate(m), m.size(), &out), DeflateInflater::Result::kOk);
    EXPECT_EQ(in.inflate(client_deflate(m), m.size() - 1, &out), DeflateInflater::Result::kTooBig);
    // The empty message (a single 00 byte).
    ASSERT_EQ(in.inflate(std::string(1, '\0'), 100, &out), DeflateInflater::Result::kOk);
    EXPECT_EQ(out, "");
    // RFC 7692 7.2.3.3: "Hello" in a final block, then the 00 that is left of
    // an appended empty stored block once its 4 bytes are stripped.
    ASSERT_EQ(in.inflate(std::string("\xf3\x48\xcd\xc9\xc9\x07\x00\x00", 8), 100, &out),
              DeflateInflater::Result::kOk);
    EXPECT_EQ(out, "Hello");
}

TEST(DeflateInflater, RefusesAMessageCutInsideABlock) {
    DeflateInflater in;
    std::string out;
    std::string z = client_deflate(json_like(5000));
    EXPECT_EQ(in.inflate(z.substr(0, 10), 1 << 20, &out), DeflateInflater::Result::kCorrupt);
    // A stored block that announces more bytes than the message has.
    EXPECT_EQ(in.inflate(std::string("\x00\xff\x00\x00\xffhello", 10), 1 << 20, &out),
              DeflateInflater::Result::kCorrupt);
    // After BFINAL, anything but that one 00 byte is not the message's.
    std::string fin = client_deflate("Hello", 15, true);
    EXPECT_EQ(in.inflate(fin + "x", 100, &out), DeflateInflater::Result::kCorrupt);
}

TEST(DeflateInflater, RefusesWhatIsNotDeflate) {
    DeflateInflater in;
    std::string out;
    // BTYPE 11 is reserved; a stored block whose NLEN is not ~LEN.
    EXPECT_EQ(in.inflate("\x07", 1 << 20, &out), DeflateInflater::Result::kCorrupt);
    EXPECT_EQ(in.inflate(std::string("\x00\x05\x00\x00\x00", 5), 1 << 20, &out),
              DeflateInflater::Result::kCorrupt);
    // Bytes after a final block.
    std::string m = client_deflate("hello", 15, true) + "junk";
    EXPECT_EQ(in.inflate(m, 1 << 20, &out), DeflateInflater::Result::kCorrupt);
    // And it still works afterwards: every message starts afresh.
    ASSERT_EQ(in.inflate(client_deflate("hello"), 100, &out), DeflateInflater::Result::kOk);
    EXPECT_EQ(out, "hello");
}

TEST(DeflateInflater, AZipBombCostsTheBoundNotItsSize) {
    // 1 KiB that would inflate to 1 MiB, against a 64 KiB bound.
    std::string small = deflate_bomb(1);
    EXPECT_LT(small.size(), 1100u);
    DeflateInflater in;
    std::string out;
    EXPECT_EQ(in.inflate(small, 64 << 10, &out), DeflateInflater::Result::kTooBig);
    EXPECT_LE(out.capacity(), (64u << 10) * 9 / 8);  // never doubled past the bound
    // About 1 MiB that would inflate to 1 GiB, against a 2 MiB bound: refused
    // after making 2 MiB, in a few milliseconds (all of it would take about a
    // second and a gigabyte).
    std::string big = deflate_bomb(1024);
    EXPECT_LT(big.size(), 1100u << 10);
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(in.inflate(big, 2 << 20, &out), DeflateInflater::Result::kTooBig);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    EXPECT_LE(out.capacity(), (2u << 20) * 9 / 8);
    EXPECT_LT(ms, 500) << "the bomb was inflated further than the bound";
}
