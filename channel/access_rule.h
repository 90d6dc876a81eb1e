// The channel server's allowlist (`channel_allow`): each entry is "*", an
// address ("127.0.0.1", "::1") or a prefix ("10.0.0.0/8", "fd00::/8").
// Entries are parsed strictly: a rule that does not parse is a config error
// (checked at start), and at run time it matches nothing. A loose parse
// (atoi of "10.0.0.0/" is 0) would turn a typo into "everyone allowed".
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace pusher::channel {

struct AccessRule {
    bool any = false;  // "*"
    int family = 0;    // AF_INET or AF_INET6
    uint8_t addr[16] = {};
    int prefix = 0;  // bits that must match: 0..32 or 0..128
};

// false + a reason when `text` is not a rule.
bool parse_access_rule(const std::string& text, AccessRule* out, std::string* error);
// `ip` is an address in text form (a peer); an IPv4-mapped IPv6 address
// (::ffff:10.1.2.3, from a dual-stack listener) matches IPv4 rules.
bool access_rule_matches(const AccessRule& rule, const std::string& ip);
// true when some entry of `rules` parses and matches `ip`.
bool access_allowed(const std::vector<std::string>& rules, const std::string& ip);

}  // namespace pusher::channel
