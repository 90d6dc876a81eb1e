// Reading another process's CPU time and memory from /proc, for tests that
// check a worker stays idle or bounded.
#pragma once

namespace pusher::testing {

long cpu_ticks(int pid);  // utime + stime, in clock ticks (100 per core-second)
long rss_kib(int pid);    // VmRSS

}  // namespace pusher::testing
