// libFuzzer: the services themselves, not only their codecs. Each input is a
// script of events played on one Loop in this process: a WebSocket service, an
// HTTP service and the channel server, wired as in a cluster (each service's
// bus link is a socketpair into the channel server, or held by the fuzzer,
// which then plays the bus), and fake clients: socketpairs handed to a service
// as if accepted (TcpServer::adopt), or loopback TCP through the real
// listeners. The fuzzer holds the client ends and writes handshakes, frames,
// HTTP requests and channel messages built from the input, stops reading,
// closes (with unread data: ECONNRESET/EPIPE for the server), turns the loop,
// moves the clock (Loop::set_test_clock) and sweeps, and stops the services.
//
// Invariants (abort on violation), besides ASan/UBSan/LSan:
// - every connection a service accepted gets exactly one on_close, and only
//   one it accepted;
// - client_count() is the number accepted minus the number closed, always;
// - after teardown (close_all, as a worker does) every table is empty.
//
// Input: three setup bytes, then events, each an opcode byte and its
// arguments (see play()). tests/fuzz/services_seeds.py writes the seeds.
#include <dirent.h>
#include <netinet/in.h>
#include <sanitizer/common_interface_defs.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "channel/client.h"
#include "channel/server.h"
#include "protocol/channel_message.h"
#include "protocol/frame.h"
#include "protocol/php_value.h"
#include "protocol/ws_frame.h"
#include "runtime/listen_socket.h"
#include "worker/client_id.h"
#include "worker/http_service.h"
#include "worker/ws_service.h"

using namespace pusher;
using protocol::php::Key;
using protocol::php::Value;
using runtime::Connection;

namespace {

[[noreturn]] void fail(const std::string& what) {
    std::string line = "SUMMARY: services_fuzz: invariant violated: " + what;
    __sanitizer_report_error_summary(line.c_str());
    __sanitizer_print_stack_trace();
    abort();
}

// The services' bus links, as master/service_registry.cpp makes them.
std::unique_ptr<runtime::Bus> make_channel_bus(runtime::Loop& loop,
                                               const runtime::WorkerContext& ctx) {
    return std::make_unique<channel::Client>(loop, ctx.config->channel_host,
                                             ctx.config->channel_port);
}
#define CHECK(cond, what)        \
    do {                         \
        if (!(cond)) fail(what); \
    } while (0)

// ---- the input -----------------------------------------------------------------

struct Reader {
    const uint8_t* p;
    size_t n;
    bool empty() const { return n == 0; }
    uint8_t u8() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
    uint16_t u16() {
        uint16_t lo = u8();
        return static_cast<uint16_t>(lo | (u8() << 8));
    }
    std::string bytes(size_t len) {
        len = std::min(len, n);
        std::string s(reinterpret_cast<const char*>(p), len);
        p += len;
        n -= len;
        return s;
    }
    std::string str() { return bytes(u8()); }     // up to 255 bytes
    std::string str16() { return bytes(u16()); }  // up to 64 KiB
};

// ---- what a service's accepts and closes must look like ---------------------------

struct Tracker {
    explicit Tracker(const char* n) : name(n) {}
    const char* name;
    std::unordered_map<uint64_t, int> closes;  // accepted id -> on_close calls
    size_t closed = 0;
    void accepted(uint64_t id) {
        CHECK(closes.emplace(id, 0).second, std::string(name) + ": connection id accepted twice");
    }
    void closing(uint64_t id) {
        auto it = closes.find(id);
        CHECK(it != closes.end(), std::string(name) + ": on_close of a connection never accepted");
        CHECK(++it->second == 1,
              std::string(name) + ": second on_close of connection " + std::to_string(id));
        ++closed;
    }
    size_t open() const { return closes.size() - closed; }
};

class FuzzWs : public worker::WsService {
  public:
    FuzzWs(runtime::Loop& l, const runtime::WorkerContext& ctx, Tracker& t)
        : WsService(l, ctx), t_(t) {}
    using WsService::on_close;
    void on_accept(Connection& c) override {
        t_.accepted(c.id());
        WsService::on_accept(c);
    }
    void on_close(Connection& c) override {
        t_.closing(c.id());
        WsService::on_close(c);
    }
    // The fuzzer made the link (make_channel_bus): it knows the concrete type.
    channel::Client& bus() { return static_cast<channel::Client&>(*bus_); }
    void stop_sweep_timer() { sweep_timer_.cancel(); }  // the fuzzer sweeps, on its clock
    // Once a loop turn has returned, every close event has run: no connection
    // in the table is Closed.
    bool none_closed() const {
        bool ok = true;
        tcp_.for_each([&](Connection& c) { ok &= c.state() != runtime::ConnState::Closed; });
        return ok;
    }

