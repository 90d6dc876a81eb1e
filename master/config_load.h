// Loading and validating the JSON config (jsoncpp), or the embedded default:
// all three services on this host, as contract §1 lists them.
#pragma once
#include <string>

#include "worker/config.h"

namespace pusher::master {

worker::Config default_config();
// Reads FILE; on error *error is one line naming the bad key, e.g.
// "config: services[1].port: must be 1..65535".
bool load_config(const std::string& file, worker::Config* out, std::string* error);
// Fills pid/log/stats paths left empty: pusher.<config name>.{pid,log,stats}
// in the current directory, so instances with different configs never collide.
void derive_paths(worker::Config* c);

}  // namespace pusher::master
