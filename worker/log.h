// Log lines in Workerman's format: "Y-m-d H:i:s pid:<pid> <msg>". Workers
// write to stderr, which the master points at the log file when daemonized.
#pragma once
#include <string>

namespace pusher::worker {

void log_line(const std::string& msg);
// A line about one peer's misbehaviour; rate-limited so that a hostile peer
// cannot fill the disk.
void log_peer(const std::string& msg);

}  // namespace pusher::worker