  private:
    Tracker& t_;
};

class FuzzHttp : public worker::HttpService {
  public:
    FuzzHttp(runtime::Loop& l, const runtime::WorkerContext& ctx, Tracker& t)
        : HttpService(l, ctx), t_(t) {}
    void on_accept(Connection& c) override {
        t_.accepted(c.id());
        HttpService::on_accept(c);
    }
    void on_close(Connection& c) override {
        t_.closing(c.id());
        HttpService::on_close(c);
    }
    // The fuzzer made the link (make_channel_bus): it knows the concrete type.
    channel::Client& bus() { return static_cast<channel::Client&>(*bus_); }
    void stop_sweep_timer() { sweep_timer_.cancel(); }
    // Once a loop turn has returned, every close event has run: no connection
    // in the table is Closed.
    bool none_closed() const {
        bool ok = true;
        tcp_.for_each([&](Connection& c) { ok &= c.state() != runtime::ConnState::Closed; });
        return ok;
    }

  private:
    Tracker& t_;
};

class FuzzChannel : public channel::Server {
  public:
    FuzzChannel(runtime::Loop& l, int fd, const runtime::Config& cfg, Tracker& t)
        : Server(l, fd, cfg), t_(t) {}
    void on_accept(Connection& c) override {
        t_.accepted(c.id());
        Server::on_accept(c);
    }
    void on_close(Connection& c) override {
        closed_ids.push_back(c.id());
        t_.closing(c.id());
        Server::on_close(c);
    }
    std::vector<uint64_t> closed_ids;

