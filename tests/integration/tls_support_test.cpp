// The TLS test support checked on its own, before any pusher runs on it: the
// test CA's certificates as the openssl CLI (a second implementation) judges
// them, and TlsSession against an in-process OpenSSL server on a socketpair.
// A failure here is a broken tool, not a broken server.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "tests/support/pusher_instance.h"
#include "tests/support/test_ca.h"
#include "tests/support/tls_client.h"

using namespace pusher::testing;

namespace {

CmdResult verify(const TestCa& ca, const CertFiles& c) {
    return run("openssl verify -CAfile " + ca.ca_file() + " " + c.cert);
}

TEST(TestCa, IssuesCertificatesTheOpensslCliJudgesAsIntended) {
    TestCa ca;
    ASSERT_TRUE(ca.ok()) << ca.error();
    CertFiles good = ca.issue("good");
    CertFiles expired = ca.issue("expired", {"old", 0, -7200, -3600});
    CertOptions wrong;
    wrong.self_signed = true;
    CertFiles stranger = ca.issue("wrong", wrong);
    ASSERT_FALSE(good.cert.empty() || expired.cert.empty() || stranger.cert.empty()) << ca.error();

    CmdResult r = verify(ca, good);
    EXPECT_EQ(r.code, 0) << r.out;
    r = verify(ca, expired);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.out.find("certificate has expired"), std::string::npos) << r.out;
    r = verify(ca, stranger);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.out.find("self-signed certificate"), std::string::npos) << r.out;

    r = run("openssl x509 -noout -ext subjectAltName -in " + good.cert);
    EXPECT_NE(r.out.find("IP Address:127.0.0.1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("DNS:localhost"), std::string::npos) << r.out;
}

TEST(TestCa, RenewedCertificatesAreTellableApartAndTheSpkiPinMatchesTheCli) {
    TestCa ca;
    ASSERT_TRUE(ca.ok()) << ca.error();
    CertFiles a = ca.issue("a", {"first", 0});
    CertFiles b = ca.issue("b", {"renewed", 0});
    EXPECT_NE(a.serial, b.serial);
    EXPECT_EQ(a.subject, "CN=first,O=pusher tests");
    EXPECT_EQ(b.subject, "CN=renewed,O=pusher tests");
    CmdResult r = run("openssl x509 -noout -subject -in " + b.cert);
    EXPECT_NE(r.out.find("CN = renewed"), std::string::npos) << r.out;

    r = run("openssl pkey -in " + a.key +
            " -pubout -outform der | openssl dgst -sha256 -binary | base64");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(a.spki_sha256 + "\n", r.out);
    EXPECT_EQ(spki_sha256_of_key_file(a.key), a.spki_sha256);
    EXPECT_NE(a.spki_sha256, b.spki_sha256);
}

// One TLS server connection on `fd` serving `cert`; echoes what it reads.
// Ends when the client goes away (or fails the handshake).
std::thread serve_one(int fd, const CertFiles& cert) {
    return std::thread([fd, cert] {
        SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
        SSL_CTX_use_certificate_chain_file(ctx, cert.cert.c_str());
        SSL_CTX_use_PrivateKey_file(ctx, cert.key.c_str(), SSL_FILETYPE_PEM);
        SSL* ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1) {
            char b[256];
            int n;
            while ((n = SSL_read(ssl, b, sizeof b)) > 0) SSL_write(ssl, b, n);
        }
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        close(fd);
    });
}

// Handshakes as o says against a server presenting `cert`; "" when it worked.
std::string try_handshake(const CertFiles& cert, const TlsOptions& o, std::string* subject) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return "socketpair failed";
    std::thread server = serve_one(sv[1], cert);
    TlsSession s;
    std::string err;
    if (s.handshake(sv[0], o)) {
        *subject = s.peer_subject();
        // A round trip through the session: the record layer, not only the handshake.
        std::string got;
        if (!s.write_all("ping", 4)) err = "write failed";
        char b[16];
        while (got.size() < 4 && err.empty()) {
            pollfd p{sv[0], POLLIN, 0};
            if (!s.pending() && poll(&p, 1, 3000) <= 0) err = "no echo";
            ssize_t n = err.empty() ? s.read(b, sizeof b) : -1;
            if (n > 0) got.append(b, static_cast<size_t>(n));
            if (n == 0) err = "closed";
        }
        if (err.empty() && got != "ping") err = "echo: " + got;
        s.shutdown();
    } else {
        err = s.error();
    }
    close(sv[0]);
    server.join();
    return err;
}

TEST(TlsSession, VerifiesAgainstTheTestCaAndReportsThePeer) {
    TestCa ca;
    ASSERT_TRUE(ca.ok()) << ca.error();
    CertFiles good = ca.issue("good", {"the server", 0});
    CertFiles expired = ca.issue("expired", {"old", 0, -7200, -3600});
    CertOptions wrong;
    wrong.self_signed = true;
    CertFiles stranger = ca.issue("wrong", wrong);
    TlsOptions o;
    o.ca_file = ca.ca_file();
    std::string subject;
    EXPECT_EQ(try_handshake(good, o, &subject), "");
    EXPECT_EQ(subject, "CN=the server,O=pusher tests");
    EXPECT_EQ(try_handshake(expired, o, &subject),
              "certificate verify failed: certificate has expired");
    EXPECT_EQ(try_handshake(stranger, o, &subject),
              "certificate verify failed: self-signed certificate");
    TlsOptions other_host = o;
    other_host.server_name = "127.0.0.2";  // not in the SAN
    EXPECT_EQ(try_handshake(good, other_host, &subject),
              "certificate verify failed: IP address mismatch");
    TlsOptions dns = o;
    dns.server_name = "localhost";
    EXPECT_EQ(try_handshake(good, dns, &subject), "");
}

TEST(TlsSession, ClientHelloBytesAreAHandshakeRecord) {
    std::string hello = tls_client_hello();
    ASSERT_GT(hello.size(), 100u);
    EXPECT_EQ(hello[0], 0x16);  // handshake record
    EXPECT_EQ(hello[5], 0x01);  // ClientHello
}

}  // namespace
