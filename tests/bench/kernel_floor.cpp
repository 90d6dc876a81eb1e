// kernel_floor: the cheapest possible push server, to calibrate what a real one costs.
//
// One process, one epoll loop. It speaks just enough of the push server's wire (WebSocket
// upgrade + the welcome frame; HTTP GET /?content=X and ?to_worker_id=&to_connection_id=
// with the exact "ok" answer) for loadgen to drive it like pusher or the Node reference.
// A publish encodes the frame once and does one write() per client, with no batching,
// no allocation and no per-connection queue unless the kernel refuses bytes.
// Deliveries per CPU-second of this process is what the kernel's loopback TCP send path
// costs: a server cannot beat it without batching (writev of several messages, io_uring...).
//
// usage: kernel_floor [--ws-port 4236] [--http-port 4237] [--host 127.0.0.1] [--seconds 600]
//                     [--reuseport 1]
// --reuseport lets several instances share the ports (SO_REUSEPORT), as pusher's workers do;
// only useful for idle tests (a publish then reaches one instance's clients only).
// --fault drop|dup|misroute|corrupt|close --fault-every K: every K-th delivery is dropped, sent
// twice, sent to the next client, sent with one bit flipped mid-frame, or replaced by a close
// frame 1001 "idle timeout" and the end of the stream (the client is closed by the server);
// exists to prove that loadgen's lost/dup/misdelivered/closed_by_server counters (and its
// check of inflated payloads) work.
// --deflate 1 [--deflate-min 256] [--deflate-level 6]: permessage-deflate (RFC 7692) for the
// clients that offer it, answered as pusher answers (server_no_context_takeover;
// client_no_context_takeover); a message of at least --deflate-min bytes is compressed once and
// the same frame written to every such client (the others get it plain). The floor of a
// compressed broadcast, and what bench_selftest.sh checks loadgen's deflate counting against.
// --tls-cert FILE --tls-key FILE: the WebSocket port speaks TLS (OpenSSL, TLS 1.2/1.3, partial
// writes; the HTTP port stays plain): one SSL_write() per delivery, so each delivery pays its
// own record encryption and write(). The floor of a wss:// broadcast. --tls-release-buffers 1
// frees a connection's record buffers whenever they are empty (SSL_MODE_RELEASE_BUFFERS: less
// memory per idle connection, a malloc/free per write).
// It exits by itself after --seconds (bounded), or on SIGINT/SIGTERM.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <unordered_map>

#include "bench_common.h"

using namespace bench;

namespace {

volatile sig_atomic_t g_stop = 0;
bool g_reuseport = false;
enum class Fault { kNone, kDrop, kDup, kMisroute, kCorrupt, kClose } g_fault = Fault::kNone;
uint64_t g_fault_every = 0;
bool g_deflate = false;
size_t g_deflate_min = 256;
int g_deflate_level = 6;
SSL_CTX* g_tls = nullptr;  // --tls-cert / --tls-key

enum class Kind : uint8_t { kWsListen, kHttpListen, kWs, kHttp };

struct Conn {
    int fd = -1;
    Kind kind = Kind::kWs;
    bool upgraded = false;
    bool deflate = false;  // permessage-deflate negotiated
    SSL* ssl = nullptr;    // --tls-cert: this WebSocket connection's TLS session
    bool tls_ready = false;
    uint32_t id = 0;
    size_t slot = 0;  // position in FloorServer::clients_ (upgraded WebSocket clients)
    std::string in;   // request bytes not yet complete
    std::string out;  // what the kernel refused; flushed on EPOLLOUT
};

const char kHttpOk[] =
    "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\n"
    "Content-Length: 2\r\n\r\nok";
// The accept key is not computed: loadgen does not check it, and SHA-1 per connect would only
// add noise to the connect rate (the floor is about pushing, not handshakes).
const char kUpgrade[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
const char kUpgradeDeflate[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
    "client_no_context_takeover\r\n\r\n";

class FloorServer {
  public:
    FloorServer(const std::string& host, int ws_port, int http_port) {
        // Indexed by fd and sized once: references into it stay valid while accepting.
        rlimit rl{};
        getrlimit(RLIMIT_NOFILE, &rl);
        conns_.resize(size_t(std::min<rlim_t>(rl.rlim_cur, 1 << 20)) + 16);
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) die("epoll_create1");
        add(listen_on(host, ws_port), Kind::kWsListen);
        add(listen_on(host, http_port), Kind::kHttpListen);
    }

    void run(double seconds) {
        uint64_t deadline = now_ns() + uint64_t(seconds * 1e9);
        epoll_event evs[256];
        while (!g_stop && now_ns() < deadline) {
            int n = epoll_wait(ep_, evs, 256, 200);
            for (int k = 0; k < n; k++) on_event(int(evs[k].data.fd), evs[k].events);
        }
    }

  private:
    static int listen_on(const std::string& host, int port) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) die("socket");
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (g_reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(uint16_t(port));
        inet_pton(AF_INET, host.c_str(), &a.sin_addr);
        if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) die("bind");
        if (listen(fd, 4096) < 0) die("listen");
        return fd;
    }

