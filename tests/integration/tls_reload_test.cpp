// Certificate renewal without a restart (issue #13): the files the config
// names are replaced, `pusher reload-certs` (SIGURG to the master, forwarded
// to the workers) makes every TLS worker load them for new handshakes, while
// established connections keep their session and keep receiving pushes. A new
// file that cannot serve is refused with a log line and the old certificate
// stays in use.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/tls_fixture.h"

using namespace pusher::testing;

namespace {

constexpr int kOpen = 50;
constexpr int kWsWorkers = 2;
constexpr int kTlsWorkers = kWsWorkers + 1;  // and the https publisher

long lines(const std::string& s) {
    return static_cast<long>(std::count(s.begin(), s.end(), '\n'));
}

class TlsReload : public ::testing::Test {
  protected:
    void SetUp() override {
        TlsPusherOptions o;
        o.ws_count = kWsWorkers;
        o.http_tls = true;
        o.cert.common_name = "first";
        t = std::make_unique<TlsPusher>(o);
        ASSERT_EQ(t->start(), "");
        pids = worker_pids();
        for (int i = 0; i < kOpen; ++i) {
            open.push_back(std::make_unique<WsClient>());
            ASSERT_TRUE(t->connect(*open.back())) << i;
            ASSERT_EQ(open.back()->tls()->peer_subject(), "CN=first,O=pusher tests");
        }
        ready = true;
    }

    void TearDown() override {
        if (!ready) return;  // SetUp failed and said why
        // The open clients were never closed: each gets one more broadcast...
        EXPECT_TRUE(all_served("teardown"));
        // ...and closes as a browser does: close frame, the server's answer, close_notify.
        for (auto& c : open) {
            c->send_frame(0x8, std::string("\x03\xe8", 2));
            WsFrame f = c->recv(5000);
            EXPECT_EQ(f.opcode, 0x8) << "no answer to a close frame";
            c->close();
        }
        EXPECT_EQ(worker_pids(), pids) << "a worker was replaced\n" << t->log();
    }

    std::vector<int> worker_pids() {
        std::vector<int> v;
        for (int w = 0; w < kWsWorkers; ++w) v.push_back(t->p->worker_pid("pusher", w));
        v.push_back(t->p->worker_pid("publisher", 0));
        return v;
    }

    ::testing::AssertionResult all_served(const std::string& text) {
        std::string r = t->get("/?content=" + text);
        if (r != "ok") return ::testing::AssertionFailure() << "publish: " << r;
        for (size_t i = 0; i < open.size(); ++i) {
            std::string got = open[i]->recv_text(5000);
            if (got != text)
                return ::testing::AssertionFailure()
                       << "client " << i << " got \"" << got << "\" (" << open[i]->error() << ")\n"
                       << t->log();
        }
        return ::testing::AssertionSuccess();
    }

    // Waits until each TLS worker has logged its answer: kTlsWorkers more
    // lines containing `want` than `before`.
    ::testing::AssertionResult answered(const std::string& want, long before) {
        if (eventually([&] { return lines(t->p->log_lines(want)) >= before + kTlsWorkers; }, 5000,
                       20))
            return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure()
               << "want " << kTlsWorkers << " new lines with \"" << want << "\"; tls: lines:\n"
               << t->p->log_lines("tls:") << t->log();
    }

    // `pusher reload-certs` with good files: it waits for every worker's answer.
    ::testing::AssertionResult reload_certs() {
        long before = lines(t->p->log_lines("loaded certificate"));
        CmdResult r = t->p->cli("reload-certs");
        if (r.code != 0) return ::testing::AssertionFailure() << "reload-certs: " << r.out;
        if (r.out.find("reloaded by " + std::to_string(kTlsWorkers) + " worker(s)") ==
            std::string::npos)
            return ::testing::AssertionFailure() << "reload-certs said: " << r.out;
        return answered("loaded certificate", before);
    }

    // The subject new handshakes see, from `n` new clients (spread over the workers).
    ::testing::AssertionResult new_clients_see(const std::string& subject, int n = 8) {
        for (int i = 0; i < n; ++i) {
            WsClient c;
            auto ok = t->connect(c);
            if (!ok) return ok;
            if (c.tls()->peer_subject() != subject)
                return ::testing::AssertionFailure()
                       << "new client " << i << " sees " << c.tls()->peer_subject();
        }
        std::string cmd = "curl -sS -v -o /dev/null --cacert " + t->ca.ca_file() +
                          " https://127.0.0.1:" + std::to_string(t->p->http_port) + "/healthz";
        std::string out = run(cmd).out;
        std::string cn = subject.substr(0, subject.find(','));  // "CN=..."
        if (out.find(cn) == std::string::npos)
            return ::testing::AssertionFailure() << "https serves another certificate:\n" << out;
        return ::testing::AssertionSuccess();
    }

