#include "worker/log.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace pusher::worker {

void log_line(const std::string& msg) {
    time_t t = time(nullptr);
    tm lt{};
    localtime_r(&t, &lt);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &lt);
    // One fprintf per line: lines from several processes do not interleave.
    fprintf(stderr, "%s pid:%d %s\n", stamp, static_cast<int>(getpid()), msg.c_str());
}

void log_peer(const std::string& msg) {
    log_line(msg);
}

}  // namespace pusher::worker
