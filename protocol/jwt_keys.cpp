// JwtVerifier's keys and signature checks, all through OpenSSL 3's EVP API.
// Every failing OpenSSL call leaves entries on the thread's error queue; they
// are cleared here, so that the TLS code of the same process never reads a
// stale error of ours as its own.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include <cstring>

#include "protocol/jwt.h"

namespace pusher::protocol {

void JwtVerifier::KeyFree::operator()(EVP_PKEY* k) const {
    EVP_PKEY_free(k);
}

JwtVerifier::JwtVerifier() = default;
JwtVerifier::~JwtVerifier() = default;

static EVP_PKEY* read_public_key(const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (!bio) return nullptr;
    EVP_PKEY* k = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return k;
}

// Which algorithm a public key verifies; false with *error for any other key.
static bool key_alg(EVP_PKEY* k, JwtAlg* alg, std::string* error) {
    switch (EVP_PKEY_get_base_id(k)) {
        case EVP_PKEY_RSA:
            // Below 2048 bits RSA signatures are forgeable by a determined attacker.
            if (EVP_PKEY_get_bits(k) < 2048)
                return *error = "RSA key shorter than 2048 bits", false;
            *alg = JwtAlg::RS256;
            return true;
        case EVP_PKEY_EC: {
            char group[64] = "";
            size_t len = 0;
            if (!EVP_PKEY_get_group_name(k, group, sizeof group, &len) ||
                strcmp(group, SN_X9_62_prime256v1) != 0)
                return *error = "EC key not on curve P-256 (ES256 needs P-256)", false;
            *alg = JwtAlg::ES256;
            return true;
        }
        default:
            return *error = "unsupported key type (RSA for RS256, EC P-256 for ES256)",
                   false;
    }
}

bool JwtVerifier::load(const std::string& hs256_secret, const std::string& public_key_pem,
                       std::string* error) {
    secret_.clear();
    key_.reset();
    if (!public_key_pem.empty()) {
        std::unique_ptr<EVP_PKEY, KeyFree> k(read_public_key(public_key_pem));
        ERR_clear_error();
        if (!k) return *error = "not a PEM public key (BEGIN PUBLIC KEY)", false;
        if (!key_alg(k.get(), &key_alg_, error)) return false;
        key_ = std::move(k);
    }
    secret_ = hs256_secret;
    return true;
}

bool JwtVerifier::configured(JwtAlg alg) const {
    if (alg == JwtAlg::HS256) return !secret_.empty();
    return key_ && key_alg_ == alg;
}

static bool check_hs256(const std::string& secret, std::string_view data, const std::string& sig) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t len = 0;
    if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                   reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
                   sizeof mac, &len))
        return false;
    // Constant time: the comparison must not tell how many leading bytes were right.
    return sig.size() == len && CRYPTO_memcmp(mac, sig.data(), len) == 0;
}

static bool digest_verify(EVP_PKEY* key, std::string_view data, const unsigned char* sig,
                          size_t sig_len) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
              EVP_DigestVerify(ctx, sig, sig_len,
                               reinterpret_cast<const unsigned char*>(data.data()),
                               data.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

// JWS carries an ES256 signature as r||s, 32 bytes each (RFC 7518 §3.4);
// OpenSSL verifies the DER form.
static bool es256_der(const std::string& raw, std::string* der) {
    if (raw.size() != 64) return false;
    auto* p = reinterpret_cast<const unsigned char*>(raw.data());
    ECDSA_SIG* sig = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(p, 32, nullptr);
    BIGNUM* s = BN_bin2bn(p + 32, 32, nullptr);
    if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
        BN_free(r), BN_free(s), ECDSA_SIG_free(sig);
        return false;
    }
    unsigned char* out = nullptr;
    int len = i2d_ECDSA_SIG(sig, &out);
    ECDSA_SIG_free(sig);  // frees r and s too
    if (len > 0) der->assign(reinterpret_cast<char*>(out), static_cast<size_t>(len));
    OPENSSL_free(out);
    return len > 0;
}

bool JwtVerifier::check_signature(JwtAlg alg, std::string_view signed_part,
                                  const std::string& sig) const {
    bool ok = false;
    if (alg == JwtAlg::HS256) {
        ok = check_hs256(secret_, signed_part, sig);
    } else if (alg == JwtAlg::RS256) {
        ok = digest_verify(key_.get(), signed_part,
                           reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
    } else {
        std::string der;
        ok = es256_der(sig, &der) &&
             digest_verify(key_.get(), signed_part,
                           reinterpret_cast<const unsigned char*>(der.data()), der.size());
    }
    ERR_clear_error();
    return ok;
}

}  // namespace pusher::protocol
