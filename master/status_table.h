// `status` and `connections` output, read straight from the status region:
// Workerman's table layout (spec §5.3) with a `dropped` column, or JSON.
#pragma once
#include <map>
#include <string>

#include "runtime/stats.h"

namespace pusher::master {

// qps: total_request per second by slot, from two samples (status -d); empty: 0.
std::string status_text(const runtime::StatsRegion& r, const std::map<int, double>& qps);
std::string status_json(const runtime::StatsRegion& r, const std::map<int, double>& qps);
// rows: the tab-separated lines workers wrote (format in worker/worker_main.h).
std::string connections_text(const std::string& rows);
std::string connections_json(const std::string& rows);

}  // namespace pusher::master
