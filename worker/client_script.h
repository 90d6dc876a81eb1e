// The browser client (client/pusher.js), served by the http service at
// /client/pusher.js. It is compiled into the binary: the Makefile turns the
// file into $(B)/gen/client_js.h at build time, so a deployment ships one
// file and the server never reads the source tree at run time.
#pragma once
#include <string_view>

namespace pusher::worker {

// The module's text, exactly as in client/pusher.js when this binary was built.
std::string_view client_script();

}  // namespace pusher::worker
