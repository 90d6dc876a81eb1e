#include "protocol/channel_message.h"

#include "protocol/frame.h"

namespace pusher::protocol::channel {

using php::Key;
using php::Type;
using php::Value;

// How many value slots PHP's (un)serializer gives v: every value but R:.
static int64_t count_slots(const Value& v) {
    if (v.type == Type::RefHard) return 0;
    int64_t n = 1;
    for (const auto& kv : v.items) n += count_slots(kv.second);
    return n;
}

bool parse_client_message(std::string_view body, ClientMessage* out, std::string* error,
                          const php::DecodeLimits& limits) {
    Value root;
    std::vector<std::string_view> raw;
    if (!php::unserialize_top(body, &root, &raw, &out->has_refs, error, limits)) return false;
    if (root.type != Type::Array) return *error = "message is not an array", false;
    int64_t slot = 1;  // the outer array
    for (size_t i = 0; i < root.items.size(); ++i) {
        const Key& k = root.items[i].first;
        Value& v = root.items[i].second;
        int64_t slots = count_slots(v);  // before anything is moved out of v
        if (!k.is_int && k.s == "type") {
            out->type = v.as_string();
        } else if (!k.is_int && k.s == "channels") {
            if (v.type == Type::Array) {
                for (auto& kv : v.items) out->channels.push_back(std::move(kv.second));
            } else {
                out->channels.push_back(v);
            }
        } else if (!k.is_int && k.s == "data") {
            out->has_data = true;
            out->data_raw = raw[i];
            out->data_slot = slot + 1;
            out->data = std::move(v);
        }
        slot += slots;
    }
    if (out->type.empty()) return *error = "message has no type", false;
    return true;
}

static std::string begin_delivery(std::string_view type, const Value& channel) {
    std::string out(4, '\0');  // header, filled in at the end
    out += "a:3:{s:4:\"type\";";
    php::serialize_string(out, type);
    out += "s:7:\"channel\";";
    php::serialize_to(out, channel);
    out += "s:4:\"data\";";
    return out;
}

static std::string finish(std::string out) {
    out += "}";
    frame_write_length(out.data(), static_cast<uint32_t>(out.size()));
    return out;
}

std::string build_delivery(std::string_view type, const Value& channel, const ClientMessage& m) {
    std::string out = begin_delivery(type, channel);
    if (!m.has_refs) {
        out.append(m.data_raw.data(), m.data_raw.size());
    } else {
        // In the delivery, data is slot 4 (outer, type, channel, data).
        int64_t shift = m.data_slot - 4;
        php::serialize_to(out, m.data, shift, m.data_slot);
    }
    return finish(std::move(out));
}

std::string build_delivery(std::string_view type, const Value& channel, const Value& data) {
    std::string out = begin_delivery(type, channel);
    php::serialize_to(out, data);
    return finish(std::move(out));
}

bool parse_delivery(std::string_view body, Delivery* out, std::string* error,
                    const php::DecodeLimits& limits) {
    Value root;
    if (!php::unserialize(body, &root, error, limits)) return false;
    if (root.type != Type::Array) return *error = "message is not an array", false;
    for (auto& kv : root.items) {
        if (kv.first.is_int) continue;
        if (kv.first.s == "type")
            out->type = kv.second.as_string();
        else if (kv.first.s == "channel")
            out->channel = std::move(kv.second);
        else if (kv.first.s == "data")
            out->data = std::move(kv.second);
    }
    if (out->type.empty()) return *error = "message has no type", false;
    return true;
}

std::string build_client_message(std::string_view type, const std::vector<Value>& channels,
                                 const Value* data) {
    std::string out = data ? "a:3:{" : "a:2:{";
    out += "s:4:\"type\";";
    php::serialize_string(out, type);
    out += "s:8:\"channels\";a:" + std::to_string(channels.size()) + ":{";
    for (size_t i = 0; i < channels.size(); ++i) {
        out += "i:" + std::to_string(i) + ";";
        php::serialize_to(out, channels[i]);
    }
    out += "}";
    if (data) {
        out += "s:4:\"data\";";
        php::serialize_to(out, *data);
    }
    return out + "}";
}

std::string build_reserve() {
    return "a:1:{s:4:\"type\";s:7:\"reserve\";}";
}

}  // namespace pusher::protocol::channel
