// Reconnect delays of outgoing links (runtime/dialer.h): exponential back-off with full
// jitter (a uniform draw in [0, min(cap, base * 2^attempt)]), from a generator
// seeded per process. Every worker of every host computing the same delays
// (an unseeded rand() gives each forked process the same sequence) would
// knock on a restarted channel server in lock step.
#pragma once
#include <cstdint>
#include <random>

namespace pusher::runtime {

class Backoff {
  public:
    // The cap stays below the channel server's start-up grace (3 s), so a
    // worker re-subscribes within it and still gets the events it replays.
    static constexpr double kBase = 0.25;
    static constexpr double kCap = 2.0;

    explicit Backoff(uint64_t seed = process_seed()) : rng_(seed) {}

    // The delay before the next attempt; each call counts one more failure.
    double next();
    // After a successful connect: the next outage starts from the base again.
    void reset() { attempt_ = 0; }
    unsigned attempt() const { return attempt_; }
    // The upper bound of the draw for `attempt`.
    static double ceiling(unsigned attempt);

    // Kernel randomness (getrandom), or pid and clock when that fails: never
    // the same for two processes forked from one parent.
    static uint64_t process_seed();

  private:
    std::mt19937_64 rng_;
    unsigned attempt_ = 0;
};

}  // namespace pusher::runtime
