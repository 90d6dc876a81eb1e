// Faults with real processes: the bus dies and comes back.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;

namespace {

int health(const PusherInstance& p) {
    int status = 0;
    p.http_get("/healthz", &status);
    return status;
}

bool until(const std::function<bool()>& f, int ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!f()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling other processes
    }
    return true;
}

int pid_of(PusherInstance& p, const std::string& name) {
    return p.worker_pid(name);
}

TEST(Faults, ChannelKilledHealthTurnsRedThenGreenAndNothingAcceptedIsLost) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(until([&] { return health(p) == 200; }, 5000));
    WsClient c;
    ASSERT_TRUE(c.connect("127.0.0.1", p.ws_port));
    c.recv_text();
    int chan = pid_of(p, "ChannelServer");
    ASSERT_GT(chan, 0);
    kill(chan, SIGKILL);
    // The classic failure is a green health check while nothing arrives: it must go red.
    std::string why;
    ASSERT_TRUE(until(
        [&] {
            int status = 0;
            why = p.http_get("/healthz", &status);
            return status == 503;
        },
        3000));
    EXPECT_TRUE(why.find("not connected to the channel bus") != std::string::npos ||
                why.find("ChannelServer[0] is not running") != std::string::npos)
        << why;
    EXPECT_EQ(p.http_get("/?content=during-outage"), "ok");
    ASSERT_TRUE(until([&] { return health(p) == 200; }, 5000));
    EXPECT_EQ(c.recv_text(5000), "during-outage");
    EXPECT_EQ(p.http_get("/?content=after"), "ok");
    EXPECT_EQ(c.recv_text(), "after");
    EXPECT_NE(pid_of(p, "ChannelServer"), chan);
}

TEST(Faults, KilledWsWorkerDisturbsNoOtherClient) {
    PusherInstance p;
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(until([&] { return health(p) == 200; }, 5000));
    std::vector<std::unique_ptr<WsClient>> clients;
    std::vector<int> worker;
    for (int i = 0; i < 10; ++i) {
        clients.push_back(std::make_unique<WsClient>());
        ASSERT_TRUE(clients.back()->connect("127.0.0.1", p.ws_port));
        int w = -1;
        sscanf(clients.back()->recv_text().c_str(), "workerID:%d", &w);
        worker.push_back(w);
    }
    int victim_pid = p.worker_pid("pusher", 0);
    ASSERT_GT(victim_pid, 0);
    kill(victim_pid, SIGKILL);
    ASSERT_TRUE(until([&] { return health(p) == 200 && pid_of(p, "pusher") != 0; }, 5000));
    EXPECT_EQ(p.http_get("/?content=still-here"), "ok");
    for (size_t i = 0; i < clients.size(); ++i) {
        if (worker[i] == 0)
            EXPECT_EQ(clients[i]->recv(2000).opcode, -2);  // dropped with its worker
        else
            EXPECT_EQ(clients[i]->recv_text(), "still-here");
    }
}

}  // namespace
