// A TLS service whose certificate or key cannot serve does not start: `start`
// fails with a `config:` line naming that service's tls key, and nothing is
// left listening. (A server that started anyway would fail every handshake,
// which an operator finds out from clients, late.)
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/integration/tls_fixture.h"

using namespace pusher::testing;

namespace {

struct BadTls {
    const char* name;
    const char* service;  // "ws" or "http"
    // The tls object from the CA's files: good (server.pem/key) and other (another pair).
    std::string (*json)(const CertFiles& good, const CertFiles& other, const std::string& dir);
};

const BadTls kCases[] = {
    {"missing_cert", "ws",
     [](const CertFiles& g, const CertFiles&, const std::string& d) {
         return tls_json(d + "/nope.pem", g.key);
     }},
    {"missing_key", "ws",
     [](const CertFiles& g, const CertFiles&, const std::string& d) {
         return tls_json(g.cert, d + "/nope.key");
     }},
    {"key_of_another_cert", "ws",
     [](const CertFiles& g, const CertFiles& o, const std::string&) {
         return tls_json(g.cert, o.key);
     }},
    {"cert_not_pem", "ws",
     [](const CertFiles& g, const CertFiles&, const std::string& d) {
         return tls_json(d + "/garbage.txt", g.key);
     }},
    {"key_not_pem", "ws",
     [](const CertFiles& g, const CertFiles&, const std::string& d) {
         return tls_json(g.cert, d + "/garbage.txt");
     }},
    {"cert_as_key", "ws",
     [](const CertFiles& g, const CertFiles&, const std::string&) {
         return tls_json(g.cert, g.cert);
     }},
    {"cert_without_key", "ws",
     [](const CertFiles& g, const CertFiles&, const std::string&) {
         return "\"tls\": {\"cert\": \"" + g.cert + "\"}";
     }},
    {"http_key_of_another_cert", "http",
     [](const CertFiles& g, const CertFiles& o, const std::string&) {
         return tls_json(g.cert, o.key);
     }},
};

class TlsConfig : public ::testing::TestWithParam<BadTls> {};

TEST_P(TlsConfig, StartFailsNamingTheServicesTlsKey) {
    TestCa ca;
    ASSERT_TRUE(ca.ok()) << ca.error();
    CertFiles good = ca.issue("server"), other = ca.issue("other");
    ASSERT_FALSE(good.cert.empty() || other.cert.empty()) << ca.error();
    std::ofstream(ca.dir() + "/garbage.txt") << "this is not a PEM file\n";
    const BadTls& c = GetParam();
    bool ws = std::string(c.service) == "ws";
    std::string tls = c.json(good, other, ca.dir());
    PusherInstance p("", 1, "127.0.0.1", "", ws ? tls : "", ws ? "" : tls);
    CmdResult r = p.start();
    EXPECT_NE(r.code, 0) << r.out;
    // services[0] is the channel server, [1] the websocket service, [2] the http one.
    std::string key = ws ? "config: services[1].tls" : "config: services[2].tls";
    EXPECT_NE(r.out.find(key), std::string::npos) << "want a line starting " << key << ":\n"
                                                  << r.out;
    EXPECT_NE(p.cli("status").code, 0) << "a master runs after a failed start";
    int fd = connect_to(ws ? p.ws_port : p.http_port);
    EXPECT_LT(fd, 0) << "the port is listening after a failed start";
    if (fd >= 0) close(fd);
}

INSTANTIATE_TEST_SUITE_P(Bad, TlsConfig, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

// The control: the same files, right, start and serve wss://.
TEST(TlsConfigGood, StartsWithTheRightPair) {
    TlsPusher t;
    ASSERT_EQ(t.start(), "");
    WsClient c;
    ASSERT_TRUE(t.connect(c));
    EXPECT_EQ(c.tls()->peer_subject(), t.server.subject);
}

}  // namespace
