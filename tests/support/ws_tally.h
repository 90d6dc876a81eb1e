// Many WebSocket clients with JSON welcomes, read by one epoll thread, each
// recording every text frame it receives (and whether the server closed it):
// for tests of who got which push, at scale (thousands of clients, one thread).
// Unlike WsFleet it expects no particular messages; the test compares.
// Like a real client it answers every ping with a pong.
#pragma once
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pusher::testing {

class WsTally {
  public:
    WsTally() = default;
    ~WsTally();
    WsTally(const WsTally&) = delete;
    WsTally& operator=(const WsTally&) = delete;

    // Connects n more clients (handshake and JSON welcome read); before start().
    bool connect(const std::string& host, int port, int n);
    void start();  // starts reading
    void stop();   // stops reading; the sockets stay open until destruction
    size_t size() const { return clients_.size(); }
    const std::string& id(size_t i) const { return clients_[i].id; }  // its client_id
    int worker(size_t i) const { return clients_[i].worker; }
    // Blocks until every client got text `marker` (or was closed), or the timeout.
    bool wait_all(const std::string& marker, int timeout_ms);
    // The text frames client i got, in order (marker included).
    std::vector<std::string> got(size_t i);
    bool closed(size_t i);
    size_t pings(size_t i);       // pings client i got (and answered)
    size_t keepalives(size_t i);  // pings and unsolicited pongs (heartbeats) it got
    std::string error();  // the first protocol failure; "" while all is well

  private:
    struct Client {
        int fd = -1;
        std::string id, buf, marker_seen;
        int worker = -1;
        bool closed = false, done = false;
        size_t pings = 0, beats = 0;
        std::vector<std::string> got;
    };
    void run();
    void read_client(Client& c);

    std::vector<Client> clients_;
    int epoll_ = -1, wake_ = -1;
    std::thread reader_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::string marker_, error_;
    size_t done_ = 0;  // clients that got marker_ or were closed
};

}  // namespace pusher::testing
