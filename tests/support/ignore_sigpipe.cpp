// Every test binary writes to sockets whose peer may be gone; like the server,
// it wants EPIPE from write() rather than death by SIGPIPE.
#include <csignal>

namespace {
struct IgnoreSigpipe {
    IgnoreSigpipe() { std::signal(SIGPIPE, SIG_IGN); }
} ignore_sigpipe;
}  // namespace