  private:
    Tracker& t_;
};

// ---- process-wide: listeners live across inputs (binding per input would run
// out of ports); what an input leaves in their backlogs is drained after it.

enum Svc { kWs, kHttp, kChan, kNumSvc };

struct Env {
    int listen_fd[kNumSvc];
    int port[kNumSvc];
    int refused_port;  // bound, never listening: a bus client's reconnect lands here
};
Env* g_env;

int tcp_listener(int* port) {
    std::string err;
    int fd = runtime::listen_socket("127.0.0.1", 0, false, &err);
    if (fd < 0) {
        fprintf(stderr, "services_fuzz: %s\n", err.c_str());
        abort();
    }
    *port = runtime::socket_port(fd);
    return fd;
}

void drain_backlog(int lfd) {
    for (;;) {
        int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        close(fd);
    }
}

void set_bufs(int fd, int size) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

void rst_close(int fd) {  // TCP: a reset, and no TIME_WAIT left behind
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

// ---- one input's world --------------------------------------------------------------

struct Peer {
    int fd;
    Svc svc;
    bool tcp;
    bool reading;  // drained after every loop turn
    uint64_t id;   // the server side's connection id (0: TCP, unknown)
};

// A service's end of a bus link, held by the channel server in cluster mode.
struct Link {
    Connection* server_end = nullptr;  // valid until the channel server's on_close for it
    uint64_t id = 0;
};

class World {
  public:
    explicit World(Reader& in);
    ~World();
    void play(Reader& in);

  private:
    void check_counts();
    void forget_closed_links();
    void turn();
    void drain(int fd);
    void send(int fd, const std::string& bytes);
    Peer* pick(Reader& in);
    void open(Reader& in);
    void connect_bus(Svc svc);
    void cut_bus(Svc svc);
    void close_peer(Reader& in);
    void service_control(Reader& in);
    void advance(Reader& in);
    void bus_event(Reader& in);

    std::string content(Reader& in);
    Value data(Reader& in);
    Value bus_channel(Reader& in);
    std::string ws_upgrade(Reader& in);
    std::string ws_frame(Reader& in);
    std::string http_request(Reader& in);
    std::string channel_message(Reader& in);
    uint64_t some_ws_id(Reader& in);
    std::string client_id(uint64_t conn);

    runtime::Config config_;
    runtime::WorkerContext ctx_[kNumSvc];
    Tracker track_[kNumSvc] = {Tracker("ws"), Tracker("http"), Tracker("channel")};
    std::unique_ptr<runtime::Loop> loop_;
    std::unique_ptr<FuzzChannel> chan_;
    std::unique_ptr<FuzzWs> ws_;
    std::unique_ptr<FuzzHttp> http_;
    bool cluster_bus_ = true;     // the services' links go to the channel server
    int bus_peer_[2] = {-1, -1};  // the fuzzer's ends of the links otherwise (ws, http)
    Link link_[2];                // cluster mode: the channel server's ends
    int publisher_ = -1;          // cluster mode: the fuzzer's own link to the channel server
    double clock_ = 1000.0;
    std::vector<Peer> peers_;
};

constexpr size_t kLimitChoices[] = {1 << 20, 300, 4096, 65536};

World::World(Reader& in) {
    uint8_t f1 = in.u8(), f2 = in.u8(), f3 = in.u8();
    config_.node_name = "node-a";
    config_.channel_host = "127.0.0.1";
    config_.channel_port = g_env->refused_port;
    config_.welcome_json = f1 & 1;
    if (f1 & 2) config_.allowed_origins = {"https://ok.example"};
    if (f1 & 4) config_.api_key = "k3y";
    cluster_bus_ = !(f1 & 8);
    // Unix peers have no address: "*" lets them in; the default list refuses them.
    config_.channel_allow =
        (f1 & 16) ? std::vector<std::string>{"127.0.0.1"} : std::vector<std::string>{"*"};
    runtime::Limits& lim = config_.limits;
    // One Loop serves all three here, and the channel server sets the loop's
    // send queue cap to channel_subscriber_queue: both get the same value.
    lim.max_send_queue = lim.channel_subscriber_queue = kLimitChoices[(f1 >> 5) & 3];
    lim.ws_max_message = kLimitChoices[f2 & 3];
    lim.http_max_body = kLimitChoices[(f2 >> 2) & 3];
    lim.http_max_header = (f2 & 16) ? 300 : 16384;
    lim.max_connections = (f2 & 32) ? 2 : 18000;
    lim.channel_pending_publishes = (f2 & 64) ? 3 : 10000;
    lim.channel_max_frame = (f2 & 128) ? 512 : 10485760;
    int worker_id = f3 & 3;

    config_.services.resize(kNumSvc);
    const char* names[kNumSvc] = {"pusher", "publisher", "ChannelServer"};
    runtime::ServiceType types[kNumSvc] = {
        runtime::ServiceType::WebSocket, runtime::ServiceType::Http, runtime::ServiceType::Channel};
    for (int s = 0; s < kNumSvc; ++s) {
        config_.services[s].type = types[s];
        config_.services[s].name = names[s];
        config_.services[s].port = g_env->port[s];
        ctx_[s].config = &config_;
        ctx_[s].service_index = s;
        ctx_[s].worker_id = worker_id;
        ctx_[s].listen_fd = g_env->listen_fd[s];
        ctx_[s].make_bus = make_channel_bus;
    }

    loop_ = std::make_unique<runtime::Loop>(nullptr, lim);
    loop_->set_test_clock(clock_);
    chan_ = std::make_unique<FuzzChannel>(*loop_, g_env->listen_fd[kChan], config_, track_[kChan]);
    ws_ = std::make_unique<FuzzWs>(*loop_, ctx_[kWs], track_[kWs]);
    http_ = std::make_unique<FuzzHttp>(*loop_, ctx_[kHttp], track_[kHttp]);
    std::string err;
    chan_->start(&err);
    // Links first, so that start()'s connect() has nothing to do.
    connect_bus(kWs);
    connect_bus(kHttp);
    if (cluster_bus_) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0) {
            chan_->adopt(sv[0]);
            publisher_ = sv[1];
        }
    }
    ws_->start(&err);
    http_->start(&err);
    ws_->stop_sweep_timer();
    http_->stop_sweep_timer();
    if (!(f3 & 4)) {
        for (int i = 0; i < 4; ++i) turn();  // links up and subscribed
    }
    check_counts();
}