    std::unique_ptr<TlsPusher> t;
    std::vector<std::unique_ptr<WsClient>> open;
    std::vector<int> pids;
    bool ready = false;
};

TEST_F(TlsReload, RenewedCertificateServesNewHandshakesAndOpenClientsStay) {
    CertFiles renewed = t->ca.issue("renewed", {"renewed", 0});
    ASSERT_FALSE(renewed.cert.empty()) << t->ca.error();
    ASSERT_TRUE(t->install(renewed));
    ASSERT_TRUE(reload_certs());
    EXPECT_TRUE(new_clients_see("CN=renewed,O=pusher tests"));
    EXPECT_TRUE(all_served("after-renewal"));
    // The established sessions still carry the old certificate: nothing was renegotiated.
    for (auto& c : open) EXPECT_EQ(c->tls()->peer_subject(), "CN=first,O=pusher tests");
    // And once more, to a third certificate: reload is not a one-shot.
    CertFiles third = t->ca.issue("third", {"third", 0});
    ASSERT_TRUE(t->install(third));
    ASSERT_TRUE(reload_certs());
    EXPECT_TRUE(new_clients_see("CN=third,O=pusher tests"));
    EXPECT_TRUE(all_served("after-third"));
    EXPECT_EQ(t->ws_stat("tls_reloads"), 2 * kWsWorkers);
    EXPECT_EQ(t->ws_stat("tls_reload_failures"), 0);
    EXPECT_EQ(t->metric("pusher_tls_reloads_total"), 2 * kTlsWorkers);
}

// Each way a new pair can be unusable: refused, the old certificate served on.
struct Broken {
    const char* name;
    void (*make)(TlsPusher& t);
};

void write_file(const std::string& path, const std::string& text) {
    std::string tmp = path + ".tmp";
    std::ofstream(tmp) << text;
    std::rename(tmp.c_str(), path.c_str());
}

const Broken kBroken[] = {
    {"key_of_another_cert",
     [](TlsPusher& t) {
         CertFiles other = t.ca.issue("other", {"other", 0});
         std::rename(other.key.c_str(), t.server.key.c_str());  // the cert stays the old one
     }},
    {"renewed_cert_with_the_old_key",
     [](TlsPusher& t) {
         CertFiles other = t.ca.issue("other", {"other", 0});
         std::rename(other.cert.c_str(), t.server.cert.c_str());
     }},
    {"garbage_key", [](TlsPusher& t) { write_file(t.server.key, "not a key\n"); }},
    {"empty_cert", [](TlsPusher& t) { write_file(t.server.cert, ""); }},
    {"truncated_cert",
     [](TlsPusher& t) {
         CertFiles other = t.ca.issue("other", {"other", 0});
         std::string pem = slurp(other.cert);
         write_file(t.server.cert, pem.substr(0, pem.size() / 2));
         std::rename(other.key.c_str(), t.server.key.c_str());
     }},
    {"missing_files",
     [](TlsPusher& t) {
         std::remove(t.server.cert.c_str());
         std::remove(t.server.key.c_str());
     }},
};

class TlsReloadRefused : public TlsReload, public ::testing::WithParamInterface<Broken> {
  protected:
    int master_pid() { return atoi(slurp(t->p->dir + "/pusher.pid").c_str()); }
};

// The CLI checks the files the way `start` does and refuses before signalling
// anyone; SIGURG sent by other means (kill, a unit's ExecReload) reaches the
// workers, which refuse each on its own, log why and keep serving the old pair.
TEST_P(TlsReloadRefused, KeepsTheOldCertificateAndTheConnections) {
    std::string loaded = t->p->log_lines("loaded certificate");
    GetParam().make(*t);
    CmdResult r = t->p->cli("reload-certs");
    EXPECT_NE(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("config: services[1].tls: "), std::string::npos) << r.out;
    EXPECT_EQ(t->p->log_lines("tls:"), "") << "the CLI signalled despite bad files";

    int master = master_pid();
    ASSERT_GT(master, 0);
    ASSERT_EQ(kill(master, SIGURG), 0);
    // Each worker's own line ("tls: pusher[1] keeping ..."); the master says so
    // once per service too ("tls: pusher: keeping ... for new workers").
    ASSERT_TRUE(answered("] keeping the old certificate", 0));
    std::string refused = t->p->log_lines("keeping the old certificate");
    EXPECT_NE(refused.find("tls: pusher[0] keeping the old certificate"), std::string::npos)
        << refused;
    EXPECT_NE(refused.find("tls: pusher: keeping the old certificate for new workers"),
              std::string::npos)
        << refused;
    EXPECT_EQ(t->p->log_lines("loaded certificate"), loaded) << "something was loaded";
    EXPECT_EQ(t->metric("pusher_tls_reload_failures_total"), kTlsWorkers);
    EXPECT_EQ(t->ws_stat("tls_reload_failures"), kWsWorkers);
    EXPECT_TRUE(new_clients_see("CN=first,O=pusher tests"));
    EXPECT_TRUE(all_served("after-refusal"));

    // A good pair afterwards is taken: a refusal leaves reload working.
    CertFiles renewed = t->ca.issue("renewed", {"renewed", 0});
    ASSERT_TRUE(t->install(renewed));
    ASSERT_TRUE(reload_certs());
    EXPECT_TRUE(new_clients_see("CN=renewed,O=pusher tests"));
    EXPECT_EQ(t->metric("pusher_tls_reloads_total"), kTlsWorkers);
}

INSTANTIATE_TEST_SUITE_P(New, TlsReloadRefused, ::testing::ValuesIn(kBroken),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace

namespace {

// Certificate files can be broken on disk for a while (a renewal half done, a
// bad deploy): the running server still has its certificate in memory, and
// the operator must still be able to see and stop it.
TEST(TlsBrokenFiles, CliWorksWhileTheFilesAreBroken) {
    TlsPusher t;
    ASSERT_EQ(t.start(), "");
    std::string good = slurp(t.server.key);
    std::ofstream(t.server.key) << "not a key\n";
    CmdResult r = t.p->cli("status --json");
    EXPECT_EQ(r.code, 0) << "status refuses while the key file is broken:\n" << r.out;
    r = t.p->cli("connections");
    EXPECT_EQ(r.code, 0) << "connections refuses while the key file is broken:\n" << r.out;
    r = t.p->cli("stop -q");
    EXPECT_EQ(r.code, 0) << "stop refuses while the key file is broken:\n" << r.out;
    std::ofstream(t.server.key) << good;  // whatever happened, the destructor can stop it
}

// A worker that dies is re-forked; with the files broken at that moment it
// must still serve wss:// (the certificate the master validated is known).
TEST(TlsBrokenFiles, AReforkedWorkerServesWhileTheFilesAreBroken) {
    TlsPusher t;
    ASSERT_EQ(t.start(), "");
    int pid = t.p->worker_pid("pusher", 0);
    ASSERT_GT(pid, 0);
    std::string good = slurp(t.server.key);
    std::ofstream(t.server.key) << "not a key\n";
    t.p->allow_worker_deaths();  // ours, and any failed restarts after it
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    std::string why;
    bool served = eventually(
        [&] {
            WsClient c;
            TlsOptions o = t.client();
            o.timeout_ms = 500;
            if (c.connect_tls("127.0.0.1", t.p->ws_port, o) &&
                c.recv_text(1000).rfind("workerID:", 0) == 0)
                return true;
            why = c.error();
            return false;
        },
        5000, 100);
    EXPECT_TRUE(served) << "no wss:// service 5 s after the worker died: " << why << "\n"
                        << t.log();
    std::ofstream(t.server.key) << good;
}

// The master's copy follows reload-certs: a worker forked after a renewal
// serves the renewed certificate even when the files broke again since.
TEST(TlsBrokenFiles, AReforkedWorkerServesTheLastCertificateThatLoaded) {
    TlsPusher t;
    ASSERT_EQ(t.start(), "");
    CertFiles renewed = t.ca.issue("renewed", {"renewed", 0});
    ASSERT_TRUE(t.install(renewed));
    CmdResult r = t.p->cli("reload-certs");
    ASSERT_EQ(r.code, 0) << r.out << t.log();
    std::string good = slurp(t.server.key);
    std::ofstream(t.server.key) << "not a key\n";
    int pid = t.p->worker_pid("pusher", 0);
    ASSERT_GT(pid, 0);
    t.p->expect_worker_deaths(1);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    std::string subject;
    EXPECT_TRUE(eventually(
        [&] {
            WsClient c;
            if (!c.connect_tls("127.0.0.1", t.p->ws_port, t.client()) ||
                c.recv_text(1000).rfind("workerID:", 0) != 0)
                return false;
            subject = c.tls()->peer_subject();
            return t.p->worker_pid("pusher", 0) != pid;  // served by the new worker
        },
        5000, 100))
        << t.log();
    EXPECT_EQ(subject, "CN=renewed,O=pusher tests");
    std::ofstream(t.server.key) << good;
}

}  // namespace
