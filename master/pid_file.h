// The master's pid file, and the lock that says it is in use. The master
// holds an exclusive flock() on the file for its whole life, so "running"
// means the lock is held: a file left behind by a crash (whatever pid it
// names, even a live one reused by another program) is not locked and is
// taken over, and two masters can never share one file.
#pragma once
#include <sys/types.h>

#include <string>

namespace pusher::master {

pid_t read_pid_file(const std::string& path);  // 0 if absent or unreadable
// Exists and is not a zombie (a daemon's parent, init, may reap it late).
bool process_alive(pid_t pid);
// The pid in the file while its lock is held and it names a live pusher
// process; else 0.
pid_t running_master(const std::string& path);
// Creates the file if needed and locks it. Returns the descriptor, which must
// stay open for as long as the master runs (close it in every worker), or -1
// with *error, e.g. "pusher already running (pid 123)".
int lock_pid_file(const std::string& path, std::string* error);
// Replaces the locked file's content with pid.
bool write_pid(int fd, const std::string& path, pid_t pid, std::string* error);

}  // namespace pusher::master