    Conn& add(int fd, Kind kind) {
        Conn& c = conns_[size_t(fd)];
        c = Conn{};
        c.fd = fd;
        c.kind = kind;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
        return c;
    }

    void drop(Conn& c) {
        if (c.ssl) SSL_free(c.ssl);
        if (c.kind == Kind::kWs && c.upgraded) {
            by_id_.erase(c.id);
            int last = clients_.back();  // swap-remove keeps the broadcast list dense
            clients_[c.slot] = last;
            conns_[size_t(last)].slot = c.slot;
            clients_.pop_back();
        }
        close(c.fd);
        c = Conn{};
    }
    bool alive(int fd) const { return conns_[size_t(fd)].fd == fd; }

    void on_event(int fd, uint32_t events) {
        if (!alive(fd)) return;
        Conn& c = conns_[size_t(fd)];
        if (c.kind == Kind::kWsListen || c.kind == Kind::kHttpListen) {
            accept_all(c);
            return;
        }
        if (events & EPOLLOUT) {
            flush(c);
            if (!alive(fd)) return;
        }
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
    }

    void accept_all(Conn& listener) {
        Kind kind = listener.kind == Kind::kWsListen ? Kind::kWs : Kind::kHttp;
        for (;;) {
            int fd = accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) return;
            if (size_t(fd) >= conns_.size()) {
                close(fd);
                continue;
            }
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            Conn& c = add(fd, kind);
            if (kind == Kind::kWs && g_tls) {
                c.ssl = SSL_new(g_tls);
                if (!c.ssl || SSL_set_fd(c.ssl, fd) != 1) {
                    drop(c);
                    continue;
                }
                SSL_set_accept_state(c.ssl);
            }
        }
    }

    // TLS: drives the handshake; true once it is done (the connection may be dropped).
    bool tls_handshake(Conn& c) {
        if (c.tls_ready) return true;
        ERR_clear_error();
        int r = SSL_do_handshake(c.ssl);
        if (r == 1) {
            c.tls_ready = true;
            watch_out(c, !c.out.empty());
            return true;
        }
        int e = SSL_get_error(c.ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            watch_out(c, e == SSL_ERROR_WANT_WRITE);
        else
            drop(c);
        return false;
    }

    // read() or SSL_read(): > 0 bytes, 0 at end of stream, < 0 with errno (EAGAIN: no more).
    static ssize_t conn_read(Conn& c, char* buf, size_t n) {
        if (!c.ssl) return read(c.fd, buf, n);
        size_t got = 0;
        ERR_clear_error();
        int r = SSL_read_ex(c.ssl, buf, n, &got);
        if (r == 1) return ssize_t(got);
        int e = SSL_get_error(c.ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            errno = EAGAIN;
            return -1;
        }
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        errno = ECONNRESET;
        return -1;
    }

    void on_readable(Conn& c) {
        if (c.ssl && !tls_handshake(c)) return;
        char buf[16384];
        for (;;) {
            ssize_t r = conn_read(c, buf, sizeof buf);
            if (r > 0) {
                // Upgraded clients only send pongs/closes; the floor ignores their content.
                if (c.kind == Kind::kWs && c.upgraded) continue;
                c.in.append(buf, size_t(r));
                continue;
            }
            if (r < 0 && errno == EINTR) continue;
            if (r < 0 && errno == EAGAIN) break;
            drop(c);
            return;
        }
        if (c.kind == Kind::kWs && !c.upgraded)
            on_upgrade(c);
        else if (c.kind == Kind::kHttp)
            on_http(c);
    }

    void on_upgrade(Conn& c) {
        if (c.in.find("\r\n\r\n") == std::string::npos) return;
        c.upgraded = true;
        c.deflate = g_deflate && c.in.find("permessage-deflate") != std::string::npos;
        c.in.clear();
        c.id = ++last_id_;
        by_id_[c.id] = c.fd;
        c.slot = clients_.size();
        clients_.push_back(c.fd);
        if (c.deflate)
            send(c, kUpgradeDeflate, sizeof kUpgradeDeflate - 1);
        else
            send(c, kUpgrade, sizeof kUpgrade - 1);
        std::string w = "workerID:0 connectionID:" + std::to_string(c.id) + " connected\n";
        std::string f = ws_frame(0x1, w.data(), w.size());
        send(c, f.data(), f.size());
    }

    // Handles every complete request in c.in (keep-alive, pipelining allowed).
    void on_http(Conn& c) {
        for (;;) {
            size_t end = c.in.find("\r\n\r\n");
            if (end == std::string::npos) return;
            std::string line = c.in.substr(0, c.in.find("\r\n"));
            c.in.erase(0, end + 4);
            publish_from_request_line(line);
            send(c, kHttpOk, sizeof kHttpOk - 1);
            if (!alive(c.fd)) return;
        }
    }

    static std::string query_param(const std::string& q, const std::string& key) {
        size_t p = 0;
        while (p < q.size()) {
            size_t amp = q.find('&', p);
            if (amp == std::string::npos) amp = q.size();
            size_t eq = q.find('=', p);
            if (eq < amp && q.compare(p, eq - p, key) == 0)
                return url_decode(q.substr(eq + 1, amp - eq - 1));
            p = amp + 1;
        }
        return "";
    }

    static std::string url_decode(const std::string& s) {
        std::string o;
        for (size_t i = 0; i < s.size(); i++) {
            if (s[i] == '%' && i + 2 < s.size()) {
                o.push_back(char(strtol(s.substr(i + 1, 2).c_str(), nullptr, 16)));
                i += 2;
            } else {
                o.push_back(s[i] == '+' ? ' ' : s[i]);
            }
        }
        return o;
    }

    // "GET /?content=X[&to_worker_id=W&to_connection_id=C] HTTP/1.1"
    void publish_from_request_line(const std::string& line) {
        size_t q = line.find("/?"), sp = line.rfind(' ');
        if (q == std::string::npos || sp == std::string::npos || sp < q) return;
        std::string query = line.substr(q + 2, sp - q - 2);
        std::string content = query_param(query, "content");
        if (content.empty()) return;
        std::string frame = ws_frame(0x1, content.data(), content.size());  // encoded once
        std::string zframe;  // ... and compressed once, for the deflate clients
        if (g_deflate && content.size() >= g_deflate_min) {
            std::string z = deflater_.compress(content.data(), content.size());
            zframe = ws_frame(0x1, z.data(), z.size());
            zframe[0] = char(zframe[0] | 0x40);  // RSV1: compressed
        }
        std::string to = query_param(query, "to_connection_id");
        if (!to.empty()) {
            auto it = by_id_.find(uint32_t(atol(to.c_str())));
            if (it != by_id_.end()) deliver(it->second, frame, zframe);
            return;
        }
        for (int fd : clients_) deliver(fd, frame, zframe);
    }

    // The normal path is one send(); the faults exist only to test the load generator.
    // zframe (when not empty) goes to the clients that negotiated permessage-deflate.
    void deliver(int fd, const std::string& plain, const std::string& zframe) {
        if (g_fault != Fault::kNone && ++deliveries_ % g_fault_every == 0) {
            if (g_fault == Fault::kDrop) return;
            if (g_fault == Fault::kClose) {  // what pusher does to a client silent too long
                static const char body[] = "\x03\xe9idle timeout";
                std::string f = ws_frame(0x8, body, sizeof body - 1);
                send(conns_[size_t(fd)], f.data(), f.size());
                shutdown(fd, SHUT_WR);  // later writes fail quietly; dropped when the client closes
                return;
            }
            if (g_fault == Fault::kMisroute && clients_.size() > 1) {
                fd = clients_[(conns_[size_t(fd)].slot + 1) % clients_.size()];
            }
            if (g_fault == Fault::kDup) write_frame(fd, plain, zframe);
            if (g_fault == Fault::kCorrupt) {  // one flipped bit in the middle of the frame
                std::string p = plain, z = zframe;
                p[p.size() / 2] = char(p[p.size() / 2] ^ 0x20);
                if (!z.empty()) z[z.size() / 2] = char(z[z.size() / 2] ^ 0x20);
                write_frame(fd, p, z);
                return;
            }
        }
        write_frame(fd, plain, zframe);
    }

    void write_frame(int fd, const std::string& plain, const std::string& zframe) {
        Conn& c = conns_[size_t(fd)];
        const std::string& f = !zframe.empty() && c.deflate ? zframe : plain;
        send(c, f.data(), f.size());
    }

    // One write() per delivery; only what the kernel refuses is queued.
    void send(Conn& c, const char* p, size_t n) {
        if (!c.out.empty() || (c.ssl && !c.tls_ready)) {
            c.out.append(p, n);
            return;
        }
        if (c.ssl) {  // one record (one write) per delivery; what it does not take waits
            size_t done = 0;
            ERR_clear_error();
            if (SSL_write_ex(c.ssl, p, n, &done) == 1 && done == n) return;
            int e = done ? SSL_ERROR_NONE : SSL_get_error(c.ssl, 0);
            if (done == 0 && e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) return;
            c.out.assign(p + done, n - done);
            watch_out(c, true);
            return;
        }
        ssize_t w = write(c.fd, p, n);
        if (w == ssize_t(n)) return;
        if (w < 0 && errno != EAGAIN && errno != EINTR) return;  // reset: dropped on next read
        size_t done = w > 0 ? size_t(w) : 0;
        c.out.assign(p + done, n - done);
        watch_out(c, true);
    }

    void flush(Conn& c) {
        if (c.ssl) {
            if (!tls_handshake(c)) return;
            // Partial writes and a moving buffer are allowed (main()): a retry may pass out
            // with more appended, starting with the same bytes.
            while (!c.out.empty()) {
                size_t done = 0;
                ERR_clear_error();
                int r = SSL_write_ex(c.ssl, c.out.data(), c.out.size(), &done);
                if (r != 1) {
                    int e = SSL_get_error(c.ssl, r);
                    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return;
                    drop(c);
                    return;
                }
                c.out.erase(0, done);
            }
            watch_out(c, false);
            return;
        }
        while (!c.out.empty()) {
            ssize_t w = write(c.fd, c.out.data(), c.out.size());
            if (w < 0 && errno == EINTR) continue;
            if (w < 0 && errno == EAGAIN) return;
            if (w <= 0) {
                drop(c);
                return;
            }
            c.out.erase(0, size_t(w));
        }
        watch_out(c, false);
    }

    void watch_out(Conn& c, bool on) {
        epoll_event ev{};
        ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
        ev.data.fd = c.fd;
        epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    }

    int ep_ = -1;
    uint32_t last_id_ = 0;
    uint64_t deliveries_ = 0;
    std::vector<Conn> conns_;                  // by fd
    std::vector<int> clients_;                 // fds of upgraded clients, for broadcast
    std::unordered_map<uint32_t, int> by_id_;  // connection id -> fd
    RawDeflater deflater_{g_deflate_level};
};

}  // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int ws_port = 4236, http_port = 4237;
    double seconds = 600;
    std::string tls_cert, tls_key;
    bool tls_release = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--ws-port")
            ws_port = atoi(argv[i + 1]);
        else if (a == "--http-port")
            http_port = atoi(argv[i + 1]);
        else if (a == "--host")
            host = argv[i + 1];
        else if (a == "--seconds")
            seconds = atof(argv[i + 1]);
        else if (a == "--reuseport")
            g_reuseport = atoi(argv[i + 1]) != 0;
        else if (a == "--tls-cert")
            tls_cert = argv[i + 1];
        else if (a == "--tls-key")
            tls_key = argv[i + 1];
        else if (a == "--tls-release-buffers")
            tls_release = atoi(argv[i + 1]) != 0;
        else if (a == "--deflate")
            g_deflate = atoi(argv[i + 1]) != 0;
        else if (a == "--deflate-min")
            g_deflate_min = size_t(atol(argv[i + 1]));
        else if (a == "--deflate-level")
            g_deflate_level = atoi(argv[i + 1]);
        else if (a == "--fault-every")
            g_fault_every = strtoull(argv[i + 1], nullptr, 10);
        else if (a == "--fault") {
            std::string f = argv[i + 1];
            g_fault = f == "drop"       ? Fault::kDrop
                      : f == "dup"      ? Fault::kDup
                      : f == "misroute" ? Fault::kMisroute
                      : f == "corrupt"  ? Fault::kCorrupt
                      : f == "close"    ? Fault::kClose
                                        : Fault::kNone;
        } else {
            fprintf(stderr,
                    "usage: kernel_floor [--ws-port P] [--http-port P] [--host H] [--seconds S] "
                    "[--reuseport 0|1]\n"
                    "       [--fault drop|dup|misroute|corrupt|close --fault-every K]\n"
                    "       [--deflate 0|1] [--deflate-min 256] [--deflate-level 6]\n"
                    "       [--tls-cert FILE --tls-key FILE [--tls-release-buffers 0|1]]\n");
            return 2;
        }
    }
    if (!tls_cert.empty()) {
        g_tls = SSL_CTX_new(TLS_server_method());
        if (!g_tls) die("SSL_CTX_new");
        SSL_CTX_set_min_proto_version(g_tls, TLS1_2_VERSION);
        SSL_CTX_set_mode(g_tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                    (tls_release ? SSL_MODE_RELEASE_BUFFERS : 0));
        if (SSL_CTX_use_certificate_chain_file(g_tls, tls_cert.c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(g_tls, tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
            fprintf(stderr, "kernel_floor: cannot load %s / %s\n", tls_cert.c_str(),
                    tls_key.c_str());
            return 2;
        }
    }
    if (g_fault != Fault::kNone && g_fault_every == 0) g_fault_every = 1000;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, [](int) { g_stop = 1; });
    signal(SIGTERM, [](int) { g_stop = 1; });
    FloorServer(host, ws_port, http_port).run(seconds);
    return 0;
}
