#include "master/config_load.h"

#include <json/json.h>
#include <sys/resource.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "channel/access_rule.h"
#include "protocol/jwt.h"
#include "runtime/tls_context.h"

namespace pusher::master {

using runtime::Config;
using runtime::ServiceConfig;
using runtime::ServiceType;

static std::string host_name() {
    char buf[256] = "localhost";
    gethostname(buf, sizeof buf - 1);
    return buf;
}

// A service of this type as the embedded default has it.
static ServiceConfig service_defaults(ServiceType type) {
    ServiceConfig s;
    s.type = type;
    switch (type) {
        case ServiceType::Channel:
            s.name = "ChannelServer", s.host = "127.0.0.1", s.port = 2206, s.count = 1;
            s.reloadable = false;
            break;
        case ServiceType::WebSocket:
            s.name = "pusher", s.host = "0.0.0.0", s.port = 4236, s.count = 2;
            break;
        case ServiceType::Http:
            s.name = "publisher", s.host = "127.0.0.1", s.port = 4237, s.count = 1;
            break;
    }
    return s;
}

// max_connections not given: what the descriptor limit leaves for clients.
static size_t default_max_connections() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return 1000000;
    size_t fds = static_cast<size_t>(lim.rlim_cur);
    return fds > 2 * runtime::kFdReserve ? fds - runtime::kFdReserve : fds / 2;
}

Config default_config() {
    Config c;
    c.node_name = host_name();
    c.limits.max_connections = default_max_connections();
    c.services = {service_defaults(ServiceType::Channel), service_defaults(ServiceType::WebSocket),
                  service_defaults(ServiceType::Http)};
    return c;
}

namespace {

// Walks a JSON object, taking known keys and reporting the first problem.
class Reader {
  public:
    Reader(const Json::Value& v, std::string path) : v_(v), path_(std::move(path)) {}
    std::string error;

    bool object() { return v_.isObject() || fail("", "must be an object"); }
    bool check_unknown(const std::set<std::string>& known) {
        for (const std::string& k : v_.getMemberNames())
            if (!known.count(k)) return fail(k, "unknown key");
        return true;
    }
    bool str(const char* key, std::string* out) {
        if (!v_.isMember(key)) return true;
        if (!v_[key].isString()) return fail(key, "must be a string");
        *out = v_[key].asString();
        return true;
    }
    bool boolean(const char* key, bool* out) {
        if (!v_.isMember(key)) return true;
        if (!v_[key].isBool()) return fail(key, "must be true or false");
        *out = v_[key].asBool();
        return true;
    }
    bool integer(const char* key, int* out, int lo, int hi) {
        if (!v_.isMember(key)) return true;
        const Json::Value& x = v_[key];
        // isInt64 first: asInt64 throws on integers above INT64_MAX.
        if (!x.isInt64() || x.asInt64() < lo || x.asInt64() > hi)
            return fail(key, "must be " + std::to_string(lo) + ".." + std::to_string(hi));
        *out = x.asInt();
        return true;
    }
    bool size(const char* key, size_t* out) {
        if (!v_.isMember(key)) return true;
        const Json::Value& x = v_[key];
        if (!x.isInt64() || x.asInt64() < 1) return fail(key, "must be a positive integer");
        *out = static_cast<size_t>(x.asInt64());
        return true;
    }
    bool seconds(const char* key, double* out) {
        if (!v_.isMember(key)) return true;
        const Json::Value& x = v_[key];
        if (!x.isNumeric() || x.asDouble() <= 0)
            return fail(key, "must be a positive number of seconds");
        *out = x.asDouble();
        return true;
    }
    bool strings(const char* key, std::vector<std::string>* out) {
        if (!v_.isMember(key)) return true;
        const Json::Value& x = v_[key];
        if (!x.isArray()) return fail(key, "must be an array of strings");
        out->clear();
        for (const Json::Value& s : x) {
            if (!s.isString()) return fail(key, "must be an array of strings");
            out->push_back(s.asString());
        }
        return true;
    }
    bool fail(const std::string& key, const std::string& why) {
        error = "config: " + path_ + (path_.empty() || key.empty() ? "" : ".") + key + ": " + why;
        return false;
    }

