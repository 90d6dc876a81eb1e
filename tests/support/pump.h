// Drives a libevent loop from the test thread until a condition holds, with a
// deadline: no threads, no sleeps standing in for events.
#pragma once
#include <event2/event.h>

#include <chrono>
#include <functional>
#include <string>

namespace pusher::testing {

inline bool pump_until(event_base* base, const std::function<bool()>& done, int ms = 3000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!done()) {
        if (std::chrono::steady_clock::now() > end) return false;
        event_base_loop(base, EVLOOP_NONBLOCK);
    }
    return true;
}

// A blocking-free loopback TCP client socket for raw-byte tests.
int dial(int port, const char* host = "127.0.0.1");
// Reads what is available into *out until want bytes, EOF, or the deadline;
// pumping base meanwhile so an in-process server can answer. Returns false on EOF.
bool read_pumped(event_base* base, int fd, std::string* out, size_t want, int ms = 3000);
// A free ephemeral port (bound then released).
int free_port();

}  // namespace pusher::testing
