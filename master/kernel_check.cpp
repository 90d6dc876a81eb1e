#include "master/kernel_check.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "runtime/listen_socket.h"

namespace pusher::master {

namespace {

const char kFileMax[] = "/proc/sys/fs/file-max";
const char kNrOpen[] = "/proc/sys/fs/nr_open";
const char kSomaxconn[] = "/proc/sys/net/core/somaxconn";
const char kTcpMem[] = "/proc/sys/net/ipv4/tcp_mem";

std::string num(uint64_t n) {
    return std::to_string(n);
}

// max_connections may be any positive int64: sums saturate instead of wrapping
// into a small number that would pass every check.
uint64_t add(uint64_t a, uint64_t b) {
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}
uint64_t mul(uint64_t a, uint64_t b) {
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

// The numbers a /proc/sys file holds, in order; nullopt when it holds
// anything else (then the check is skipped with a note, never guessed).
std::optional<std::vector<uint64_t>> numbers(const std::string& text) {
    std::istringstream in(text);
    std::vector<uint64_t> out;
    std::string word;
    while (in >> word) {
        if (word.find_first_not_of("0123456789") != std::string::npos || word.size() > 19)
            return std::nullopt;
        out.push_back(std::stoull(word));
    }
    if (out.empty()) return std::nullopt;
    return out;
}

// The value at `index` of a setting, or nullopt with a note saying why not.
std::optional<uint64_t> value(const std::optional<std::string>& text, const char* path,
                              size_t index, KernelReport* r) {
    if (!text) {
        r->notes.push_back(std::string("kernel: could not read ") + path + ": not checked");
        return std::nullopt;
    }
    auto v = numbers(*text);
    if (!v || v->size() <= index) {
        std::string shown = text->substr(0, text->find('\n'));
        r->notes.push_back(std::string("kernel: ") + path + " holds \"" + shown +
                           "\", not what was expected: not checked");
        return std::nullopt;
    }
    return (*v)[index];
}

void check_nofile(const runtime::Config& c, const Capacity& cap, const KernelSettings& k,
                  KernelReport* r) {
    if (!k.nofile_soft || *k.nofile_soft >= cap.per_process_fds) return;
    r->warnings.push_back(
        "WARNING: kernel: the open files limit (ulimit -n) is " + num(*k.nofile_soft) +
        ", below max_connections " + num(c.limits.max_connections) + " + " + num(kFdReserve) +
        " descriptors a worker keeps for itself: a worker runs out of descriptors short of "
        "max_connections, then refuses connections and pauses accepting (accept_fail in status, "
        "pusher_accept_fail_total). Raise ulimit -n (LimitNOFILE= under systemd) to " +
        num(cap.per_process_fds) + " or more");
}

void check_nr_open(const Capacity& cap, const KernelSettings& k, KernelReport* r) {
    auto v = value(k.nr_open, kNrOpen, 0, r);
    if (!v || *v >= cap.per_process_fds) return;
    r->warnings.push_back("WARNING: kernel: fs.nr_open is " + num(*v) + ", below the " +
                          num(cap.per_process_fds) +
                          " descriptors a worker may need (max_connections + " + num(kFdReserve) +
                          "): no process can raise ulimit -n that far (a systemd LimitNOFILE= "
                          "above it fails the unit). Raise fs.nr_open to " +
                          num(cap.per_process_fds) + " or more");
}

void check_file_max(const Capacity& cap, const KernelSettings& k, KernelReport* r) {
    auto v = value(k.file_max, kFileMax, 0, r);
    if (!v || *v >= cap.total_fds) return;
    r->warnings.push_back(
        "WARNING: kernel: fs.file-max is " + num(*v) + ", below the " + num(cap.total_fds) +
        " descriptors this configuration may hold (" + num(cap.connections) + " connections + " +
        num(kFdReserve) +
        " per process), and every other process on the host shares it: past it the kernel "
        "refuses new files to all of them (ENFILE) and workers pause accepting (accept_fail). "
        "Raise fs.file-max to " +
        num(cap.total_fds) + " or more");
}

// A worker never holds more than max_connections, so an accept queue that
// long cannot overflow however fast clients reconnect.
void check_somaxconn(const runtime::Config& c, const KernelSettings& k, KernelReport* r) {
    auto v = value(k.somaxconn, kSomaxconn, 0, r);
    uint64_t need = std::min<uint64_t>(runtime::kListenBacklog, c.limits.max_connections);
    if (!v || *v >= need) return;
    r->warnings.push_back(
        "WARNING: kernel: net.core.somaxconn is " + num(*v) +
        ": each listening socket's accept queue holds " + num(*v) + ", not the " +
        num(runtime::kListenBacklog) +
        " pusher asks for (the kernel caps it silently), short of "
        "max_connections " +
        num(c.limits.max_connections) +
        ": a connect storm (every client reconnecting at once) overflows it, the kernel drops "
        "those SYNs and the clients retry 1 s, 3 s, 7 s later (nstat -az TcpExtListenOverflows). "
        "Raise net.core.somaxconn to " +
        num(need) + " or more");
}

void check_tcp_mem(const Capacity& cap, const KernelSettings& k, KernelReport* r) {
    auto max = value(k.tcp_mem, kTcpMem, 2, r);
    uint64_t need = mul(cap.connections, kTcpPagesPerBusyConnection);
    if (!max || *max >= need) return;
    char gib[32];
    snprintf(gib, sizeof gib, "%.1f", static_cast<double>(*max) * k.page_size / (1ull << 30));
    r->warnings.push_back(
        "WARNING: kernel: net.ipv4.tcp_mem lets TCP buffers take at most " + num(*max) +
        " pages (" + gib + " GiB), below the " + num(need) + " pages of " + num(cap.connections) +
        " connections with a message in flight each (a broadcast): past it each socket is held "
        "to about 4 KiB queued, the rest waits in pusher's send queues (slow clients dropped at "
        "max_send_queue), closing connections are reset and the kernel logs \"TCP: out of memory "
        "-- consider tuning tcp_mem\". Raise the third value of net.ipv4.tcp_mem to " +
        num(need) + " or more");
}

std::optional<std::string> read_text(const char* path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return s.str();
}

}  // namespace

Capacity capacity(const runtime::Config& c) {
    Capacity cap;
    uint64_t processes = 1;  // the master
    for (const auto& s : c.services) {
        processes += static_cast<uint64_t>(s.count);
        // The channel service's peers are bus links, a few per worker: its reserve covers them.
        if (s.type == runtime::ServiceType::Channel) continue;
        cap.connections =
            add(cap.connections, mul(static_cast<uint64_t>(s.count), c.limits.max_connections));
        cap.per_process_fds = add(c.limits.max_connections, kFdReserve);
    }
    cap.total_fds = add(cap.connections, mul(processes, kFdReserve));
    return cap;
}

KernelReport kernel_report(const runtime::Config& c, const KernelSettings& k) {
    KernelReport r;
    Capacity cap = capacity(c);
    if (cap.connections == 0) return r;  // a channel-only host holds a few bus links
    check_nofile(c, cap, k, &r);
    check_nr_open(cap, k, &r);
    check_file_max(cap, k, &r);
    check_somaxconn(c, k, &r);
    check_tcp_mem(cap, k, &r);
    return r;
}

KernelSettings read_kernel_settings() {
    KernelSettings k;
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        k.nofile_soft = rl.rlim_cur;
    k.file_max = read_text(kFileMax);
    k.nr_open = read_text(kNrOpen);
    k.somaxconn = read_text(kSomaxconn);
    k.tcp_mem = read_text(kTcpMem);
    long page = sysconf(_SC_PAGESIZE);
    if (page > 0) k.page_size = static_cast<uint64_t>(page);
    return k;
}

}  // namespace pusher::master
