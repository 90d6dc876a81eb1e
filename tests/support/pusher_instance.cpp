#include "tests/support/pusher_instance.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <json/json.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/pump.h"

namespace pusher::testing {

std::string pusher_bin() {
    const char* b = getenv("PUSHER_BIN");
    return b ? b : "./pusher";
}

bool eventually(const std::function<bool()>& f, int ms, int every_ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!f()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(every_ms));  // polling other processes
    }
    return true;
}

CmdResult run(const std::string& cmd) {
    CmdResult r;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

PusherInstance::PusherInstance(const std::string& extra, int ws_count, const std::string& h,
                               const std::string& bus_json, const std::string& ws_json,
                               const std::string& http_json)
    : host(h) {
    char tmpl[] = "/tmp/pusher-test-XXXXXX";
    dir = mkdtemp(tmpl);
    ws_port = free_port();
    http_port = free_port();
    channel_port = bus_json.empty() ? free_port() : 0;
    config = dir + "/test.json";
    std::ofstream f(config);
    f << "{" << extra << "\n"
      << "\"node_name\": \"test-" << ws_port << "\",\n";
    if (bus_json.empty())
        f << "\"channel\": \"127.0.0.1:" << channel_port << "\",\n";
    else
        f << "\"bus\": " << bus_json << ",\n";
    f << "\"pid_file\": \"" << dir << "/pusher.pid\", \"log_file\": \"" << dir << "/pusher.log\",\n"
      << "\"stats_file\": \"" << dir << "/pusher.stats\", \"graceful_timeout\": 3,\n"
      << "\"services\": [\n";
    if (bus_json.empty())
        f << " {\"type\": \"channel\", \"listen\": \"127.0.0.1:" << channel_port << "\"},\n";
    f << " {\"type\": \"websocket\", \"listen\": \"" << host << ":" << ws_port
      << "\", \"count\": " << ws_count << (ws_json.empty() ? "" : ", ") << ws_json << "},\n"
      << " {\"type\": \"http\", \"listen\": \"" << host << ":" << http_port << "\""
      << (http_json.empty() ? "" : ", ") << http_json << "}]}\n";
}

PusherInstance::~PusherInstance() {
    check_worker_deaths();
    // A test that rewrote or renamed its config can leave `stop -c` unable to
    // find the instance: whatever still runs from this directory is ended, so
    // no test leaves servers behind (and the run says so).
    // "[/]tmp/..." matches the path but not the shell line that carries it.
    CmdResult left = run("pkill -9 -f -- '-c [/]" + dir.substr(1) + "/'");
    if (left.code == 0)
        fprintf(stderr, "pusher_instance: %s was still running after stop; killed\n", dir.c_str());
    run("rm -rf " + dir);
}

Json::Value status_json(PusherInstance& p) {
    Json::Value root;
    Json::CharReaderBuilder b;
    std::string errs;
    std::istringstream in(p.cli("status --json").out);
    Json::parseFromStream(b, in, &root, &errs);
    return root;
}

std::string PusherInstance::log_lines(const std::string& what) const {
    std::string out;
    DIR* d = opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name.size() < 4 || name.compare(name.size() - 4, 4, ".log") != 0) continue;
        std::ifstream in(dir + "/" + name);
        std::string line;
        while (std::getline(in, line))
            if (line.find(what) != std::string::npos) out += line + "\n";
    }
    closedir(d);
    return out;
}

// Stops the instance and compares the worker deaths it saw with the declared
// ones: while running, from status --json; then, covering the stop itself,
// from the master log, where only exits nobody asked for say "exit with status".
void PusherInstance::check_worker_deaths() {
    Json::Value st;
    CmdResult s = cli("status --json");
    if (s.code == 0) {
        Json::CharReaderBuilder b;
        std::string errs;
        std::istringstream in(s.out);
        Json::parseFromStream(b, in, &st, &errs);
    }
    run(bin + " stop -q -c " + config);
    std::string lines = log_lines("exit with status");
    long logged = static_cast<long>(std::count(lines.begin(), lines.end(), '\n'));
    long counted = st["abnormal_exits"].isNumeric() ? st["abnormal_exits"].asInt64() : 0;
    long seen = std::max(logged, counted);
    if (any_deaths_ || seen == expected_deaths_) return;
    ADD_FAILURE() << "worker deaths: the test declared " << expected_deaths_ << ", the master saw "
                  << seen << " (" << counted << " in status --json, " << logged << " in the log)\n"
                  << lines << "status --json exits: " << st["exits"];
}

CmdResult PusherInstance::start() {
    return cli("start -d -q");
}
CmdResult PusherInstance::stop() {
    return cli("stop -q");
}
CmdResult PusherInstance::cli(const std::string& args) {
    return run(bin + " " + args + " -c " + config);
}

std::string http_request(const std::string& host, int port, const std::string& raw) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &a.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return "";
    }
    (void)!write(fd, raw.data(), raw.size());
    std::string out;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) {
            // A complete response with Content-Length: stop waiting for close.
            size_t h = out.find("\r\n\r\n");
            size_t cl = out.find("Content-Length: ");
            if (h != std::string::npos && cl != std::string::npos &&
                out.size() >= h + 4 + std::stoul(out.substr(cl + 16)))
                break;
            continue;
        }
        char b[65536];
        ssize_t n = read(fd, b, sizeof b);
        if (n <= 0) break;
        out.append(b, static_cast<size_t>(n));
    }
    close(fd);
    return out;
}

std::string PusherInstance::http_get(const std::string& target, int* status) const {
    std::string r = http_request(
        host, http_port, "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if (status) *status = r.size() > 12 ? atoi(r.c_str() + 9) : 0;
    size_t h = r.find("\r\n\r\n");
    return h == std::string::npos ? "" : r.substr(h + 4);
}

}  // namespace pusher::testing

namespace pusher::testing {

bool PusherInstance::wait_healthy(int ms) const {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
        int status = 0;
        http_get("/healthz", &status);
        if (status == 200) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling another process
    }
    return false;
}

static Json::Value find_worker(PusherInstance& p, const std::string& name, int worker_id) {
    Json::Value root;
    Json::CharReaderBuilder b;
    std::string errs, out = p.cli("status --json").out;
    std::istringstream in(out);
    if (!Json::parseFromStream(b, in, &root, &errs)) return Json::Value();
    for (const Json::Value& w : root["workers"])
        if (w["name"].asString() == name && w["worker_id"].asInt() == worker_id &&
            w["alive"].asBool())
            return w;
    return Json::Value();
}

int PusherInstance::worker_pid(const std::string& name, int worker_id) {
    Json::Value w = find_worker(*this, name, worker_id);
    return w.isObject() ? w["pid"].asInt() : 0;
}

long PusherInstance::worker_stat(const std::string& name, int worker_id, const std::string& field) {
    Json::Value w = find_worker(*this, name, worker_id);
    return w.isObject() && w[field].isNumeric() ? static_cast<long>(w[field].asInt64()) : -1;
}

}  // namespace pusher::testing
