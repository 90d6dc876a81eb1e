// TLS on one connection: the calls Connection makes on its SSL (OpenSSL 3,
// socket BIO on the connection's own non-blocking fd). The handshake runs
// inside the first reads, on the worker's loop; the service only ever sees
// plaintext. Every call clears OpenSSL's thread error queue first, as
// SSL_get_error requires.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <string>

typedef struct ssl_st SSL;

namespace pusher::runtime {

enum class TlsWait : unsigned char {
    None,       // the call made progress
    Read,       // try again when the socket is readable
    Write,      // try again when the socket is writable
    Closed,     // the peer's close_notify, or EOF
    Failed,     // a protocol or socket error: close the connection
};

// > 0: plaintext bytes; 0: nothing now, *wait says why.
ssize_t tls_read(SSL* ssl, char* buf, size_t len, TlsWait* wait);
// >= 0: bytes taken (0: nothing now, *wait says why); -1: failed.
ssize_t tls_write(SSL* ssl, const char* data, size_t len, TlsWait* wait);
bool tls_handshake_done(const SSL* ssl);
// Whether any byte came from the peer (a bare TCP connect-and-close sent none).
bool tls_heard_from_peer(SSL* ssl);
// Why the last call failed, for the log: OpenSSL's reason or errno's.
std::string tls_failure(SSL* ssl);
// A best-effort close_notify (never waits), then frees the SSL.
void tls_release(SSL* ssl, bool clean);

}  // namespace pusher::runtime
