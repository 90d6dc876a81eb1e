// An accepting server inside one worker: the listening socket's accept loop
// and the table of this worker's accepted connections (Workerman's
// $worker->connections). The service is the ConnectionHandler of every
// connection; the table only tracks membership, ids and limits.
#pragma once
#include <event2/event.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "runtime/connection.h"
#include "runtime/loop.h"
#include "runtime/tls_context.h"

namespace pusher::runtime {

class TcpServer {
  public:
    // Called for every accepted connection before any byte is read; the
    // acceptor has already put it in the table (as Workerman does).
    class Acceptor {
      public:
        virtual ~Acceptor() = default;
        virtual void on_accept(Connection& c) = 0;
    };

    TcpServer(Loop& loop, int listen_fd, ConnectionHandler* handler, Acceptor* acceptor);
    ~TcpServer();
    TcpServer(const TcpServer&) = delete;
    TcpServer& operator=(const TcpServer&) = delete;

    // Every connection accepted from now on speaks TLS with this context's
    // certificate (as it is at its handshake). The context outlives us.
    void set_tls(const TlsContext* tls) { tls_ = tls; }

    void start_accepting();
    void stop_accepting();
    bool accepting() const { return accepting_; }

    // Puts an already-connected socket (non-blocking) in the table as if it
    // had been accepted: on_accept runs before this returns. No max_connections
    // check: the socket is here already (a handed-over connection, a test's
    // socketpair). The connection may be closed already when this returns.
    Connection* adopt(int fd);
    // The same with the id it had in the process that handed it over.
    Connection* adopt(int fd, uint64_t id);

    // Handlers call this from on_close so the table forgets the connection.
    void remove(Connection& c);
    Connection* find(uint64_t id) const;
    size_t size() const { return conns_.size(); }
    // Calls f(Connection&) for every connection. It walks the flat array
    // backwards so that f may close the connection it is given: the swap-remove
    // only moves an already visited entry into the freed place.
    template <class F>
    void for_each(F&& f) const {
        for (size_t i = conns_.size(); i-- > 0;) {
            if (i < conns_.size()) f(*conns_[i]);
        }
    }
    // Calls f for `count` entries from position `from` on, wrapping at the
    // end, backwards like for_each. A sweep that visits a slice per tick
    // reaches every connection once per round at a steady rate, so work per
    // connection (a keep-alive ping) is spread over the round, not bunched.
    template <class F>
    void for_slice(size_t from, size_t count, F&& f) const {
        size_t n = conns_.size();
        if (n == 0) return;
        if (count > n) count = n;
        for (size_t k = count; k-- > 0;) {
            size_t i = (from + k) % n;
            if (i < conns_.size()) f(*conns_[i]);
        }
    }
    void close_all();

  private:
    static void on_listen(evutil_socket_t fd, short, void* arg);
    static void on_resume(evutil_socket_t, short, void* arg);
    void accept_some();
    void back_off();  // EMFILE and friends: stop polling the listener for a while

    Loop& loop_;
    int listen_fd_;
    ConnectionHandler* handler_;
    Acceptor* acceptor_;
    const TlsContext* tls_ = nullptr;
    event* listen_ev_;
    event* resume_ev_;
    bool accepting_ = false;
    bool backing_off_ = false;
    std::vector<Connection*> conns_;
    std::unordered_map<uint64_t, Connection*> by_id_;
};

}  // namespace pusher::runtime
