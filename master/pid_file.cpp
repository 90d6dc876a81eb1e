#include "master/pid_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pusher::master {

pid_t read_pid_file(const std::string& path) {
    std::ifstream in(path);
    long pid = 0;
    if (!(in >> pid) || pid <= 0) return 0;
    return static_cast<pid_t>(pid);
}

bool process_alive(pid_t pid) {
    if (pid <= 0 || kill(pid, 0) != 0) return false;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(in, line);
    size_t paren = line.rfind(')');
    return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

bool is_pusher_master(pid_t pid) {
    if (!process_alive(pid)) return false;
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string cmd = ss.str();
    return cmd.find("pusher") != std::string::npos;
}

pid_t running_master(const std::string& path) {
    pid_t pid = read_pid_file(path);
    return is_pusher_master(pid) ? pid : 0;
}

bool write_pid_file(const std::string& path, pid_t pid, std::string* error) {
    std::string tmp = path + ".tmp";
    std::ofstream out(tmp, std::ios::trunc);
    out << pid << "\n";
    out.close();
    if (!out || rename(tmp.c_str(), path.c_str()) != 0) {
        *error = path + ": " + strerror(errno);
        return false;
    }
    return true;
}

}  // namespace pusher::master
