// The kernel settings that bound how many connections this host can hold
// (docs/CONFIG.md "Kernel settings for many connections"), compared at
// `pusher start` with what the configuration asks for. A setting that is too
// low is a WARNING, never a refusal: the operator may mean it (a test box).
//
// kernel_report() is pure: it takes the contents of the /proc files and the
// descriptor limit, so tests feed it any kernel. read_kernel_settings() is
// the only part that looks at this host.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/config.h"

namespace pusher::master {

// The descriptors a worker keeps beside its clients: runtime::kFdReserve.
using runtime::kFdReserve;

// Socket memory a connection with data in flight holds in tcp_mem: the
// kernel charges socket buffers in whole pages, and a broadcast leaves every
// client a small message queued until it is acknowledged. Idle connections
// (empty buffers) hold none, so this is the need at a broadcast, not at rest.
constexpr uint64_t kTcpPagesPerBusyConnection = 1;

// What read_kernel_settings() found; a file that could not be read is
// nullopt (a container may hide /proc/sys/net), and is then not checked.
struct KernelSettings {
    std::optional<uint64_t> nofile_soft;   // RLIMIT_NOFILE soft; nullopt: unlimited or unknown
    std::optional<std::string> file_max;   // /proc/sys/fs/file-max
    std::optional<std::string> nr_open;    // /proc/sys/fs/nr_open
    std::optional<std::string> somaxconn;  // /proc/sys/net/core/somaxconn
    std::optional<std::string> tcp_mem;    // /proc/sys/net/ipv4/tcp_mem: "min pressure max" pages
    uint64_t page_size = 4096;
};

struct KernelReport {
    std::vector<std::string> warnings;  // one line each, "WARNING: kernel: ..."
    std::vector<std::string> notes;     // settings that could not be read or parsed
};

// What the configuration may hold: the client connections of its websocket
// and http workers, and every process's descriptors.
struct Capacity {
    uint64_t connections = 0;      // sum of count x max_connections (websocket + http)
    uint64_t per_process_fds = 0;  // max_connections + kFdReserve (0: no client service)
    uint64_t total_fds = 0;        // every worker's and the master's descriptors
};
Capacity capacity(const runtime::Config& c);

KernelReport kernel_report(const runtime::Config& c, const KernelSettings& k);

// This host's settings: getrlimit() and the /proc/sys files above.
KernelSettings read_kernel_settings();

}  // namespace pusher::master