  private:
    const Json::Value& v_;
    std::string path_;
};

bool parse_listen(const std::string& s, ServiceConfig* out) {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    char* end = nullptr;
    long port = strtol(s.c_str() + colon + 1, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) return false;
    out->host = s.substr(0, colon);
    if (out->host.size() > 2 && out->host.front() == '[')
        out->host = out->host.substr(1, out->host.size() - 2);
    out->port = static_cast<int>(port);
    return true;
}

bool read_limits(const Json::Value& v, runtime::Limits* l, std::string* error) {
    Reader r(v, "limits");
    bool ok = r.object() &&
              r.check_unknown({"max_connections", "max_send_queue", "ws_max_message",
                               "http_max_header", "http_max_body", "handshake_timeout",
                               "ping_interval", "idle_timeout", "channel_max_frame",
                               "channel_subscriber_queue", "channel_pending_publishes"}) &&
              r.size("max_connections", &l->max_connections) &&
              r.size("max_send_queue", &l->max_send_queue) &&
              r.size("ws_max_message", &l->ws_max_message) &&
              r.size("http_max_header", &l->http_max_header) &&
              r.size("http_max_body", &l->http_max_body) &&
              r.seconds("handshake_timeout", &l->handshake_timeout) &&
              r.seconds("ping_interval", &l->ping_interval) &&
              r.seconds("idle_timeout", &l->idle_timeout) &&
              r.size("channel_max_frame", &l->channel_max_frame) &&
              r.size("channel_subscriber_queue", &l->channel_subscriber_queue) &&
              r.size("channel_pending_publishes", &l->channel_pending_publishes);
    if (ok && l->channel_max_frame > 0xFFFFFFFFu)
        ok = r.fail("channel_max_frame", "must be below 4 GiB");
    if (ok && l->idle_timeout > runtime::kMaxIdleTimeout)
        ok = r.fail("idle_timeout", "must be at most 604800 (a week; it becomes TCP_USER_TIMEOUT)");
    if (ok && l->idle_timeout <= l->ping_interval)
        ok = r.fail("idle_timeout", "must be longer than ping_interval (the time to answer a ping)");
    if (ok && l->max_connections == 0) ok = r.fail("max_connections", "must be at least 1");
    if (!ok) *error = r.error;
    return ok;
}


// "tls": {"cert": FILE, "key": FILE} on a websocket or http service. The
// files themselves are read by the commands that need them (read_tls_files).
bool read_tls(const Json::Value& v, size_t i, ServiceConfig* s, std::string* error) {
    Reader r(v, "services[" + std::to_string(i) + "].tls");
    bool ok = s->type != ServiceType::Channel ||
              r.fail("", "only for websocket and http services");
    ok = ok && r.object() && r.check_unknown({"cert", "key", "//"}) &&
         r.str("cert", &s->tls.cert) && r.str("key", &s->tls.key);
    ok = ok && (!s->tls.cert.empty() || r.fail("cert", "required (a PEM file)"));
    ok = ok && (!s->tls.key.empty() || r.fail("key", "required (a PEM file)"));
    if (!ok) *error = r.error;
    return ok;
}

// "deflate" of a websocket service: permessage-deflate (docs/CONFIG.md "deflate").
bool read_deflate(const Json::Value& v, const std::string& path, runtime::DeflateConfig* d,
                  std::string* error) {
    Reader r(v, path + ".deflate");
    int min_size = static_cast<int>(d->min_size);
    bool ok = r.object() && r.check_unknown({"enabled", "min_size", "level", "//"}) &&
              r.boolean("enabled", &d->enabled) && r.integer("min_size", &min_size, 0, INT_MAX) &&
              r.integer("level", &d->level, 1, 9);
    if (!ok) return *error = r.error, false;
    d->min_size = static_cast<size_t>(min_size);
    return true;
}

bool read_service(const Json::Value& v, size_t i, ServiceConfig* s, std::string* error) {
    Reader r(v, "services[" + std::to_string(i) + "]");
    std::string type, listen;
    if (!r.object() ||
        !r.check_unknown({"type", "listen", "count", "name", "reloadable", "tls", "deflate"}) ||
        !r.str("type", &type) || !r.str("listen", &listen) ||
        !r.integer("count", &s->count, 1, 64) || !r.str("name", &s->name) ||
        !r.boolean("reloadable", &s->reloadable)) {
        *error = r.error;
        return false;
    }
    if (type == "channel")
        *s = service_defaults(ServiceType::Channel);
    else if (type == "websocket")
        *s = service_defaults(ServiceType::WebSocket);
    else if (type == "http")
        *s = service_defaults(ServiceType::Http);
    else
        return *error = r.fail("type", "must be channel, websocket or http") ? "" : r.error, false;
    // Defaults of the type first, then what the file says.
    r.integer("count", &s->count, 1, 64);
    r.str("name", &s->name);
    r.boolean("reloadable", &s->reloadable);
    if (!listen.empty() && !parse_listen(listen, s))
        return *error = r.fail("listen", "must be HOST:PORT with PORT 1..65535") ? "" : r.error,
               false;
    if (v.isMember("tls") && !read_tls(v["tls"], i, s, error)) return false;
    if (s->type == ServiceType::Channel && s->count != 1)
        return *error = r.fail("count", "the channel service runs exactly 1 worker") ? "" : r.error,
               false;
    if (v.isMember("deflate")) {
        if (s->type != ServiceType::WebSocket)
            return *error = r.fail("deflate", "only for websocket services") ? "" : r.error, false;
        if (!read_deflate(v["deflate"], "services[" + std::to_string(i) + "]", &s->deflate, error))
            return false;
    }
    return true;
}

// "HOST:PORT" of a bus server, stricter than parse_listen: an IPv6 address
// must be in brackets ("[::1]:6379"), the port is digits only.
bool parse_server(const std::string& s, std::string* host, int* port) {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size() || colon + 6 < s.size())
        return false;
    long p = 0;
    for (size_t i = colon + 1; i < s.size(); ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        p = p * 10 + (s[i] - '0');
    }
    if (p < 1 || p > 65535) return false;
    std::string h = s.substr(0, colon);
    if (h.front() == '[') {
        if (h.size() < 4 || h.back() != ']') return false;
        h = h.substr(1, h.size() - 2);
        if (h.find(':') == std::string::npos) return false;  // brackets are for IPv6 only
    } else if (h.find(':') != std::string::npos) {
        return false;  // an IPv6 address without brackets: where does it end?
    }
    for (unsigned char ch : h)
        if (ch <= ' ' || ch >= 0x7f || ch == '[' || ch == ']' || ch == '/' || ch == '@')
            return false;
    *host = h;
    *port = static_cast<int>(p);
    return true;
}

