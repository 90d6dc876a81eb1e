// libFuzzer: the PHP-serialize decoder and the Channel message layer on top
// of it. Anything that decodes must re-encode and decode to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "protocol/channel_message.h"
#include "protocol/php_serialize.h"

using namespace pusher::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    php::Value v;
    std::string err;
    if (php::unserialize(in, &v, &err)) {
        std::string once = php::serialize(v);
        php::Value again;
        if (!php::unserialize(once, &again, &err) || php::serialize(again) != once) abort();
    }
    channel::ClientMessage m;
    if (channel::parse_client_message(in, &m, &err)) {
        for (const php::Value& ch : m.channels) (void)channel::build_delivery("event", ch, m);
    }
    channel::Delivery d;
    (void)channel::parse_delivery(in, &d, &err);
    return 0;
}
