#include "tests/support/jwt_sign.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <vector>

#include "protocol/base64.h"

namespace pusher::testing {

using protocol::base64url_encode;

static std::string public_pem(EVP_PKEY* k) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, k);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(n));
    BIO_free(bio);
    return pem;
}

static JwtTestKey wrap(EVP_PKEY* k) {
    JwtTestKey key;
    if (!k) return key;
    key.pkey.reset(k, EVP_PKEY_free);
    key.public_pem = public_pem(k);
    return key;
}

JwtTestKey jwt_rsa_key(size_t bits) {
    return wrap(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
}

JwtTestKey jwt_ec_key(const char* curve) {
    return wrap(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

JwtTestKey jwt_ed25519_key() {
    return wrap(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
}

std::string jwt_header(const std::string& alg) {
    return "{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}";
}

std::string jwt_compose(const std::string& header, const std::string& payload,
                        const std::string& raw_signature) {
    return base64url_encode(header) + "." + base64url_encode(payload) + "." +
           base64url_encode(raw_signature);
}

static std::string signing_input(const std::string& header, const std::string& payload) {
    return base64url_encode(header) + "." + base64url_encode(payload);
}

std::string jwt_hs256(const std::string& secret, const std::string& payload,
                      const std::string& header) {
    std::string input = signing_input(header, payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t len = 0;
    EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
              reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac,
              &len);
    return input + "." + base64url_encode(std::string(reinterpret_cast<char*>(mac), len));
}

// DER ECDSA-Sig-Value to JWS's fixed-size r||s.
static std::string der_to_raw(const std::string& der) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
    if (!sig) return "";
    unsigned char raw[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
    ECDSA_SIG_free(sig);
    return std::string(reinterpret_cast<char*>(raw), 64);
}

std::string jwt_sign(const JwtTestKey& key, const std::string& payload, std::string header) {
    bool ec = EVP_PKEY_get_base_id(key.pkey.get()) == EVP_PKEY_EC;
    if (header.empty()) header = jwt_header(ec ? "ES256" : "RS256");
    std::string input = signing_input(header, payload);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    std::vector<unsigned char> sig;
    if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.pkey.get()) == 1 &&
        EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1) {
        sig.resize(len);
        EVP_DigestSign(ctx, sig.data(), &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size());
        sig.resize(len);
    }
    EVP_MD_CTX_free(ctx);
    std::string raw(sig.begin(), sig.end());
    if (ec) raw = der_to_raw(raw);
    return input + "." + base64url_encode(raw);
}

std::string jwt_payload(const std::string& sub, long long exp, const std::string& extra) {
    return "{\"sub\":\"" + sub + "\",\"exp\":" + std::to_string(exp) +
           (extra.empty() ? "" : "," + extra) + "}";
}

}  // namespace pusher::testing
