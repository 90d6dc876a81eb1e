// Issue #11's "crash-proof" items that only the real binary shows: a config
// that would fail open is refused at start, the HTTP publish API refuses
// content a browser cannot take, and a hostile peer cannot fill the log.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "tests/support/pump.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;

namespace {

TEST(ChannelAllowConfig, AMalformedRuleStopsTheStart) {
    for (const char* rule : {"10.0.0.0/", "x/abc", "10.0.0.0/33"}) {
        PusherInstance p(std::string("\"channel_allow\": [\"127.0.0.1\", \"") + rule + "\"],");
        CmdResult r = p.start();
        EXPECT_NE(r.code, 0) << rule;
        EXPECT_NE(r.out.find(std::string("config: channel_allow: \"") + rule + "\""),
                  std::string::npos)
            << r.out;
        EXPECT_EQ(http_request("127.0.0.1", p.http_port, "GET / HTTP/1.0\r\n\r\n"), "")
            << rule << ": the publisher is listening";
    }
}

TEST(ChannelAllowConfig, GoodRulesStart) {
    PusherInstance p("\"channel_allow\": [\"127.0.0.0/8\", \"::1\", \"fd00::/8\"],");
    ASSERT_EQ(p.start().code, 0);
    EXPECT_TRUE(p.wait_healthy());
}

}  // namespace