std::string lower(std::string s) {
    for (char& ch : s)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return s;
}

std::string number(double d) {
    std::ostringstream o;
    o << d;
    return o.str();
}

// "bus": which engine carries events between the hosts (docs/CONFIG.md "bus").
// No message here may echo username or password.
bool read_bus(const Json::Value& v, Config* c, std::string* error) {
    Reader r(v, "bus");
    auto bad = [&](const std::string& key, const std::string& why) {
        r.fail(key, why);
        *error = r.error;
        return false;
    };
    runtime::BusConfig& b = c->bus;
    std::string engine = "channel";
    if (!r.object() || !r.str("engine", &engine)) return *error = r.error, false;
    if (engine == "channel") {
        for (const char* k : {"mode", "servers", "prefix", "username", "password", "probe_interval",
                              "probe_timeout"})
            if (v.isMember(k)) return bad(k, "only for engine \"redis\"");
        std::string server;
        if (!r.check_unknown({"engine", "server", "//"}) || !r.str("server", &server))
            return *error = r.error, false;
        b = runtime::BusConfig{};
        if (v.isMember("server") && !parse_server(server, &c->channel_host, &c->channel_port))
            return bad("server",
                       "must be \"HOST:PORT\" of the channel server (\"[v6]:PORT\" for IPv6, "
                       "PORT 1..65535)");
        return true;
    }
    if (engine != "redis") return bad("engine", "must be \"channel\" or \"redis\"");
    b.engine = runtime::BusEngine::Redis;
    if (v.isMember("server"))
        return bad("server", "only for engine \"channel\" (redis takes \"servers\")");
    std::string mode = "single";
    std::vector<std::string> servers;
    if (!r.check_unknown({"engine", "mode", "servers", "prefix", "username", "password",
                          "probe_interval", "probe_timeout", "//"}) ||
        !r.str("mode", &mode) || !r.strings("servers", &servers) || !r.str("prefix", &b.prefix) ||
        !r.str("username", &b.username) || !r.str("password", &b.password))
        return *error = r.error, false;
    if (mode == "single") {
        b.mode = runtime::RedisMode::Single;
        if (servers.size() != 1) return bad("servers", "mode single takes exactly one server");
    } else if (mode == "sharded") {
        b.mode = runtime::RedisMode::Sharded;
        if (servers.empty())
            return bad("servers", "mode sharded needs at least one server (the shards, in order)");
    } else if (mode == "cluster") {
        b.mode = runtime::RedisMode::Cluster;
        if (servers.empty()) return bad("servers", "mode cluster needs at least one seed node");
    } else {
        return bad("mode", "must be \"single\", \"sharded\" or \"cluster\"");
    }
    b.redis.clear();
    std::map<std::pair<std::string, int>, size_t> seen;  // lower-case host, port -> index
    for (size_t i = 0; i < servers.size(); ++i) {
        runtime::RedisAddress s;
        // The index names it, never the text: a URL there may hold a password.
        std::string at = "servers[" + std::to_string(i) + "]";
        if (!parse_server(servers[i], &s.host, &s.port))
            return bad(at, "must be \"HOST:PORT\" (\"[v6]:PORT\" for IPv6, PORT 1..65535)");
        auto first = seen.emplace(std::make_pair(lower(s.host), s.port), i).first;
        if (first->second != i)
            return bad(at, "the same server as servers[" + std::to_string(first->second) + "]");
        b.redis.push_back(s);
    }
    bool printable = !b.prefix.empty() && b.prefix.size() <= 64;
    for (unsigned char ch : b.prefix) printable = printable && ch > ' ' && ch < 0x7f;
    if (!printable) return bad("prefix", "must be 1..64 printable ASCII characters, no spaces");
    if (!b.username.empty() && b.password.empty())
        return bad("username", "given without a password (Redis AUTH takes both)");
    if (v.isMember("probe_interval")) {
        const Json::Value& x = v["probe_interval"];
        if (!x.isNumeric() || !(x.asDouble() > 0 && x.asDouble() <= 60))
            return bad("probe_interval", "must be a number of seconds above 0, at most 60");
        b.probe_interval = x.asDouble();
    }
    if (v.isMember("probe_timeout")) {
        const Json::Value& x = v["probe_timeout"];
        if (!x.isNumeric()) return bad("probe_timeout", "must be a number of seconds");
        b.probe_timeout = x.asDouble();
    }
    if (!(b.probe_timeout >= b.probe_interval && b.probe_timeout <= 300))
        return bad("probe_timeout",
                   "must be at least probe_interval (" + number(b.probe_interval) +
                       ") and at most 300 seconds" +
                       (v.isMember("probe_timeout")
                            ? ""
                            : " (default " + number(runtime::BusConfig{}.probe_timeout) + ")"));
    return true;
}

