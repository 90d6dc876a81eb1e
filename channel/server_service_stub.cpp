// TEMPORARY: replaced by the channel server service.
#include "worker/service.h"
namespace pusher::worker {
std::unique_ptr<Service> make_channel_service(Loop&, const WorkerContext&) { return nullptr; }
}  // namespace pusher::worker
