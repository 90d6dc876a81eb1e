// A pusher whose websocket service speaks TLS (wss://), and its http service
// too (https://) when asked, with a certificate from a throwaway test CA; and
// the raw-socket helpers the TLS tests share. The config names
// <ca dir>/server.pem and server.key, so a test renews the certificate by
// renaming other files over those two (as a certificate manager does).
#pragma once
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "tests/support/pusher_instance.h"
#include "tests/support/test_ca.h"
#include "tests/support/tls_client.h"
#include "tests/support/ws_client.h"

namespace pusher::testing {

inline std::string src_dir() {
    const char* s = getenv("PUSHER_SRC");
    return s ? s : ".";
}

inline std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

inline std::string tls_json(const std::string& cert, const std::string& key) {
    return "\"tls\": {\"cert\": \"" + cert + "\", \"key\": \"" + key + "\"}";
}

struct TlsPusherOptions {
    std::string extra_json;  // top-level keys, e.g. "\"limits\": {...},"
    int ws_count = 1;
    bool http_tls = false;  // the publish API over https too
    CertOptions cert;       // the certificate the server starts with
};

class TlsPusher {
  public:
    explicit TlsPusher(const TlsPusherOptions& o = {}) : http_tls(o.http_tls) {
        if (!ca.ok()) return;
        server = ca.issue("server", o.cert);
        std::string tls = tls_json(server.cert, server.key);
        p = std::make_unique<PusherInstance>(o.extra_json, o.ws_count, "127.0.0.1", "", tls,
                                             o.http_tls ? tls : "");
    }

    // Starts and waits until every worker is on the bus; "" or why not.
    std::string start() {
        if (!p) return "test CA: " + ca.error();
        CmdResult r = p->start();
        if (r.code != 0) return "start: " + r.out + log();
        std::string last;
        bool up = http_tls
                      ? eventually([&] { return (last = get("/healthz")) == "ok\n"; }, 5000, 50)
                      : p->wait_healthy();
        return up ? "" : "not healthy (" + last + ")\n" + log();
    }

    // GET on the http service (over https with curl, trusting the test CA); the body.
    std::string get(const std::string& target) {
        if (!http_tls) return p->http_get(target);
        return run("curl -sS --max-time 5 --cacert " + ca.ca_file() +
                   " 'https://127.0.0.1:" + std::to_string(p->http_port) + target + "'")
            .out;
    }

    // What a client checking the server as a browser would uses.
    TlsOptions client() const {
        TlsOptions o;
        o.ca_file = ca.ca_file();
        return o;
    }

    // A wss:// client that got its welcome; the failure otherwise.
    ::testing::AssertionResult connect(WsClient& c) {
        if (!c.connect_tls("127.0.0.1", p->ws_port, client()))
            return ::testing::AssertionFailure() << c.error() << "\n" << log();
        std::string w = c.recv_text(5000);
        if (w.rfind("workerID:", 0) != 0)
            return ::testing::AssertionFailure() << "welcome: \"" << w << "\"\n" << log();
        return ::testing::AssertionSuccess();
    }

    // The sum over the websocket workers of a status --json field (-1 if none answered).
    long ws_stat(const std::string& field) {
        Json::Value st = status_json(*p);
        long sum = -1;
        for (const Json::Value& w : st["workers"])
            if (w["name"].asString() == "pusher" && w[field].isNumeric())
                sum = (sum < 0 ? 0 : sum) + static_cast<long>(w[field].asInt64());
        return sum;
    }

    // The sum of a /metrics counter over every series (-1 if none).
    long metric(const std::string& name) {
        std::string text = get("/metrics");
        long sum = -1;
        for (size_t at = 0; (at = text.find("\n" + name, at)) != std::string::npos; ++at) {
            size_t eol = text.find('\n', at + 1);
            std::string line = text.substr(at + 1, eol - at - 1);
            if (line.compare(0, name.size() + 1, name + " ") != 0 &&
                line.compare(0, name.size() + 1, name + "{") != 0)
                continue;  // another counter whose name starts the same
            sum = (sum < 0 ? 0 : sum) + atol(line.substr(line.rfind(' ') + 1).c_str());
        }
        return sum;
    }

    std::string log() const {
        return p ? "--- pusher.log ---\n" + slurp(p->dir + "/pusher.log") : "";
    }

    // Replaces the certificate the config names with `name`'s files (renamed
    // over them: a reader sees the old file or the new one, never half).
    bool install(const CertFiles& c) {
        return std::rename(c.cert.c_str(), server.cert.c_str()) == 0 &&
               std::rename(c.key.c_str(), server.key.c_str()) == 0;
    }

    TestCa ca;
    CertFiles server;
    std::unique_ptr<PusherInstance> p;
    bool http_tls;
};

// A blocking loopback connection; -1 if refused.
inline int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// close() after SO_LINGER {1, 0}: the kernel sends a TCP RST, not a FIN.
inline void reset(int fd) {
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

inline bool send_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

// Reads until EOF (or a reset) or the deadline; true on EOF. What came is in *got.
inline bool eof_within(int fd, int ms, std::string* got = nullptr) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        char b[65536];
        ssize_t n = read(fd, b, sizeof b);
        if (n <= 0) return true;
        if (got) got->append(b, static_cast<size_t>(n));
    }
    return false;
}

}  // namespace pusher::testing
