// StallLog: the time a loop was not keeping up, as a keep-alive deadline
// subtracts it (worker/ws_keepalive.cpp).
#include "runtime/stall_log.h"

#include <gtest/gtest.h>

using pusher::runtime::StallLog;

namespace {

TEST(StallLog, OnTimeTicksRecordNothing) {
    StallLog s;
    for (double t = 100; t < 200; t += 1.0) s.tick(t, 1.0);
    s.tick(200.9, 1.0);  // 1.9 s after 199: late, but within two periods
    EXPECT_EQ(s.lost_since(0), 0.0);
}

TEST(StallLog, ALateTickRecordsTheGapBeyondOnePeriod) {
    StallLog s;
    s.tick(100, 1.0);
    s.tick(108, 1.0);  // 8 s after the last: [101, 108] was not kept up
    EXPECT_DOUBLE_EQ(s.lost_since(0), 7.0);
    EXPECT_DOUBLE_EQ(s.lost_since(104), 4.0);  // only what lies after t
    EXPECT_DOUBLE_EQ(s.lost_since(108), 0.0);
    s.tick(109, 1.0);
    s.tick(120, 1.0);  // a second stall, [110, 120]
    EXPECT_DOUBLE_EQ(s.lost_since(0), 17.0);
    EXPECT_DOUBLE_EQ(s.lost_since(105), 13.0);
}

TEST(StallLog, TheFirstTickIsNotAStall) {
    StallLog s;
    s.tick(1e6, 1.0);
    EXPECT_EQ(s.lost_since(0), 0.0);
}

TEST(StallLog, KeepsTheLatestStallsWhenFull) {
    StallLog s;
    double t = 0;
    for (int i = 0; i < 100; ++i) {  // 100 stalls of 2 s (3 s apart)
        s.tick(t, 1.0);
        t += 3;
    }
    // The ring keeps the last 64: 64 x 2 s.
    EXPECT_DOUBLE_EQ(s.lost_since(0), 128.0);
    EXPECT_DOUBLE_EQ(s.lost_since(t - 3.5), 0.5);  // the last, [295, 297], after 296.5
}

}  // namespace
