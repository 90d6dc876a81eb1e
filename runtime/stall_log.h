// When this loop fell behind: turns that ran long (a fan-out to many
// clients, a stopped process, a swapped-out page). A timeout that judges a
// peer by its silence must not count the time the loop itself was not
// listening: the peer's answer may be waiting, unread, in our own socket
// buffer (docs/ARCHITECTURE.md "Keep-alive"). A periodic timer reports each
// firing; one that comes more than two periods after the last records the
// gap (a loaded loop that is merely late by a fraction of a second keeps
// up, and its deadlines must not stretch).
#pragma once
#include <array>
#include <cstddef>

namespace pusher::runtime {

class StallLog {
  public:
    // The periodic timer of `period` seconds fired at `now`.
    void tick(double now, double period) {
        if (last_ >= 0 && now - last_ > 2 * period) record(last_ + period, now);
        last_ = now;
    }
    // Seconds of stall after t (the parts of recorded stalls later than t).
    double lost_since(double t) const {
        double lost = 0;
        for (size_t i = 0; i < n_; ++i) {
            const Stall& s = ring_[i];
            if (s.to > t) lost += s.to - (s.from > t ? s.from : t);
        }
        return lost;
    }

  private:
    // A silence is judged over at most idle_timeout seconds: old entries
    // are overwritten after they stop mattering, unless the loop is late
    // more often than every idle_timeout / 64 s (then the oldest are
    // forgotten, and a close may come that much sooner).
    struct Stall {
        double from, to;
    };
    void record(double from, double to) {
        ring_[next_] = Stall{from, to};
        next_ = (next_ + 1) % ring_.size();
        if (n_ < ring_.size()) ++n_;
    }
    std::array<Stall, 64> ring_{};
    size_t n_ = 0, next_ = 0;
    double last_ = -1;
};

}  // namespace pusher::runtime
