// Many WebSocket clients read by one thread with epoll, for tests that need a
// thousand steady readers without a thousand threads. Every client expects the
// same broadcast: text frames "s<seq>t<ns>..." with seq 0, 1, 2... and ns the
// CLOCK_MONOTONIC time of the publish. The fleet checks each client gets each
// seq once and in order, and records every delivery's latency.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pusher::testing {

int64_t monotonic_ns();  // CLOCK_MONOTONIC, the clock of the frames' timestamps
// The content of broadcast `seq`, padded with 'p' to `size` bytes (URL-safe).
std::string fleet_message(long seq, size_t size);

class WsFleet {
  public:
    WsFleet() = default;
    ~WsFleet();
    WsFleet(const WsFleet&) = delete;
    WsFleet& operator=(const WsFleet&) = delete;

    // Connects n clients (handshake and welcome checked) and starts reading.
    bool connect(const std::string& host, int port, int n);
    // Blocks until every client has received seq 0..last, one fails, or the timeout.
    bool wait_for(long last, int timeout_ms);
    void stop();  // stops the reader; the sockets stay open until destruction

    std::string error();  // the first failure; "" while all is well
    // Latencies in microseconds of every delivery of seq in [from, to), sorted.
    std::vector<int64_t> latencies_us(long from, long to);

  private:
    struct Client {
        int fd = -1;
        long next = 0;  // the seq expected next
        bool failed = false;
        std::string buf;
    };
    struct Sample {
        int32_t seq;
        int32_t us;
    };
    void run();
    void read_client(Client& c, int index);
    void frame(Client& c, int index, uint8_t opcode, const char* p, size_t n, int64_t now);
    void fail(Client& c, int index, const std::string& why);

    std::vector<Client> clients_;
    int epoll_ = -1, wake_ = -1;
    std::thread reader_;
    std::mutex mu_;  // guards everything below, and the clients while reading
    std::condition_variable cv_;
    std::vector<int> got_;   // got_[seq]: clients that have it
    long all_through_ = -1;  // every client has seq 0..all_through_
    std::vector<Sample> samples_;
    std::string error_;
};

}  // namespace pusher::testing
