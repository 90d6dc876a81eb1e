// A small blocking WebSocket client for tests: a real RFC 6455 client (masked
// frames, handshake checked), independent of the server's code paths.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

namespace pusher::testing {

class TlsSession;  // tls_client.h
struct TlsOptions;

struct WsFrame {
    int opcode = -1;  // -1: timeout, -2: connection closed, -3: protocol error
    std::string payload;
    bool rsv1 = false;  // permessage-deflate: the payload is compressed
};

class WsClient {
  public:
    WsClient();  // out of line: TlsSession is incomplete here
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    // Connects and completes the handshake; false with error() set otherwise.
    bool connect(const std::string& host, int port, const std::string& path = "/",
                 const std::string& extra_headers = "");
    // The same over TLS (wss://): the TLS handshake first, verified as o says;
    // error() names the failing step ("certificate verify failed: ...").
    bool connect_tls(const std::string& host, int port, const TlsOptions& o,
                     const std::string& path = "/", const std::string& extra_headers = "");
    const TlsSession* tls() const { return tls_.get(); }  // null on a plain connection
    bool send_text(const std::string& s) { return send_frame(0x1, s); }
    bool send_frame(uint8_t opcode, const std::string& payload, bool fin = true, bool mask = true);
    bool send_raw(const std::string& bytes);
    WsFrame recv(int timeout_ms = 3000);
    // The next text frame, skipping pings; "" on timeout or close.
    std::string recv_text(int timeout_ms = 3000);
    const std::string& error() const { return error_; }
    std::string handshake_response() const { return response_; }
    int fd() const { return fd_; }
    // Closes the socket; over TLS after a close_notify, as a polite client does.
    void close();
    // Ends it as a crashed client or a killed tab does: a TCP RST, nothing
    // said before (no close frame, no close_notify).
    void abort();
    // Hands the socket over (to a WsFleet): returns it and puts the bytes read
    // past the last frame into *pending; the client is closed afterwards.
    // Plain connections only: a TLS session cannot be handed over (-1).
    int release(std::string* pending);
    int rcvbuf = 0;  // SO_RCVBUF to set before connecting (0: the default)
    // TCP_MAXSEG before connecting (0: the default). Loopback's 64 KiB MSS makes
    // the server's kernel give the socket a ~4 MiB send buffer; 1460, an
    // Ethernet path's, gives it about 120 KiB, as on the Internet.
    int mss = 0;

  private:
    bool upgrade(const std::string& host, const std::string& path, const std::string& extra);
    bool read_exact(size_t n, std::string* out, int timeout_ms);
    // Through the TLS session when there is one: > 0 bytes, 0 closed, -1 (EAGAIN) wait.
    ssize_t read_some(char* buf, size_t n);
    bool readable(int timeout_ms);  // bytes to read now (decrypted ones count) or within timeout
    int fd_ = -1;
    std::unique_ptr<TlsSession> tls_;
    std::string buf_, error_, response_;
};

}  // namespace pusher::testing
