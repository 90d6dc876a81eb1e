#include "runtime/tls_stream.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "runtime/tls_context.h"

namespace pusher::runtime {

static TlsWait wait_for(SSL* ssl, int ret, bool reading) {
    switch (SSL_get_error(ssl, ret)) {
        case SSL_ERROR_WANT_READ:
            return TlsWait::Read;
        case SSL_ERROR_WANT_WRITE:
            return TlsWait::Write;
        case SSL_ERROR_ZERO_RETURN:
            return TlsWait::Closed;
        case SSL_ERROR_SYSCALL:
            if (errno == EINTR) return reading ? TlsWait::Read : TlsWait::Write;
            return TlsWait::Failed;
        default:
            return TlsWait::Failed;
    }
}

ssize_t tls_read(SSL* ssl, char* buf, size_t len, TlsWait* wait) {
    ERR_clear_error();
    int n = SSL_read(ssl, buf, static_cast<int>(len > INT_MAX ? INT_MAX : len));
    if (n > 0) return n;
    *wait = wait_for(ssl, n, true);
    return 0;
}

ssize_t tls_write(SSL* ssl, const char* data, size_t len, TlsWait* wait) {
    if (len == 0) return 0;  // SSL_write(0) reads as a failure; write(0) is harmless
    ERR_clear_error();
    int n = SSL_write(ssl, data, static_cast<int>(len > INT_MAX ? INT_MAX : len));
    if (n > 0) return n;
    *wait = wait_for(ssl, n, false);
    return *wait == TlsWait::Read || *wait == TlsWait::Write ? 0 : -1;
}

bool tls_handshake_done(const SSL* ssl) {
    return SSL_is_init_finished(ssl);
}

bool tls_heard_from_peer(SSL* ssl) {
    return BIO_number_read(SSL_get_rbio(ssl)) > 0;
}

std::string tls_failure(SSL*) {
    if (ERR_peek_error() != 0) return tls_error_string();
    return errno ? strerror(errno) : "connection closed by peer";
}

void tls_release(SSL* ssl, bool clean) {
    if (!ssl) return;
    if (clean && SSL_is_init_finished(ssl)) {
        ERR_clear_error();
        SSL_shutdown(ssl);  // one try: queues our close_notify, waits for nothing
    }
    ERR_clear_error();
    SSL_free(ssl);
}

}  // namespace pusher::runtime
