// Connection over TLS (runtime/tls_stream, runtime/tls_context) against an
// OpenSSL client in the same thread: the test pumps the loop and the client
// in turn (EVLOOP_NONBLOCK), so there are no threads and no sleeps. The
// certificates are made here with the OpenSSL API (an EC key, self-signed).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include "runtime/listen_socket.h"
#include "runtime/tcp_server.h"
#include "runtime/tls_context.h"

using namespace pusher::runtime;

namespace {

// A self-signed certificate for CN=cn in dir, as the config names it.
TlsConfig pair(const std::string& cert, const std::string& key) {
    TlsConfig t;
    t.cert = cert;
    t.key = key;
    std::string err;
    tls_read_files(&t, &err);
    return t;
}

std::pair<std::string, std::string> make_cert(const std::string& dir, const std::string& cn) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, key, EVP_sha256());
    std::string cert = dir + "/" + cn + ".crt", keyf = dir + "/" + cn + ".key";
    FILE* f = fopen(cert.c_str(), "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(keyf.c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
    return {cert, keyf};
}

class Echo : public ConnectionHandler, public TcpServer::Acceptor {
  public:
    TcpServer* server = nullptr;
    int closed = 0;
    Connection* last = nullptr;
    void on_accept(Connection& c) override {
        last = &c;
        c.send("hello\n", 6);  // before the handshake: waits for it
    }
    void on_data(Connection& c, const char* d, size_t n) override {
        std::string s(d, n);
        if (s == "close\n") return c.close();
        c.send(d, n);
    }
    void on_close(Connection& c) override {
        ++closed;
        if (last == &c) last = nullptr;
        server->remove(c);
    }
};

struct Client {
    int fd = -1;
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    ~Client() {
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        if (fd >= 0) close(fd);
    }
};

struct TlsConnectionTest : ::testing::Test {
    Limits limits;
    std::unique_ptr<Loop> loop;
    std::unique_ptr<TcpServer> server;
    TlsContext tls;
    Echo echo;
    int lfd = -1, port = 0;
    std::string dir;

    void SetUp() override {
        char tmpl[] = "/tmp/pusher-tls-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void start() {
        auto [cert, key] = make_cert(dir, "first");
        std::string err;
        ASSERT_TRUE(tls.load(pair(cert, key), &err)) << err;
        loop = std::make_unique<Loop>(nullptr, limits);
        lfd = listen_socket("127.0.0.1", 0, false, &err);
        ASSERT_GE(lfd, 0) << err;
        port = socket_port(lfd);
        server = std::make_unique<TcpServer>(*loop, lfd, &echo, &echo);
        server->set_tls(&tls);
        echo.server = server.get();
        server->start_accepting();
    }
    void TearDown() override {
        server.reset();
        loop.reset();
        if (lfd >= 0) close(lfd);
        std::string cmd = "rm -rf " + dir;
        (void)system(cmd.c_str());
    }
    bool pump_until(const std::function<bool()>& done, int ms = 5000) {
        auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (!done()) {
            if (std::chrono::steady_clock::now() > end) return false;
            event_base_loop(loop->base(), EVLOOP_NONBLOCK);
        }
        return true;
    }
    int dial() {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        return fd;
    }
    // A non-blocking TLS client; its handshake runs as the test pumps.
    std::unique_ptr<Client> connect_tls() {
        auto c = std::make_unique<Client>();
        c->fd = dial();
        c->ctx = SSL_CTX_new(TLS_client_method());
        c->ssl = SSL_new(c->ctx);
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_connect_state(c->ssl);
        return c;
    }
    // Reads until want bytes arrived or the stream ended; "" on nothing.
    std::string read_tls(Client& c, size_t want, bool* ended = nullptr) {
        std::string got;
        bool end = false;
        pump_until([&] {
            char b[4096];
            int n = SSL_read(c.ssl, b, sizeof b);
            if (n > 0) got.append(b, static_cast<size_t>(n));
            int e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(c.ssl, n);
            end = e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL;
            return got.size() >= want || end;
        });
        if (ended) *ended = end;
        ERR_clear_error();
        return got;
    }
    bool write_tls(Client& c, const std::string& s) {
        size_t off = 0;
        return pump_until([&] {
            int n = SSL_write(c.ssl, s.data() + off, static_cast<int>(s.size() - off));
            if (n > 0) off += static_cast<size_t>(n);
            return off == s.size();
        });
    }
    std::string peer_cn(Client& c) {
        X509* x = SSL_get1_peer_certificate(c.ssl);
        if (!x) return "";
        char buf[128] = "";
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof buf);
        X509_free(x);
        return buf;
    }
};

TEST_F(TlsConnectionTest, HandshakesGreetsAndEchoes) {
    start();
    auto c = connect_tls();
    // The greeting was sent before the handshake: it waited for it.
    EXPECT_EQ(read_tls(*c, 6), "hello\n");
    EXPECT_EQ(peer_cn(*c), "first");
    EXPECT_GE(SSL_version(c->ssl), TLS1_2_VERSION);
    ASSERT_TRUE(write_tls(*c, "ping"));
    EXPECT_EQ(read_tls(*c, 4), "ping");
    ASSERT_NE(echo.last, nullptr);
    EXPECT_TRUE(echo.last->tls());
    EXPECT_FALSE(echo.last->tls_handshaking());
}

