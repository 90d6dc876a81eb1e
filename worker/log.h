// Log lines in Workerman's format: "Y-m-d H:i:s pid:<pid> <msg>". Workers
// write to stderr, which the master points at the log file when daemonized.
#pragma once
#include <string>

namespace pusher::worker {

void log_line(const std::string& msg);

}  // namespace pusher::worker
