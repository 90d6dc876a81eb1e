#include "master/service_registry.h"

#include <memory>

#include "channel/client.h"
#include "channel/server.h"
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

std::unique_ptr<runtime::Bus> make_channel_bus(Loop& loop, const WorkerContext& ctx) {
    return std::make_unique<channel::Client>(loop, ctx.config->channel_host,
                                             ctx.config->channel_port);
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
    return make_channel_bus;
}

}  // namespace pusher::master
