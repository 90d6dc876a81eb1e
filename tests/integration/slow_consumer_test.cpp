// A client that stops reading must not grow the server's memory past its cap
// nor delay the others: it is dropped and counted.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "tests/support/proc.h"
#include "tests/support/pusher_instance.h"
#include "tests/support/ws_client.h"

using namespace pusher::testing;

namespace {

TEST(SlowConsumer, IsDroppedAndCountedWhileOthersGetEverything) {
    PusherInstance p("\"limits\": {\"max_send_queue\": 262144},", 1);
    ASSERT_EQ(p.start().code, 0);
    ASSERT_TRUE(p.wait_healthy());
    WsClient stalled;
    stalled.rcvbuf = 4096;
    ASSERT_TRUE(stalled.connect("127.0.0.1", p.ws_port));
    const int kHealthy = 20, kMessages = 3000;
    std::vector<std::unique_ptr<WsClient>> healthy;
    for (int i = 0; i < kHealthy; ++i) {
        healthy.push_back(std::make_unique<WsClient>());
        ASSERT_TRUE(healthy.back()->connect("127.0.0.1", p.ws_port));
        healthy.back()->recv_text();
    }
    std::atomic<int> complete{0};
    std::vector<std::thread> readers;
    for (auto& c : healthy)
        readers.emplace_back([&, cl = c.get()] {
            for (int i = 0; i < kMessages; ++i)
                if (cl->recv_text(5000).substr(0, 6) !=
                    "m" + std::to_string(100000 + i).substr(1, 5))
                    return;
            ++complete;
        });
    // Publish over one keep-alive connection: 3000 x 2 KiB.
    std::string pad(2048, 'p');
    int ws_pid = p.worker_pid("pusher", 0);
    long rss_peak = 0;
    {
        for (int i = 0; i < kMessages; ++i) {
            std::string content = "m" + std::to_string(100000 + i).substr(1, 5) + pad;
            std::string r = http_request(
                "127.0.0.1", p.http_port,
                "GET /?content=" + content + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            ASSERT_NE(r.find("\r\n\r\nok"), std::string::npos);
            if (i % 200 == 0) rss_peak = std::max(rss_peak, rss_kib(ws_pid));
        }
    }
    for (auto& t : readers) t.join();
    EXPECT_EQ(complete.load(), kHealthy);  // every healthy client got every message, in order
    // The stalled one was dropped: after draining what the kernel held, it sees the close.
    WsFrame f;
    int frames = 0;
    while ((f = stalled.recv(2000)).opcode >= 0) ++frames;
    EXPECT_EQ(f.opcode, -2) << "still open after " << frames << " frames";
    EXPECT_LT(frames, kMessages);
    EXPECT_EQ(p.worker_stat("pusher", 0, "dropped"), 1);  // counted, and visible in status
    // Bounded: the 6 MiB published never piled up in the worker.
    EXPECT_LT(rss_peak, 64 * 1024) << "KiB";
}

}  // namespace
