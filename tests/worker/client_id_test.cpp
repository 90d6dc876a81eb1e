#include "worker/client_id.h"

#include <gtest/gtest.h>

using pusher::worker::ClientId;

TEST(ClientId, RoundTripsWithDashesInTheNode) {
    ClientId id{"ws-host-2", 3, 42, 0xdeadbeef00112233ULL};
    std::string s = id.str();
    EXPECT_EQ(s, "ws-host-2-3-42-deadbeef00112233");
    auto back = ClientId::parse(s);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->node, "ws-host-2");
    EXPECT_EQ(back->worker_id, 3);
    EXPECT_EQ(back->connection_id, 42u);
    EXPECT_EQ(back->instance, 0xdeadbeef00112233ULL);
    EXPECT_EQ(back->channel(), "client:ws-host-2:3");
}

TEST(ClientId, RejectsMalformed) {
    for (const char* bad : {"", "abc", "-1-2-3", "n-x-2-3", "n-1-2-zz", "n-1--3", "n-99999-1-1",
                            "n-1-+2-3", "n-1-2-"}) {
        EXPECT_FALSE(ClientId::parse(bad)) << bad;
    }
}
