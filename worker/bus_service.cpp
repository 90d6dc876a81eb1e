#include "worker/bus_service.h"

#include "runtime/log.h"

namespace pusher::worker {

using runtime::log_line;

bool BusService::start_tls(std::string* error) {
    const runtime::TlsConfig& t = ctx_.service().tls;
    if (!t.enabled()) return true;
    if (!tls_.load(t.cert, t.key, error)) return false;
    tcp_.set_tls(&tls_);
    return true;
}

// One line per worker either way, so an operator sees every worker's answer.
void BusService::reload_certs() {
    const runtime::TlsConfig& t = ctx_.service().tls;
    if (!t.enabled()) return;
    std::string who = "tls: " + ctx_.service().name + "[" + std::to_string(ctx_.worker_id) + "] ";
    std::string error;
    if (tls_.load(t.cert, t.key, &error)) {
        runtime::bump(loop_.stats().tls_reloads);
        log_line(who + "loaded certificate " + tls_.describe());
    } else {
        runtime::bump(loop_.stats().tls_reload_failures);
        log_line(who + "keeping the old certificate: " + error);
    }
}

}  // namespace pusher::worker
