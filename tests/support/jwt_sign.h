// Test-side JWT signing with OpenSSL: tokens from an explicit header and
// payload (JSON text, sent as given), so tests can craft what a verifier must
// refuse (alg none, tampered payloads, odd headers). Keys are made per test
// run; nothing is stored in the repository.
#pragma once
#include <openssl/types.h>

#include <memory>
#include <string>

namespace pusher::testing {

// A key pair made with EVP_PKEY_Q_keygen, and its public half as PEM.
struct JwtTestKey {
    std::shared_ptr<EVP_PKEY> pkey;
    std::string public_pem;
};
JwtTestKey jwt_rsa_key(size_t bits = 2048);
JwtTestKey jwt_ec_key(const char* curve = "P-256");
JwtTestKey jwt_ed25519_key();  // a key type JWT verifiers here must refuse

// {"alg":"<alg>","typ":"JWT"}
std::string jwt_header(const std::string& alg);

// b64url(header) "." b64url(payload) "." b64url(signature)
std::string jwt_compose(const std::string& header, const std::string& payload,
                        const std::string& raw_signature);
std::string jwt_hs256(const std::string& secret, const std::string& payload,
                      const std::string& header = jwt_header("HS256"));
// RS256 for an RSA key, ES256 (raw r||s) for an EC key; header defaults to
// the matching alg.
std::string jwt_sign(const JwtTestKey& key, const std::string& payload,
                     std::string header = "");

// {"sub":"<sub>","exp":<exp>} plus extra members (JSON text without braces).
std::string jwt_payload(const std::string& sub, long long exp, const std::string& extra = "");

}  // namespace pusher::testing
