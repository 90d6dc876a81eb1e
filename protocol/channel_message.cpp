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

// Adds `by` to the r:/R: indices inside v that point at slot `from` or later.
static void rebase_refs(Value& v, int64_t from, int64_t by) {
    if ((v.type == Type::Ref || v.type == Type::RefHard) && v.i >= from) v.i += by;
    for (auto& kv : v.items) rebase_refs(kv.second, from, by);
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

static void append_delivery_data(std::string& out, const ClientMessage& m) {
    if (!m.has_refs) {
        out.append(m.data_raw.data(), m.data_raw.size());
    } else {
        // In the delivery, data is slot 4 (outer, type, channel, data).
        int64_t shift = m.data_slot - 4;
        php::serialize_to(out, m.data, shift, m.data_slot);
    }
}

std::string delivery_data(const ClientMessage& m) {
    std::string out;
    append_delivery_data(out, m);
    return out;
}

std::string build_delivery(std::string_view type, const Value& channel, const ClientMessage& m) {
    std::string out = begin_delivery(type, channel);
    append_delivery_data(out, m);
    return finish(std::move(out));
}

std::string build_delivery(std::string_view type, const Value& channel, const Value& data) {
    std::string out = begin_delivery(type, channel);
    php::serialize_to(out, data, -3, 1);  // data's own slot 1 is the delivery's slot 4
    return finish(std::move(out));
}

bool parse_delivery(std::string_view body, Delivery* out, std::string* error,
                    const php::DecodeLimits& limits) {
    Value root;
    if (!php::unserialize(body, &root, error, limits)) return false;
    if (root.type != Type::Array) return *error = "message is not an array", false;
    int64_t slot = 1, data_slot = 0;  // 1: the outer array
    for (auto& kv : root.items) {
        int64_t slots = count_slots(kv.second);
        if (kv.first.is_int) {
        } else if (kv.first.s == "type") {
            out->type = kv.second.as_string();
        } else if (kv.first.s == "channel") {
            out->channel = std::move(kv.second);
        } else if (kv.first.s == "data") {
            out->data = std::move(kv.second);
            data_slot = slot + 1;
        }
        slot += slots;
    }
    if (out->type.empty()) return *error = "message has no type", false;
    // Back-references count from the whole message; make them count from
    // data itself, so that data can be serialized or published on its own.
    if (data_slot > 1) rebase_refs(out->data, data_slot, 1 - data_slot);
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
        // data's back-references count from data itself (slot 1); in the
        // message data is slot 4 + the channels' slots (outer, type, channels).
        int64_t data_slot = 4;
        for (const Value& ch : channels) data_slot += count_slots(ch);
        php::serialize_to(out, *data, 1 - data_slot, 1);
    }
    return out + "}";
}

std::string build_reserve() {
    return "a:1:{s:4:\"type\";s:7:\"reserve\";}";
}

}  // namespace pusher::protocol::channel
