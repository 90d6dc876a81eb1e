#include "runtime/version.h"

#ifndef PUSHER_VERSION_SUFFIX
#define PUSHER_VERSION_SUFFIX ""
#endif

namespace pusher::runtime {

const char* build_version() {
    return "pusher/0.2.0" PUSHER_VERSION_SUFFIX;
}

}  // namespace pusher::runtime
