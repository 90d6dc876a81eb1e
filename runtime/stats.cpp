#include "runtime/stats.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "runtime/version.h"

namespace pusher::runtime {

static std::string sys_error(const std::string& what) {
    return what + ": " + strerror(errno);
}

static uint64_t random_id() {
    uint64_t id = 0;
    int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (::read(fd, &id, sizeof id) != sizeof id) id = 0;
        ::close(fd);
    }
    if (id == 0) id = static_cast<uint64_t>(time(nullptr)) * 2654435761u ^ getpid();
    return id;
}

void copy_build(char* dst, size_t cap) {
    strncpy(dst, build_version(), cap - 1);
    dst[cap - 1] = '\0';
}

StatsRegion* stats_create(const std::string& path, std::string* error) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        *error = sys_error(path);
        return nullptr;
    }
    if (ftruncate(fd, sizeof(StatsRegion)) != 0) {
        *error = sys_error(path);
        ::close(fd);
        return nullptr;
    }
    void* p = mmap(nullptr, sizeof(StatsRegion), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) {
        *error = sys_error("mmap " + path);
        return nullptr;
    }
    // The file is fresh and zero-filled: every atomic starts at 0.
    auto* r = static_cast<StatsRegion*>(p);
    r->version = kStatsVersion;
    r->start_time = static_cast<uint64_t>(time(nullptr));
    r->instance_id = random_id();
    copy_build(r->build, sizeof r->build);
    r->magic = kStatsMagic;
    return r;
}

static StatsRegion* map_existing(const std::string& path, bool writable, std::string* error) {
    int fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
        *error = sys_error(path);
        return nullptr;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) < sizeof(StatsRegion)) {
        *error = path + ": not a pusher status file";
        ::close(fd);
        return nullptr;
    }
    void* p = mmap(nullptr, sizeof(StatsRegion), PROT_READ | (writable ? PROT_WRITE : 0),
                   MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) {
        *error = sys_error("mmap " + path);
        return nullptr;
    }
    auto* r = static_cast<StatsRegion*>(p);
    if (r->magic != kStatsMagic) {
        *error = path + ": not a pusher status file";
        munmap(p, sizeof(StatsRegion));
        return nullptr;
    }
    if (r->version != kStatsVersion) {
        *error = path + ": written by another pusher version (layout " +
                 std::to_string(r->version) + ", this binary reads " +
                 std::to_string(kStatsVersion) + ")";
        munmap(p, sizeof(StatsRegion));
        return nullptr;
    }
    return r;
}

StatsRegion* stats_attach(const std::string& path, std::string* error) {
    return map_existing(path, true, error);
}

const StatsRegion* stats_open(const std::string& path, std::string* error) {
    return map_existing(path, false, error);
}

const char* exit_cause_name(ExitCause c) {
    switch (c) {
        case ExitCause::Normal:
            return "normal";
        case ExitCause::Error:
            return "error";
        case ExitCause::Signal:
            return "signal";
        case ExitCause::MasterKill:
            return "master_kill";
        case ExitCause::None:
            break;
    }
    return "none";
}

std::string signal_name(int sig) {
    const char* abbrev = sigabbrev_np(sig);
    return std::string("SIG") + (abbrev ? abbrev : std::to_string(sig).c_str());
}

void stats_close(const void* region) {
    if (region) munmap(const_cast<void*>(region), sizeof(StatsRegion));
}

}  // namespace pusher::runtime
