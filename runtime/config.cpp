#include "runtime/config.h"

namespace pusher::runtime {

const char* ServiceConfig::scheme() const {
    switch (type) {
        case ServiceType::Channel:
            return "frame";
        case ServiceType::WebSocket:
            return "websocket";
        case ServiceType::Http:
            return "http";
    }
    return "tcp";
}

std::string ServiceConfig::listen() const {
    return std::string(scheme()) + "://" + host + ":" + std::to_string(port);
}

}  // namespace pusher::runtime
