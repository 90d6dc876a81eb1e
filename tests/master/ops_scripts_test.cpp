// The operator scripts in scripts/ against a real instance.
#include <gtest/gtest.h>

#include "tests/support/php.h"
#include "tests/support/pusher_instance.h"

using namespace pusher::testing;

TEST(OpsScripts, HealthCheckReportsRunningAndStopped) {
    PusherInstance p;
    std::string check = "PUSHER_BIN=" + pusher_bin() + " " + source_dir() +
                        "/scripts/healthcheck.sh -c " + p.config;
    CmdResult down = run(check);
    EXPECT_EQ(down.code, 2);
    EXPECT_EQ(down.out.substr(0, 9), "CRITICAL:");
    ASSERT_EQ(p.start().code, 0);
    CmdResult up;
    for (int i = 0; i < 100 && (up = run(check)).code != 0; ++i) {
    }
    EXPECT_EQ(up.code, 0) << up.out;
    EXPECT_EQ(up.out, "OK: 4 workers running\n");
}

TEST(OpsScripts, SystemdUnitIsForkingWithPidFileAndReload) {
    CmdResult unit = run("cat " + source_dir() + "/scripts/pusher.service");
    EXPECT_NE(unit.out.find("Type=forking"), std::string::npos);
    EXPECT_NE(unit.out.find("PIDFile="), std::string::npos);
    EXPECT_NE(unit.out.find("ExecReload=/bin/kill -USR1 $MAINPID"), std::string::npos);
    // A worker needs max_connections + kFdReserve descriptors; the default
    // ulimit -n (1024) would hold only a few hundred clients.
    EXPECT_NE(unit.out.find("\nLimitNOFILE=1048576\n"), std::string::npos);
}
