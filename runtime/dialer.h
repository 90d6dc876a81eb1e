// One outgoing link to HOST:PORT that keeps itself up: the bus clients (the
// Channel client, each Redis link) own one each. A host name is resolved
// without blocking the loop (evdns) and each of its addresses is tried in
// turn; an attempt that neither succeeds nor fails (a filtered address, a
// server that accepts but never answers) is given up after a deadline; after
// a failure or a lost link it backs off exponentially with per-process jitter.
//
// The owner is the link's ConnectionHandler and reports to the dialer: from
// on_connect, or later once its own handshake is answered, `established()`;
// from on_close, `closed()`, which says whether the owner lost a link (and
// counts it) or only an attempt failed (the dialer already moved on).
#pragma once
#include <event2/dns.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "runtime/backoff.h"
#include "runtime/connection.h"
#include "runtime/timer.h"

namespace pusher::runtime {

class Dialer {
  public:
    // A name lookup that is not answered, or an attempt not established in
    // time (connect and the owner's handshake), is given up after this.
    static constexpr double kConnectTimeout = 5.0;
    // A link is only "stable" (back-off reset, outage over) after this long:
    // a server that accepts and closes at once must not cause a retry storm.
    static constexpr double kStableLink = 2.0;

    // what: the owner's name in log lines ("channel client", "redis").
    Dialer(Loop& loop, std::string host, int port, std::string what, ConnectionHandler* owner);
    ~Dialer();
    Dialer(const Dialer&) = delete;
    Dialer& operator=(const Dialer&) = delete;

    // Starts an attempt unless one runs; while a retry is scheduled it waits
    // for it (a publish made during an outage must not bypass the back-off).
    void start();
    // For good: the link (if any) is abandoned without a close event.
    void stop();
    // The link's close event came and its owner wanted it (a half-close
    // answered): stops for good, no reconnect, nothing logged.
    void finished();
    // Uses fd, a socket already connected (a handed-over link, a test's
    // socketpair), as if an attempt had reached it. Closes fd if a link
    // exists or stop() was called.
    void adopt(int fd);
    // The attempt's link is usable: the deadline stops and the outage ends.
    void established();
    // From the owner's on_close. true: an attempt failed and the next
    // address (or a retry) is under way; false: an established link was lost
    // (logged once per outage, retry scheduled): the owner counts it.
    bool closed(Connection& c);
    // Abandons the current link or attempt and retries after a back-off,
    // like a lost link (e.g. the owner found it dead while it looked open).
    void restart();

    Connection* conn() const { return conn_; }
    bool up() const { return up_; }
    bool stopped() const { return stopped_; }
    const std::string& host() const { return host_; }
    int port() const { return port_; }
    std::string address() const { return host_ + ":" + std::to_string(port_); }
    // Why the last attempt failed ("" once established).
    const std::string& last_error() const { return last_error_; }
    bool retry_scheduled() const { return retry_timer_.armed(); }
    // Name lookups read this hosts file and ask no name server (tests; call
    // before start()). By default: /etc/hosts, then resolv.conf's servers.
    void use_hosts_file(const std::string& path);

  private:
    struct Address {
        sockaddr_storage addr;
        socklen_t len;
    };
    struct Lookup {  // the callback's argument: outlives a cancel
        Dialer* owner;
        evdns_getaddrinfo_request* req;
    };
    void attempt();
    bool resolve();
    static void on_resolved(int result, evutil_addrinfo* res, void* arg);
    void try_next_address();
    void abandon_lookup();
    void timed_out();
    void schedule_retry();

    Loop& loop_;
    std::string host_;
    int port_;
    std::string what_;
    ConnectionHandler* owner_;
    Connection* conn_ = nullptr;
    bool up_ = false, stopped_ = false;
    Backoff backoff_;
    evdns_base* dns_ = nullptr;  // only for a host that is a name
    Lookup* lookup_ = nullptr;   // in flight
    bool resolving_ = false, in_resolve_ = false, keep_dns_ = false, timed_out_ = false;
    std::vector<Address> addrs_;  // of the current attempt
    size_t next_addr_ = 0;
    std::string last_error_;
    double up_since_ = 0;
    Timer retry_timer_, deadline_;
};

}  // namespace pusher::runtime
