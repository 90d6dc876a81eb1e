#include "runtime/backoff.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace pusher::runtime {

double Backoff::ceiling(unsigned attempt) {
    // 2^16 * base is far above the cap: no need to shift further (or overflow).
    return std::min(kCap, kBase * static_cast<double>(1u << std::min(attempt, 16u)));
}

double Backoff::next() {
    std::uniform_real_distribution<double> draw(0.0, ceiling(attempt_));
    if (attempt_ < 64) ++attempt_;
    return draw(rng_);
}

uint64_t Backoff::process_seed() {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof seed))
        return seed;
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    return static_cast<uint64_t>(now) ^ (static_cast<uint64_t>(getpid()) << 32);
}

}  // namespace pusher::runtime
