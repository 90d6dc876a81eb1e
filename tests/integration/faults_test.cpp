// Faults with real processes: the bus dies and comes back; a ws worker is killed under load.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
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
    p.expect_worker_deaths(1);  // the channel worker, kill -9
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
    EXPECT_TRUE(why.find("not connected to the bus") != std::string::npos ||
                why.find("ChannelServer[0] is not running") != std::string::npos)
        << why;
    EXPECT_EQ(p.http_get("/?content=during-outage"), "ok");
    ASSERT_TRUE(until([&] { return health(p) == 200; }, 5000));
    EXPECT_EQ(c.recv_text(5000), "during-outage");
    EXPECT_EQ(p.http_get("/?content=after"), "ok");
    EXPECT_EQ(c.recv_text(), "after");
    EXPECT_NE(pid_of(p, "ChannelServer"), chan);
}

// kill -9 of a ws worker under a steady broadcast: the other worker's clients
// get every message in order, the victim's see their connection end after an
// unbroken prefix, and they reconnect and are served again.
TEST(Faults, KilledWsWorkerUnderLoadDisturbsNoOtherClient) {
    PusherInstance p;
    p.expect_worker_deaths(1);  // the victim, kill -9
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(until([&] { return health(p) == 200; }, 5000));
    const int kClients = 40, kMessages = 200, kKillAt = 80;
    std::vector<std::unique_ptr<WsClient>> clients;
    std::vector<int> worker(kClients, -1);
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<WsClient>());
        ASSERT_TRUE(clients.back()->connect("127.0.0.1", p.ws_port));
        sscanf(clients.back()->recv_text().c_str(), "workerID:%d", &worker[i]);
    }
    ASSERT_GT(std::count(worker.begin(), worker.end(), 0), 0);
    ASSERT_GT(std::count(worker.begin(), worker.end(), 1), 0);
    // Each reader records how many messages it got in order before anything else.
    std::vector<int> in_order(kClients, 0), ended(kClients, 0);
    std::vector<std::thread> readers;
    for (int i = 0; i < kClients; ++i)
        readers.emplace_back([&, i] {
            while (in_order[i] < kMessages) {
                WsFrame f = clients[i]->recv(5000);
                if (f.opcode != 0x1 || f.payload != "k" + std::to_string(in_order[i])) {
                    ended[i] = f.opcode == -2;  // the connection ended (not a timeout)
                    return;
                }
                ++in_order[i];
            }
        });
    int victim = p.worker_pid("pusher", 0);
    ASSERT_GT(victim, 0);
    auto next = std::chrono::steady_clock::now();
    for (int m = 0; m < kMessages; ++m) {
        std::this_thread::sleep_until(next);  // a steady 200 msg/s, not a synchronisation
        next += std::chrono::milliseconds(5);
        if (m == kKillAt) kill(victim, SIGKILL);
        ASSERT_EQ(p.http_get("/?content=k" + std::to_string(m)), "ok");
    }
    for (auto& t : readers) t.join();
    for (int i = 0; i < kClients; ++i) {
        if (worker[i] == 1) {
            EXPECT_EQ(in_order[i], kMessages) << "client " << i << " of the surviving worker";
        } else {
            EXPECT_TRUE(ended[i]) << "client " << i << " of the killed worker";
            EXPECT_LT(in_order[i], kMessages);
        }
    }
    // The victim's clients reconnect (the master keeps worker 0's socket, so a
    // connect never fails; the re-forked worker 0 or worker 1 greets it).
    ASSERT_TRUE(until([&] { return health(p) == 200; }, 5000));
    for (int i = 0; i < kClients; ++i) {
        if (worker[i] == 1) continue;
        clients[i] = std::make_unique<WsClient>();
        ASSERT_TRUE(clients[i]->connect("127.0.0.1", p.ws_port));
        EXPECT_EQ(clients[i]->recv_text(5000).rfind("workerID:", 0), 0u);
    }
    EXPECT_NE(p.worker_pid("pusher", 0), victim);
    EXPECT_EQ(p.http_get("/?content=after"), "ok");
    for (int i = 0; i < kClients; ++i) {
        // The bus is in its first 3 s (start-up grace): it replays that
        // window's events to the re-forked worker 0 when it subscribes, so
        // its new clients may first get some k-messages, in order.
        std::string m = clients[i]->recv_text();
        for (long last = -1; worker[i] == 0 && m[0] == 'k'; m = clients[i]->recv_text()) {
            long k = atol(m.c_str() + 1);
            EXPECT_GT(k, last) << "client " << i;
            last = k;
        }
        EXPECT_EQ(m, "after") << "client " << i;
    }
}

}  // namespace
