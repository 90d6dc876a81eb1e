// What /metrics and /healthz (and the ops health check) read off the status
// region of this host's instance: every worker's counters, with no round trip.
#pragma once
#include <string>

#include "runtime/stats.h"

namespace pusher::worker {

// Prometheus text exposition format, one series per worker.
std::string prometheus_text(const runtime::StatsRegion& r);
// Healthy: every worker runs and listens, and every worker that uses the bus
// is connected and subscribed. Otherwise *why names the first that is not.
bool healthy(const runtime::StatsRegion& r, std::string* why);

}  // namespace pusher::worker
