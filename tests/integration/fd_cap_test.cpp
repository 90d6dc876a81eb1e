// The real binary under a low `ulimit -n`: more clients than descriptors.
// Workers keep serving the clients they have, refuse the rest cleanly, count
// it, and do not spin.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/support/proc.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;

namespace {

TEST(FdCap, WorkersUnderALowUlimitServeWhatTheyHaveAndDoNotSpin) {
    // A max_connections above what the descriptors allow (the default fits
    // under `ulimit -n`): accept() itself fails with EMFILE.
    PusherInstance p("\"limits\": {\"max_connections\": 18000},");
    CmdResult r = run("ulimit -n 64 && " + pusher_bin() + " start -d -q -c " + p.config);
    ASSERT_EQ(r.code, 0) << r.out;
    ASSERT_TRUE(p.wait_healthy());
    std::vector<std::unique_ptr<WsClient>> clients;
    int refused = 0;
    for (int i = 0; i < 200; ++i) {
        auto c = std::make_unique<WsClient>();
        if (c->connect("127.0.0.1", p.ws_port) && !c->recv_text(1000).empty())
            clients.push_back(std::move(c));
        else
            ++refused;
    }
    EXPECT_GT(clients.size(), 50u);  // each of the 2 workers holds what its 64 descriptors allow
    EXPECT_GT(refused, 0);
    long rejected =
        p.worker_stat("pusher", 0, "accept_fail") + p.worker_stat("pusher", 1, "accept_fail");
    EXPECT_GT(rejected, 0);
    // Not spinning: the two ws workers together use well under a core.
    int w0 = p.worker_pid("pusher", 0), w1 = p.worker_pid("pusher", 1);
    long before = cpu_ticks(w0) + cpu_ticks(w1);
    std::this_thread::sleep_for(std::chrono::seconds(1));   // a measuring window, not a wait
    EXPECT_LT(cpu_ticks(w0) + cpu_ticks(w1) - before, 30);  // 100 ticks = one core-second
    // And the clients they hold are still served.
    EXPECT_EQ(p.http_get("/?content=still-served"), "ok");
    for (auto& c : clients) EXPECT_EQ(c->recv_text(), "still-served");
}

// The default max_connections is what `ulimit -n` leaves: clients beyond it
// are refused by the count, before accept() can fail.
TEST(FdCap, DefaultMaxConnectionsFollowsTheUlimit) {
    PusherInstance p;
    CmdResult r = run("ulimit -n 64 && " + pusher_bin() + " start -d -q -c " + p.config);
    ASSERT_EQ(r.code, 0) << r.out;
    ASSERT_TRUE(p.wait_healthy());
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < 100; ++i) {
        auto c = std::make_unique<WsClient>();
        if (c->connect("127.0.0.1", p.ws_port) && !c->recv_text(1000).empty())
            clients.push_back(std::move(c));
    }
    EXPECT_EQ(clients.size(), 64u);  // 2 workers x 32 (half of 64: the reserve would leave none)
    EXPECT_GT(p.worker_stat("pusher", 0, "rejected") + p.worker_stat("pusher", 1, "rejected"), 0);
    EXPECT_EQ(p.worker_stat("pusher", 0, "accept_fail") + p.worker_stat("pusher", 1, "accept_fail"),
              0);
}

}  // namespace
