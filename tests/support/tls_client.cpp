#include "tests/support/tls_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "tests/support/test_ca.h"

namespace pusher::testing {

namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point end) {
    auto d = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    return d > 0 ? static_cast<int>(d) : 0;
}

// Waits for what OpenSSL asked for (WANT_READ / WANT_WRITE); false on
// another error or when the deadline passed.
bool wait_for(int fd, int ssl_error, Clock::time_point end) {
    short ev = ssl_error == SSL_ERROR_WANT_READ    ? POLLIN
               : ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                   : 0;
    if (!ev) return false;
    pollfd p{fd, ev, 0};
    int left = ms_left(end);
    return left > 0 && poll(&p, 1, left) > 0;
}

bool is_ip(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

TlsSession::~TlsSession() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
}

bool TlsSession::handshake(int fd, const TlsOptions& o) {
    fd_ = fd;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) return error_ = "SSL_CTX_new failed", false;
    // A server that closes without close_notify has still closed: a plain EOF here.
    SSL_CTX_set_options(ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (o.min_version) SSL_CTX_set_min_proto_version(ctx_, o.min_version);
    if (o.max_version) SSL_CTX_set_max_proto_version(ctx_, o.max_version);
    bool verify = !o.ca_file.empty();
    if (verify) {
        if (SSL_CTX_load_verify_locations(ctx_, o.ca_file.c_str(), nullptr) != 1)
            return error_ = "cannot load " + o.ca_file, false;
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd);
    bool ip = is_ip(o.server_name);
    if (verify && ip) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), o.server_name.c_str());
    if (verify && !ip) SSL_set1_host(ssl_, o.server_name.c_str());
    if (!ip) SSL_set_tlsext_host_name(ssl_, o.server_name.c_str());  // SNI takes names only
    auto end = Clock::now() + std::chrono::milliseconds(o.timeout_ms);
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(ssl_);
        if (r == 1) return true;
        int e = SSL_get_error(ssl_, r);
        if (wait_for(fd, e, end)) continue;
        long v = SSL_get_verify_result(ssl_);
        char buf[256] = "";
        ERR_error_string_n(ERR_peek_last_error(), buf, sizeof buf);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            error_ = "handshake timeout";
        else if (verify && v != X509_V_OK)
            error_ = std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
        else if (buf[0])
            error_ = buf;  // e.g. "...:tlsv1 alert protocol version"
        else
            error_ = std::string("connection closed during handshake: ") +
                     (errno ? strerror(errno) : "EOF");
        return false;
    }
}

ssize_t TlsSession::read(char* buf, size_t n) {
    ERR_clear_error();
    int r = SSL_read(ssl_, buf, static_cast<int>(n));
    if (r > 0) return r;
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;  // a partial record, or a post-handshake message (session ticket)
        return -1;
    }
    return 0;
}

bool TlsSession::write_all(const char* buf, size_t n, int timeout_ms) {
    auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (n > 0) {
        ERR_clear_error();
        int r = SSL_write(ssl_, buf, static_cast<int>(n));
        if (r > 0) {
            buf += r;
            n -= static_cast<size_t>(r);
        } else if (!wait_for(fd_, SSL_get_error(ssl_, r), end)) {
            return false;
        }
    }
    return true;
}

bool TlsSession::pending() const {
    return ssl_ && SSL_pending(ssl_) > 0;
}

void TlsSession::shutdown() {
    if (ssl_) SSL_shutdown(ssl_);  // one shot: close_notify out, no wait for the answer
}

std::string TlsSession::peer_subject() const {
    X509* x = ssl_ ? SSL_get1_peer_certificate(ssl_) : nullptr;
    std::string s = x ? subject_rfc2253(x) : "";
    X509_free(x);
    return s;
}

long TlsSession::peer_serial() const {
    X509* x = ssl_ ? SSL_get1_peer_certificate(ssl_) : nullptr;
    long s = x ? ASN1_INTEGER_get(X509_get_serialNumber(x)) : 0;
    X509_free(x);
    return s;
}

std::string TlsSession::version() const {
    return ssl_ ? SSL_get_version(ssl_) : "";
}

std::string tls_client_hello() {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL* ssl = SSL_new(ctx);
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);  // the session owns both now
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_connect(ssl);  // writes the ClientHello, then wants the server's answer
    char* data = nullptr;
    long n = BIO_get_mem_data(out, &data);
    std::string hello(data, n > 0 ? static_cast<size_t>(n) : 0);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return hello;
}

}  // namespace pusher::testing
