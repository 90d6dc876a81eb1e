// The status region is read by CLIs of whatever version is installed: one that
// does not match the layout refuses to read it rather than misread it.
#include "runtime/stats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

using namespace pusher::runtime;

TEST(StatsRegion, AnotherVersionsLayoutIsRefusedWithAReason) {
    char tmpl[] = "/tmp/pusher-stats-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string path = std::string(tmpl) + "/s.stats";
    std::string error;
    StatsRegion* r = stats_create(path, &error);
    ASSERT_NE(r, nullptr) << error;
    const StatsRegion* same = stats_open(path, &error);
    ASSERT_NE(same, nullptr) << error;
    stats_close(same);
    r->version = kStatsVersion - 1;  // a region laid out by an older binary
    EXPECT_EQ(stats_open(path, &error), nullptr);
    EXPECT_NE(error.find("another pusher version"), std::string::npos) << error;
    stats_close(r);
    unlink(path.c_str());
    rmdir(tmpl);
}
