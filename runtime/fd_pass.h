// One descriptor and one byte over a Unix socket (SCM_RIGHTS): how the master
// hands a worker the socket to its replacement (master/process_manager.cpp,
// worker/worker_main.cpp). Bulk transfers use FdLink (runtime/fd_link.h).
#pragma once
#include <sys/types.h>

namespace pusher::runtime {

// Sends `what` with fd attached (fd stays open here). false with errno set.
bool send_fd(int sock, char what, int fd);
// Reads one byte and the descriptor that came with it (*fd = -1 if none;
// received close-on-exec). Returns 1, 0 at EOF, -1 when nothing is there.
ssize_t recv_fd(int sock, char* what, int* fd);

}  // namespace pusher::runtime