bool read_file(const std::string& path, std::string* out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream text;
    text << in.rdbuf();
    *out = text.str();
    return !in.bad();
}

// "auth": JWTs on WebSocket connect (docs/CONFIG.md "auth"). Files are read
// here, relative to the config file's folder, and the key is loaded once to
// fail at start, not on the first client.
bool read_auth(const Json::Value& v, const std::string& dir, runtime::AuthConfig* a,
               std::string* error) {
    Reader r(v, "auth");
    auto bad = [&](const std::string& key, const std::string& why) {
        r.fail(key, why);
        *error = r.error;
        return false;
    };
    auto resolve = [&](const std::string& p) { return p[0] == '/' ? p : dir + "/" + p; };
    std::string secret_file;
    a->anonymous = false;  // a section that asks for tokens means it: anonymous only when said
    if (!r.object() ||
        !r.check_unknown({"hs256_secret", "hs256_secret_file", "public_key", "anonymous",
                          "leeway", "//"}) ||
        !r.str("hs256_secret", &a->hs256_secret) || !r.str("hs256_secret_file", &secret_file) ||
        !r.str("public_key", &a->public_key) || !r.boolean("anonymous", &a->anonymous))
        return *error = r.error, false;
    if (v.isMember("leeway")) {
        const Json::Value& x = v["leeway"];
        if (!x.isNumeric() || !(x.asDouble() >= 0 && x.asDouble() <= 300))
            return bad("leeway", "must be a number of seconds, 0..300");
        a->leeway = x.asDouble();
    }
    const char* secret_key = "hs256_secret";
    if (!secret_file.empty()) {
        if (v.isMember("hs256_secret"))
            return bad("hs256_secret_file", "given with hs256_secret: use one");
        secret_key = "hs256_secret_file";
        if (!read_file(resolve(secret_file), &a->hs256_secret))
            return bad(secret_key, "cannot read " + resolve(secret_file));
        // `echo SECRET > file` ends it with a newline that is no part of the secret.
        while (!a->hs256_secret.empty() &&
               (a->hs256_secret.back() == '\n' || a->hs256_secret.back() == '\r'))
            a->hs256_secret.pop_back();
    }
    if ((v.isMember("hs256_secret") || !secret_file.empty()) && a->hs256_secret.size() < 32)
        return bad(secret_key, "must be at least 32 bytes (an HS256 key is as strong as its secret)");
    if (!a->public_key.empty()) {
        a->public_key = resolve(a->public_key);
        if (!read_file(a->public_key, &a->public_key_pem) || a->public_key_pem.empty())
            return bad("public_key", "cannot read " + a->public_key);
    }
    if (!a->enabled())
        return bad("", "needs hs256_secret, hs256_secret_file or public_key");
    protocol::JwtVerifier verifier;
    std::string why;
    if (!verifier.load(a->hs256_secret, a->public_key_pem, &why))
        return bad("public_key", a->public_key + ": " + why);
    return true;
}

