// libFuzzer: JwtVerifier on arbitrary tokens, with a fixed HS256 secret and a
// fixed EC P-256 public key configured (so every algorithm path is live).
// An input that starts with '{' is taken as a payload instead and signed
// here with the secret, so the claim checks behind the signature get fuzzed
// too (a mutated token almost never gets past the signature).
#include <openssl/evp.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "protocol/base64.h"
#include "protocol/jwt.h"

using namespace pusher::protocol;

namespace {

const char* const kSecret = "fuzz-secret-fuzz-secret-fuzz-secret!";
const char* const kEcPublicKey =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEx66Fn1RQ72pr62asmkoTb0NWSgmB\n"
    "L0QIOfFGoP7X1IYKr7LCos4EUbEEfeMBDVaX7Zcb6gH0TaRq/ZYoWxhqXg==\n"
    "-----END PUBLIC KEY-----\n";

const JwtVerifier& verifier() {
    static JwtVerifier* v = [] {
        auto* v = new JwtVerifier;
        std::string error;
        if (!v->load(kSecret, kEcPublicKey, &error)) abort();
        return v;
    }();
    return *v;
}

std::string signed_token(const std::string& payload) {
    std::string input = base64url_encode(R"({"alg":"HS256"})") + "." + base64url_encode(payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t len = 0;
    std::string secret = kSecret;
    EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
              reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac,
              &len);
    return input + "." + base64url_encode(std::string(reinterpret_cast<char*>(mac), len));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string in(reinterpret_cast<const char*>(data), size);
    std::string token = !in.empty() && in[0] == '{' ? signed_token(in) : in;
    JwtClaims claims;
    std::string why;
    bool ok = verifier().verify(token, 1700000000, 30, &claims, &why);
    // Every refusal says why; every acceptance honours the documented bounds.
    if (ok != why.empty() || (!ok && why.size() > 64)) abort();
    if (ok && (claims.sub.empty() || claims.sub.size() > kJwtMaxName ||
               claims.groups.size() > kJwtMaxGroups))
        abort();
    return 0;
}
