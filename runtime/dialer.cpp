#include "runtime/dialer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>

#include "runtime/log.h"

namespace pusher::runtime {

Dialer::Dialer(Loop& loop, std::string host, int port, std::string what, ConnectionHandler* owner)
    : loop_(loop),
      host_(std::move(host)),
      port_(port),
      what_(std::move(what)),
      owner_(owner),
      retry_timer_(loop, [this] { attempt(); }),
      deadline_(loop, [this] { timed_out(); }) {}

Dialer::~Dialer() {
    stop();
    if (dns_ && !keep_dns_) evdns_base_free(dns_, 0);
}

void Dialer::stop() {
    stopped_ = true;
    retry_timer_.cancel();
    deadline_.cancel();
    // The cancelled lookup still uses the base until its callback has run
    // (later, from the loop): the base then stays (at shutdown only).
    keep_dns_ = keep_dns_ || lookup_;
    abandon_lookup();
    if (conn_) {
        conn_->abandon();  // for good: no close event, no reconnect
        conn_ = nullptr;
    }
    up_ = false;
}

void Dialer::finished() {
    conn_ = nullptr;  // closing already: nothing to abandon
    up_ = false;
    stop();
}

void Dialer::start() {
    if (retry_timer_.armed()) return;
    attempt();
}

void Dialer::attempt() {
    if (conn_ || stopped_ || resolving_) return;
    if (!resolve()) return schedule_retry();
    if (!resolving_) try_next_address();
}

void Dialer::restart() {
    if (conn_) return conn_->close_now();  // its close event goes on from closed()
    if (resolving_) {
        abandon_lookup();
        schedule_retry();
    }
}

void Dialer::established() {
    up_ = true;
    up_since_ = loop_.now();
    deadline_.cancel();
    last_error_.clear();
}

void Dialer::abandon_lookup() {
    if (!lookup_) return;
    Lookup* token = lookup_;
    lookup_ = nullptr;
    resolving_ = false;
    token->owner = nullptr;  // its callback, now or later, only frees it
    if (token->req) evdns_getaddrinfo_cancel(token->req);
}

// A lookup nobody answers, a connect to an address that drops SYNs, or a
// server that takes the connection and never answers the owner's handshake,
// is given up after kConnectTimeout: the next address, or back-off.
void Dialer::timed_out() {
    if (resolving_) {
        abandon_lookup();
        last_error_ = host_ + ": name lookup timed out";
        return try_next_address();
    }
    if (!conn_ || up_) return;
    timed_out_ = true;
    conn_->close_now();  // closed() tries the next address
}

void Dialer::use_hosts_file(const std::string& path) {
    if (dns_ || resolving_) return;  // before start() only
    dns_ = evdns_base_new(loop_.base(), EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (dns_ && evdns_base_load_hosts(dns_, path.c_str()) != 0)
        log_line(what_ + ": cannot read hosts file " + path);
}

static std::string address_text(const sockaddr* sa) {
    char host[INET6_ADDRSTRLEN] = "?";
    const void* a =
        sa->sa_family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
    inet_ntop(sa->sa_family, a, host, sizeof host);
    return host;
}

// A numeric host needs no lookup. A name goes to evdns, which answers from
// the hosts file at once or from a name server later (on_resolved); the loop
// never waits. false: the lookup could not even start.
bool Dialer::resolve() {
    addrs_.clear();
    next_addr_ = 0;
    Address a{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.addr);
    if (inet_pton(AF_INET, host_.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(port_));
        a.len = sizeof *v4;
        addrs_.push_back(a);
        return true;
    }
    if (inet_pton(AF_INET6, host_.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(port_));
        a.len = sizeof *v6;
        addrs_.push_back(a);
        return true;
    }
    if (!dns_)
        dns_ = evdns_base_new(loop_.base(),
                              EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!dns_) {
        log_peer(what_ + ": cannot start a name lookup for " + host_);
        return false;
    }
    evutil_addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    resolving_ = true;
    lookup_ = new Lookup{this, nullptr};
    Lookup* token = lookup_;
    in_resolve_ = true;
    evdns_getaddrinfo_request* req = evdns_getaddrinfo(
        dns_, host_.c_str(), std::to_string(port_).c_str(), &hints, on_resolved, token);
    in_resolve_ = false;
    if (resolving_) {  // answered later; else the callback already ran
        token->req = req;
        deadline_.start(kConnectTimeout, false);
    }
    return true;
}

// Runs exactly once per lookup, also after a cancel; the token tells whether
// its dialer still wants the answer.
void Dialer::on_resolved(int result, evutil_addrinfo* res, void* arg) {
    auto* token = static_cast<Lookup*>(arg);
    Dialer* self = token->owner;
    delete token;
    if (!self || result == EVUTIL_EAI_CANCEL) {
        if (res) evutil_freeaddrinfo(res);
        return;
    }
    self->lookup_ = nullptr;
    self->resolving_ = false;
    self->deadline_.cancel();
    for (evutil_addrinfo* ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
        Address a{};
        memcpy(&a.addr, ai->ai_addr, ai->ai_addrlen);
        a.len = static_cast<socklen_t>(ai->ai_addrlen);
        self->addrs_.push_back(a);
    }
    if (res) evutil_freeaddrinfo(res);
    if (result != 0)
        self->last_error_ = self->host_ + ": " + evutil_gai_strerror(result);
    else if (self->addrs_.empty())
        self->last_error_ = self->host_ + ": no address";
    if (!self->in_resolve_) self->try_next_address();  // else attempt() goes on
}

// Each address in turn; when none is left, back off and resolve again.
void Dialer::try_next_address() {
    if (stopped_ || conn_) return;
    while (next_addr_ < addrs_.size()) {
        const Address& a = addrs_[next_addr_++];
        std::string err;
        conn_ = Connection::connect(loop_, reinterpret_cast<const sockaddr*>(&a.addr), a.len, owner_,
                                    &err);
        if (conn_) {
            deadline_.start(kConnectTimeout, false);
            return;
        }
        last_error_ = address_text(reinterpret_cast<const sockaddr*>(&a.addr)) + ": " + err;
    }
    // Once per outage, not once per retry: a long outage does not fill the log.
    if (backoff_.attempt() == 0 && !last_error_.empty())
        log_line(what_ + ": cannot connect to " + address() + " (" + last_error_ + "), retrying");
    schedule_retry();
}

void Dialer::adopt(int fd) {
    if (conn_ || stopped_ || resolving_) {
        ::close(fd);
        return;
    }
    retry_timer_.cancel();
    addrs_.clear();
    next_addr_ = 0;
    // Connecting: the first EV_WRITE finishes it through on_connect, as for an attempt.
    conn_ = new Connection(loop_, fd, 0, owner_, ConnState::Connecting);
    deadline_.start(kConnectTimeout, false);
}

// Exponential back-off with full jitter from a per-process generator: the
// workers of a host, and the hosts of a cluster, do not knock on a restarted
// server in the same millisecond.
void Dialer::schedule_retry() {
    if (stopped_) return;
    retry_timer_.start(backoff_.next(), false);
}

bool Dialer::closed(Connection& c) {
    int err = c.connect_error();
    bool was_up = up_;
    conn_ = nullptr;
    up_ = false;
    deadline_.cancel();
    if (stopped_) return true;
    if (!was_up && next_addr_ > 0 && next_addr_ <= addrs_.size()) {  // the next address
        const Address& a = addrs_[next_addr_ - 1];
        last_error_ = address_text(reinterpret_cast<const sockaddr*>(&a.addr)) + ": " +
                      (timed_out_ ? "connect timed out" : err ? strerror(err) : "closed");
        timed_out_ = false;
        try_next_address();
        return true;
    }
    timed_out_ = false;
    std::string line = what_ + ": connection to " + address() + " closed, reconnecting";
    if (was_up && loop_.now() - up_since_ >= kStableLink) {
        backoff_.reset();  // a new outage: retry soon, and say so
        log_line(line);
    } else {
        log_peer(line);  // closed again at once: keep backing off, quietly
    }
    schedule_retry();
    return false;
}

}  // namespace pusher::runtime