// A rule that does not parse would allow nobody (or, parsed loosely,
// everybody): refuse to start instead.
bool check_channel_allow(const std::vector<std::string>& rules, std::string* error) {
    for (const std::string& text : rules) {
        channel::AccessRule rule;
        std::string why;
        if (!channel::parse_access_rule(text, &rule, &why))
            return *error = "config: channel_allow: \"" + text + "\": " + why, false;
    }
    return true;
}

}  // namespace

static void resolve_tls_paths(Config* c);
static std::string config_dir(const Config& c);

bool load_config(const std::string& file, Config* out, std::string* error) {
    std::ifstream in(file);
    if (!in) return *error = "config: cannot read " + file, false;
    Json::CharReaderBuilder b;
    Json::Value root;
    std::string errs;
    bool parsed = false;
    try {
        parsed = Json::parseFromStream(b, in, &root, &errs);
    } catch (const std::exception& e) {  // jsoncpp throws past its stackLimit
        errs = e.what();
    }
    if (!parsed) {
        *error = "config: " + file + ": not valid JSON: " + errs.substr(0, errs.find('\n'));
        return false;
    }
    Config c = default_config();
    c.config_file = file;
    Reader r(root, "");
    ServiceConfig chan;
    bool ok =
        r.object() &&
        r.check_unknown({"node_name", "services", "channel", "bus", "broadcast_event", "welcome",
                         "api_key", "allowed_origins", "channel_allow", "pid_file", "log_file",
                         "stats_file", "stop_timeout", "graceful_timeout", "api_timeout", "limits",
                         "auth", "reload",
                         "//"}) &&
        r.str("node_name", &c.node_name) && r.str("broadcast_event", &c.broadcast_event) &&
        r.str("api_key", &c.api_key) && r.strings("allowed_origins", &c.allowed_origins) &&
        r.strings("channel_allow", &c.channel_allow) && r.str("pid_file", &c.pid_file) &&
        r.str("log_file", &c.log_file) && r.str("stats_file", &c.stats_file) &&
        r.seconds("stop_timeout", &c.stop_timeout) &&
        r.seconds("graceful_timeout", &c.graceful_timeout) &&
        r.seconds("api_timeout", &c.api_timeout);
    if (!ok) return *error = r.error, false;
    if (!check_channel_allow(c.channel_allow, error)) return false;
    if (root.isMember("reload")) {
        Reader rr(root["reload"], "reload.");
        if (!rr.object() ||
            !rr.check_unknown({"handover", "handover_timeout", "close_window", "//"}) ||
            !rr.boolean("handover", &c.handover) ||
            !rr.seconds("handover_timeout", &c.handover_timeout) ||
            !rr.seconds("close_window", &c.close_window))
            return *error = rr.error, false;
    }
    std::string welcome = "text";
    if (!r.str("welcome", &welcome)) return *error = r.error, false;
    if (welcome != "text" && welcome != "json")
        return *error = "config: welcome: must be \"text\" or \"json\"", false;
    c.welcome_json = welcome == "json";
    if (root.isMember("bus")) {
        if (!read_bus(root["bus"], &c, error)) return false;
        if (root.isMember("channel"))
            return *error = c.bus.engine == runtime::BusEngine::Channel
                                ? "config: channel: given with \"bus\": use one (\"bus\": "
                                  "{\"engine\": \"channel\", \"server\": \"HOST:PORT\"} is the "
                                  "same as \"channel\": \"HOST:PORT\")"
                                : "config: channel: given with \"bus\" of engine redis: use one "
                                  "(the top-level \"channel\" is the channel engine's server)",
                   false;
    } else if (root.isMember("channel")) {
        std::string addr;
        Reader cr(root, "");
        if (!cr.str("channel", &addr) || !parse_listen(addr, &chan))
            return *error = "config: channel: must be \"HOST:PORT\" of the channel server", false;
        c.channel_host = chan.host;
        c.channel_port = chan.port;
    }
    if (root.isMember("services")) {
        const Json::Value& s = root["services"];
        if (!s.isArray() || s.empty())
            return *error = "config: services: must be a non-empty array", false;
        c.services.clear();
        for (Json::ArrayIndex i = 0; i < s.size(); ++i) {
            ServiceConfig sc;
            if (!read_service(s[i], i, &sc, error)) return false;
            c.services.push_back(sc);
        }
    }
    if (root.isMember("limits") && !read_limits(root["limits"], &c.limits, error)) return false;
    if (root.isMember("auth") && !read_auth(root["auth"], config_dir(c), &c.auth, error))
        return false;
    if (c.node_name.empty() || c.node_name.size() > 60)
        return *error = "config: node_name: must be 1..60 characters", false;
    resolve_tls_paths(&c);
    *out = c;
    return true;
}

