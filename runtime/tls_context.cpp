#include "runtime/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <openssl/pem.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace pusher::runtime {

// TLS 1.2 with forward-secret AEAD suites only (Mozilla's "intermediate"
// list); TLS 1.3 keeps OpenSSL's defaults, which are all AEAD.
static const char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string tls_error_string() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? "unknown TLS error" : out;
}

// A key file with a passphrase would make OpenSSL prompt on the terminal and
// block the worker: refuse it instead.
static int no_passphrase(char*, int, int, void*) {
    return -1;
}

static SSL_CTX* new_context() {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return nullptr;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // Renegotiation is a denial-of-service lever and nothing here needs it.
    // KTLS: where the kernel has it, records are encrypted by the kernel and a
    // broadcast can write its one shared frame to every socket (see Connection).
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_ENABLE_KTLS);
    // An idle connection keeps no record buffers (~34 KB each otherwise);
    // partial writes let the send queue hand over what the socket takes.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // Workers do not share a session cache; resumption goes by tickets.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_cipher_list(ctx, kTls12Ciphers);
    return ctx;
}

// The leaf, then the rest of the chain, as SSL_CTX_use_certificate_chain_file
// reads them, but from memory.
static bool use_chain(SSL_CTX* ctx, const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* leaf = bio ? PEM_read_bio_X509_AUX(bio, nullptr, no_passphrase, nullptr) : nullptr;
    bool ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    while (ok) {
        X509* ca = PEM_read_bio_X509(bio, nullptr, no_passphrase, nullptr);
        if (!ca) break;
        ok = SSL_CTX_add0_chain_cert(ctx, ca) == 1;
        if (!ok) X509_free(ca);
    }
    if (ok && ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE) ERR_clear_error();
    BIO_free(bio);
    return ok;
}

static bool use_key(SSL_CTX* ctx, const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr) : nullptr;
    bool ok = key && SSL_CTX_use_PrivateKey(ctx, key) == 1;
    EVP_PKEY_free(key);
    BIO_free(bio);
    return ok;
}

static SSL_CTX* build(const TlsConfig& t, std::string* error) {
    ERR_clear_error();
    SSL_CTX* ctx = new_context();
    if (!ctx) return *error = tls_error_string(), nullptr;
    std::string what;
    if (!use_chain(ctx, t.cert_pem)) {
        what = "certificate " + t.cert;
    } else if (!use_key(ctx, t.key_pem)) {
        bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        what = "key " + t.key + (mismatch ? " does not match certificate " + t.cert : "");
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        what = "key " + t.key + " does not match certificate " + t.cert;
    } else {
        return ctx;
    }
    *error = what + ": " + tls_error_string();
    SSL_CTX_free(ctx);
    return nullptr;
}

static bool read_file(const std::string& path, std::string* out, std::string* error) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    if (!in || in.bad()) return *error = path + ": " + strerror(errno), false;
    *out = text.str();
    return true;
}

bool tls_read_files(TlsConfig* t, std::string* error) {
    TlsConfig fresh = *t;
    if (!read_file(t->cert, &fresh.cert_pem, error) || !read_file(t->key, &fresh.key_pem, error))
        return false;
    SSL_CTX* ctx = build(fresh, error);
    if (!ctx) return false;
    SSL_CTX_free(ctx);
    *t = fresh;
    return true;
}

TlsContext::~TlsContext() {
    SSL_CTX_free(ctx_);
}

bool TlsContext::load(const TlsConfig& t, std::string* error) {
    SSL_CTX* fresh = build(t, error);
    if (!fresh) return false;
    SSL_CTX_free(ctx_);  // connections made from it keep their own reference
    ctx_ = fresh;
    return true;
}

std::string TlsContext::describe() const {
    X509* x = ctx_ ? SSL_CTX_get0_certificate(ctx_) : nullptr;
    if (!x) return "(none)";
    char subject[256];
    X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof subject);
    tm t{};
    std::string expires = "?";
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &t) == 1) {
        char buf[32];
        strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &t);
        expires = buf;
    }
    return std::string(subject) + ", expires " + expires;
}

SSL* TlsContext::accept(int fd) const {
    SSL* ssl = SSL_new(ctx_);
    if (!ssl) return nullptr;
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return nullptr;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

}  // namespace pusher::runtime
