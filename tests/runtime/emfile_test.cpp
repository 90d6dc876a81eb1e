// A worker under a low file limit: it keeps serving the connections it has,
// refuses the rest, counts the failures and does not spin.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "runtime/listen_socket.h"
#include "runtime/tcp_server.h"
#include "tests/support/proc.h"
#include "tests/support/pump.h"

using namespace pusher::runtime;
using pusher::testing::cpu_ticks;

namespace {

struct Echo : ConnectionHandler, TcpServer::Acceptor {
    TcpServer* server = nullptr;
    void on_accept(Connection&) override {}
    void on_data(Connection& c, const char* d, size_t n) override { c.send(d, n); }
    void on_close(Connection& c) override { server->remove(c); }
};

bool echo_ok(int fd) {
    if (write(fd, "x", 1) != 1) return false;
    char c;
    for (int i = 0; i < 300; ++i) {
        if (read(fd, &c, 1) == 1) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // another process answers
    }
    return false;
}

TEST(Emfile, ServesWhatItHasRefusesTheRestWithoutSpinning) {
    std::string err;
    int lfd = listen_socket("127.0.0.1", 0, false, &err);
    ASSERT_GE(lfd, 0) << err;
    int port = socket_port(lfd);
    auto* slot = static_cast<WorkerSlot*>(mmap(nullptr, sizeof(WorkerSlot), PROT_READ | PROT_WRITE,
                                               MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    pid_t child = fork();
    if (child == 0) {
        rlimit lim{64, 64};  // sanitizers need a few spare descriptors
        setrlimit(RLIMIT_NOFILE, &lim);
        Loop loop(slot, Limits{});
        Echo echo;
        TcpServer server(loop, lfd, &echo, &echo);
        echo.server = &server;
        server.start_accepting();
        loop.run();
        _exit(0);
    }
    std::vector<int> fds;
    for (int i = 0; i < 120; ++i) fds.push_back(pusher::testing::dial(port));
    // The first connection is served.
    fcntl(fds[0], F_SETFL, 0);
    EXPECT_TRUE(echo_ok(fds[0]));
    for (int i = 0; i < 200 && slot->accept_fail.load() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_GT(slot->accept_fail.load(), 0u);
    // The excess is refused (accepted and closed), not left hanging.
    for (int i = 0; i < 300 && slot->rejected.load() < 10; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_GE(slot->rejected.load(), 10u);
    // With connections still pending in the backlog, the worker must idle.
    long before = cpu_ticks(child);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // a measuring window, not a wait
    long used = cpu_ticks(child) - before;
    EXPECT_LT(used, 30) << "ticks of CPU in 1 s";  // 100 ticks = a whole core
    EXPECT_TRUE(echo_ok(fds[0]));
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    for (int fd : fds) close(fd);
    close(lfd);
}

}  // namespace