void World::connect_bus(Svc svc) {
    forget_closed_links();
    channel::Client& bus = svc == kWs ? ws_->bus() : http_->bus();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return;
    if (cluster_bus_) {
        Link& l = link_[svc];
        if (!l.server_end) {
            l.server_end = chan_->adopt(sv[1]);
            l.id = l.server_end->id();
        } else {
            close(sv[1]);
        }
    } else {
        if (bus_peer_[svc] >= 0) close(bus_peer_[svc]);
        bus_peer_[svc] = sv[1];
    }
    bus.adopt(sv[0]);  // closes it when the client still has a link: the other end sees EOF
}

// The link breaks: both ends see EOF; the client's reconnect is refused until
// connect_bus hands it a new one.
void World::cut_bus(Svc svc) {
    forget_closed_links();
    if (cluster_bus_) {
        Link& l = link_[svc];
        if (l.server_end && l.server_end->fd() >= 0) shutdown(l.server_end->fd(), SHUT_RDWR);
    } else if (bus_peer_[svc] >= 0) {
        close(bus_peer_[svc]);
        bus_peer_[svc] = -1;
    }
}

World::~World() {
    // The clients go away (with whatever they left unread), the services see
    // it, then stop as a worker does; every table must then be empty.
    for (Peer& p : peers_) p.tcp ? rst_close(p.fd) : (void)close(p.fd);
    peers_.clear();
    for (int i = 0; i < 3; ++i) turn();
    ws_->close_all();
    http_->close_all();
    chan_->close_all();
    check_counts();
    for (int s = 0; s < kNumSvc; ++s) {
        CHECK(track_[s].open() == 0, std::string(track_[s].name) + ": a connection never closed");
    }
    CHECK(ws_->client_count() == 0 && http_->client_count() == 0 && chan_->client_count() == 0,
          "a table is not empty after close_all");
    ws_.reset();
    http_.reset();
    chan_.reset();
    loop_.reset();
    for (int& fd : bus_peer_)
        if (fd >= 0) close(fd);
    if (publisher_ >= 0) close(publisher_);
    for (int s = 0; s < kNumSvc; ++s) drain_backlog(g_env->listen_fd[s]);
}

void World::check_counts() {
    CHECK(ws_->client_count() == track_[kWs].open(), "ws: client_count() != accepted - closed");
    CHECK(http_->client_count() == track_[kHttp].open(),
          "http: client_count() != accepted - closed");
    CHECK(chan_->client_count() == track_[kChan].open(),
          "channel: client_count() != accepted - closed");
    forget_closed_links();
}

// A link's server end is freed right after the channel server's on_close for it.
void World::forget_closed_links() {
    for (Svc s : {kWs, kHttp}) {
        Link& l = link_[s];
        if (!l.server_end) continue;
        for (uint64_t id : chan_->closed_ids)
            if (id == l.id) l.server_end = nullptr;
    }
    chan_->closed_ids.clear();
}

// SERVICES_FUZZ_TRACE=1: what each peer reads, to check what a seed does.
bool g_trace = false;

void trace(int fd, const char* buf, ssize_t n) {
    std::string s;
    for (ssize_t i = 0; i < n && i < 100; ++i) {
        unsigned char ch = static_cast<unsigned char>(buf[i]);
        char esc[8];
        snprintf(esc, sizeof esc, (ch >= 32 && ch < 127) ? "%c" : "\\x%02x", ch);
        s += esc;
    }
    fprintf(stderr, "fd %d read %zd: %s\n", fd, n, s.c_str());
}

void World::drain(int fd) {
    char buf[65536];
    for (int i = 0; i < 8; ++i) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (g_trace && n != -1) trace(fd, buf, n);
        if (n < static_cast<ssize_t>(sizeof buf)) return;
    }
}

void World::turn() {
    event_base_loop(loop_->base(), EVLOOP_NONBLOCK);
    CHECK(ws_->none_closed() && http_->none_closed(),
          "a closed connection is still in the table after the loop turn");
    for (Peer& p : peers_)
        if (p.reading) drain(p.fd);
    for (int fd : bus_peer_)
        if (fd >= 0) drain(fd);
    if (publisher_ >= 0) drain(publisher_);
}

// A short write drops the rest: the stream is cut wherever the socket was full,
// which is one more split for the server to cope with.
void World::send(int fd, const std::string& bytes) {
    size_t off = 0;
    for (int tries = 0; tries < 4 && off < bytes.size(); ++tries) {
        ssize_t w = write(fd, bytes.data() + off, bytes.size() - off);
        if (w > 0) off += static_cast<size_t>(w);
        if (off < bytes.size()) turn();
    }
}

