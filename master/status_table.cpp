#include "master/status_table.h"

#include <json/json.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

namespace pusher::master {

using runtime::read;
using runtime::StatsRegion;
using runtime::WorkerSlot;


static std::string rss_of(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
    long pages = 0, rss = 0;
    if (!(in >> pages >> rss)) return "N/A";
    char buf[32];
    snprintf(buf, sizeof buf, "%.2fM", rss * sysconf(_SC_PAGESIZE) / 1048576.0);
    return buf;
}

static long rss_bytes(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
    long pages = 0, rss = 0;
    in >> pages >> rss;
    return rss * sysconf(_SC_PAGESIZE);
}

static std::string pad(std::string s, size_t w) {
    if (s.size() < w) s.append(w - s.size(), ' ');
    return s + " ";
}

static const char* state_name(const WorkerSlot& s, bool alive) {
    if (!alive) return "[dead]";
    switch (static_cast<runtime::SlotState>(s.state.load())) {
        case runtime::SlotState::Starting:
            return "[starting]";
        case runtime::SlotState::Draining:
            return "[draining]";
        default:
            return s.connections.load() ? "[busy]" : "[idle]";
    }
}

// "signal 11 (SIGSEGV)", "exit 2", "master_kill": what the raw status means.
static std::string exit_cause_text(const runtime::ExitKind& k) {
    auto cause = static_cast<runtime::ExitCause>(k.cause.load());
    int status = k.status.load();
    if (cause == runtime::ExitCause::Signal)
        return "signal " + std::to_string(WTERMSIG(status)) + " (" +
               runtime::signal_name(WTERMSIG(status)) + ")";
    if (cause == runtime::ExitCause::Error || cause == runtime::ExitCause::Normal)
        return "exit " + std::to_string(WEXITSTATUS(status));
    return runtime::exit_cause_name(cause);
}

template <class F>
static void each_worker(const StatsRegion& r, F f) {
    for (uint32_t i = 0; i < r.nservices && i < runtime::kMaxServices; ++i)
        for (int w = 0; w < r.services[i].count; ++w) {
            int slot = r.services[i].first_slot + w;
            f(r.services[i], slot, r.slots[slot]);
        }
}

std::string status_text(const StatsRegion& r, const std::map<int, double>& qps) {
    std::ostringstream o;
    std::string rule(57, '-');
    utsname u{};
    uname(&u);
    char start[32];
    time_t st = static_cast<time_t>(r.start_time);
    strftime(start, sizeof start, "%Y-%m-%d %H:%M:%S", localtime(&st));
    long run = static_cast<long>(time(nullptr) - st);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    char la[64];
    snprintf(la, sizeof la, "%.2f, %.2f, %.2f", load[0], load[1], load[2]);
    int processes = 1;
    each_worker(r, [&](auto&, int, auto&) { ++processes; });
    o << rule << "GLOBAL STATUS" << rule << "\n";
    o << pad(r.build, 22) << "Linux/" << u.release << "   node:" << r.node_name << "\n";
    o << "start time:" << start << "   run " << run / 86400 << " days " << (run % 86400) / 3600
      << " hours   load average: " << la << "\n";
    o << r.nservices << " workers    " << processes << " processes\n";
    o << pad("name", 17) << pad("event-loop", 14) << pad("exit_status", 15) << pad("exit_count", 11)
      << "cause\n";
    for (uint32_t i = 0; i < r.nservices; ++i) {
        const runtime::ServiceInfo& s = r.services[i];
        bool any = false;
        for (const runtime::ExitKind& k : s.exits) {
            if (!k.count.load()) continue;
            any = true;
            o << pad(s.name, 17) << pad("libevent", 14) << pad(std::to_string(k.status.load()), 15)
              << pad(std::to_string(k.count.load()), 11) << exit_cause_text(k) << "\n";
        }
        if (!any) o << pad(s.name, 17) << pad("libevent", 14) << pad("0", 15) << "0\n";
    }
    o << rule << "PROCESS STATUS" << std::string(56, '-') << "\n";
    o << "pid\t" << pad("memory", 7) << pad("listening", 27) << pad("name", 13)
      << pad("connections", 11) << pad("send_fail", 9) << pad("dropped", 9) << pad("timers", 7)
      << pad("total_request", 13) << pad("qps", 6) << "status\n";
    long total_rss = 0;
    uint64_t sums[5] = {0, 0, 0, 0, 0};
    double total_qps = 0;
    each_worker(r, [&](const runtime::ServiceInfo& svc, int slot, const WorkerSlot& s) {
        int pid = s.pid.load();
        bool alive = pid > 0 && kill(pid, 0) == 0;
        double q = qps.count(slot) ? qps.at(slot) : 0;
        total_rss += alive ? rss_bytes(pid) : 0;
        uint64_t v[5] = {read(s.connections), read(s.send_fail), read(s.dropped), read(s.timers),
                         read(s.total_request)};
        for (int i = 0; i < 5; ++i) sums[i] += v[i];
        total_qps += q;
        o << pid << "\t" << pad(alive ? rss_of(pid) : "N/A", 7) << pad(svc.listen, 27)
          << pad(svc.name, 13) << pad(std::to_string(v[0]), 11) << pad(std::to_string(v[1]), 9)
          << pad(std::to_string(v[2]), 9) << pad(std::to_string(v[3]), 7)
          << pad(std::to_string(v[4]), 13) << pad(std::to_string(static_cast<long>(q)), 6)
          << state_name(s, alive) << "\n";
    });
    o << rule << "PROCESS STATUS" << std::string(56, '-') << "\n";
    char mem[32];
    snprintf(mem, sizeof mem, "%.2fM", total_rss / 1048576.0);
    o << "Summary\t" << pad(mem, 7) << pad("-", 27) << pad("-", 13)
      << pad(std::to_string(sums[0]), 11) << pad(std::to_string(sums[1]), 9)
      << pad(std::to_string(sums[2]), 9) << pad(std::to_string(sums[3]), 7)
      << pad(std::to_string(sums[4]), 13) << pad(std::to_string(static_cast<long>(total_qps)), 6)
      << "[Summary]\n";
    uint64_t beats = 0, pings = 0, idle = 0;
    each_worker(r, [&](auto&, int, const WorkerSlot& s) {
        beats += read(s.heartbeats_sent), pings += read(s.pings_sent), idle += read(s.idle_closes);
    });
    // Not in the original's table: one line below it, so its columns stay as they were.
    o << "keep-alive: heartbeats_sent " << beats << "   pings_sent " << pings << "   idle_closes "
      << idle << "\n";
    return o.str();
}

std::string status_json(const StatsRegion& r, const std::map<int, double>& qps) {
    Json::Value root;
    root["version"] = r.build;  // the running master's build
    root["reloads_done"] = r.reloads_done.load();
    root["node"] = r.node_name;
    root["master_pid"] = r.master_pid.load();
    root["start_time"] = Json::UInt64(r.start_time);
    root["reloading"] = r.master_state.load() == 1;
    Json::Value workers(Json::arrayValue);
    each_worker(r, [&](const runtime::ServiceInfo& svc, int slot, const WorkerSlot& s) {
        Json::Value w;
        int pid = s.pid.load();
        bool alive = pid > 0 && kill(pid, 0) == 0;
        w["pid"] = pid;
        w["alive"] = alive;
        w["name"] = svc.name;
        w["listen"] = svc.listen;
        w["worker_id"] = s.worker_id;
        w["memory"] = Json::Int64(alive ? rss_bytes(pid) : 0);
        w["connections"] = Json::UInt64(read(s.connections));
        w["send_fail"] = Json::UInt64(read(s.send_fail));
        w["dropped"] = Json::UInt64(read(s.dropped));
        w["timers"] = Json::UInt64(read(s.timers));
        w["total_request"] = Json::UInt64(read(s.total_request));
        w["messages_out"] = Json::UInt64(read(s.messages_out));
        w["qps"] = qps.count(slot) ? qps.at(slot) : 0.0;
        w["listening"] = s.listening.load() == 1;
        w["channel_connected"] = s.channel_connected.load() == 1;
        w["bus_dropped"] = Json::UInt64(read(s.bus_dropped));
        w["bus_probe_failures"] = Json::UInt64(read(s.bus_probe_failures));
        w["accept_fail"] = Json::UInt64(read(s.accept_fail));
        w["input_errors"] = Json::UInt64(read(s.input_errors));
        w["send_queue_bytes"] = Json::UInt64(read(s.send_queue_bytes));
        w["rejected"] = Json::UInt64(read(s.rejected));
        w["tls_handshake_failures"] = Json::UInt64(read(s.tls_handshake_failures));
        w["tls_reloads"] = Json::UInt64(read(s.tls_reloads));
        w["tls_reload_failures"] = Json::UInt64(read(s.tls_reload_failures));
        w["bus_routed_in"] = Json::UInt64(read(s.bus_routed_in));
        w["bus_publishes"] = Json::UInt64(read(s.bus_publishes));
        w["auth_refused"] = Json::UInt64(read(s.auth_refused));
        w["version"] = s.build;
        w["old_pid"] = s.old_pid.load();
        w["handovers"] = Json::UInt64(read(s.handovers));
        w["handover_failures"] = Json::UInt64(read(s.handover_failures));
        w["handover_adopted"] = Json::UInt64(read(s.handover_adopted));
        w["handover_lost"] = Json::UInt64(read(s.handover_lost));
        w["handover_forwarded"] = Json::UInt64(read(s.handover_forwarded));
        w["handover_last_ms"] = Json::UInt64(read(s.handover_last_ms));
        w["paced_closes"] = Json::UInt64(read(s.paced_closes));
        w["pings_sent"] = Json::UInt64(read(s.pings_sent));
        w["idle_closes"] = Json::UInt64(read(s.idle_closes));
        w["heartbeats_sent"] = Json::UInt64(read(s.heartbeats_sent));
        w["state"] = state_name(s, alive);
        workers.append(w);
    });
    root["workers"] = workers;
    Json::Value exits(Json::arrayValue);
    uint64_t abnormal = 0;
    for (uint32_t i = 0; i < r.nservices; ++i)
        for (const runtime::ExitKind& k : r.services[i].exits) {
            if (!k.count.load()) continue;
            auto cause = static_cast<runtime::ExitCause>(k.cause.load());
            int status = k.status.load();
            Json::Value e;
            e["name"] = r.services[i].name;
            e["status"] = status;
            e["cause"] = runtime::exit_cause_name(cause);
            if (WIFSIGNALED(status))
                e["signal"] = runtime::signal_name(WTERMSIG(status));
            else
                e["exit_code"] = WEXITSTATUS(status);
            e["abnormal"] = runtime::exit_abnormal(cause);
            e["count"] = Json::UInt64(k.count.load());
            if (runtime::exit_abnormal(cause)) abnormal += k.count.load();
            exits.append(e);
        }
    root["exits"] = exits;
    root["abnormal_exits"] = Json::UInt64(abnormal);
    Json::StreamWriterBuilder b;
    b["indentation"] = "  ";
    return Json::writeString(b, root) + "\n";
}

static std::vector<std::vector<std::string>> split_rows(const std::string& rows) {
    std::vector<std::vector<std::string>> out;
    std::istringstream in(rows);
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> cols;
        std::istringstream l(line);
        std::string c;
        while (std::getline(l, c, '\t')) cols.push_back(c);
        if (cols.size() >= 11) out.push_back(cols);
    }
    return out;
}

