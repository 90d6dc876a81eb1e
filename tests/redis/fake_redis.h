// A scriptable fake Redis for hostile-server tests: a RESP2 pub/sub server on
// a free loopback port, on a thread of its own, that answers like Redis
// (PING, AUTH, SUBSCRIBE, UNSUBSCRIBE, PUBLISH delivering to its subscribers)
// unless the test's hook answers a command itself (or not at all).
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace pusher::testing {

class FakeRedis {
  public:
    struct Conn {
        int fd = -1;
        int index = 0;  // accept order, from 0
        std::string in;
        std::set<std::string> chans;
        bool subscriber = false;  // sent a (S)SUBSCRIBE
    };
    // Returns true when it answered cmd itself (appending to *out, maybe
    // nothing); false for the default answer.
    using Hook = std::function<bool(Conn&, const std::vector<std::string>& cmd, std::string* out)>;

    explicit FakeRedis(Hook hook = nullptr) : hook_(std::move(hook)) {
        lfd_ = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t l = sizeof a;
        getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &l);
        port_ = ntohs(a.sin_port);
        listen(lfd_, 64);
        thread_ = std::thread([this] { run(); });
    }
    ~FakeRedis() {
        stop_ = true;
        thread_.join();
        for (auto& c : conns_) close(c->fd);
        close(lfd_);
    }
    int port() const { return port_; }
    std::atomic<int> accepted{0}, subscribers{0};
    std::atomic<long> publishes{0};

    static std::string bulk(const std::string& s) {
        return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
    }
    static std::string push(const std::string& kind, const std::string& ch, const std::string& last,
                            bool last_is_int) {
        return "*3\r\n" + bulk(kind) + bulk(ch) + (last_is_int ? ":" + last + "\r\n" : bulk(last));
    }

  private:
    // Never blocks past stop_: a client that stopped reading (an engine
    // not pumped any more) must not keep the destructor's join waiting.
    void send_all(int fd, const std::string& s) {
        size_t off = 0;
        while (off < s.size() && !stop_) {
            pollfd p{fd, POLLOUT, 0};
            if (poll(&p, 1, 50) <= 0) continue;
            ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
            if (n <= 0) return;
            off += static_cast<size_t>(n);
        }
    }
    static bool parse(std::string& in, std::vector<std::string>* cmd) {
        cmd->clear();
        if (in.empty() || in[0] != '*') return false;
        size_t e = in.find("\r\n");
        if (e == std::string::npos) return false;
        long n = std::stol(in.substr(1, e - 1));
        size_t p = e + 2;
        for (long i = 0; i < n; ++i) {
            size_t j = in.find("\r\n", p);
            if (j == std::string::npos) return false;
            size_t len = std::stoul(in.substr(p + 1, j - p - 1));
            p = j + 2;
            if (in.size() < p + len + 2) return false;
            cmd->push_back(in.substr(p, len));
            p += len + 2;
        }
        for (char& c : (*cmd)[0]) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
        in.erase(0, p);
        return true;
    }
    void answer(Conn& c, const std::vector<std::string>& cmd) {
        std::string out;
        if (hook_ && hook_(c, cmd, &out)) {
            if (!out.empty()) send_all(c.fd, out);
            return;
        }
        const std::string& name = cmd[0];
        if (name == "PING") {
            out = "+PONG\r\n";
        } else if (name == "AUTH") {
            out = "+OK\r\n";
        } else if ((name == "SUBSCRIBE" || name == "SSUBSCRIBE") && cmd.size() > 1) {
            if (!c.subscriber) ++subscribers;
            c.subscriber = true;
            c.chans.insert(cmd[1]);
            std::string kind = name == "SUBSCRIBE" ? "subscribe" : "ssubscribe";
            out = push(kind, cmd[1], std::to_string(c.chans.size()), true);
        } else if ((name == "UNSUBSCRIBE" || name == "SUNSUBSCRIBE") && cmd.size() > 1) {
            c.chans.erase(cmd[1]);
            std::string kind = name == "UNSUBSCRIBE" ? "unsubscribe" : "sunsubscribe";
            out = push(kind, cmd[1], std::to_string(c.chans.size()), true);
        } else if ((name == "PUBLISH" || name == "SPUBLISH") && cmd.size() > 2) {
            ++publishes;
            int n = 0;
            for (auto& o : conns_) {
                if (o->chans.count(cmd[1])) {
                    send_all(o->fd, push(name == "PUBLISH" ? "message" : "smessage", cmd[1], cmd[2],
                                         false));
                    ++n;
                }
            }
            out = ":" + std::to_string(n) + "\r\n";
        } else {
            out = "-ERR unknown command\r\n";
        }
        send_all(c.fd, out);
    }
    void run() {
        while (!stop_) {
            std::vector<pollfd> fds{{lfd_, POLLIN, 0}};
            for (auto& c : conns_) fds.push_back({c->fd, POLLIN, 0});
            if (poll(fds.data(), fds.size(), 20) <= 0) continue;
            if (fds[0].revents & POLLIN) {
                int fd = accept(lfd_, nullptr, nullptr);
                if (fd >= 0) {
                    auto c = std::make_unique<Conn>();
                    c->fd = fd;
                    c->index = accepted++;
                    conns_.push_back(std::move(c));
                }
            }
            for (size_t i = 1; i < fds.size(); ++i) {
                if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                Conn& c = *conns_[i - 1];
                char buf[65536];
                ssize_t n = recv(c.fd, buf, sizeof buf, 0);
                if (n <= 0) {
                    close(c.fd);
                    c.fd = -1;
                    continue;
                }
                c.in.append(buf, static_cast<size_t>(n));
                std::vector<std::string> cmd;
                while (c.fd >= 0 && parse(c.in, &cmd)) answer(c, cmd);
            }
            std::vector<std::unique_ptr<Conn>> live;
            for (auto& c : conns_)
                if (c->fd >= 0) live.push_back(std::move(c));
            conns_.swap(live);
        }
    }

    Hook hook_;
    int lfd_ = -1, port_ = 0;
    std::atomic<bool> stop_{false};
    std::vector<std::unique_ptr<Conn>> conns_;
    std::thread thread_;
};

}  // namespace pusher::testing