Peer* World::pick(Reader& in) {
    uint8_t k = in.u8();
    if (peers_.empty()) return nullptr;
    return &peers_[k % peers_.size()];
}

void World::open(Reader& in) {
    uint8_t a = in.u8();
    Svc svc = static_cast<Svc>((a & 3) % 3);
    bool tcp = (a & 0x1c) == 0x1c;  // one in eight
    int bufs = (a & 0x20) ? 1 + (a >> 6) * 2048 : 0;
    if (peers_.size() >= 24) return;
    int mine = -1;
    uint64_t id = 0;
    if (tcp) {
        mine = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (mine < 0) return;
        if (bufs) set_bufs(mine, bufs);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<uint16_t>(g_env->port[svc]));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connect(mine, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    } else {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return;
        if (bufs) {
            set_bufs(sv[0], bufs);
            set_bufs(sv[1], bufs);
        }
        mine = sv[1];
        Connection* c = svc == kWs     ? ws_->adopt(sv[0])
                        : svc == kHttp ? http_->adopt(sv[0])
                                       : chan_->adopt(sv[0]);
        id = c->id();
    }
    peers_.push_back(Peer{mine, svc, tcp, !(a & 0x80) || !bufs, id});
}

void World::close_peer(Reader& in) {
    uint8_t how = in.u8();
    Peer* p = pick(in);
    if (!p) return;
    switch (how % 4) {
        case 0:  // with whatever is unread: ECONNRESET/EPIPE on the server
            p->tcp ? rst_close(p->fd) : (void)close(p->fd);
            break;
        case 1:  // read what there is first, then close
            drain(p->fd);
            p->tcp ? rst_close(p->fd) : (void)close(p->fd);
            break;
        case 2:  // half close: the server reads EOF, may still write
            shutdown(p->fd, SHUT_WR);
            return;
        default:  // stop or resume reading
            p->reading = !p->reading;
            return;
    }
    *p = peers_.back();
    peers_.pop_back();
}

// Time passes: every timeout the sweep enforces can be reached.
void World::advance(Reader& in) {
    static const double steps[] = {0.5, 1, 9, 10, 11, 24, 26, 59, 61, 3, 4, 120};
    uint8_t a = in.u8();
    clock_ += steps[a % 12];
    loop_->set_test_clock(clock_);
    if (a & 0x40) ws_->sweep_now();
    if (a & 0x80) http_->sweep_now();
}

void World::service_control(Reader& in) {
    uint8_t a = in.u8();
    runtime::Service* svcs[kNumSvc] = {ws_.get(), http_.get(), chan_.get()};
    runtime::Service* s = svcs[(a & 3) % 3];
    switch ((a >> 2) % 8) {
        case 0:
            s->go_away();
            break;
        case 1:
            s->stop_accepting();
            break;
        case 2:
            s->close_all();
            break;
        case 3: {
            std::string rows;
            s->dump_connections(rows);
            break;
        }
        case 4:
            cut_bus((a & 0x20) ? kHttp : kWs);
            break;
        case 5:
            connect_bus((a & 0x20) ? kHttp : kWs);
            break;
        case 6:
            ws_->sweep_now();
            break;
        default:
            http_->sweep_now();
            break;
    }
}

// ---- bytes the fuzzer could not easily find alone ------------------------------------

std::string World::content(Reader& in) {
    uint8_t a = in.u8();
    switch (a % 8) {
        case 0:
            return "";
        case 1:
            return "0";
        case 2:
            return "\xff\xfe" + in.str();  // not UTF-8: goes out binary
        case 3:
            return std::string(1 + (a >> 3) * 4096, 'x');  // bigger than tiny buffers and caps
        case 4:
            return "h\xc3\xa9llo" + in.str();  // valid UTF-8
        default:
            return in.str();
    }
}

uint64_t World::some_ws_id(Reader& in) {
    uint8_t a = in.u8();
    std::vector<uint64_t> ids;
    for (const Peer& p : peers_)
        if (p.svc == kWs && p.id) ids.push_back(p.id);
    if (ids.empty() || a >= 240) return a;  // any id, maybe nobody's
    return ids[a % ids.size()];
}

