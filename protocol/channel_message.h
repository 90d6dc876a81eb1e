// The messages of Workerman Channel (spec workerman.md §1.3) on top of Frame
// and PHP serialize: parsing what clients send the server, building what the
// server delivers, and building what a client sends, byte-identical with PHP.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "protocol/php_serialize.h"
#include "protocol/php_value.h"

namespace pusher::protocol::channel {

// A client → server message: {type, channels[, data]}, keys in any order.
struct ClientMessage {
    std::string type;                  // subscribe, publish, publishLoop, watch, ...
    std::vector<php::Value> channels;  // as sent: the publisher's value and type
    bool has_data = false;
    std::string_view data_raw;  // data's bytes inside the body
    int64_t data_slot = 0;      // data's value index, for r:/R: re-numbering
    bool has_refs = false;
    php::Value data;
};

bool parse_client_message(std::string_view body, ClientMessage* out, std::string* error,
                          const php::DecodeLimits& limits = {});

// The frame (header included) the server sends for `type` ("event" or
// "queue"): a:3:{type, channel, data}. data's bytes are copied raw unless
// they hold back-references, which are re-numbered as PHP's re-serialisation
// would number them.
std::string build_delivery(std::string_view type, const php::Value& channel,
                           const ClientMessage& m);
// data's bytes as they stand inside such a delivery (what a queue stores):
// the raw bytes, or re-encoded with back-references re-numbered.
std::string delivery_data(const ClientMessage& m);
// The same from a value whose back-references count from the value itself.
std::string build_delivery(std::string_view type, const php::Value& channel,
                           const php::Value& data);

// A server → client message: {type, channel, data}.
struct Delivery {
    std::string type;
    php::Value channel;
    // Its r:/R: indices count from data itself (as if data had been
    // unserialize()d on its own), so it can be serialized or published again.
    php::Value data;
};
bool parse_delivery(std::string_view body, Delivery* out, std::string* error,
                    const php::DecodeLimits& limits = {});

// What PHP's Channel\Client sends: serialize(array('type'=>T,'channels'=>(array)C[,'data'=>D])).
// data's r:/R: indices count from data itself and are re-numbered for the
// message. Returns the body; wrap it with frame_encode().
std::string build_client_message(std::string_view type, const std::vector<php::Value>& channels,
                                 const php::Value* data = nullptr);
std::string build_reserve();  // a:1:{s:4:"type";s:7:"reserve";}

}  // namespace pusher::protocol::channel
