#include "tests/support/php.h"

#include <cstdio>
#include <cstdlib>

namespace pusher::testing {

std::string source_dir() {
    const char* s = getenv("PUSHER_SRC");
    return s ? s : ".";
}

bool have_php() {
    return system("php -v >/dev/null 2>&1") == 0;
}

std::string run_php(const std::string& script, const std::string& args) {
    std::string cmd = "php " + source_dir() + "/tests/php/" + script + " " + args;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return "";
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
    return out;
}

std::string hex_decode(const std::string& hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    return out;
}

}  // namespace pusher::testing