std::string connections_text(const std::string& rows) {
    auto all = split_rows(rows);
    // Workerman's columns; an Identity column only when some client has a user, groups or session.
    bool identity = false;
    for (auto& c : all) identity |= c.size() > 11;
    std::ostringstream o;
    o << pad("PID", 8) << pad("Worker", 15) << pad("WID", 4) << pad("CID", 9) << pad("Protocol", 10)
      << pad("Bytes-R", 12) << pad("Bytes-W", 12) << pad("Send-Q", 9) << pad("Status", 14)
      << pad("Local Address", 22) << (identity ? pad("Foreign Address", 22) + "Identity\n"
                                               : std::string("Foreign Address\n"));
    for (auto& c : all)
        o << pad(c[0], 8) << pad(c[1], 15) << pad(c[2], 4) << pad(c[3], 9) << pad(c[4], 10)
          << pad(c[7] + "B", 12) << pad(c[8] + "B", 12) << pad(c[9] + "B", 9) << pad(c[10], 14)
          << pad(c[6], 22) << (identity ? pad(c[5], 22) + (c.size() > 11 ? c[11] : "") : c[5])
          << "\n";
    return o.str();
}

std::string connections_json(const std::string& rows) {
    Json::Value arr(Json::arrayValue);
    for (auto& c : split_rows(rows)) {
        Json::Value j;
        j["pid"] = atoi(c[0].c_str());
        j["worker"] = c[1];
        j["worker_id"] = atoi(c[2].c_str());
        j["connection_id"] = Json::UInt64(strtoull(c[3].c_str(), nullptr, 10));
        j["protocol"] = c[4];
        j["peer"] = c[5];
        j["local"] = c[6];
        j["bytes_in"] = Json::UInt64(strtoull(c[7].c_str(), nullptr, 10));
        j["bytes_out"] = Json::UInt64(strtoull(c[8].c_str(), nullptr, 10));
        j["send_queue"] = Json::UInt64(strtoull(c[9].c_str(), nullptr, 10));
        j["state"] = c[10];
        Json::Value who;
        Json::Reader reader;
        if (c.size() > 11 && reader.parse(c[11], who) && who.isObject())
            for (const std::string& k : who.getMemberNames()) j[k] = who[k];
        arr.append(j);
    }
    Json::StreamWriterBuilder b;
    b["indentation"] = "  ";
    return Json::writeString(b, arr) + "\n";
}

}  // namespace pusher::master
