// A throwaway certificate authority for TLS tests, made with OpenSSL's C API
// (no CLI, no fixed files in the repository): a CA key and self-signed CA
// certificate, and server certificates it signs, written as PEM files into a
// temporary directory that goes away with the object.
//
// Server certificates carry SAN IP:127.0.0.1 and DNS:localhost, so clients
// that check the host (Python's ssl, Node's tls, OpenSSL's) accept them for
// wss://127.0.0.1. Each has its own common name and serial, so a test can
// tell an old certificate from a renewed one by what a client sees.
#pragma once
#include <openssl/types.h>

#include <string>
#include <vector>

namespace pusher::testing {

struct CertOptions {
    std::string common_name = "pusher test server";
    long serial = 0;            // 0: the next of this CA's counter
    long not_before_s = -3600;  // validity, seconds relative to now
    long not_after_s = 86400;   // negative: already expired
    bool self_signed = false;   // true: signed by its own key, not by the CA
    std::vector<std::string> san = {"IP:127.0.0.1", "DNS:localhost"};
};

struct CertFiles {
    std::string cert, key;  // PEM file paths; empty when issuing failed
    std::string subject;    // RFC 2253, e.g. "CN=pusher test server,O=pusher tests"
    long serial = 0;
    std::string spki_sha256;  // base64 SHA-256 of the SubjectPublicKeyInfo (Chromium's pin form)
};

class TestCa {
  public:
    TestCa();  // makes the CA; ok() tells whether it worked
    ~TestCa();
    TestCa(const TestCa&) = delete;
    TestCa& operator=(const TestCa&) = delete;

    bool ok() const { return key_ && cert_; }
    const std::string& error() const { return error_; }
    const std::string& dir() const { return dir_; }
    const std::string& ca_file() const { return ca_file_; }  // the CA certificate, PEM

    // A fresh key and certificate as NAME.pem and NAME.key in dir().
    CertFiles issue(const std::string& name, const CertOptions& o = {});

  private:
    std::string dir_, ca_file_, error_;
    EVP_PKEY* key_ = nullptr;
    X509* cert_ = nullptr;
    long next_serial_ = 1000;
};

// base64(SHA-256(SubjectPublicKeyInfo)) of the key in a PEM file; "" on error.
std::string spki_sha256_of_key_file(const std::string& key_pem);
// The same of a key in memory.
std::string spki_sha256(EVP_PKEY* key);
// A certificate's subject as RFC 2253 prints it (most specific first: "CN=...,O=...").
std::string subject_rfc2253(X509* x);

}  // namespace pusher::testing
