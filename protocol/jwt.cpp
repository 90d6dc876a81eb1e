// JwtVerifier::verify: the compact serialization, the header's alg, then the
// claims. The signature is checked before the payload is even parsed: nothing
// an unauthenticated client wrote reaches the JSON parser beyond the header.
#include "protocol/jwt.h"

#include <json/json.h>

#include <cmath>
#include <exception>
#include <memory>

#include "protocol/base64.h"

namespace pusher::protocol {

namespace {

// The three segments "header.payload.signature"; false on any other count.
bool split(std::string_view token, std::string_view part[3]) {
    size_t a = token.find('.');
    if (a == std::string_view::npos) return false;
    size_t b = token.find('.', a + 1);
    if (b == std::string_view::npos || token.find('.', b + 1) != std::string_view::npos)
        return false;
    part[0] = token.substr(0, a);
    part[1] = token.substr(a + 1, b - a - 1);
    part[2] = token.substr(b + 1);
    return true;
}

// Strict JSON: one object, no comments, no trailing bytes, no duplicate
// keys (two "exp" must not mean one thing here and another elsewhere), and a
// shallow depth (jsoncpp recurses).
bool parse_object(const std::string& text, Json::Value* out) {
    Json::CharReaderBuilder b;
    Json::CharReaderBuilder::strictMode(&b.settings_);
    b["stackLimit"] = 16;
    std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    std::string errs;
    try {
        if (!reader->parse(text.data(), text.data() + text.size(), out, &errs)) return false;
    } catch (const std::exception&) {  // jsoncpp throws past its stackLimit
        return false;
    }
    return out->isObject();
}

// The alg names a client may see echoed in a log line: printable, short.
std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char ch : s.substr(0, 16)) out += ch > ' ' && ch < 0x7f ? char(ch) : '?';
    return out;
}

bool alg_of(const Json::Value& header, JwtAlg* alg, std::string* why) {
    const Json::Value& a = header["alg"];
    if (!a.isString()) return *why = "missing alg", false;
    std::string name = a.asString();
    if (name == "HS256") return *alg = JwtAlg::HS256, true;
    if (name == "RS256") return *alg = JwtAlg::RS256, true;
    if (name == "ES256") return *alg = JwtAlg::ES256, true;
    if (name.size() == 4 && (name[0] | 0x20) == 'n' && (name[1] | 0x20) == 'o' &&
        (name[2] | 0x20) == 'n' && (name[3] | 0x20) == 'e')
        return *why = "unsupported alg none", false;
    return *why = "unsupported alg " + printable(name), false;
}

// A NumericDate (RFC 7519 §2): seconds, possibly fractional. Clamped far
// inside int64, so adding a leeway can never overflow.
bool numeric_date(const Json::Value& v, int64_t* out) {
    if (!v.isNumeric() || v.isBool()) return false;
    constexpr double kBound = 1e15;  // some 30 million years
    double d = v.asDouble();
    if (std::isnan(d)) return false;
    d = d > kBound ? kBound : d < -kBound ? -kBound : std::floor(d);
    *out = static_cast<int64_t>(d);
    return true;
}

bool read_sub(const Json::Value& v, std::string* sub, std::string* why) {
    if (v.isNull()) return *why = "missing sub", false;
    if (v.isString())
        *sub = v.asString();
    else if (v.isInt64())  // an integral number, also written as 7.0
        *sub = std::to_string(v.asInt64());
    else if (v.isUInt64())
        *sub = std::to_string(v.asUInt64());
    else
        return *why = "sub must be a string", false;
    if (sub->empty()) return *why = "missing sub", false;
    if (sub->size() > kJwtMaxName) return *why = "sub too long", false;
    return true;
}

bool read_groups(const Json::Value& v, std::vector<std::string>* groups, std::string* why) {
    if (v.isNull()) return true;
    if (!v.isArray()) return *why = "groups must be an array of strings", false;
    if (v.size() > kJwtMaxGroups) return *why = "too many groups", false;
    for (const Json::Value& g : v) {
        if (!g.isString()) return *why = "groups must be an array of strings", false;
        if (g.asString().size() > kJwtMaxName) return *why = "group name too long", false;
        groups->push_back(g.asString());
    }
    return true;
}

bool read_claims(const Json::Value& p, int64_t now, int64_t leeway, JwtClaims* c,
                 std::string* why) {
    if (!p.isMember("exp")) return *why = "missing exp", false;
    if (!numeric_date(p["exp"], &c->exp)) return *why = "exp must be a number", false;
    if (p.isMember("nbf") && !numeric_date(p["nbf"], &c->nbf))
        return *why = "nbf must be a number", false;
    if (now >= c->exp + leeway) return *why = "token expired", false;
    if (p.isMember("nbf") && now + leeway < c->nbf) return *why = "token not yet valid", false;
    return read_sub(p["sub"], &c->sub, why) && read_groups(p["groups"], &c->groups, why);
}

}  // namespace

bool JwtVerifier::verify(std::string_view token, int64_t now, int64_t leeway, JwtClaims* out,
                         std::string* why) const {
    if (token.size() > kJwtMaxToken) return *why = "token too long", false;
    std::string_view part[3];
    std::string header_text, sig, payload_text;
    Json::Value header, payload;
    if (!split(token, part) || !base64url_decode(part[0], &header_text) ||
        !base64url_decode(part[2], &sig))
        return *why = "malformed token", false;
    if (!parse_object(header_text, &header)) return *why = "malformed header", false;
    JwtAlg alg;
    if (!alg_of(header, &alg, why)) return false;
    // RFC 7515 §4.1.11: an extension we do not know of must not be ignored.
    if (header.isMember("crit")) return *why = "unsupported crit header", false;
    if (!configured(alg)) return *why = "alg " + header["alg"].asString() + " not configured", false;
    if (!check_signature(alg, token.substr(0, part[0].size() + 1 + part[1].size()), sig))
        return *why = "bad signature", false;
    if (!base64url_decode(part[1], &payload_text) || !parse_object(payload_text, &payload))
        return *why = "malformed payload", false;
    JwtClaims claims;
    if (leeway < 0) leeway = 0;
    if (leeway > 86400) leeway = 86400;
    if (!read_claims(payload, now, leeway, &claims, why)) return false;
    *out = std::move(claims);
    return true;
}

}  // namespace pusher::protocol
