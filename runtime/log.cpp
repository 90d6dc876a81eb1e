#include "runtime/log.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace pusher::runtime {

void log_line(const std::string& msg) {
    time_t t = time(nullptr);
    tm lt{};
    localtime_r(&t, &lt);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &lt);
    // One fprintf per line: lines from several processes do not interleave.
    fprintf(stderr, "%s pid:%d %s\n", stamp, static_cast<int>(getpid()), msg.c_str());
}

LineLimiter::Verdict LineLimiter::admit(double now) {
    if (last_ >= 0 && now > last_) tokens_ = std::min(burst_, tokens_ + (now - last_) * rate_);
    last_ = now;
    Verdict v;
    if (tokens_ < 1) {
        v.started_dropping = dropped_ == 0;
        ++dropped_;
        ++dropped_total_;
        return v;
    }
    tokens_ -= 1;
    v.write = true;
    v.dropped_before = dropped_;
    dropped_ = 0;
    return v;
}

static double monotonic_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void log_peer(const std::string& msg) {
    // Per process: a worker forked from the master starts with its own copy.
    static LineLimiter limiter(kPeerLinesPerSecond, kPeerBurst);
    LineLimiter::Verdict v = limiter.admit(monotonic_seconds());
    if (v.started_dropping)
        log_line("log: more than " + std::to_string(static_cast<int>(kPeerLinesPerSecond)) +
                 " lines a second about peers, suppressing similar lines");
    if (v.dropped_before > 0)
        log_line("log: suppressed " + std::to_string(v.dropped_before) + " similar lines");
    if (v.write) log_line(msg);
}

}  // namespace pusher::runtime
