#include "tests/support/proc.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace pusher::testing {

long cpu_ticks(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    std::getline(in, s);
    size_t paren = s.rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream rest(s.substr(paren + 2));  // fields from 3 (state) on
    std::string f;
    long total = 0;
    for (int i = 3; i <= 15 && rest >> f; ++i)
        if (i == 14 || i == 15) total += std::stol(f);
    return total;
}

long rss_kib(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return atol(line.c_str() + 6);
    return 0;
}

}  // namespace pusher::testing
