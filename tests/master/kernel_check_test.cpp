// master/kernel_check.cpp on made-up kernels: kernel_report() takes the
// /proc contents, so no test depends on this host's settings.
#include "master/kernel_check.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "runtime/listen_socket.h"

namespace {

using pusher::master::capacity;
using pusher::master::kernel_report;
using pusher::master::KernelReport;
using pusher::master::KernelSettings;
using pusher::master::kFdReserve;
using pusher::runtime::Config;
using pusher::runtime::ServiceConfig;
using pusher::runtime::ServiceType;

ServiceConfig service(ServiceType type, int count) {
    ServiceConfig s;
    s.type = type;
    s.count = count;
    return s;
}

// The embedded default's shape: a channel server, 2 ws workers, 1 http worker.
Config default_like(size_t max_connections = 18000) {
    Config c;
    c.services = {service(ServiceType::Channel, 1), service(ServiceType::WebSocket, 2),
                  service(ServiceType::Http, 1)};
    c.limits.max_connections = max_connections;
    return c;
}

// A kernel tuned for far more than any test configuration asks.
KernelSettings generous() {
    KernelSettings k;
    k.nofile_soft = 1048576;
    k.file_max = "9223372036854775807\n";
    k.nr_open = "1073741816\n";
    k.somaxconn = "102400\n";
    k.tcp_mem = "10000000\t20000000\t40000000\n";
    return k;
}

bool mentions(const KernelReport& r, const std::string& text) {
    for (const auto& w : r.warnings)
        if (w.find(text) != std::string::npos) return true;
    return false;
}

TEST(KernelCheck, CapacityCountsWebsocketAndHttpWorkersAndAReservePerProcess) {
    auto cap = capacity(default_like());
    EXPECT_EQ(cap.connections, 3u * 18000);
    EXPECT_EQ(cap.per_process_fds, 18000 + kFdReserve);
    EXPECT_EQ(cap.total_fds, 3u * 18000 + 5 * kFdReserve);  // 4 workers and the master
}

TEST(KernelCheck, AGenerousKernelGivesNoWarningAndNoNote) {
    auto r = kernel_report(default_like(), generous());
    EXPECT_TRUE(r.warnings.empty()) << r.warnings[0];
    EXPECT_TRUE(r.notes.empty());
}

TEST(KernelCheck, SomaxconnBelowMaxConnectionsWarns) {
    auto k = generous();
    k.somaxconn = "4096\n";
    auto r = kernel_report(default_like(), k);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_TRUE(mentions(r, "WARNING: kernel: net.core.somaxconn is 4096"));
    EXPECT_TRUE(mentions(r, "TcpExtListenOverflows"));
    EXPECT_TRUE(mentions(r, "to 18000 or more"));
}

TEST(KernelCheck, SomaxconnAsLongAsMaxConnectionsIsEnough) {
    auto k = generous();
    k.somaxconn = "18000";
    EXPECT_TRUE(kernel_report(default_like(), k).warnings.empty());
}

// The kernel never queues more than the backlog pusher asks for, so a
// somaxconn above it would change nothing.
TEST(KernelCheck, SomaxconnNeedStopsAtTheListenBacklog) {
    auto k = generous();
    k.somaxconn = std::to_string(pusher::runtime::kListenBacklog);
    EXPECT_TRUE(kernel_report(default_like(1000000), k).warnings.empty());
    k.somaxconn = std::to_string(pusher::runtime::kListenBacklog - 1);
    EXPECT_TRUE(mentions(kernel_report(default_like(1000000), k), "net.core.somaxconn"));
}

TEST(KernelCheck, OpenFilesLimitMustCoverMaxConnectionsAndTheReserve) {
    auto k = generous();
    k.nofile_soft = 18000 + kFdReserve;
    EXPECT_TRUE(kernel_report(default_like(), k).warnings.empty());
    k.nofile_soft = 18000 + kFdReserve - 1;
    auto r = kernel_report(default_like(), k);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_TRUE(mentions(r, "ulimit -n) is 18255"));
    EXPECT_TRUE(mentions(r, "accept_fail"));
    k.nofile_soft.reset();  // RLIM_INFINITY
    EXPECT_TRUE(kernel_report(default_like(), k).warnings.empty());
}

TEST(KernelCheck, NrOpenBelowWhatOneWorkerNeedsWarns) {
    auto k = generous();
    k.nr_open = "1048576\n";
    EXPECT_TRUE(kernel_report(default_like(1000000), k).warnings.empty());
    EXPECT_TRUE(mentions(kernel_report(default_like(1048576), k), "fs.nr_open is 1048576"));
}

TEST(KernelCheck, FileMaxMustCoverEveryWorkerTogether) {
    auto k = generous();
    auto need = capacity(default_like()).total_fds;
    k.file_max = std::to_string(need);
    EXPECT_TRUE(kernel_report(default_like(), k).warnings.empty());
    k.file_max = std::to_string(need - 1);
    EXPECT_TRUE(mentions(kernel_report(default_like(), k), "fs.file-max is"));
}

// This machine's tcp_mem (23 GiB of RAM): enough for 54000 connections with
// a message in flight, not for a million. Only the third value (the hard
// limit) counts.
TEST(KernelCheck, TcpMemMaxBelowOnePagePerConnectionWarns) {
    auto k = generous();
    k.tcp_mem = "287898\t383865\t575796\n";
    EXPECT_TRUE(kernel_report(default_like(), k).warnings.empty());
    auto r = kernel_report(default_like(1000000 / 3 + 1), k);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_TRUE(mentions(r, "575796 pages (2.2 GiB)"));
    EXPECT_TRUE(mentions(r, "consider tuning tcp_mem"));
    k.tcp_mem = "1 1 54000";
    EXPECT_TRUE(kernel_report(default_like(), k).warnings.empty());
    k.tcp_mem = "54000 54000 53999";
    EXPECT_TRUE(mentions(kernel_report(default_like(), k), "net.ipv4.tcp_mem"));
}

TEST(KernelCheck, AnUnreadableFileIsANoteNotAWarning) {
    auto k = generous();
    k.somaxconn.reset();
    auto r = kernel_report(default_like(), k);
    EXPECT_TRUE(r.warnings.empty());
    ASSERT_EQ(r.notes.size(), 1u);
    EXPECT_EQ(r.notes[0], "kernel: could not read /proc/sys/net/core/somaxconn: not checked");
}

TEST(KernelCheck, ContentsThatAreNotNumbersAreANote) {
    for (const char* bad : {"", "\n", "abc\n", "-5\n", "12x", "123456789012345678901"}) {
        auto k = generous();
        k.file_max = bad;
        auto r = kernel_report(default_like(), k);
        EXPECT_TRUE(r.warnings.empty()) << bad;
        ASSERT_EQ(r.notes.size(), 1u) << bad;
        EXPECT_NE(r.notes[0].find("/proc/sys/fs/file-max holds"), std::string::npos) << r.notes[0];
    }
    auto k = generous();
    k.tcp_mem = "1 2\n";  // no third value
    EXPECT_EQ(kernel_report(default_like(), k).notes.size(), 1u);
}

TEST(KernelCheck, AChannelOnlyHostIsNotChecked) {
    Config c;
    c.services = {service(ServiceType::Channel, 1)};
    KernelSettings k;  // nothing readable, no limit
    auto r = kernel_report(c, k);
    EXPECT_TRUE(r.warnings.empty());
    EXPECT_TRUE(r.notes.empty());
}

// max_connections may be up to INT64_MAX: the sums saturate, they never wrap
// into a small number that passes.
TEST(KernelCheck, HugeMaxConnectionsSaturatesAndWarns) {
    auto cap = capacity(default_like(INT64_MAX));
    EXPECT_EQ(cap.connections, UINT64_MAX);
    EXPECT_EQ(cap.total_fds, UINT64_MAX);
    EXPECT_TRUE(mentions(kernel_report(default_like(INT64_MAX), generous()), "fs.file-max"));
}

}  // namespace
