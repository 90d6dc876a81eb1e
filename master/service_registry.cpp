#include "master/service_registry.h"

#include <unistd.h>

#include <memory>

#include "channel/client.h"
#include "channel/server.h"
#include "redis/engine.h"
#include "worker/http_service.h"
#include "worker/ws_service.h"

namespace pusher::master {

using runtime::Loop;
using runtime::WorkerContext;

namespace {

std::unique_ptr<runtime::Service> make_channel_service(Loop& loop, const WorkerContext& ctx) {
    return std::make_unique<channel::Server>(loop, ctx.listen_fd, *ctx.config, ctx.service().name,
                                             ctx.worker_id);
}

std::unique_ptr<runtime::Service> make_websocket_service(Loop& loop, const WorkerContext& ctx) {
    return std::make_unique<worker::WsService>(loop, ctx);
}

std::unique_ptr<runtime::Service> make_http_service(Loop& loop, const WorkerContext& ctx) {
    return std::make_unique<worker::HttpService>(loop, ctx);
}

// The engine the config names: the Channel client (the embedded default), or
// Redis. A worker's Redis probe channels carry its node and pid: no two
// processes of the cluster share one.
std::unique_ptr<runtime::Bus> make_bus(Loop& loop, const WorkerContext& ctx) {
    const runtime::Config& c = *ctx.config;
    if (c.bus.engine == runtime::BusEngine::Redis) {
        return std::make_unique<redis::Engine>(
            loop, c.bus, c.bus.prefix + ":probe:" + c.node_name + ":" + std::to_string(getpid()));
    }
    return std::make_unique<channel::Client>(loop, c.channel_host, c.channel_port);
}

}  // namespace

runtime::ServiceFactory service_factory(runtime::ServiceType type) {
    switch (type) {
        case runtime::ServiceType::Channel:
            return make_channel_service;
        case runtime::ServiceType::WebSocket:
            return make_websocket_service;
        case runtime::ServiceType::Http:
            return make_http_service;
    }
    return nullptr;
}

runtime::BusFactory bus_factory() {
    return make_bus;
}

}  // namespace pusher::master
