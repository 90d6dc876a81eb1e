// The server certificate of one TLS listener (wss://, https://): an OpenSSL 3
// SSL_CTX built from the cert and key files named in the config, and rebuilt
// from them on `reload-certs`. A connection's SSL holds a reference to the
// SSL_CTX it was made from, so a reload only changes what NEW handshakes
// present: established connections keep going on the old context, which is
// freed when the last of them closes. A file that fails to load leaves the
// current context in place. Protocols and ciphers: docs/CONFIG.md "tls".
#pragma once
#include <string>

#include "runtime/config.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace pusher::runtime {

class TlsContext {
  public:
    TlsContext() = default;
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    // Builds a context from t's PEM text; on success it replaces the current
    // one. false + a one-line reason (OpenSSL's, with the file named) otherwise.
    bool load(const TlsConfig& t, std::string* error);
    bool loaded() const { return ctx_ != nullptr; }
    // "CN=example.org, expires 2027-03-01 12:00:00 UTC" of the current certificate.
    std::string describe() const;

    // A server-side SSL for an accepted socket; nullptr when out of memory.
    SSL* accept(int fd) const;

  private:
    SSL_CTX* ctx_ = nullptr;
};

// Reads t's cert and key files into its PEM text, if both load and belong
// together; t is left as it was otherwise.
bool tls_read_files(TlsConfig* t, std::string* error);

// OpenSSL's queued errors as one line (and the queue cleared).
std::string tls_error_string();

}  // namespace pusher::runtime