std::string World::client_id(uint64_t conn) {
    return worker::ClientId{config_.node_name, ctx_[kWs].worker_id, conn, 0}.str();
}

Value World::bus_channel(Reader& in) {
    uint8_t a = in.u8();
    int wid = ctx_[kWs].worker_id;
    switch (a % 10) {
        case 0:
            return Value::string(config_.broadcast_event);
        case 1:
            return Value::integer(wid);
        case 2:
            return Value::string(std::to_string(wid));
        case 3:
            return Value::string(worker::ClientId::route_channel(config_.node_name, wid));
        case 4:
            return Value::string("q");
        case 5:
            return Value::integer(a >> 4);
        case 6:
            return Value::string("007");
        case 7:
            return Value::dbl(wid + 0.5);
        case 8:
            return Value::boolean(a & 16);
        default:
            return Value::string(in.str());
    }
}

// An event's data: what the ws service looks for, or anything.
Value World::data(Reader& in) {
    uint8_t a = in.u8();
    Value d = Value::array();
    if (a & 1) d.set(Key::from_string("content"), Value::string(content(in)));
    if (a & 2)
        d.set(Key::from_string("to_connection_id"), Value::string(std::to_string(some_ws_id(in))));
    if (a & 4) d.set(Key::from_string("to_client_id"), Value::string(client_id(some_ws_id(in))));
    if (a & 8) d.set(Key::from_string("to_client_id"), Value::string(in.str()));
    if (a & 16) d.set(Key::from_string("content"), Value::integer(in.u8()));
    if (a & 32) {
        Value nested = Value::array();
        nested.set(Key::integer(0), Value::string(in.str()));
        d.set(Key::from_string("content"), nested);
    }
    if ((a & 0xc0) == 0xc0) return Value::string(in.str());  // not even an array
    return d;
}

// Mostly a valid request: the fuzzer should get past the handshake easily.
std::string World::ws_upgrade(Reader& in) {
    uint8_t a = in.u8();
    // 0-4 valid (3 and 4 offer permessage-deflate, 4 with a 10-bit window);
    // 5 no Upgrade, 6 no key, 7 an old version.
    int variant = a & 7;
    std::string r = "GET /" + std::string((a & 64) ? "ws?x=1" : "") + " HTTP/1.1\r\nHost: h\r\n";
    if (variant == 3) r += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
    if (variant == 4) r += "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n";
    if (variant != 5) r += "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    if (variant != 6) r += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    r += variant == 7 ? "Sec-WebSocket-Version: 8\r\n" : "Sec-WebSocket-Version: 13\r\n";
    if ((a & 0x18) == 0x08) r += "Origin: https://ok.example\r\n";
    if ((a & 0x18) == 0x10) r += "Origin: https://evil.example\r\n";
    if (a & 32) r += in.str();  // more header lines, or garbage
    if (a & 128) r += "X-Pad: " + std::string(in.u8() * 8, 'h') + "\r\n";  // header limit
    r += "\r\n";
    return r;
}

// Mostly a code the decoder accepts, so that the close reaches the service.
uint16_t close_code(Reader& in) {
    static const uint16_t codes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                     1011, 3000, 4999, 1005, 1006, 0,    999,  5000};
    uint8_t a = in.u8();
    if (a >= 0xf0) return in.u16();
    return codes[a % 16];
}

std::string World::ws_frame(Reader& in) {
    static const uint8_t ops[] = {1, 2, 0, 8, 9, 10, 3, 11};
    uint8_t a = in.u8(), b = in.u8();
    uint8_t op = ops[a & 7];
    bool fin = !(a & 8);
    bool masked = (a & 0x30) != 0x30;
    uint8_t rsv = (a & 0xc0) == 0xc0 ? 0x40 : 0;
    std::string payload;
    if (op == 8 && (b & 1)) {  // a close frame with a code from the input
        uint16_t code = close_code(in);
        payload =
            std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)} + in.str();
    } else if (b & 2) {
        payload = std::string(126 + in.u16(), 'p');
    } else {
        payload = in.str();
    }
    std::string f;
    f += static_cast<char>((fin ? 0x80 : 0) | rsv | op);
    uint8_t m = masked ? 0x80 : 0;
    uint64_t len = payload.size();
    if ((b & 4) && len > 0) len += in.u8();  // a length that lies
    if (len < 126 && !(b & 8)) {
        f += static_cast<char>(m | len);
    } else if (len < 65536 && !(b & 16)) {
        f += static_cast<char>(m | 126);
        f += static_cast<char>(len >> 8);
        f += static_cast<char>(len & 0xff);
    } else {
        f += static_cast<char>(m | 127);
        for (int i = 7; i >= 0; --i) f += static_cast<char>((len >> (8 * i)) & 0xff);
    }
    if (masked) {
        std::string key = in.bytes(4);
        key.resize(4, '\x5a');
        f += key;
        for (size_t i = 0; i < payload.size(); ++i) payload[i] ^= key[i % 4];
    }
    return f + payload;
}

