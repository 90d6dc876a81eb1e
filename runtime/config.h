// The parsed configuration as workers see it: plain data, no parsing here.
// master/config_load.cpp fills it from JSON (or the embedded default) and
// validates it; every worker process gets a copy across fork().
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pusher::runtime {

// Descriptors a worker holds besides its clients: stdin/out/err, its
// listening socket, the control and hand-over sockets, libevent's epoll and
// signal descriptors, the EMFILE reserve, the bus (a Redis Cluster link pair
// per master) and DNS. A ws worker on the channel bus holds 11 (measured);
// 256 leaves room for a large Redis cluster and whatever a later feature
// opens, and is small beside any limit meant for many connections. The
// default max_connections is `ulimit -n` minus this; the kernel check at
// start (master/kernel_check.h) warns when a given one leaves less.
constexpr size_t kFdReserve = 256;

// idle_timeout also becomes each WebSocket's TCP_USER_TIMEOUT (milliseconds
// in an unsigned int): a week is far beyond any use and fits.
constexpr double kMaxIdleTimeout = 604800;

// Limits an operator can tune; defaults are safe for an internet-facing node.
struct Limits {
    // Per worker; above it new ones are refused. The config's default
    // (master/config_load.cpp) is `ulimit -n` minus kFdReserve.
    size_t max_connections = 18000;
    size_t max_send_queue = 1 << 20;             // per connection, bytes (the original's 1 MiB)
    size_t ws_max_message = 1 << 20;             // largest WebSocket message accepted from a client
    size_t http_max_header = 16384;              // request line + headers (431 above)
    size_t http_max_body = 1 << 20;              // 413 above
    double handshake_timeout = 10.0;             // seconds to complete the WebSocket/HTTP request
    // Keep-alive (worker/ws_keepalive.cpp): a client silent for about this
    // long is pinged (under the 60 s idle timeout of common proxies), and
    // one that leaves it unanswered for idle_timeout - ping_interval is closed.
    double ping_interval = 50.0;
    double idle_timeout = 100.0;
    size_t channel_max_frame = 10485760;         // Workerman's defaultMaxPackageSize
    size_t channel_subscriber_queue = 16 << 20;  // channel server, per subscriber, bytes
    size_t channel_pending_publishes = 10000;    // channel client, while disconnected
};

enum class ServiceType { Channel, WebSocket, Http };

// wss:// and https:// (docs/CONFIG.md "tls"): PEM files, re-read on
// `reload-certs` without touching established connections.
struct TlsConfig {
    std::string cert;  // certificate chain file, leaf first; empty: plain TCP
    std::string key;   // its private key file
    // The last pair that loaded, as PEM text: the master reads the files at
    // start, on reload and on reload-certs, and a worker forked later starts
    // from these, so a half-renewed pair on disk never stops a re-fork.
    std::string cert_pem, key_pem;
    bool enabled() const { return !cert.empty(); }
};

// permessage-deflate (RFC 7692) on a websocket service (docs/CONFIG.md "deflate").
struct DeflateConfig {
    bool enabled = true;    // negotiated when a client offers it
    size_t min_size = 256;  // smaller messages go out uncompressed
    int level = 6;          // zlib level 1..9
};

// JWTs on WebSocket connect (docs/CONFIG.md "auth"). Without an "auth"
// section every client is anonymous, as in the original.
struct AuthConfig {
    std::string hs256_secret;    // HS256 key bytes (given, or read from hs256_secret_file)
    std::string public_key;      // PEM file of the RS256/ES256 public key, resolved
    std::string public_key_pem;  // its text, read at config load
    bool anonymous = true;       // connects without a token allowed; "auth" given: false unless said
    double leeway = 0;           // seconds of clock skew allowed on exp and nbf
    bool enabled() const { return !hs256_secret.empty() || !public_key_pem.empty(); }
};

struct ServiceConfig {
    ServiceType type = ServiceType::WebSocket;
    std::string name;  // worker name shown in status: ChannelServer, pusher, publisher
    std::string host = "127.0.0.1";
    int port = 0;
    int count = 1;
    bool reloadable = true;
    TlsConfig tls;          // websocket and http services
    DeflateConfig deflate;  // websocket services
    std::string listen() const;  // "websocket://0.0.0.0:4236" style, as the original shows
    const char* scheme() const;  // frame / websocket / http
};

// Which engine carries the bus (docs/CONFIG.md "bus"). The Channel engine is
// the embedded default (Workerman Channel's protocol, our channel server or
// PHP's); Redis serves when one channel server is outgrown.
enum class BusEngine { Channel, Redis };
enum class RedisMode { Single, Sharded, Cluster };

struct RedisAddress {
    std::string host;
    int port = 6379;
};

struct BusConfig {
    BusEngine engine = BusEngine::Channel;
    RedisMode mode = RedisMode::Single;
    // single: one; sharded: every shard, in order (the order is the hash's);
    // cluster: seed nodes, the rest is discovered.
    std::vector<RedisAddress> redis;
    std::string prefix = "pusher";  // Redis channel of event E: "<prefix>:E"
    std::string username, password;  // AUTH, when the server asks for it
    double probe_interval = 1.0;     // seconds between liveness probes per subscription
    double probe_timeout = 3.0;      // a probe (or any reply) later than this: link dead
};

struct Config {
    std::string config_file;  // empty: the embedded default
    std::string node_name;    // identifies this host in client ids and metrics
    std::vector<ServiceConfig> services;
    std::string channel_host = "127.0.0.1";  // where workers find the bus
    int channel_port = 2206;
    BusConfig bus;  // engine and its servers; channel_host/port serve the Channel engine
    std::string broadcast_event = "broadcast";
    bool welcome_json = false;
    std::string api_key;                       // publish API key; empty: none
    std::vector<std::string> allowed_origins;  // WebSocket Origin allowlist; empty: any
    AuthConfig auth;                           // tokens on WebSocket connect
    std::vector<std::string> channel_allow = {"127.0.0.1"};  // peers the bus accepts
    std::string pid_file;                                    // default: ./pusher.<config name>.pid
    std::string log_file;                                    // default: ./pusher.<config name>.log
    std::string stats_file;          // shared-memory status region, default beside the pid file
    double stop_timeout = 2.0;       // stop: SIGKILL stragglers after this
    double graceful_timeout = 30.0;  // stop -g / reload -g: drain at most this long
    // Publish API calls that wait for ws workers (operations on a client,
    // presence): answered 504 / partial after this long.
    double api_timeout = 2.0;
    // Reload (docs/CONFIG.md "reload"): a ws worker hands its WebSockets to
    // its replacement (handover; off: they are closed with 1001 as before);
    // a hand-over not complete after handover_timeout ends with what was
    // adopted. Clients that cannot be handed over (TLS) and those of a
    // `stop -g` are told 1001 one by one over close_window seconds.
    bool handover = true;
    double handover_timeout = 10.0;
    double close_window = 10.0;
    Limits limits;
};

}  // namespace pusher::runtime
