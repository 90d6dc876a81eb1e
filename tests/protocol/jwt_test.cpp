// JwtVerifier against tokens signed here (tests/support/jwt_sign.h): the
// three algorithms, the clock claims, and what an attacker would try: alg
// none, HS256 keyed with the public key's PEM (alg confusion), tampering,
// oversized and malformed tokens.
#include "protocol/jwt.h"

#include <gtest/gtest.h>

#include "protocol/base64.h"
#include "tests/support/jwt_sign.h"

using namespace pusher::protocol;
using namespace pusher::testing;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr int64_t kNow = 1700000000;

const JwtTestKey& rsa() {
    static JwtTestKey k = jwt_rsa_key();
    return k;
}
const JwtTestKey& ec() {
    static JwtTestKey k = jwt_ec_key();
    return k;
}

// verify() with the reason on failure, "" on success.
std::string why(const JwtVerifier& v, const std::string& token, JwtClaims* claims = nullptr,
                int64_t leeway = 0) {
    JwtClaims c;
    std::string reason;
    if (!v.verify(token, kNow, leeway, claims ? claims : &c, &reason)) return reason;
    return "";
}

JwtVerifier& hs() {
    static JwtVerifier v;
    static bool loaded = [] {
        std::string e;
        return v.load(kSecret, "", &e);
    }();
    EXPECT_TRUE(loaded);
    return v;
}

std::string valid_payload(const std::string& extra = "") {
    return jwt_payload("alice", kNow + 60, extra);
}

}  // namespace

TEST(Base64Url, RoundTripsAndIsStrict) {
    for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00"}) {
        std::string back;
        ASSERT_TRUE(base64url_decode(base64url_encode(s), &back)) << s;
        EXPECT_EQ(back, s);
    }
    EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
    std::string out;
    EXPECT_FALSE(base64url_decode("Zm9v=", &out));  // padding
    EXPECT_FALSE(base64url_decode("Zm+v", &out));   // the other alphabet
    EXPECT_FALSE(base64url_decode("Zm9vY", &out));  // 4k+1 characters
    EXPECT_FALSE(base64url_decode("Zh", &out));     // non-zero unused bits ("Zg" is "f")
    EXPECT_TRUE(base64url_decode("Zg", &out));
    EXPECT_FALSE(base64url_decode("Zm 9v", &out));
}

TEST(Jwt, ValidHs256) {
    JwtClaims c;
    std::string token = jwt_hs256(kSecret, valid_payload(R"("groups":["a","b"],"nbf":1)"));
    EXPECT_EQ(why(hs(), token, &c), "");
    EXPECT_EQ(c.sub, "alice");
    EXPECT_EQ(c.groups, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(c.exp, kNow + 60);
    EXPECT_EQ(c.nbf, 1);
}

TEST(Jwt, ValidRs256AndEs256) {
    ASSERT_TRUE(rsa().pkey && ec().pkey);
    for (const JwtTestKey* k : {&rsa(), &ec()}) {
        JwtVerifier v;
        std::string e;
        ASSERT_TRUE(v.load("", k->public_pem, &e)) << e;
        EXPECT_TRUE(v.enabled());
        JwtClaims c;
        EXPECT_EQ(why(v, jwt_sign(*k, valid_payload()), &c), "");
        EXPECT_EQ(c.sub, "alice");
    }
}

TEST(Jwt, SecretAndKeyTogether) {
    JwtVerifier v;
    std::string e;
    ASSERT_TRUE(v.load(kSecret, ec().public_pem, &e)) << e;
    EXPECT_EQ(why(v, jwt_hs256(kSecret, valid_payload())), "");
    EXPECT_EQ(why(v, jwt_sign(ec(), valid_payload())), "");
    EXPECT_EQ(why(v, jwt_sign(rsa(), valid_payload())), "alg RS256 not configured");
}

TEST(Jwt, ClockClaims) {
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, jwt_payload("a", kNow - 1))), "token expired");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, jwt_payload("a", kNow))), "token expired");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, jwt_payload("a", kNow - 1)), nullptr, 5), "");
    std::string early = jwt_hs256(kSecret, valid_payload("\"nbf\":" + std::to_string(kNow + 10)));
    EXPECT_EQ(why(hs(), early), "token not yet valid");
    EXPECT_EQ(why(hs(), early, nullptr, 10), "");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, R"({"sub":"a"})")), "missing exp");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, R"({"sub":"a","exp":"soon"})")), "exp must be a number");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, R"({"sub":"a","exp":true})")), "exp must be a number");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, R"({"sub":"a","exp":1e300})")), "");  // clamped
}

TEST(Jwt, WrongKeys) {
    EXPECT_EQ(why(hs(), jwt_hs256("another-secret-of-at-least-32-bytes!", valid_payload())),
              "bad signature");
    JwtVerifier v;
    std::string e;
    ASSERT_TRUE(v.load("", ec().public_pem, &e)) << e;
    EXPECT_EQ(why(v, jwt_sign(jwt_ec_key(), valid_payload())), "bad signature");
    ASSERT_TRUE(v.load("", rsa().public_pem, &e)) << e;
    EXPECT_EQ(why(v, jwt_sign(jwt_rsa_key(), valid_payload())), "bad signature");
}

TEST(Jwt, AlgNone) {
    std::string p = valid_payload();
    EXPECT_EQ(why(hs(), jwt_compose(jwt_header("none"), p, "")), "unsupported alg none");
    EXPECT_EQ(why(hs(), jwt_compose(jwt_header("None"), p, "sig")), "unsupported alg none");
    EXPECT_EQ(why(hs(), jwt_compose(jwt_header("HS512"), p, "sig")), "unsupported alg HS512");
    EXPECT_EQ(why(hs(), jwt_compose(R"({"typ":"JWT"})", p, "sig")), "missing alg");
}

