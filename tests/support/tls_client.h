// The client side of TLS for C++ tests: a session over a connected socket,
// handshaken with a deadline and verified against a test CA (test_ca.h) like
// a real client would (chain and IP/host name). WsClient::connect_tls runs
// WebSocket over it; hostile tests use tls_client_hello() for real
// ClientHello bytes to cut short.
#pragma once
#include <openssl/types.h>
#include <sys/types.h>

#include <string>

namespace pusher::testing {

struct TlsOptions {
    std::string ca_file;                    // trusted roots; empty: no verification at all
    std::string server_name = "127.0.0.1";  // checked against the SAN; an IP gets no SNI
    int min_version = 0, max_version = 0;   // TLS1_2_VERSION...; 0: OpenSSL's default
    int timeout_ms = 3000;                  // the handshake's deadline
};

class TlsSession {
  public:
    TlsSession() = default;
    ~TlsSession();  // frees the session; the socket belongs to the caller
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    // Handshakes on fd (made non-blocking for good); false with error() set,
    // e.g. "certificate verify failed: certificate has expired".
    bool handshake(int fd, const TlsOptions& o);
    // As read() on a non-blocking socket: > 0 bytes; 0 the peer closed (with
    // or without close_notify); -1 with errno EAGAIN: nothing yet, poll fd.
    ssize_t read(char* buf, size_t n);
    // Writes all of it within timeout_ms; false if the connection failed.
    bool write_all(const char* buf, size_t n, int timeout_ms = 3000);
    bool pending() const;  // decrypted bytes wait: read() without polling
    void shutdown();       // sends close_notify, as a polite client does before close()

    const std::string& error() const { return error_; }
    std::string peer_subject() const;  // RFC 2253, "" without a certificate
    long peer_serial() const;
    std::string version() const;  // "TLSv1.3"

  private:
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    int fd_ = -1;
    std::string error_;
};

// The bytes of a real ClientHello (TLS records, as a browser's first write)
// for 127.0.0.1, made with a memory BIO: nothing is sent anywhere.
std::string tls_client_hello();

}  // namespace pusher::testing
