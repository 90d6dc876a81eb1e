#include "worker/client_script.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/support/php.h"

using pusher::worker::client_script;

// The binary serves client/pusher.js byte for byte: the generated raw string
// literal neither drops nor adds a character (the Makefile rebuilds it when the
// file changes, so a stale copy fails here too).
TEST(ClientScript, IsTheSourceFileByteForByte) {
    std::ifstream f(pusher::testing::source_dir() + "/client/pusher.js", std::ios::binary);
    ASSERT_TRUE(f) << "client/pusher.js not found (PUSHER_SRC)";
    std::ostringstream text;
    text << f.rdbuf();
    EXPECT_EQ(client_script(), text.str());
    EXPECT_NE(client_script().find("export class PusherClient"), std::string_view::npos);
}
