#include "master/pid_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
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

static bool locked_by_someone(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);  // releases our shared lock if we got it
    return held;
}

// The lock says whether a master runs; the pid is signalled by stop and
// reload, so it must also be a live pusher process, whatever the file says.
static bool is_pusher_master(pid_t pid) {
    if (!process_alive(pid)) return false;
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str().find("pusher") != std::string::npos;
}

pid_t running_master(const std::string& path) {
    if (!locked_by_someone(path)) return 0;
    pid_t pid = read_pid_file(path);
    return is_pusher_master(pid) ? pid : 0;
}

int lock_pid_file(const std::string& path, std::string* error) {
    // The old master unlinks the file as it exits; a lock taken on that
    // unlinked file would guard nothing, so check that the path still names it.
    for (int attempt = 0; attempt < 5; ++attempt) {
        int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) return *error = path + ": " + strerror(errno), -1;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int err = errno;
            close(fd);
            if (err != EWOULDBLOCK) return *error = path + ": " + strerror(err), -1;
            pid_t pid = read_pid_file(path);
            *error = "pusher already running" +
                     (pid > 0 ? " (pid " + std::to_string(pid) + ")" : std::string());
            return -1;
        }
        struct stat held {
        }, named{};
        if (fstat(fd, &held) == 0 && stat(path.c_str(), &named) == 0 &&
            held.st_ino == named.st_ino && held.st_dev == named.st_dev)
            return fd;
        close(fd);
    }
    return *error = path + ": keeps being replaced", -1;
}

bool write_pid(int fd, const std::string& path, pid_t pid, std::string* error) {
    std::string text = std::to_string(pid) + "\n";
    if (ftruncate(fd, 0) != 0 ||
        pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
        return *error = path + ": " + strerror(errno), false;
    return true;
}

}  // namespace pusher::master