std::string World::http_request(Reader& in) {
    static const char* paths[] = {"/", "/publish", "/metrics", "/healthz", "/demo", "/x/y"};
    uint8_t a = in.u8(), b = in.u8();
    std::string query;
    auto param = [&](const std::string& k, const std::string& v) {
        query += (query.empty() ? "" : "&") + k + "=" + v;
    };
    if (b & 1) param("content", in.str());
    if (b & 2) param("to_connection_id", std::to_string(some_ws_id(in)));
    if (b & 4) param("to_worker_id", std::to_string(in.u8() % 5));
    if (b & 8) param("to_client_id", (a & 128) ? in.str() : client_id(some_ws_id(in)));
    std::string method = (a & 1) ? "POST" : "GET";
    std::string r = method + " " + paths[(a >> 1) % 6] + (query.empty() ? "" : "?" + query) +
                    ((a & 8) ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n") + "Host: h\r\n";
    if (a & 16) r += "Connection: close\r\n";
    if (a & 32) r += (b & 16) ? "X-Api-Key: k3y\r\n" : "Authorization: Bearer nope\r\n";
    if (a & 64) r += "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    std::string body;
    switch ((b >> 5) & 7) {
        case 0:
            break;
        case 1:
            r += "Content-Type: application/x-www-form-urlencoded\r\n";
            body = "content=" + in.str() + "&to_worker_id=" + std::to_string(ctx_[kWs].worker_id);
            break;
        case 2:
            r += "Content-Type: application/json\r\n";
            body = "{\"content\":\"" + in.str() + "\"}";
            break;
        case 3: {  // deep nesting: jsoncpp's stack limit
            r += "Content-Type: application/json; charset=utf-8\r\n";
            size_t depth = 1 + in.u16() % 20000;
            body = "{\"a\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
            break;
        }
        case 4:
            r += "Content-Type: application/json\r\n";
            body = in.str();
            break;
        case 5: {  // chunked
            r += "Transfer-Encoding: chunked\r\nContent-Type: "
                 "application/x-www-form-urlencoded\r\n\r\n";
            std::string c = "content=" + in.str();
            char head[32];
            snprintf(head, sizeof head, "%zx\r\n", c.size());
            return r + head + c + "\r\n0\r\n\r\n";
        }
        default:
            body = in.str();
            break;
    }
    if (!body.empty() || (a & 4)) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "\r\n" + body;
}

std::string World::channel_message(Reader& in) {
    static const char* types[] = {"subscribe", "unsubscribe", "publish", "publishLoop",
                                  "watch",     "unwatch",     "enqueue", "reserve"};
    uint8_t a = in.u8();
    if ((a & 0xf0) == 0xf0) {  // a frame of raw body bytes, its length header maybe lying
        std::string body = in.str();
        std::string f(4, '\0');
        uint32_t total = (a & 8) ? in.u16() : static_cast<uint32_t>(body.size() + 4);
        protocol::frame_write_length(f.data(), total);
        return f + body;
    }
    if ((a & 0xf0) == 0xe0) return std::string(4, '\0').replace(3, 1, "\4");  // a ping
    std::string type = types[a & 7];
    std::vector<Value> channels;
    int n = 1 + ((a >> 3) & 1) + ((a >> 4) & 1);
    for (int i = 0; i < n; ++i) channels.push_back(bus_channel(in));
    if (type == "reserve") return protocol::frame_encode(protocol::channel::build_reserve());
    bool with_data = type == "publish" || type == "publishLoop" || type == "enqueue";
    Value d = with_data ? data(in) : Value();
    return protocol::frame_encode(
        protocol::channel::build_client_message(type, channels, with_data ? &d : nullptr));
}

// A bus event for the ws service: through the channel server (published on the
// fuzzer's own link), or written on the ws link when the fuzzer plays the bus.
void World::bus_event(Reader& in) {
    uint8_t a = in.u8();
    Value ch = bus_channel(in);
    Value d = data(in);
    if (cluster_bus_) {
        if (publisher_ < 0) return;
        std::string type = (a & 1) ? "publishLoop" : "publish";
        send(publisher_,
             protocol::frame_encode(protocol::channel::build_client_message(type, {ch}, &d)));
        return;
    }
    if (bus_peer_[kWs] < 0) return;
    if (a & 2) return send(bus_peer_[kWs], in.str());  // garbage from a broken bus
    std::string frames;
    int n = 1 + (a >> 5);  // several in one read: one batch
    for (int i = 0; i < n; ++i)
        frames += protocol::channel::build_delivery((a & 4) ? "queue" : "event", ch, d);
    send(bus_peer_[kWs], frames);
}

// ---- the script ---------------------------------------------------------------------

void World::play(Reader& in) {
    for (int events = 0; events < 400 && !in.empty(); ++events) {
        uint8_t op = in.u8();
        if (g_trace) fprintf(stderr, "op %d\n", op % 16);
        switch (op % 16) {
            case 0:
                open(in);
                break;
            case 1:
            case 2: {
                Peer* p = pick(in);
                std::string b = in.str16();
                if (p) send(p->fd, b);
                break;
            }
            case 3: {
                Peer* p = pick(in);
                std::string b = ws_upgrade(in);
                if (in.u8() & 1) b += ws_frame(in);  // frames in the same read as the request
                if (p) send(p->fd, b);
                break;
            }
            case 4:
            case 5: {
                Peer* p = pick(in);
                int n = 1 + (op >> 5);  // several frames in one write
                std::string b;
                for (int i = 0; i < n; ++i) b += ws_frame(in);
                if (p) send(p->fd, b);
                break;
            }
            case 6: {
                Peer* p = pick(in);
                int n = 1 + (op >> 6);  // pipelined
                std::string b;
                for (int i = 0; i < n; ++i) b += http_request(in);
                if (p) send(p->fd, b);
                break;
            }
            case 7: {
                Peer* p = pick(in);
                int n = 1 + (op >> 5);
                std::string b;
                for (int i = 0; i < n; ++i) b += channel_message(in);
                if (p) send(p->fd, b);
                break;
            }
            case 8:
                bus_event(in);
                break;
            case 9: {
                Peer* p = pick(in);
                if (p) drain(p->fd);
                break;
            }
            case 10:
                close_peer(in);
                break;
            case 11:
            case 12: {
                int n = 1 + (op >> 6);
                for (int i = 0; i < n; ++i) turn();
                break;
            }
            case 13:
                advance(in);
                break;
            case 14:
                service_control(in);
                break;
            default: {
                Peer* p = pick(in);
                // A normal close frame with a code: the shape that crashed the old worker.
                std::string b = ws_upgrade(in);
                if (!(op & 0x80)) b.clear();
                uint16_t code = close_code(in);
                std::string f = "\x88";
                f += static_cast<char>(0x80 | 2);
                f += std::string("\0\0\0\0", 4);
                f += static_cast<char>(code >> 8);
                f += static_cast<char>(code & 0xff);
                if (p) send(p->fd, b + f);
                break;
            }
        }
        check_counts();
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    g_trace = getenv("SERVICES_FUZZ_TRACE") != nullptr;
    g_env = new Env;
    for (int s = 0; s < kNumSvc; ++s) g_env->listen_fd[s] = tcp_listener(&g_env->port[s]);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);  // bound, not listening: refused
    g_env->refused_port = runtime::socket_port(fd);
    // One empty script first: what the runtime opens once per process (the
    // TcpServer's reserve descriptor) is not counted against an input.
    Reader none{nullptr, 0};
    World warm_up(none);
    return 0;
}

// Descriptors open in this process: teardown must leave as many as it found.
static int open_fds() {
    int n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (readdir(d)) ++n;
        closedir(d);
    }
    return n;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    int fds = open_fds();
    {
        Reader in{data, size};
        World world(in);
        world.play(in);
    }
    CHECK(open_fds() == fds, "a descriptor outlived its input");
    return 0;
}
