// FdLink (runtime/fd_link.h): framed messages with descriptors between two
// ends of a Unix socket, driven by one loop that the test pumps itself.
#include "runtime/fd_link.h"

#include <event2/event.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace pusher::runtime;

namespace {

struct FdLinkTest : ::testing::Test {
    Limits limits;
    Loop loop{nullptr, limits};
    std::vector<FdLink::Message> got;
    std::string closed_why;
    int batches = 0;
    std::unique_ptr<FdLink> a, b;

    void SetUp() override {
        int sv[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        a = std::make_unique<FdLink>(
            loop, sv[0], [](FdLink::Message&) {}, [](const std::string&) {});
        b = std::make_unique<FdLink>(
            loop, sv[1],
            [this](FdLink::Message& m) {
                got.push_back(m);
                for (int& f : m.fds) f = -1;  // taken: the copy in `got` owns them
            },
            [this](const std::string& why) { closed_why = why; });
        b->set_batch_end([this] { ++batches; });
    }
    void TearDown() override {
        for (FdLink::Message& m : got)
            for (int f : m.fds) close(f);
    }
    bool pump_until(const std::function<bool()>& done) {
        for (int i = 0; i < 100000 && !done(); ++i) event_base_loop(loop.base(), EVLOOP_NONBLOCK);
        return done();
    }
};

}  // namespace

TEST_F(FdLinkTest, DescriptorsArriveWithTheirMessageAndStillWork) {
    std::vector<int> sent, keep;
    for (int i = 0; i < 253; ++i) {
        int p[2];
        ASSERT_EQ(pipe(p), 0);
        sent.push_back(p[0]);
        keep.push_back(p[1]);
    }
    ASSERT_TRUE(a->send('C', "first", sent));  // the link closes our copies once in flight
    ASSERT_TRUE(a->send('X', ""));
    ASSERT_TRUE(pump_until([&] { return got.size() == 2; }));
    EXPECT_EQ(got[0].type, 'C');
    EXPECT_EQ(got[0].body, "first");
    ASSERT_EQ(got[0].fds.size(), 253u);
    EXPECT_TRUE(got[1].fds.empty());
    // Each received descriptor is the read end of the pipe we kept the write end of.
    for (size_t i = 0; i < keep.size(); i += 50) {
        ASSERT_EQ(write(keep[i], "z", 1), 1);
        char c = 0;
        EXPECT_EQ(read(got[0].fds[i], &c, 1), 1);
        EXPECT_EQ(c, 'z');
    }
    for (int f : keep) close(f);
    EXPECT_GE(batches, 1);
}

// Bigger than the socket buffer: the writer queues and goes on when writable.
TEST_F(FdLinkTest, LargeBodiesCrossAFullSocketIntact) {
    std::string big(3 << 20, 'q');
    big[12345] = 'x';
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(a->send('E', big));
    EXPECT_GT(a->queued_bytes(), 0u);  // the kernel did not take it all at once
    ASSERT_TRUE(pump_until([&] { return got.size() == 3; }));
    for (const FdLink::Message& m : got) EXPECT_EQ(m.body, big);
    EXPECT_EQ(a->queued_bytes(), 0u);
}

TEST_F(FdLinkTest, PeerGoneIsReportedOnce) {
    ASSERT_TRUE(a->send('D', "last"));
    a->close();
    ASSERT_TRUE(pump_until([&] { return !closed_why.empty(); }));
    ASSERT_EQ(got.size(), 1u);  // what was written before the close is read first
    EXPECT_EQ(got[0].body, "last");
    EXPECT_FALSE(b->open());
    EXPECT_FALSE(b->send('A', "1"));
}

TEST_F(FdLinkTest, AFrameNamingMissingDescriptorsClosesTheLink) {
    // A frame that says 2 descriptors but carries none.
    std::string frame("\x00\x00\x00\x00" "C" "\x02\x00", 7);
    int raw[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, raw), 0);
    std::string why;
    FdLink reader(loop, raw[1], [](FdLink::Message&) {}, [&](const std::string& w) { why = w; });
    ASSERT_EQ(write(raw[0], frame.data(), frame.size()), 7);
    ASSERT_TRUE(pump_until([&] { return !why.empty(); }));
    EXPECT_NE(why.find("descriptors missing"), std::string::npos) << why;
    close(raw[0]);
}
