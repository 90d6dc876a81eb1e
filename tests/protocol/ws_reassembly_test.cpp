// Reassembly cost of the WebSocket decoder: a message that arrives in many
// TCP segments must cost work linear in its size. Work is measured without a
// clock: this binary replaces the global operator new and, while a test asks
// for it, counts the allocations made and the bytes they requested. Copying
// the buffered part of a frame again on every read shows up as one allocation
// per read whose size grows with the frame, i.e. quadratic bytes. The same
// count shows that a compressed message costs what max_message allows, not
// what it would inflate to (zip bombs).
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <string>

#include "protocol/ws_frame.h"
#include "tests/support/deflate_bytes.h"
#include "tests/support/ws_bytes.h"

namespace {

bool g_counting = false;  // gtest runs tests on one thread
size_t g_allocs = 0;
size_t g_bytes = 0;

}  // namespace

// GCC (-O1 and up) takes the free() in these replacements for a mismatch with
// the operator new it sees inlined; they are the matching pair by definition.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(size_t n) {
    if (g_counting) {
        ++g_allocs;
        g_bytes += n;
    }
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, size_t) noexcept {
    std::free(p);
}

using namespace pusher::protocol;

namespace {

// What an allocation-counting scope saw.
struct Work {
    size_t allocs = 0, bytes = 0;
};

class Counting {
  public:
    Counting() {
        g_allocs = g_bytes = 0;
        g_counting = true;
    }
    ~Counting() { g_counting = false; }
    Work seen() const { return {g_allocs, g_bytes}; }
};

// Keeps only sizes, so the sink itself allocates nothing.
struct SizeSink : WsDecoder::Sink {
    size_t messages = 0, last_size = 0;
    bool last_ok = false;
    void on_message(uint8_t, std::string_view p) override {
        ++messages;
        last_size = p.size();
        last_ok = !p.empty() && p.front() == 'a' && p.back() == 'a';
    }
    void on_ping(std::string_view) override {}
    void on_close(uint16_t, std::string_view) override {}
};

std::string masked_frame(uint8_t first, const std::string& payload) {
    return pusher::testing::ws_masked_frame(first, payload, "\x5a\xa5\x3c\xc3");
}

// Feeds wire in segments of `segment` bytes, counting the decoder's allocations.
Work feed_in_segments(const std::string& wire, size_t segment, SizeSink* sink) {
    WsDecoder d;
    WsDecoder::Error err;
    Counting counting;
    for (size_t off = 0; off < wire.size(); off += segment) {
        size_t n = std::min(segment, wire.size() - off);
        EXPECT_TRUE(d.feed(wire.data() + off, n, 4 << 20, *sink, &err)) << err.reason;
    }
    EXPECT_EQ(d.buffered(), 0u);
    return counting.seen();
}

}  // namespace

TEST(WsReassembly, OneMebibyteMessageInEthernetSegmentsCostsLinearWork) {
    const size_t n = 1 << 20;
    std::string wire = masked_frame(0x81, std::string(n, 'a'));
    SizeSink sink;
    Work w = feed_in_segments(wire, 1448, &sink);
    ASSERT_EQ(sink.messages, 1u);
    EXPECT_EQ(sink.last_size, n);
    EXPECT_TRUE(sink.last_ok);
    // The buffer doubles from 64 KiB up to the message's size: under 2n bytes
    // in a handful of allocations (a re-copy per read is ~1 GiB in ~1,450).
    EXPECT_LE(w.bytes, 2 * n + 4096) << "allocated bytes for a " << n << "-byte message";
    EXPECT_LE(w.allocs, 8u);
}

TEST(WsReassembly, ManyTinyFragmentsCostLinearWork) {
    // 64 KiB in one-byte fragments, each arriving on its own: the message
    // buffer grows geometrically, not by one byte at a time.
    const size_t n = 64 << 10;
    std::string wire = masked_frame(0x01, "a");
    for (size_t i = 1; i + 1 < n; ++i) wire += masked_frame(0x00, "a");
    wire += masked_frame(0x80, "a");
    SizeSink sink;
    Work w = feed_in_segments(wire, 7, &sink);  // one fragment per read
    ASSERT_EQ(sink.messages, 1u);
    EXPECT_EQ(sink.last_size, n);
    EXPECT_TRUE(sink.last_ok);
    EXPECT_LE(w.bytes, 4 * n);
    EXPECT_LE(w.allocs, 64u);
}

TEST(WsReassembly, CompleteFramesAllocateNothing) {
    // The common case, a whole small frame per read, stays allocation-free.
    std::string wire;
    for (int i = 0; i < 100; ++i) wire += masked_frame(0x81, std::string(100, 'a'));
    SizeSink sink;
    Work w = feed_in_segments(wire, 106, &sink);
    EXPECT_EQ(sink.messages, 100u);
    EXPECT_EQ(w.allocs, 0u);
}

TEST(WsReassembly, AZipBombCostsMaxMessageNotItsInflatedSize) {
    // About 1 MiB of DEFLATE that would inflate to 1 GiB, in one compressed
    // text frame, against a 2 MiB max_message: 1009 after making at most
    // 2 MiB, all allocations together a small multiple of that.
    std::string wire = masked_frame(0xC1, pusher::testing::deflate_bomb(1024));
    const size_t max = 2 << 20;
    WsDecoder d;
    d.set_deflate(true);
    SizeSink sink;
    WsDecoder::Error err;
    Counting counting;
    EXPECT_FALSE(d.feed(wire.data(), wire.size(), max, sink, &err));
    Work w = counting.seen();
    EXPECT_EQ(err.code, kWsTooBig);
    EXPECT_EQ(sink.messages, 0u);
    // The frame itself (1 MiB), then the output doubling up to max + 1.
    EXPECT_LE(w.bytes, wire.size() + 2 * max + 65536) << "allocated bytes";
    EXPECT_LE(w.allocs, 16u);
}
