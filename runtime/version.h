// The build's version string ("pusher/0.2.0"), shown by `status` and written
// into the status region by the master and every worker, so an `upgrade`
// shows which processes run which build. A second binary with another string
// (the Makefile's pusher-next, for the upgrade tests) links its own
// runtime/version.cpp compiled with -DPUSHER_VERSION_SUFFIX.
#pragma once

namespace pusher::runtime {

const char* build_version();

}  // namespace pusher::runtime
