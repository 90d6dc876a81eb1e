// Shared pieces of the benchmark tools (loadgen, kernel_floor): clocks, /proc readers,
// WebSocket frame encoding and the payload format. Header-only so each tool stays one
// compile command.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace bench {

// CLOCK_MONOTONIC is one clock for every process on the host, so a timestamp taken by the
// publisher (parent) can be compared with the receive time in a forked client process.
inline uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

[[noreturn]] inline void die(const char* what) {
    fprintf(stderr, "fatal: %s: %s\n", what, strerror(errno));
    exit(2);
}

inline void set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
}

// Whole file into a string (small /proc files only).
inline bool read_small_file(const std::string& path, std::string& out) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[4096];
    out.clear();
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, size_t(n));
    }
    close(fd);
    return true;
}

// utime+stime of one process in seconds; <0 when the process is gone. Field 2 (comm) may
// hold spaces and parentheses, so parse from the last ')'.
inline double proc_cpu_seconds(int pid) {
    std::string s;
    if (!read_small_file("/proc/" + std::to_string(pid) + "/stat", s)) return -1;
    size_t p = s.rfind(')');
    if (p == std::string::npos) return -1;
    // After ')' come fields 3.. ; utime is field 14, stime 15.
    const char* c = s.c_str() + p + 2;
    unsigned long long utime = 0, stime = 0;
    int field = 3;
    while (*c && field < 14) {
        if (*c == ' ') field++;
        c++;
    }
    if (sscanf(c, "%llu %llu", &utime, &stime) != 2) return -1;
    return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

// Resident set size of one process in bytes (from statm, pages); 0 when gone.
inline uint64_t proc_rss_bytes(int pid) {
    std::string s;
    if (!read_small_file("/proc/" + std::to_string(pid) + "/statm", s)) return 0;
    unsigned long long size = 0, resident = 0;
    if (sscanf(s.c_str(), "%llu %llu", &size, &resident) != 2) return 0;
    return resident * uint64_t(sysconf(_SC_PAGESIZE));
}

// Proportional set size in bytes (smaps_rollup): pages shared by forked workers count once in
// total, where RSS counts them in every process. 0 when unavailable.
inline uint64_t proc_pss_bytes(int pid) {
    std::string s;
    if (!read_small_file("/proc/" + std::to_string(pid) + "/smaps_rollup", s)) return 0;
    size_t p = s.find("\nPss:");
    if (p == std::string::npos) return 0;
    return uint64_t(strtoull(s.c_str() + p + 5, nullptr, 10)) * 1024;
}

// CPU-seconds the whole machine spent busy since boot (all cores, /proc/stat "cpu" line):
// comparing it with server + client CPU shows how much other load shared the run.
inline double machine_busy_seconds() {
    std::string s;
    if (!read_small_file("/proc/stat", s)) return 0;
    unsigned long long v[8] = {};
    if (sscanf(s.c_str(), "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) < 4)
        return 0;
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];  // minus idle, iowait
    return double(busy) / double(sysconf(_SC_CLK_TCK));
}

// Server->client frame: FIN + opcode, unmasked, with the shortest length form.
inline std::string ws_frame(uint8_t opcode, const char* data, size_t len) {
    std::string f;
    f.reserve(len + 10);
    f.push_back(char(0x80 | opcode));
    if (len < 126) {
        f.push_back(char(len));
    } else if (len < 65536) {
        f.push_back(char(126));
        f.push_back(char(len >> 8));
        f.push_back(char(len & 0xff));
    } else {
        f.push_back(char(127));
        for (int i = 7; i >= 0; i--) f.push_back(char((uint64_t(len) >> (8 * i)) & 0xff));
    }
    f.append(data, len);
    return f;
}

// Client->server frame: masked as RFC 6455 requires (the mask value itself does not matter
// for a benchmark, a fixed one keeps it cheap).
inline std::string ws_masked_frame(uint8_t opcode, const char* data, size_t len) {
    static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    std::string f;
    f.push_back(char(0x80 | opcode));
    if (len < 126) {
        f.push_back(char(0x80 | len));
    } else {
        f.push_back(char(0x80 | 126));
        f.push_back(char(len >> 8));
        f.push_back(char(len & 0xff));
    }
    f.append(reinterpret_cast<const char*>(mask), 4);
    for (size_t i = 0; i < len; i++) f.push_back(char(data[i] ^ mask[i & 3]));
    return f;
}

// Payload of a published message: "s<seq>t<send_ns>[c<target index>]" padded with 'x' to
// the requested size. Only [a-z0-9] so it needs no URL encoding and survives any server.
inline std::string make_payload(uint64_t seq, uint64_t send_ns, int64_t target, size_t size) {
    char head[96];
    int n = target >= 0 ? snprintf(head, sizeof head, "s%llut%llucx%lld", (unsigned long long)seq,
                                   (unsigned long long)send_ns, (long long)target)
                        : snprintf(head, sizeof head, "s%llut%llu", (unsigned long long)seq,
                                   (unsigned long long)send_ns);
    std::string p(head, size_t(n));
    // 'x' terminates the last number, so pad at least one even past the requested size.
    p.push_back('x');
    if (p.size() < size) p.append(size - p.size(), 'x');
    return p;
}

struct Payload {
    uint64_t seq = 0, send_ns = 0;
    int64_t target = -1;
};

inline bool parse_payload(const char* p, size_t len, Payload& out) {
    const char* end = p + len;
    auto number = [&](const char*& c, uint64_t& v) {
        if (c >= end || *c < '0' || *c > '9') return false;
        v = 0;
        while (c < end && *c >= '0' && *c <= '9') v = v * 10 + uint64_t(*c++ - '0');
        return true;
    };
    const char* c = p;
    if (c >= end || *c++ != 's' || !number(c, out.seq)) return false;
    if (c >= end || *c++ != 't' || !number(c, out.send_ns)) return false;
    out.target = -1;
    if (end - c >= 2 && c[0] == 'c' && c[1] == 'x') {
        c += 2;
        uint64_t t;
        if (!number(c, t)) return false;
        out.target = int64_t(t);
    }
    return true;
}

// Log-linear latency histogram: 32 sub-buckets per power of two (about 3% resolution),
// fixed size so client processes can ship it to the parent as raw bytes.
struct Histogram {
    static constexpr int kBuckets = 60 * 32;
    uint64_t counts[kBuckets] = {};

    static int bucket(uint64_t v) {
        if (v < 32) return int(v);
        int e = 63 - __builtin_clzll(v);
        int b = (e - 4) * 32 + int((v >> (e - 5)) & 31);
        return b < kBuckets ? b : kBuckets - 1;
    }
    static uint64_t bucket_value(int b) {  // midpoint of the bucket
        if (b < 32) return uint64_t(b);
        int e = b / 32 + 4, sub = b % 32;
        uint64_t lo = uint64_t(32 + sub) << (e - 5), width = 1ull << (e - 5);
        return lo + width / 2;
    }
    void add(uint64_t v) { counts[bucket(v)]++; }
    void merge(const Histogram& o) {
        for (int i = 0; i < kBuckets; i++) counts[i] += o.counts[i];
    }
    uint64_t total() const {
        uint64_t t = 0;
        for (auto c : counts) t += c;
        return t;
    }
    uint64_t percentile(double q) const {
        uint64_t t = total();
        if (t == 0) return 0;
        uint64_t want = uint64_t(q * double(t));
        if (want >= t) want = t - 1;
        uint64_t seen = 0;
        for (int i = 0; i < kBuckets; i++) {
            seen += counts[i];
            if (seen > want) return bucket_value(i);
        }
        return bucket_value(kBuckets - 1);
    }
    uint64_t max() const {
        for (int i = kBuckets - 1; i >= 0; i--)
            if (counts[i]) return bucket_value(i);
        return 0;
    }
};

}  // namespace bench