// The classic: a verifier that takes alg from the token would check HS256
// with the public key's bytes as the secret, and anyone has those.
TEST(Jwt, AlgConfusionRefused) {
    JwtVerifier v;
    std::string e;
    ASSERT_TRUE(v.load("", rsa().public_pem, &e)) << e;
    EXPECT_EQ(why(v, jwt_hs256(rsa().public_pem, valid_payload())), "alg HS256 not configured");
    EXPECT_EQ(why(v, jwt_sign(ec(), valid_payload())), "alg ES256 not configured");
    EXPECT_EQ(why(hs(), jwt_sign(rsa(), valid_payload())), "alg RS256 not configured");
}

TEST(Jwt, TamperedPayload) {
    std::string token = jwt_hs256(kSecret, valid_payload());
    std::string forged = token.substr(0, token.find('.') + 1) +
                         base64url_encode(jwt_payload("admin", kNow + 60)) +
                         token.substr(token.rfind('.'));
    EXPECT_EQ(why(hs(), forged), "bad signature");
    std::string es = jwt_sign(ec(), valid_payload());
    JwtVerifier v;
    std::string e;
    ASSERT_TRUE(v.load("", ec().public_pem, &e));
    std::string sig;
    ASSERT_TRUE(base64url_decode(es.substr(es.rfind('.') + 1), &sig));
    std::string head = es.substr(0, es.rfind('.') + 1);
    EXPECT_EQ(why(v, head + base64url_encode(sig.substr(1))), "bad signature");  // 63 bytes
    sig[40] ^= 1;
    EXPECT_EQ(why(v, head + base64url_encode(sig)), "bad signature");
}

TEST(Jwt, Malformed) {
    std::string token = jwt_hs256(kSecret, valid_payload());
    EXPECT_EQ(why(hs(), std::string(8193, 'a')), "token too long");
    EXPECT_EQ(why(hs(), token + std::string(8192 - token.size(), 'A')), "bad signature");
    EXPECT_EQ(why(hs(), ""), "malformed token");
    EXPECT_EQ(why(hs(), token.substr(0, token.rfind('.'))), "malformed token");  // 2 segments
    EXPECT_EQ(why(hs(), token + ".e30"), "malformed token");                       // 4 segments
    EXPECT_EQ(why(hs(), "!" + token), "malformed token");
    EXPECT_EQ(why(hs(), token + "="), "malformed token");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, valid_payload(), "[\"HS256\"]")), "malformed header");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, valid_payload(), R"({"alg":"HS256","alg":"none"})")),
              "malformed header");  // duplicate keys
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, valid_payload(), R"({"alg":"HS256"} x)")),
              "malformed header");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, valid_payload(), R"({"alg":"HS256","crit":["b64"]})")),
              "unsupported crit header");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, "[1,2]")), "malformed payload");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, "not json")), "malformed payload");
    std::string deep = std::string(100, '[') + std::string(100, ']');
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, R"({"sub":"a","exp":1,"x":)" + deep + "}")),
              "malformed payload");
}

TEST(Jwt, Subject) {
    JwtClaims c;
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, R"({"exp":1800000000})")), "missing sub");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, R"({"sub":"","exp":1800000000})")), "missing sub");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, R"({"sub":42,"exp":1800000000})"), &c), "");
    EXPECT_EQ(c.sub, "42");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, R"({"sub":1.5,"exp":1800000000})")),
              "sub must be a string");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, R"({"sub":["a"],"exp":1800000000})")),
              "sub must be a string");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, jwt_payload(std::string(128, 's'), kNow + 9))), "");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, jwt_payload(std::string(129, 's'), kNow + 9))),
              "sub too long");
}

TEST(Jwt, Groups) {
    auto groups = [](int n, size_t len) {
        std::string s = "\"groups\":[";
        for (int i = 0; i < n; ++i) s += (i ? ",\"" : "\"") + std::string(len, 'g') + "\"";
        return s + "]";
    };
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, valid_payload(groups(64, 40)))), "");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, valid_payload(groups(1, 128)))), "");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, valid_payload(groups(65, 1)))), "too many groups");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, valid_payload(groups(1, 129)))), "group name too long");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, valid_payload(R"("groups":"admins")"))),
              "groups must be an array of strings");
    EXPECT_EQ(why(hs(), jwt_hs256(kSecret, valid_payload(R"("groups":["a",1])"))),
              "groups must be an array of strings");
}

TEST(JwtLoad, RefusesOtherKeys) {
    JwtVerifier v;
    std::string e;
    EXPECT_FALSE(v.enabled());
    EXPECT_FALSE(v.load("", "not a pem", &e));
    EXPECT_NE(e.find("not a PEM public key"), std::string::npos) << e;
    EXPECT_FALSE(v.load("", jwt_ec_key("P-384").public_pem, &e));
    EXPECT_NE(e.find("P-256"), std::string::npos) << e;
    EXPECT_FALSE(v.load("", jwt_rsa_key(1024).public_pem, &e));
    EXPECT_NE(e.find("2048"), std::string::npos) << e;
    JwtVerifier w;
    EXPECT_FALSE(w.load("", jwt_ed25519_key().public_pem, &e));
    EXPECT_NE(e.find("unsupported key type"), std::string::npos) << e;
    EXPECT_FALSE(w.enabled());
}