static std::string absolute(const std::string& path) {
    char cwd[PATH_MAX];
    if (path.empty() || path[0] == '/' || !getcwd(cwd, sizeof cwd)) return path;
    return std::string(cwd) + "/" + path;
}

static std::string dir_of(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// Where the embedded default keeps its files: beside the binary, wherever the
// CLI is run from.
static std::string binary_dir() {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return absolute(".");
    exe[n] = '\0';
    return dir_of(exe);
}

static std::string config_dir(const Config& c) {
    return dir_of(absolute(c.config_file));
}

// Certificate paths are relative to the config file's folder, like every
// other path in it.
static void resolve_tls_paths(Config* c) {
    std::string dir = config_dir(*c);
    for (ServiceConfig& s : c->services)
        for (std::string* p : {&s.tls.cert, &s.tls.key})
            if (!p->empty() && (*p)[0] != '/') *p = dir + "/" + *p;
}

bool read_tls_files(Config* c, std::string* error) {
    for (size_t i = 0; i < c->services.size(); ++i) {
        std::string why;
        if (c->services[i].tls.enabled() && !runtime::tls_read_files(&c->services[i].tls, &why))
            return *error = "config: services[" + std::to_string(i) + "].tls: " + why, false;
    }
    return true;
}

void derive_paths(Config* c) {
    std::string name = "default";
    if (!c->config_file.empty()) {
        c->config_file = absolute(c->config_file);
        name = c->config_file.substr(c->config_file.rfind('/') + 1);
        if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0)
            name.resize(name.size() - 5);
    }
    std::string base = "pusher." + name;
    if (c->pid_file.empty()) c->pid_file = base + ".pid";
    if (c->log_file.empty()) c->log_file = base + ".log";
    if (c->stats_file.empty()) c->stats_file = base + ".stats";
    // Relative to the config file (or the binary), never to the current
    // directory: `pusher status -c CONFIG` must find the instance from anywhere.
    std::string dir = c->config_file.empty() ? binary_dir() : dir_of(c->config_file);
    for (std::string* p : {&c->pid_file, &c->log_file, &c->stats_file})
        if (!p->empty() && (*p)[0] != '/') *p = dir + "/" + *p;
}

}  // namespace pusher::master
