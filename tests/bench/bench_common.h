// Shared pieces of the benchmark tools (loadgen, kernel_floor): clocks, /proc readers,
// WebSocket frame encoding and the payload format. Header-only so each tool stays one
// compile command.
#pragma once

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

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

// The JSON payload (--json 1): a compressible market-data style message of exactly `size`
// bytes (the permessage-deflate rows). It starts {"s":<seq>,"t":<send_ns>[,"c":<target>], so
// parse_payload reads it like the plain form; the items after it are drawn from a generator
// seeded by seq, so every message differs (as real updates do) and a receiver can rebuild the
// exact bytes from the header to check what it inflated. Pure ASCII: valid UTF-8, a text frame.
// Level 6 raw deflate takes it to about a quarter of its size (deflate_1k_4k rows).
inline std::string make_json_payload(uint64_t seq, uint64_t send_ns, int64_t target, size_t size) {
    static const char* const syms[16] = {"AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA",
                                         "META", "NFLX", "AMD",  "INTC", "ORCL", "IBM",
                                         "CSCO", "ADBE", "CRM",  "QCOM"};
    uint64_t x = seq * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    auto rnd = [&x](uint64_t n) {  // xorshift64*, deterministic per seq
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        return ((x * 0x2545F4914F6CDD1Dull) >> 11) % n;
    };
    char buf[256];
    int n = target >= 0
                ? snprintf(buf, sizeof buf, "{\"s\":%llu,\"t\":%llu,\"c\":%lld",
                           (unsigned long long)seq, (unsigned long long)send_ns, (long long)target)
                : snprintf(buf, sizeof buf, "{\"s\":%llu,\"t\":%llu", (unsigned long long)seq,
                           (unsigned long long)send_ns);
    std::string p(buf, size_t(n));
    p += ",\"type\":\"quotes\",\"items\":[";
    const std::string tail = "],\"pad\":\"\"}";
    for (int i = 0;; i++) {
        unsigned bid = unsigned(1000 + rnd(99000)), ask = bid + unsigned(1 + rnd(49));
        n = snprintf(buf, sizeof buf,
                     "%s{\"id\":%d,\"sym\":\"%s\",\"bid\":%u.%02u,\"ask\":%u.%02u,\"qty\":%u,"
                     "\"side\":\"%s\",\"venue\":\"XNAS\"}",
                     i ? "," : "", i, syms[rnd(16)], bid / 100, bid % 100, ask / 100, ask % 100,
                     unsigned(1 + rnd(4999)), rnd(2) ? "buy" : "sell");
        if (p.size() + size_t(n) + tail.size() > size) break;
        p.append(buf, size_t(n));
    }
    // Pad inside "pad" to the exact size (at least the tail, even past a tiny size).
    p += "],\"pad\":\"";
    if (p.size() + 2 < size) p.append(size - p.size() - 2, ' ');
    p += "\"}";
    return p;
}

inline std::string make_payload_kind(bool json, uint64_t seq, uint64_t send_ns, int64_t target,
                                     size_t size) {
    return json ? make_json_payload(seq, send_ns, target, size)
                : make_payload(seq, send_ns, target, size);
}

// Query-string encoding (RFC 3986 unreserved characters stay as they are): the plain payload
// passes unchanged, the JSON one gets its quotes, braces, commas and colons escaped.
inline std::string url_encode(const std::string& s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string o;
    o.reserve(s.size() * 3 / 2);
    for (unsigned char ch : s) {
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            o.push_back(char(ch));
        } else {
            o.push_back('%');
            o.push_back(hex[ch >> 4]);
            o.push_back(hex[ch & 15]);
        }
    }
    return o;
}

struct Payload {
    uint64_t seq = 0, send_ns = 0;
    int64_t target = -1;
};

