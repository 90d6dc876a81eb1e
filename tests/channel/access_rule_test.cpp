// channel_allow rules: strict parsing (a malformed rule is an error, never
// "everyone") and matching of IPv4, IPv6 and IPv4-mapped peers.
#include "channel/access_rule.h"

#include <gtest/gtest.h>

using pusher::channel::access_allowed;
using pusher::channel::access_rule_matches;
using pusher::channel::AccessRule;
using pusher::channel::parse_access_rule;

namespace {

bool matches(const std::string& rule_text, const std::string& ip) {
    AccessRule rule;
    std::string error;
    EXPECT_TRUE(parse_access_rule(rule_text, &rule, &error)) << rule_text << ": " << error;
    return access_rule_matches(rule, ip);
}

TEST(AccessRule, GoodRulesParse) {
    for (const char* text : {"*", "127.0.0.1", "10.0.0.0/8", "10.0.0.0/0", "10.0.0.0/32", "::1",
                             "fd00::/8", "::/0", "2001:db8::/128", "10.1.2.3/24"}) {
        AccessRule rule;
        std::string error;
        EXPECT_TRUE(parse_access_rule(text, &rule, &error)) << text << ": " << error;
    }
}

TEST(AccessRule, BadRulesAreRefusedWithAReason) {
    for (const char* text : {"",
                             "/",
                             "10.0.0.0/",
                             "x/abc",
                             "10.0.0.0/abc",
                             "10.0.0.0/33",
                             "10.0.0.0/-1",
                             "10.0.0.0/+8",
                             "10.0.0.0/ 8",
                             "10.0.0.0/8 ",
                             "10.0.0.0/8x",
                             "10.0.0.0/0008",
                             "10.0.0.0/8/8",
                             "::1/129",
                             "fd00::/",
                             "10.0.0",
                             "localhost",
                             "10.0.0.256",
                             " 10.0.0.1",
                             "**"}) {
        AccessRule rule;
        std::string error;
        EXPECT_FALSE(parse_access_rule(text, &rule, &error)) << "'" << text << "' parsed";
        EXPECT_FALSE(error.empty()) << text;
    }
}

TEST(AccessRule, Ipv4PrefixesMatchOnlyTheirNetwork) {
    EXPECT_TRUE(matches("10.0.0.0/8", "10.200.3.4"));
    EXPECT_FALSE(matches("10.0.0.0/8", "11.0.0.1"));
    EXPECT_TRUE(matches("192.168.1.0/25", "192.168.1.127"));
    EXPECT_FALSE(matches("192.168.1.0/25", "192.168.1.128"));
    EXPECT_TRUE(matches("127.0.0.1", "127.0.0.1"));
    EXPECT_FALSE(matches("127.0.0.1", "127.0.0.2"));
    EXPECT_TRUE(matches("0.0.0.0/0", "203.0.113.9"));
    EXPECT_FALSE(matches("10.0.0.0/8", "::1"));
    EXPECT_FALSE(matches("10.0.0.0/8", "not an address"));
}

TEST(AccessRule, Ipv6PrefixesAndMappedAddressesMatch) {
    EXPECT_TRUE(matches("::1", "::1"));
    EXPECT_TRUE(matches("::1", "0:0:0:0:0:0:0:1"));
    EXPECT_FALSE(matches("::1", "::2"));
    EXPECT_TRUE(matches("fd00::/8", "fdab::1"));
    EXPECT_FALSE(matches("fd00::/8", "fe80::1"));
    EXPECT_TRUE(matches("2001:db8::/33", "2001:db8:7fff::1"));
    EXPECT_FALSE(matches("2001:db8::/33", "2001:db8:8000::1"));
    EXPECT_FALSE(matches("::/0", "10.0.0.1"));
    // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
    EXPECT_TRUE(matches("127.0.0.1", "::ffff:127.0.0.1"));
    EXPECT_TRUE(matches("10.0.0.0/8", "::ffff:10.9.9.9"));
    EXPECT_FALSE(matches("10.0.0.0/8", "::ffff:11.9.9.9"));
}

TEST(AccessRule, AMalformedRuleInAListAllowsNobody) {
    EXPECT_FALSE(access_allowed({"10.0.0.0/"}, "127.0.0.1"));
    EXPECT_FALSE(access_allowed({"x/abc"}, "127.0.0.1"));
    EXPECT_TRUE(access_allowed({"x/abc", "127.0.0.0/8"}, "127.0.0.1"));
    EXPECT_TRUE(access_allowed({"*"}, "198.51.100.1"));
    EXPECT_FALSE(access_allowed({}, "127.0.0.1"));
}

}  // namespace
