// The entry of a worker process. The master forks, then calls worker_run() in
// the child with the listening socket it created (and keeps open across
// re-forks, so no connect is refused while a worker is replaced).
//
// Signals a worker handles (as Workerman 5.x children do):
//   SIGINT, SIGTERM, SIGHUP  stop now: close every connection, exit 0
//   SIGQUIT, SIGUSR2         graceful: stop accepting, drain up to graceful_timeout, exit 0
//   SIGUSR1                  reload: same as stop (the master forks the replacement)
//   SIGIO                    write this worker's connection rows to ctx.connections_file
// A worker exits by itself when the master dies (PR_SET_PDEATHSIG + getppid check).
#pragma once
#include <string>

#include "runtime/service.h"

namespace pusher::worker {

// Runs the service's event loop until told to stop. Returns the process exit code.
int worker_run(const runtime::WorkerContext& ctx);

// One row of `connections`, tab separated, in this column order:
// pid worker_name worker_id connection_id protocol peer local bytes_in bytes_out send_q state
// [identity: a JSON object {"uid", "groups", "session"} of a ws client that has one]
std::string connection_row_header();

}  // namespace pusher::worker