// The JSON form: {"s":<seq>,"t":<send_ns>[,"c":<target>],...
inline bool parse_json_payload(const char* p, size_t len, Payload& out) {
    const char* end = p + len;
    const char* c = p;
    auto lit = [&](const char* s) {
        size_t k = strlen(s);
        if (size_t(end - c) < k || memcmp(c, s, k) != 0) return false;
        c += k;
        return true;
    };
    auto number = [&](uint64_t& v) {
        if (c >= end || *c < '0' || *c > '9') return false;
        v = 0;
        while (c < end && *c >= '0' && *c <= '9') v = v * 10 + uint64_t(*c++ - '0');
        return true;
    };
    if (!lit("{\"s\":") || !number(out.seq) || !lit(",\"t\":") || !number(out.send_ns))
        return false;
    out.target = -1;
    uint64_t t;
    if (lit(",\"c\":")) {
        if (!number(t)) return false;
        out.target = int64_t(t);
    }
    return true;
}

inline bool parse_payload(const char* p, size_t len, Payload& out) {
    if (len > 0 && p[0] == '{') return parse_json_payload(p, len, out);
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

// permessage-deflate (RFC 7692) message bodies: raw deflate, each message ended with a sync
// flush whose 00 00 ff ff tail is not sent.
class RawDeflater {  // no context takeover: every message is its own stream
  public:
    explicit RawDeflater(int level = 6) {
        if (deflateInit2(&z_, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            die("deflateInit2");
    }
    ~RawDeflater() { deflateEnd(&z_); }
    RawDeflater(const RawDeflater&) = delete;
    RawDeflater& operator=(const RawDeflater&) = delete;
    std::string compress(const char* p, size_t n) {
        deflateReset(&z_);
        std::string out(deflateBound(&z_, uLong(n)) + 16, '\0');
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(p));
        z_.avail_in = uInt(n);
        z_.next_out = reinterpret_cast<Bytef*>(&out[0]);
        z_.avail_out = uInt(out.size());
        deflate(&z_, Z_SYNC_FLUSH);
        out.resize(out.size() - z_.avail_out);
        if (out.size() >= 4 && out.compare(out.size() - 4, 4, "\x00\x00\xff\xff", 4) == 0)
            out.resize(out.size() - 4);
        return out;
    }

  private:
    z_stream z_{};
};

class RawInflater {
  public:
    RawInflater() {
        if (inflateInit2(&z_, -15) != Z_OK) die("inflateInit2");
    }
    ~RawInflater() { inflateEnd(&z_); }
    RawInflater(const RawInflater&) = delete;
    RawInflater& operator=(const RawInflater&) = delete;
    void reset() { inflateReset(&z_); }
    // Inflates one message (the tail put back) into out; false on a zlib error or when it
    // would exceed max bytes. Without reset() in between, the window carries over (context
    // takeover), which also decodes a sender that resets its own.
    bool inflate_message(const char* p, size_t n, std::string& out, size_t max = 1 << 24) {
        static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
        out.clear();
        return feed(reinterpret_cast<const unsigned char*>(p), n, out, max) &&
               feed(tail, 4, out, max);
    }

  private:
    bool feed(const unsigned char* p, size_t n, std::string& out, size_t max) {
        z_.next_in = const_cast<Bytef*>(p);
        z_.avail_in = uInt(n);
        char buf[16384];
        for (;;) {
            z_.next_out = reinterpret_cast<Bytef*>(buf);
            z_.avail_out = sizeof buf;
            int r = inflate(&z_, Z_SYNC_FLUSH);
            if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) return false;
            out.append(buf, sizeof buf - z_.avail_out);
            if (r == Z_STREAM_END) {  // a final block (allowed): the next message starts anew
                inflateReset(&z_);
                if (z_.avail_in == 0) return out.size() <= max;
                continue;
            }
            if (out.size() > max) return false;
            if (z_.avail_in == 0 && z_.avail_out != 0) return true;
            if (r == Z_BUF_ERROR && z_.avail_out != 0) return true;
        }
    }
    z_stream z_{};
};

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
