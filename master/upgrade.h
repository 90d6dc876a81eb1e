// Binary upgrade (`pusher upgrade`, docs/OPERATIONS.md "Upgrade"): the master
// re-executes itself from the binary on disk, keeping its pid, its listening
// sockets, its workers and the status region, and then reloads every
// reloadable worker with hand-over so they run the new code too. Before it
// executes anything it runs the new binary's `upgrade-check`, which loads the
// config the way a start would: a binary that fails that, whose listeners or
// status layout differ, or that does not answer in time, is refused with the
// reason logged, and the old master goes on as if nothing happened.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "runtime/config.h"

namespace pusher::master {

// What the old master image passes to the new one (an environment variable).
struct UpgradeState {
    int lock_fd = -1;  // the pid file's lock
    int old_exe_fd = -1;  // the old image's binary, open: a resume that fails runs it again
    struct Slot {
        int listen_fd = -1, control_fd = -1;
        pid_t pid = 0;
    };
    std::vector<Slot> slots;
};
constexpr const char* kUpgradeEnv = "PUSHER_UPGRADE_STATE";
// Set when a new image could not take over and executed the old one again:
// why (the old image reports the upgrade as refused).
constexpr const char* kRollbackEnv = "PUSHER_UPGRADE_ROLLBACK";
std::string encode_upgrade_state(const UpgradeState& s);
bool decode_upgrade_state(const std::string& text, UpgradeState* s);

// The binary this process was started from (/proc/self/exe, read at start:
// after the file is replaced it reads "... (deleted)").
std::string self_exe();
// The listeners and status layout a running master shares with its successor.
std::string upgrade_layout(const runtime::Config& c);
// Runs `exe upgrade-check [-c config_file]`; true when it answered with our
// layout, and *version is the build it reports. Bounded by timeout seconds.
bool check_new_binary(const std::string& exe, const std::string& config_file,
                      const std::string& layout, double timeout, std::string* version,
                      std::string* error);
// The check's side: prints "ok <version> <layout>".
int upgrade_check_main(const runtime::Config& c);

}  // namespace pusher::master
