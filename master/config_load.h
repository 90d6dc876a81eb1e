// Loading and validating the JSON config (jsoncpp), or the embedded default:
// all three services on this host, as contract §1 lists them.
#pragma once
#include <string>

#include "runtime/config.h"

namespace pusher::master {

runtime::Config default_config();
// Reads FILE; on error *error is one line naming the bad key, e.g.
// "config: services[1].port: must be 1..65535".
bool load_config(const std::string& file, runtime::Config* out, std::string* error);
// Makes config_file absolute and fills pid/log/stats paths left empty with
// pusher.<config name>.{pid,log,stats}. Relative paths (given or filled) are
// taken from the config file's directory, or the binary's for the embedded
// default: never the current one, so the CLI works from any directory, and
// instances with different configs never collide.
void derive_paths(runtime::Config* c);
// Reads every TLS service's certificate and key into the config (PEM text),
// checking that each pair loads and matches. Only the commands that start
// workers or reload certificates need it: `stop` and `status` must work
// while a renewal has left a bad pair on disk.
bool read_tls_files(runtime::Config* c, std::string* error);

}  // namespace pusher::master
