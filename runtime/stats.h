// The status region: a file-backed shared mapping created by the master before
// it forks. Each worker writes its own slot with relaxed atomics; the master,
// the `status` CLI and the http service's /metrics and /healthz read every
// slot without asking anyone, so status answers at once even from busy workers.
// The connection-id counter lives here too so that ids survive a re-fork.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

namespace pusher::runtime {

constexpr uint64_t kStatsMagic = 0x5055534845523031ULL;  // "PUSHER01"
// Bumped whenever the layout below changes: a CLI of another version refuses
// to read a running instance's region instead of misreading it.
constexpr uint32_t kStatsVersion = 7;
constexpr int kMaxSlots = 256;
constexpr int kMaxServices = 8;
constexpr int kMaxExitKinds = 16;

enum class SlotState : uint32_t { Unused = 0, Starting, Running, Draining, Stopped };

using Counter = std::atomic<uint64_t>;

struct WorkerSlot {
    std::atomic<int32_t> pid;
    std::atomic<uint32_t> state;  // SlotState
    int32_t service_index;        // into StatsRegion::services
    int32_t worker_id;
    Counter next_connection_id;  // never reset while the master runs
    Counter started_at;          // unix seconds of the current process
    Counter connections;         // open client connections
    Counter total_request;       // messages received (ws frames, http requests, channel frames)
    Counter send_fail;           // sends refused: queue full or connection closed
    Counter dropped;             // slow consumers closed + bus publishes dropped
    Counter messages_out;        // frames delivered to clients
    Counter bytes_in, bytes_out;
    Counter send_queue_bytes;  // bytes waiting in send queues now
    Counter timers;
    Counter accept_fail;                      // EMFILE/ENFILE and other accept errors
    Counter rejected;                         // refused above max_connections
    std::atomic<uint32_t> channel_connected;  // 1 when the bus link is up and subscribed
    std::atomic<uint32_t> listening;          // 1 once the listener accepts
    Counter channel_reconnects;
    Counter bus_dropped;      // publishes dropped while the bus was down
    // Bus links found dead while still open (a probe that never came back, a
    // server that stopped answering) and restarted: the silent-loss failure.
    Counter bus_probe_failures;
    Counter input_errors;     // connections closed because their input raised an exception
    Counter publish_refused;  // HTTP publishes refused: content not valid UTF-8
    Counter tls_handshake_failures;  // TLS handshakes that failed or were abandoned
    Counter tls_reloads;             // reload-certs: certificates loaded
    Counter tls_reload_failures;     // reload-certs: refused, the old certificate stays
    // Users and groups: events read from their bus channels (ws workers; a
    // worker reads only those whose members it holds) and events the publish
    // API wrote to the bus (http workers).
    Counter bus_routed_in;
    Counter bus_publishes;
    Counter auth_refused;            // WebSocket connects answered 401 (no or bad token)
    // The reload-certs round (StatsRegion::tls_generation) this worker last
    // answered, and whether it loaded the files then (1) or kept the old pair (0).
    std::atomic<uint32_t> tls_generation;
    std::atomic<uint32_t> tls_ok;
    std::atomic<int32_t>
        old_pid;  // graceful reload: the predecessor still draining (master writes)
    // Reload with hand-over (worker/handover.h): completed hand-overs and
    // connections adopted (the new worker counts), hand-overs that failed and
    // connections lost in them, bus events the old worker forwarded during
    // the cut, and how long the last one took from Hello to live.
    Counter handovers;
    Counter handover_failures;
    Counter handover_adopted;
    Counter handover_lost;
    Counter handover_forwarded;
    Counter handover_last_ms;
    Counter paced_closes;  // clients told 1001 "reconnect" one by one (TLS reload, stop -g)
    // Keep-alive (docs/ARCHITECTURE.md "Keep-alive"): pings sent to silent
    // clients (every fourth heartbeat; the others in heartbeats_sent), and clients closed as dead: a ping left unanswered for
    // idle_timeout - ping_interval, or TCP giving up on unacknowledged data.
    Counter pings_sent;
    Counter idle_closes;
    Counter heartbeats_sent;  // unsolicited pongs: heartbeats that need no answer
    // Room for counters to come without a new layout: `upgrade` refuses a
    // binary whose status layout differs (kStatsVersion).
    Counter spare[7];
    char build[32];        // the build the current process runs (pusher --version)
};

// Why a worker process ended, as the master saw it. Only Crash and Error are
// abnormal: a process that nobody in the master asked to go.
enum class ExitCause : uint32_t {
    None = 0,    // an unused ExitKind
    Normal,      // exit code 0 (asked to stop or reload, or left by itself)
    Error,       // a non-zero exit code (e.g. 2: could not start)
    Signal,      // killed by a signal the master did not send: a crash or an outside kill
    MasterKill,  // killed by the master: stop timeout, reload timeout, graceful drain timeout
};
const char* exit_cause_name(ExitCause c);
std::string signal_name(int sig);  // "SIGSEGV"; "SIG43" for one without a name
inline bool exit_abnormal(ExitCause c) {
    return c == ExitCause::Error || c == ExitCause::Signal;
}

// One (raw wait status, cause) pair of a service and how often it happened.
struct ExitKind {
    std::atomic<int32_t> status;  // raw wait status, as the original shows
    std::atomic<uint32_t> cause;  // ExitCause
    Counter count;
};

struct ServiceInfo {
    char name[32];
    char listen[96];
    int32_t count;
    int32_t first_slot;
    ExitKind exits[kMaxExitKinds];  // written by the master only
};

struct StatsRegion {
    uint64_t magic;
    uint32_t version;
    uint32_t nservices;
    std::atomic<int32_t> master_pid;
    std::atomic<uint32_t> master_state;  // 0 running, 1 reloading, 2 stopping
    std::atomic<uint32_t> reloads_done;  // bumped when a reload has finished
    std::atomic<uint32_t> tls_generation;  // bumped by the master on each reload-certs
    std::atomic<uint32_t> upgrades_done;     // `upgrade`: the new build runs everywhere
    std::atomic<uint32_t> upgrade_failures;  // `upgrade` refused (upgrade_error says why)
    char upgrade_error[192];
    uint64_t start_time;
    uint64_t instance_id;  // random per master start: client ids of an older run never match
    char build[32];  // the master's build: changes on `upgrade`
    char node_name[64];
    char config_file[256];
    ServiceInfo services[kMaxServices];
    WorkerSlot slots[kMaxSlots];
};

// Creates (truncates) the file at `path` and maps it read-write. nullptr + error on failure.
StatsRegion* stats_create(const std::string& path, std::string* error);
// Maps an existing region read-write (a master executed by `upgrade`); nullptr
// if absent or of another layout.
StatsRegion* stats_attach(const std::string& path, std::string* error);
// Maps an existing region read-only for the CLI; nullptr if absent or not ours.
const StatsRegion* stats_open(const std::string& path, std::string* error);
void stats_close(const void* region);
// Writes build_version() into a region's or a slot's `build` field.
void copy_build(char* dst, size_t cap);

inline void bump(Counter& c, uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
}
inline uint64_t read(const Counter& c) {
    return c.load(std::memory_order_relaxed);
}

}  // namespace pusher::runtime
