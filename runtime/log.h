// Log lines in Workerman's format: "Y-m-d H:i:s pid:<pid> <msg>". Workers
// write to stderr, which the master points at the log file when daemonized.
#pragma once
#include <cstdint>
#include <string>

namespace pusher::runtime {

void log_line(const std::string& msg);
// A line about one peer's misbehaviour; rate-limited so that a hostile peer
// cannot fill the disk.
void log_peer(const std::string& msg);

// For events a peer can cause at will (a bad request, a refused handshake, a
// peer outside the allowlist): at most kPeerBurst lines at once and
// kPeerLinesPerSecond on average per process, so a hostile peer cannot fill
// the disk. When lines start being dropped one line says so; the next line
// written is preceded by "log: suppressed K similar lines".
void log_peer(const std::string& msg);
constexpr double kPeerLinesPerSecond = 10;
constexpr double kPeerBurst = 20;

// A token bucket over a clock the caller supplies (seconds), so that tests
// can drive it. Not thread-safe: one per process, workers are single-threaded.
class LineLimiter {
  public:
    LineLimiter(double per_second, double burst)
        : rate_(per_second), burst_(burst), tokens_(burst) {}

    struct Verdict {
        bool write = false;             // write this line
        bool started_dropping = false;  // first line dropped after written ones
        uint64_t dropped_before = 0;    // lines dropped since the last written one
    };
    Verdict admit(double now);
    uint64_t dropped_total() const { return dropped_total_; }

  private:
    double rate_, burst_, tokens_;
    double last_ = -1;
    uint64_t dropped_ = 0, dropped_total_ = 0;
};

}  // namespace pusher::runtime
