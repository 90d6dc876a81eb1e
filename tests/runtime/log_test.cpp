// The per-peer log limiter: a burst, then a steady rate, and every dropped
// line accounted for in the next line written.
#include "runtime/log.h"

#include <gtest/gtest.h>

using pusher::runtime::LineLimiter;

namespace {

TEST(LineLimiter, ABurstThenDropsThenOneLinePerToken) {
    LineLimiter l(10, 20);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(l.admit(100.0).write) << i;
    auto first_drop = l.admit(100.0);
    EXPECT_FALSE(first_drop.write);
    EXPECT_TRUE(first_drop.started_dropping);
    auto second_drop = l.admit(100.05);
    EXPECT_FALSE(second_drop.write);
    EXPECT_FALSE(second_drop.started_dropping);  // said once per run of drops
    auto resumed = l.admit(100.15);              // 0.15 s at 10/s: one token and a half
    EXPECT_TRUE(resumed.write);
    EXPECT_EQ(resumed.dropped_before, 2u);
    EXPECT_FALSE(l.admit(100.15).write);
    EXPECT_EQ(l.dropped_total(), 3u);
}

TEST(LineLimiter, AFloodIsBoundedByBurstPlusRateTimesDuration) {
    LineLimiter l(10, 20);
    int written = 0, notices = 0;
    uint64_t reported = 0;
    for (int i = 0; i < 10000; ++i) {  // 10,000 lines over 2 seconds
        auto v = l.admit(i * 0.0002);
        written += v.write;
        notices += v.started_dropping;
        reported += v.dropped_before;
    }
    EXPECT_LE(written, 20 + 10 * 2 + 1);
    EXPECT_GE(written, 20 + 10 * 2 - 1);
    EXPECT_LE(notices, written);             // at most one notice per line written
    EXPECT_LE(reported, l.dropped_total());  // the drops after the last line: not yet reported
    EXPECT_EQ(l.dropped_total(), static_cast<uint64_t>(10000 - written));
}

TEST(LineLimiter, TokensDoNotPileUpBeyondTheBurst) {
    LineLimiter l(10, 20);
    l.admit(0);
    int written = 0;
    for (int i = 0; i < 100; ++i) written += l.admit(3600).write;  // an hour idle
    EXPECT_EQ(written, 20);
}

}  // namespace
