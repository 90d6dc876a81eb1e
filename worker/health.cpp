#include "worker/health.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstring>

namespace pusher::worker {

using runtime::Counter;
using runtime::exit_cause_name;
using runtime::ExitCause;
using runtime::ExitKind;
using runtime::kMaxServices;
using runtime::read;
using runtime::ServiceInfo;
using runtime::signal_name;
using runtime::StatsRegion;
using runtime::WorkerSlot;

namespace {

struct Metric {
    const char* name;
    const char* type;
    const char* help;
    const Counter WorkerSlot::*field;
};

const Metric kMetrics[] = {
    {"pusher_connections", "gauge", "Open client connections", &WorkerSlot::connections},
    {"pusher_messages_in_total", "counter", "Messages received", &WorkerSlot::total_request},
    {"pusher_messages_out_total", "counter", "Messages delivered", &WorkerSlot::messages_out},
    {"pusher_bytes_in_total", "counter", "Bytes read", &WorkerSlot::bytes_in},
    {"pusher_bytes_out_total", "counter", "Bytes written", &WorkerSlot::bytes_out},
    {"pusher_dropped_total", "counter", "Slow clients dropped and messages dropped",
     &WorkerSlot::dropped},
    {"pusher_send_fail_total", "counter", "Sends refused by a full send queue",
     &WorkerSlot::send_fail},
    {"pusher_send_queue_bytes", "gauge", "Bytes waiting in send queues",
     &WorkerSlot::send_queue_bytes},
    {"pusher_bus_dropped_total", "counter", "Publishes dropped while the bus was down",
     &WorkerSlot::bus_dropped},
    {"pusher_bus_probe_failures_total", "counter",
     "Bus links found dead while open (probe or reply overdue) and restarted",
     &WorkerSlot::bus_probe_failures},
    {"pusher_bus_reconnects_total", "counter", "Bus connections lost",
     &WorkerSlot::channel_reconnects},
    {"pusher_accept_fail_total", "counter", "Accept errors (EMFILE, ...)",
     &WorkerSlot::accept_fail},
    {"pusher_input_errors_total", "counter", "Connections closed because a parser threw",
     &WorkerSlot::input_errors},
    {"pusher_rejected_total", "counter", "Connections refused above the limit",
     &WorkerSlot::rejected},
    {"pusher_publish_refused_total", "counter", "HTTP publishes refused: content not valid UTF-8",
     &WorkerSlot::publish_refused},
    {"pusher_tls_handshake_failures_total", "counter",
     "TLS handshakes that failed or were abandoned", &WorkerSlot::tls_handshake_failures},
    {"pusher_tls_reloads_total", "counter", "Certificates loaded by reload-certs",
     &WorkerSlot::tls_reloads},
    {"pusher_tls_reload_failures_total", "counter",
     "reload-certs refused (the old certificate stays)", &WorkerSlot::tls_reload_failures},
    {"pusher_bus_routed_in_total", "counter",
     "User and group events read from the bus (only by workers holding members)",
     &WorkerSlot::bus_routed_in},
    {"pusher_bus_publishes_total", "counter", "Events the publish API wrote to the bus",
     &WorkerSlot::bus_publishes},
    {"pusher_auth_refused_total", "counter", "WebSocket connects refused 401: no or bad token",
     &WorkerSlot::auth_refused},
    {"pusher_handovers_total", "counter", "Reloads that handed every WebSocket to the new worker",
     &WorkerSlot::handovers},
    {"pusher_handover_failures_total", "counter",
     "Hand-overs that failed (a process died or timed out); their clients reconnect",
     &WorkerSlot::handover_failures},
    {"pusher_handover_adopted_total", "counter", "WebSockets adopted from an old worker",
     &WorkerSlot::handover_adopted},
    {"pusher_handover_lost_total", "counter",
     "WebSockets lost in a failed hand-over (sent, never confirmed)", &WorkerSlot::handover_lost},
    {"pusher_handover_forwarded_total", "counter",
     "Bus events the old worker forwarded to the new one during a cut",
     &WorkerSlot::handover_forwarded},
    {"pusher_handover_last_ms", "gauge", "Duration of the last hand-over, Hello to live",
     &WorkerSlot::handover_last_ms},
    {"pusher_paced_closes_total", "counter",
     "Clients told 1001 one by one (reload of TLS clients, stop -g)", &WorkerSlot::paced_closes},
    {"pusher_pings_sent_total", "counter", "Keep-alive pings sent to silent WebSocket clients",
     &WorkerSlot::pings_sent},
    {"pusher_heartbeats_sent_total", "counter",
     "Keep-alive heartbeats (unsolicited pongs, no answer expected) sent to silent clients",
     &WorkerSlot::heartbeats_sent},
    {"pusher_idle_closes_total", "counter",
     "WebSocket clients closed as dead (ping unanswered, or TCP gave up on them)",
     &WorkerSlot::idle_closes},
};

bool uses_bus(const char* listen) {
    return strncmp(listen, "frame://", 8) != 0;
}

template <class F>
void each_slot(const StatsRegion& r, F f) {
    for (uint32_t s = 0; s < r.nservices && s < kMaxServices; ++s) {
        const ServiceInfo& svc = r.services[s];
        for (int w = 0; w < svc.count; ++w) f(svc, r.slots[svc.first_slot + w]);
    }
}

// One series per (service, raw wait status, cause) the master has counted.
std::string exit_series(const StatsRegion& r) {
    std::string out =
        "# HELP pusher_worker_exits_total Worker processes ended, by raw wait status and cause "
        "(normal, error, signal, master_kill)\n"
        "# TYPE pusher_worker_exits_total counter\n";
    for (uint32_t s = 0; s < r.nservices && s < kMaxServices; ++s)
        for (const ExitKind& k : r.services[s].exits) {
            if (!k.count.load()) continue;
            int status = k.status.load();
            std::string reason = WIFSIGNALED(status)
                                     ? signal_name(WTERMSIG(status))
                                     : "exit_" + std::to_string(WEXITSTATUS(status));
            out += std::string("pusher_worker_exits_total{node=\"") + r.node_name +
                   "\",service=\"" + r.services[s].name + "\",status=\"" + std::to_string(status) +
                   "\",cause=\"" + exit_cause_name(static_cast<ExitCause>(k.cause.load())) +
                   "\",reason=\"" + reason + "\"} " + std::to_string(k.count.load()) + "\n";
        }
    return out;
}

}  // namespace

std::string prometheus_text(const StatsRegion& r) {
    std::string out;
    for (const Metric& m : kMetrics) {
        out += std::string("# HELP ") + m.name + " " + m.help + "\n# TYPE " + m.name + " " +
               m.type + "\n";
        each_slot(r, [&](const ServiceInfo& svc, const WorkerSlot& slot) {
            out += std::string(m.name) + "{node=\"" + r.node_name + "\",service=\"" + svc.name +
                   "\",worker=\"" + std::to_string(slot.worker_id) + "\"} " +
                   std::to_string(read(slot.*(m.field))) + "\n";
        });
    }
    out +=
        "# HELP pusher_bus_connected 1 when the worker's bus link is up and subscribed\n"
        "# TYPE pusher_bus_connected gauge\n";
    each_slot(r, [&](const ServiceInfo& svc, const WorkerSlot& slot) {
        if (!uses_bus(svc.listen)) return;
        out += std::string("pusher_bus_connected{node=\"") + r.node_name + "\",service=\"" +
               svc.name + "\",worker=\"" + std::to_string(slot.worker_id) + "\"} " +
               std::to_string(slot.channel_connected.load()) + "\n";
    });
    return out + exit_series(r);
}

bool healthy(const StatsRegion& r, std::string* why) {
    bool ok = true;
    each_slot(r, [&](const ServiceInfo& svc, const WorkerSlot& slot) {
        if (!ok) return;
        std::string who = std::string(svc.name) + "[" + std::to_string(slot.worker_id) + "]";
        int pid = slot.pid.load();
        if (pid <= 0 || kill(pid, 0) != 0 || slot.listening.load() != 1) {
            *why = who + " is not running";
            ok = false;
        } else if (uses_bus(svc.listen) && slot.channel_connected.load() != 1) {
            *why = who + " is not connected to the bus, or a subscription is missing";
            ok = false;
        }
    });
    return ok;
}

}  // namespace pusher::worker