// The send queue under TLS: what the socket refuses waits, in order, and the
// retry hands OpenSSL the same bytes; the client gets every byte exactly.
TEST_F(TlsConnectionTest, BackpressureKeepsEveryByteInOrder) {
    limits.max_send_queue = 64 << 20;
    start();
    auto c = connect_tls();
    ASSERT_EQ(read_tls(*c, 6), "hello\n");
    Connection* conn = echo.last;
    ASSERT_NE(conn, nullptr);
    std::string expect;
    for (int i = 0; i < 2000; ++i) {
        std::string msg = "message " + std::to_string(i) + " " + std::string((i * 17) % 30000, 'a' + i % 26) + "\n";
        ASSERT_TRUE(conn->send(msg.data(), msg.size()));
        expect += msg;
    }
    EXPECT_GT(conn->queued(), 0u);  // the socket could not take it all at once
    std::string got = read_tls(*c, expect.size());
    ASSERT_EQ(got.size(), expect.size());
    EXPECT_TRUE(got == expect);
    EXPECT_TRUE(pump_until([&] { return conn->queued() == 0; }));
}

TEST_F(TlsConnectionTest, CloseFlushesThenSendsCloseNotify) {
    start();
    auto c = connect_tls();
    ASSERT_EQ(read_tls(*c, 6), "hello\n");
    ASSERT_TRUE(write_tls(*c, "close\n"));
    bool ended = false;
    EXPECT_EQ(read_tls(*c, 1 << 20, &ended), "");
    EXPECT_TRUE(ended);
    EXPECT_EQ(SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN, SSL_RECEIVED_SHUTDOWN);
    EXPECT_TRUE(pump_until([&] { return echo.closed == 1; }));
}

TEST_F(TlsConnectionTest, GarbageClosesAndIsCounted) {
    start();
    int fd = dial();
    std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_TRUE(pump_until([&] { return write(fd, junk.data(), junk.size()) > 0; }));
    ASSERT_TRUE(pump_until([&] { return echo.closed == 1; }));
    EXPECT_EQ(loop->stats().tls_handshake_failures.load(), 1u);
    EXPECT_EQ(server->size(), 0u);
    close(fd);
    // The listener still serves a good client.
    auto c = connect_tls();
    EXPECT_EQ(read_tls(*c, 6), "hello\n");
}

// A reload changes what new handshakes present; the connection made before
// keeps its session and goes on working.
TEST_F(TlsConnectionTest, ReloadLeavesEstablishedConnectionsAlone) {
    start();
    auto old_client = connect_tls();
    ASSERT_EQ(read_tls(*old_client, 6), "hello\n");
    auto [cert, key] = make_cert(dir, "renewed");
    std::string err;
    ASSERT_TRUE(tls.load(pair(cert, key), &err)) << err;
    EXPECT_NE(tls.describe().find("CN=renewed"), std::string::npos) << tls.describe();
    auto fresh = connect_tls();
    ASSERT_EQ(read_tls(*fresh, 6), "hello\n");
    EXPECT_EQ(peer_cn(*fresh), "renewed");
    ASSERT_TRUE(write_tls(*old_client, "still here"));
    EXPECT_EQ(read_tls(*old_client, 10), "still here");
    EXPECT_EQ(echo.closed, 0);
}

TEST_F(TlsConnectionTest, ABadNewKeyIsRefusedAndTheOldOneStays) {
    start();
    auto [cert, key] = make_cert(dir, "renewed");
    auto [other_cert, other_key] = make_cert(dir, "other");
    std::string err;
    TlsConfig mismatched;
    mismatched.cert = cert, mismatched.key = other_key;
    EXPECT_FALSE(tls_read_files(&mismatched, &err));
    EXPECT_NE(err.find("does not match"), std::string::npos) << err;
    EXPECT_TRUE(mismatched.cert_pem.empty());  // left as it was
    TlsConfig missing;
    missing.cert = dir + "/missing.crt", missing.key = key;
    EXPECT_FALSE(tls_read_files(&missing, &err));
    EXPECT_NE(err.find("missing.crt"), std::string::npos) << err;
    // Text that is not PEM at all, given to the context directly.
    TlsConfig junk = pair(cert, key);
    junk.key_pem = "not a key";
    EXPECT_FALSE(tls.load(junk, &err));
    EXPECT_NE(err.find("key "), std::string::npos) << err;
    auto c = connect_tls();
    ASSERT_EQ(read_tls(*c, 6), "hello\n");
    EXPECT_EQ(peer_cn(*c), "first");
}

// A chain file (leaf, then an intermediate) is read from memory in order.
TEST_F(TlsConnectionTest, ReadsEveryCertificateOfAChainFile) {
    start();
    auto [leaf, key] = make_cert(dir, "leaf");
    auto [extra, extra_key] = make_cert(dir, "extra");
    std::string chain = dir + "/chain.pem";
    std::string cmd = "cat " + leaf + " " + extra + " > " + chain;
    ASSERT_EQ(system(cmd.c_str()), 0);
    std::string err;
    ASSERT_TRUE(tls.load(pair(chain, key), &err)) << err;
    auto c = connect_tls();
    ASSERT_EQ(read_tls(*c, 6), "hello\n");
    EXPECT_EQ(peer_cn(*c), "leaf");
    STACK_OF(X509)* sent = SSL_get_peer_cert_chain(c->ssl);
    ASSERT_NE(sent, nullptr);
    EXPECT_EQ(sk_X509_num(sent), 2);  // the leaf and the extra one
}

}  // namespace
