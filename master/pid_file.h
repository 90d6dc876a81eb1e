// The master's pid file. "Running" means the pid exists AND is a pusher
// master (its /proc cmdline names pusher), so a stale file left by a crash,
// whose pid was reused by another program, is detected.
#pragma once
#include <sys/types.h>

#include <string>

namespace pusher::master {

pid_t read_pid_file(const std::string& path);  // 0 if absent or unreadable
bool is_pusher_master(pid_t pid);
// Exists and is not a zombie (a daemon's parent, init, may reap it late).
bool process_alive(pid_t pid);
pid_t running_master(const std::string& path);  // 0 unless a live master owns the file
bool write_pid_file(const std::string& path, pid_t pid, std::string* error);

}  // namespace pusher::master
