#include "channel/access_rule.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace pusher::channel {

namespace {

// Digits only, no sign, no spaces, at most 3 of them: "", "+8", " 8", "8x" fail.
bool parse_prefix(const std::string& s, int max, int* out) {
    if (s.empty() || s.size() > 3) return false;
    int v = 0;
    for (char ch : s) {
        if (ch < '0' || ch > '9') return false;
        v = v * 10 + (ch - '0');
    }
    if (v > max) return false;
    *out = v;
    return true;
}

// Text to 4 or 16 bytes; family 0 when it is not an address.
int parse_address(const std::string& s, uint8_t* addr) {
    if (inet_pton(AF_INET, s.c_str(), addr) == 1) return AF_INET;
    if (inet_pton(AF_INET6, s.c_str(), addr) == 1) return AF_INET6;
    return 0;
}

bool prefix_equal(const uint8_t* a, const uint8_t* b, int bits) {
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, static_cast<size_t>(whole)) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

bool v4_mapped(const uint8_t* a) {
    static const uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    return memcmp(a, kPrefix, sizeof kPrefix) == 0;
}

}  // namespace

bool parse_access_rule(const std::string& text, AccessRule* out, std::string* error) {
    AccessRule r;
    if (text == "*") {
        r.any = true;
        *out = r;
        return true;
    }
    size_t slash = text.find('/');
    std::string address = text.substr(0, slash);
    r.family = parse_address(address, r.addr);
    if (r.family == 0) {
        *error = "\"" + address + "\" is not an IPv4 or IPv6 address";
        return false;
    }
    int max = r.family == AF_INET ? 32 : 128;
    r.prefix = max;
    if (slash != std::string::npos && !parse_prefix(text.substr(slash + 1), max, &r.prefix)) {
        *error = "the prefix length after '/' must be a number 0.." + std::to_string(max);
        return false;
    }
    *out = r;
    return true;
}

bool access_rule_matches(const AccessRule& rule, const std::string& ip) {
    if (rule.any) return true;
    uint8_t addr[16] = {};
    int family = parse_address(ip, addr);
    if (family == AF_INET6 && rule.family == AF_INET && v4_mapped(addr)) {
        memmove(addr, addr + 12, 4);
        family = AF_INET;
    }
    return family == rule.family && prefix_equal(addr, rule.addr, rule.prefix);
}

bool access_allowed(const std::vector<std::string>& rules, const std::string& ip) {
    for (const std::string& text : rules) {
        AccessRule rule;
        std::string error;
        if (parse_access_rule(text, &rule, &error) && access_rule_matches(rule, ip)) return true;
    }
    return false;
}

}  // namespace pusher::channel
