#include "tests/support/test_ca.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "protocol/base64.h"

namespace pusher::testing {

namespace {

struct FileCloser {
    void operator()(FILE* f) const { fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

std::string openssl_error(const std::string& what) {
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return what + ": " + buf;
}

// P-256: generated in microseconds, so every test can have its own keys.
EVP_PKEY* new_key() {
    return EVP_EC_gen("P-256");
}

bool add_ext(X509* x, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) return false;
    bool ok = X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

struct Spec {
    std::string cn;
    long serial, not_before_s, not_after_s;
    bool ca;
    std::vector<std::string> san;
};

// A certificate for `key`, signed by issuer_key; issuer null: self-signed.
X509* make_cert(const Spec& s, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
    X509* x = X509_new();
    bool ok = x && X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), s.serial) &&
              X509_gmtime_adj(X509_getm_notBefore(x), s.not_before_s) &&
              X509_gmtime_adj(X509_getm_notAfter(x), s.not_after_s) && X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    const auto* o = reinterpret_cast<const unsigned char*>("pusher tests");
    const auto* cn = reinterpret_cast<const unsigned char*>(s.cn.c_str());
    ok = ok && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, o, -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0) &&
         X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509* signer = issuer ? issuer : x;
    std::string san;
    for (const std::string& e : s.san) san += (san.empty() ? "" : ",") + e;
    // The subject key id first: a self-signed certificate's authority key id is its own.
    ok = ok && add_ext(x, signer, NID_subject_key_identifier, "hash") &&
         add_ext(x, signer, NID_authority_key_identifier, "keyid:always") &&
         add_ext(x, signer, NID_basic_constraints,
                 s.ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
         add_ext(x, signer, NID_key_usage,
                 s.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    if (!s.ca)
        ok = ok && add_ext(x, signer, NID_ext_key_usage, "serverAuth") &&
             (san.empty() || add_ext(x, signer, NID_subject_alt_name, san));
    ok = ok && X509_sign(x, issuer ? issuer_key : key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return nullptr;
    }
    return x;
}

bool write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
    File f(fopen(path.c_str(), "w"));
    if (!f) return false;
    return cert ? PEM_write_X509(f.get(), cert) == 1
                : PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
}

}  // namespace

std::string subject_rfc2253(X509* x) {
    BIO* b = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string s(data, static_cast<size_t>(n));
    BIO_free(b);
    return s;
}

std::string spki_sha256(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    int n = i2d_PUBKEY(key, &der);
    if (n <= 0) return "";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    bool ok = EVP_Digest(der, static_cast<size_t>(n), md, &md_len, EVP_sha256(), nullptr) == 1;
    OPENSSL_free(der);
    return ok ? protocol::base64_encode(md, md_len) : "";
}

std::string spki_sha256_of_key_file(const std::string& key_pem) {
    File f(fopen(key_pem.c_str(), "r"));
    if (!f) return "";
    EVP_PKEY* key = PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr);
    if (!key) return "";
    std::string s = spki_sha256(key);
    EVP_PKEY_free(key);
    return s;
}

TestCa::TestCa() {
    char tmpl[] = "/tmp/pusher-ca-XXXXXX";
    if (!mkdtemp(tmpl)) {
        error_ = "mkdtemp failed";
        return;
    }
    dir_ = tmpl;
    ca_file_ = dir_ + "/ca.pem";
    key_ = new_key();
    if (!key_) {
        error_ = openssl_error("CA key");
        return;
    }
    Spec s{"pusher test CA", 1, -3600, 7 * 86400, true, {}};
    cert_ = make_cert(s, key_, nullptr, nullptr);
    if (!cert_)
        error_ = openssl_error("CA certificate");
    else if (!write_pem(ca_file_, cert_, nullptr) || !write_pem(dir_ + "/ca.key", nullptr, key_))
        error_ = "writing " + ca_file_ + " failed";
}

TestCa::~TestCa() {
    X509_free(cert_);
    EVP_PKEY_free(key_);
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

CertFiles TestCa::issue(const std::string& name, const CertOptions& o) {
    CertFiles out;
    if (!ok()) return out;
    EVP_PKEY* key = new_key();
    if (!key) {
        error_ = openssl_error("key for " + name);
        return out;
    }
    Spec s{o.common_name,  o.serial ? o.serial : next_serial_++,
           o.not_before_s, o.not_after_s,
           false,          o.san};
    X509* x = o.self_signed ? make_cert(s, key, nullptr, nullptr) : make_cert(s, key, cert_, key_);
    std::string cert = dir_ + "/" + name + ".pem", key_file = dir_ + "/" + name + ".key";
    if (!x) {
        error_ = openssl_error("certificate " + name);
    } else if (!write_pem(cert, x, nullptr) || !write_pem(key_file, nullptr, key)) {
        error_ = "writing " + cert + " failed";
    } else {
        out = {cert, key_file, subject_rfc2253(x), s.serial, spki_sha256(key)};
    }
    X509_free(x);
    EVP_PKEY_free(key);
    return out;
}

}  // namespace pusher::testing
