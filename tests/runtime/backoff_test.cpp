// Reconnect delays: bounded, growing to a cap, and different per process so
// that workers do not retry in lock step.
#include "runtime/backoff.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

using pusher::runtime::Backoff;

namespace {

std::vector<double> draws(Backoff& b, int n) {
    std::vector<double> out;
    for (int i = 0; i < n; ++i) out.push_back(b.next());
    return out;
}

TEST(Backoff, DifferentSeedsGiveDifferentDelays) {
    Backoff a(1), b(2), a_again(1);
    auto da = draws(a, 8);
    EXPECT_NE(da, draws(b, 8));
    EXPECT_EQ(da, draws(a_again, 8));  // the seed alone decides
}

TEST(Backoff, DelaysAreBoundedAndTheBoundGrowsToTheCap) {
    EXPECT_DOUBLE_EQ(Backoff::ceiling(0), Backoff::kBase);
    EXPECT_DOUBLE_EQ(Backoff::ceiling(1), 2 * Backoff::kBase);
    EXPECT_DOUBLE_EQ(Backoff::ceiling(100), Backoff::kCap);
    EXPECT_LT(Backoff::kCap, 3.0);  // below the channel server's start-up grace
    double highest = 0;
    for (uint64_t seed = 0; seed < 200; ++seed) {
        Backoff b(seed);
        for (unsigned attempt = 0; attempt < 70; ++attempt) {
            double d = b.next();
            ASSERT_GE(d, 0.0);
            ASSERT_LT(d, Backoff::ceiling(attempt)) << "seed " << seed << " attempt " << attempt;
            if (attempt > 10) highest = std::max(highest, d);
        }
    }
    EXPECT_GT(highest, Backoff::kCap * 0.9);  // full jitter spans the whole range
}

TEST(Backoff, ResetStartsTheNextOutageFromTheBase) {
    Backoff b(7);
    for (int i = 0; i < 10; ++i) b.next();
    EXPECT_EQ(b.attempt(), 10u);
    b.reset();
    EXPECT_EQ(b.attempt(), 0u);
    EXPECT_LT(b.next(), Backoff::kBase);
}

// Two workers forked from one master: each seeds its own generator. (An
// unseeded rand() gave every forked worker the same sequence.)
TEST(Backoff, ForkedProcessesDrawDifferentDelays) {
    double got[2] = {0, 0};
    for (double& d : got) {
        int fds[2];
        ASSERT_EQ(pipe(fds), 0);
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            Backoff b;
            double v = b.next();
            _exit(write(fds[1], &v, sizeof v) == sizeof v ? 0 : 1);
        }
        close(fds[1]);
        ASSERT_EQ(read(fds[0], &d, sizeof d), static_cast<ssize_t>(sizeof d));
        close(fds[0]);
        int status = 0;
        waitpid(pid, &status, 0);
    }
    EXPECT_NE(got[0], got[1]);
}

}  // namespace
