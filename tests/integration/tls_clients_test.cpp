// wss:// and https:// with real clients (issue #13): Python's `websockets`,
// Node's `ws`, curl and `openssl s_client`, each trusting only the test CA,
// against a pusher whose websocket and http services both speak TLS. A
// certificate a client must not accept (expired, or not from its CA) is
// refused by each client's own verification. Every test ends with a wss
// client still served and no worker death (PusherInstance checks the latter).
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "tests/integration/tls_fixture.h"

using namespace pusher::testing;

namespace {

class TlsClients : public ::testing::Test {
  protected:
    // The publish API over https too unless the certificate is one no client trusts.
    void start(TlsPusherOptions o = {}, bool http_tls = true) {
        o.http_tls = http_tls;
        t = std::make_unique<TlsPusher>(o);
        ASSERT_EQ(t->start(), "");
        base = (http_tls ? "https://127.0.0.1:" : "http://127.0.0.1:") +
               std::to_string(t->p->http_port);
    }
    void TearDown() override {
        if (!t || !t->p) return;
        WsClient c;
        ASSERT_TRUE(t->connect(c));
        EXPECT_EQ(t->get("/?content=final"), "ok");
        EXPECT_EQ(c.recv_text(5000), "final") << t->log();
    }
    std::string args(const std::string& scenario) {
        return std::to_string(t->p->ws_port) + " " + base + " " + t->ca.ca_file() + " " + scenario;
    }
    CmdResult python(const std::string& scenario) {
        return run("/usr/bin/python3 " + src_dir() + "/tests/clients/py_wss.py " + args(scenario));
    }
    CmdResult node(const std::string& scenario) {
        return run("node " + src_dir() + "/tests/clients/wss.mjs " + args(scenario));
    }
    static void SetUpTestSuite() {
        CmdResult r = run(src_dir() + "/tests/clients/setup.sh");
        node_ok = r.code == 0;
        node_setup = r.out;
    }
    std::unique_ptr<TlsPusher> t;
    std::string base;
    static bool node_ok;
    static std::string node_setup;
};
bool TlsClients::node_ok = false;
std::string TlsClients::node_setup;

TEST_F(TlsClients, PythonWebsocketsGetsWelcomeBroadcastAndTargetedPush) {
    start();
    CmdResult r = python("push");
    EXPECT_EQ(r.code, 0) << r.out << t->log();
    EXPECT_NE(r.out.find("ok push: workerID:0 connectionID:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("cert CN='pusher test server'"), std::string::npos) << r.out;
    // It offers permessage-deflate and the server (deflate on by default) agrees:
    // compressed frames inside TLS records.
    EXPECT_NE(r.out.find("extensions permessage-deflate"), std::string::npos) << r.out;
}

TEST_F(TlsClients, NodeWsGetsWelcomeBroadcastAndTargetedPush) {
    ASSERT_TRUE(node_ok) << "tests/clients/setup.sh failed:\n" << node_setup;
    start();
    CmdResult r = node("push");
    EXPECT_EQ(r.code, 0) << r.out << t->log();
    EXPECT_NE(r.out.find("ok push: workerID:0 connectionID:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("cert CN='pusher test server'"), std::string::npos) << r.out;
    // It offers permessage-deflate and the server (deflate on by default) agrees:
    // compressed frames inside TLS records.
    EXPECT_NE(r.out.find("extensions permessage-deflate"), std::string::npos) << r.out;
}

// Two ws workers: the targeted push must reach its worker's connection
// whichever worker each client landed on (SO_REUSEPORT spreads them).
TEST_F(TlsClients, TargetedPushesReachClientsOnEveryWorker) {
    TlsPusherOptions o;
    o.ws_count = 2;
    start(o);
    WsClient c[6];
    std::string welcome[6];
    for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(c[i].connect_tls("127.0.0.1", t->p->ws_port, t->client())) << c[i].error();
        welcome[i] = c[i].recv_text(5000);
        ASSERT_EQ(welcome[i].rfind("workerID:", 0), 0u) << welcome[i];
    }
    for (int i = 0; i < 6; ++i) {
        int w = -1, conn = -1;
        ASSERT_EQ(sscanf(welcome[i].c_str(), "workerID:%d connectionID:%d", &w, &conn), 2);
        std::string text = "for-" + std::to_string(i);
        ASSERT_EQ(t->get("/?to_worker_id=" + std::to_string(w) +
                         "&to_connection_id=" + std::to_string(conn) + "&content=" + text),
                  "ok");
        EXPECT_EQ(c[i].recv_text(5000), text);
    }
    ASSERT_EQ(t->get("/?content=all"), "ok");
    for (auto& client : c) EXPECT_EQ(client.recv_text(5000), "all");  // and nothing before it
}

TEST_F(TlsClients, CurlPublishesOverHttpsAndSeesTheServerCertificate) {
    start();
    WsClient c;
    ASSERT_TRUE(t->connect(c));
    CmdResult r = run("curl -sS -v -o /dev/null --cacert " + t->ca.ca_file() + " '" + base +
                      "/?content=via%20https'");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("SSL certificate verify ok"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("CN=pusher test server"), std::string::npos) << r.out;
    EXPECT_EQ(c.recv_text(5000), "via https");
    EXPECT_EQ(t->get("/?content=again"), "ok");
    EXPECT_EQ(c.recv_text(5000), "again");
    // A POST form and /metrics the same way.
    r = run("curl -sS --cacert " + t->ca.ca_file() + " -d content=posted " + base + "/");
    EXPECT_EQ(r.out, "ok");
    EXPECT_EQ(c.recv_text(5000), "posted");
    EXPECT_NE(t->get("/metrics").find("pusher_tls_handshake_failures_total"), std::string::npos);
    // Plain http:// to the https port gets no answer in clear and publishes nothing.
    r = run("curl -sS --max-time 5 'http://127.0.0.1:" + std::to_string(t->p->http_port) +
            "/?content=plain'");
    EXPECT_NE(r.code, 0) << r.out;
    EXPECT_EQ(r.out.find("HTTP/1.1"), std::string::npos) << r.out;
    EXPECT_EQ(t->get("/?content=marker"), "ok");
    EXPECT_EQ(c.recv_text(5000), "marker") << "the plain request published";
}

// `openssl s_client` as the reference TLS client: 1.3 by default, 1.2 when
// asked, and 1.1 refused by the server (the client is allowed 1.1 through
// SECLEVEL=0, so the refusal is the server's).
TEST_F(TlsClients, OpensslSeesTls13And12AndTheServerRefuses11) {
    start();
    std::string s_client = "openssl s_client -connect 127.0.0.1:" + std::to_string(t->p->ws_port) +
                           " -CAfile " + t->ca.ca_file() +
                           " -verify_return_error -verify_ip 127.0.0.1 -brief ";
    CmdResult r = run(s_client + "</dev/null");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("Protocol version: TLSv1.3"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Verification: OK"), std::string::npos) << r.out;
    r = run(s_client + "-tls1_2 </dev/null");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("Protocol version: TLSv1.2"), std::string::npos) << r.out;
    for (const char* old : {"-tls1_1", "-tls1"}) {
        r = run(s_client + old + " -cipher 'DEFAULT:@SECLEVEL=0' </dev/null");
        EXPECT_NE(r.code, 0) << old << ": " << r.out;
        EXPECT_EQ(r.out.find("no protocols available"), std::string::npos)
            << old << ": the client refused by itself, the server was not asked\n"
            << r.out;
        // The server's answer: a protocol_version alert (70), not a dead port.
        EXPECT_NE(r.out.find("alert protocol version"), std::string::npos) << old << ": " << r.out;
    }
}

// The same limits through this project's own client: OpenSSL's API, pinned versions.
TEST_F(TlsClients, OnlyTls12And13AreNegotiated) {
    start();
    for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        TlsOptions o = t->client();
        o.min_version = o.max_version = v;
        WsClient c;
        ASSERT_TRUE(c.connect_tls("127.0.0.1", t->p->ws_port, o)) << c.error();
        EXPECT_EQ(c.recv_text(5000).rfind("workerID:", 0), 0u);
        EXPECT_EQ(c.tls()->version(), v == TLS1_2_VERSION ? "TLSv1.2" : "TLSv1.3");
    }
}

class TlsRefused : public TlsClients, public ::testing::WithParamInterface<const char*> {
  protected:
    // The server runs with a certificate a careful client must refuse.
    void SetUp() override {
        TlsPusherOptions o;
        if (std::string(GetParam()) == "expired") {
            o.cert.not_before_s = -7 * 86400;
            o.cert.not_after_s = -86400;
        } else {
            o.cert.self_signed = true;  // valid dates, right SAN, but not from the CA
        }
        start(o, false);  // the publish API in clear: the test publishes, not the clients
    }
    // Refused by every client, so the fixture's final check uses no verification.
    void TearDown() override {
        if (!t || !t->p) return;
        WsClient c;
        ASSERT_TRUE(c.connect_tls("127.0.0.1", t->p->ws_port, TlsOptions{})) << c.error();
        EXPECT_EQ(c.recv_text(5000).rfind("workerID:", 0), 0u);
        EXPECT_EQ(t->get("/?content=final"), "ok");
        EXPECT_EQ(c.recv_text(5000), "final");
    }
    bool expired() const { return std::string(GetParam()) == "expired"; }
};

TEST_P(TlsRefused, ByPython) {
    CmdResult r = python("refused");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find(expired() ? "verification failed: certificate has expired"
                                   : "verification failed: self-signed certificate"),
              std::string::npos)
        << r.out;
}

TEST_P(TlsRefused, ByNode) {
    ASSERT_TRUE(node_ok) << "tests/clients/setup.sh failed:\n" << node_setup;
    CmdResult r = node("refused");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find(expired() ? "verification failed: CERT_HAS_EXPIRED"
                                   : "verification failed: DEPTH_ZERO_SELF_SIGNED_CERT"),
              std::string::npos)
        << r.out;
}

TEST_P(TlsRefused, ByCurlAndOurClient) {
    CmdResult r = run("curl -sS --cacert " + t->ca.ca_file() +
                      " https://127.0.0.1:" + std::to_string(t->p->ws_port) + "/");
    EXPECT_NE(r.code, 0) << r.out;
    EXPECT_NE(r.out.find(expired() ? "certificate has expired" : "self-signed certificate"),
              std::string::npos)
        << r.out;
    WsClient c;
    EXPECT_FALSE(c.connect_tls("127.0.0.1", t->p->ws_port, t->client()));
    EXPECT_EQ(c.error(), std::string("tls: certificate verify failed: ") +
                             (expired() ? "certificate has expired" : "self-signed certificate"));
}

INSTANTIATE_TEST_SUITE_P(Cert, TlsRefused, ::testing::Values("expired", "not_from_the_ca"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
