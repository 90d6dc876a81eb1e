// The service registry: which factory makes which service, and which bus a
// service's link is. The top of the tree is the only place that knows every
// concrete type (channel::Server, channel::Client, redis::Engine, the
// WebSocket and HTTP services); a worker is handed its factories in its WorkerContext and sees
// only runtime::Service and runtime::Bus.
#pragma once
#include "runtime/service.h"

namespace pusher::master {

runtime::ServiceFactory service_factory(runtime::ServiceType type);
// The bus link of the services that use the bus: the Channel client or the
// Redis engine, as the config's "bus" says.
runtime::BusFactory bus_factory();

}  // namespace pusher::master
