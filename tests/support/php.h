// Running real php-cli from tests: the interop reference.
#pragma once
#include <string>

namespace pusher::testing {

bool have_php();
// Runs `php <script> [args]` from tests/php/ and returns its stdout.
std::string run_php(const std::string& script, const std::string& args = "");
std::string hex_decode(const std::string& hex);
std::string source_dir();  // the repository root (PUSHER_SRC or the cwd)

}  // namespace pusher::testing
