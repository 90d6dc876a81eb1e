// JSON Web Tokens (RFC 7519, compact JWS of RFC 7515) as WebSocket clients
// present them on connect: verification only, no event loop, no clock (the
// caller passes "now"). Algorithms by configured key: HS256 with a shared
// secret, RS256 with an RSA public key, ES256 with an EC P-256 public key.
// A token's alg must match a configured key; nothing else is tried, so a
// token can never pick how it is checked (no "none", no HS256 keyed with the
// public key's bytes).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// OpenSSL's type, without its headers in ours.
typedef struct evp_pkey_st EVP_PKEY;

namespace pusher::protocol {

struct JwtClaims {
    std::string sub;                  // a numeric sub arrives as its decimal string
    std::vector<std::string> groups;  // optional claim "groups"
    int64_t exp = 0, nbf = 0;         // unix seconds; nbf 0 when absent
};

// Bounds on what a token may carry (longer: refused with a reason).
constexpr size_t kJwtMaxToken = 8192;
constexpr size_t kJwtMaxGroups = 64;
constexpr size_t kJwtMaxName = 128;  // sub and each group, bytes

enum class JwtAlg { HS256, RS256, ES256 };

class JwtVerifier {
  public:
    JwtVerifier();
    ~JwtVerifier();
    JwtVerifier(const JwtVerifier&) = delete;
    JwtVerifier& operator=(const JwtVerifier&) = delete;

    // hs256_secret: raw bytes, empty for none. public_key_pem: a PEM public
    // key (RSA of 2048 bits or more, or EC P-256), empty for none. false with
    // *error when the key does not load or is of another type.
    bool load(const std::string& hs256_secret, const std::string& public_key_pem,
              std::string* error);
    bool enabled() const { return !secret_.empty() || key_ != nullptr; }

    // true with *out filled when the token is signed by a configured key and
    // valid at `now` (seconds, with `leeway` seconds of clock skew either way).
    // false with *why, a short reason fit for a log line and a 401 body.
    bool verify(std::string_view token, int64_t now, int64_t leeway, JwtClaims* out,
                std::string* why) const;

  private:
    bool configured(JwtAlg alg) const;
    // sig: the raw JWS signature; signed_part: "header.payload" as sent.
    bool check_signature(JwtAlg alg, std::string_view signed_part, const std::string& sig) const;

    std::string secret_;
    struct KeyFree {
        void operator()(EVP_PKEY* k) const;
    };
    std::unique_ptr<EVP_PKEY, KeyFree> key_;
    JwtAlg key_alg_ = JwtAlg::RS256;  // what key_ verifies
};

}  // namespace pusher::protocol
