#include "worker/bus_service.h"

#include "runtime/log.h"

namespace pusher::worker {

using runtime::log_line;

bool BusService::start_tls(std::string* error) {
    const runtime::TlsConfig& t = ctx_.service().tls;
    if (!t.enabled()) return true;
    // The pair the master last read: whatever is on disk now may be half-renewed.
    if (!tls_.load(t, error)) return false;
    tcp_.set_tls(&tls_);
    answer_reload(true);  // a worker forked after a reload-certs has its pair
    return true;
}

void BusService::answer_reload(bool ok) {
    if (!ctx_.stats || !ctx_.slot) return;
    ctx_.slot->tls_ok.store(ok ? 1 : 0);
    ctx_.slot->tls_generation.store(ctx_.stats->tls_generation.load());
}

// One line per worker either way, so an operator sees every worker's answer.
void BusService::reload_certs() {
    const runtime::TlsConfig& t = ctx_.service().tls;
    if (!t.enabled()) return;
    std::string who = "tls: " + ctx_.service().name + "[" + std::to_string(ctx_.worker_id) + "] ";
    std::string error;
    runtime::TlsConfig fresh = t;
    bool ok = runtime::tls_read_files(&fresh, &error) && tls_.load(fresh, &error);
    if (ok) {
        runtime::bump(loop_.stats().tls_reloads);
        log_line(who + "loaded certificate " + tls_.describe());
    } else {
        runtime::bump(loop_.stats().tls_reload_failures);
        log_line(who + "keeping the old certificate: " + error);
    }
    answer_reload(ok);
}

}  // namespace pusher::worker
