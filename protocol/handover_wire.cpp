#include "protocol/handover_wire.h"

#include "protocol/php_serialize.h"

namespace pusher::protocol::handover {

void Writer::u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
}

void Writer::u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
}

void Writer::str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s.data(), s.size());
}

bool Reader::take(size_t n, const char** p) {
    if (in_.size() < n) return false;
    *p = in_.data();
    in_.remove_prefix(n);
    return true;
}

bool Reader::u8(uint8_t* v) {
    const char* p;
    if (!take(1, &p)) return false;
    *v = static_cast<uint8_t>(*p);
    return true;
}

bool Reader::u32(uint32_t* v) {
    const char* p;
    if (!take(4, &p)) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= uint32_t(static_cast<uint8_t>(p[i])) << (8 * i);
    return true;
}

bool Reader::u64(uint64_t* v) {
    const char* p;
    if (!take(8, &p)) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= uint64_t(static_cast<uint8_t>(p[i])) << (8 * i);
    return true;
}

bool Reader::str(std::string* s) {
    uint32_t n;
    const char* p;
    if (!u32(&n) || !take(n, &p)) return false;  // the length is checked against what is left
    s->assign(p, n);
    return true;
}

std::string encode_conns(const std::vector<Conn>& conns) {
    std::string out;
    Writer w(out);
    w.u32(static_cast<uint32_t>(conns.size()));
    for (const Conn& c : conns) {
        w.u64(c.id);
        w.u8(c.phase);
        w.u8(c.flags);
        w.u8(c.ready);
        w.u32(c.last_active);
        w.u32(c.phase_since);
        w.u64(c.bytes_in);
        w.u64(c.bytes_out);
        w.str(c.input);
        w.str(c.output);
        w.u8(static_cast<uint8_t>(c.has_uid | (c.has_session << 1)));
        w.str(c.uid);
        w.str(c.session);
        w.u32(static_cast<uint32_t>(c.groups.size()));
        for (const std::string& g : c.groups) w.str(g);
    }
    return out;
}

static bool decode_one(Reader& r, Conn* c) {
    uint8_t ready = 0, bits = 0;
    uint32_t ngroups = 0;
    if (!r.u64(&c->id) || !r.u8(&c->phase) || !r.u8(&c->flags) || !r.u8(&ready) ||
        !r.u32(&c->last_active) || !r.u32(&c->phase_since) || !r.u64(&c->bytes_in) ||
        !r.u64(&c->bytes_out) || !r.str(&c->input) || !r.str(&c->output) || !r.u8(&bits) ||
        !r.str(&c->uid) || !r.str(&c->session) || !r.u32(&ngroups))
        return false;
    if (c->phase > Conn::kOpen) return false;
    c->ready = ready != 0;
    c->has_uid = bits & 1;
    c->has_session = bits & 2;
    for (uint32_t i = 0; i < ngroups; ++i) {
        std::string g;
        if (!r.str(&g)) return false;  // each group costs >= 4 bytes: ngroups is bounded by the input
        c->groups.push_back(std::move(g));
    }
    return true;
}

bool decode_conns(std::string_view in, std::vector<Conn>* out, std::string* error) {
    Reader r(in);
    uint32_t n = 0;
    if (!r.u32(&n) || n > kMaxFds) return *error = "bad connection count", false;
    out->resize(n);
    for (Conn& c : *out)
        if (!decode_one(r, &c)) return *error = "truncated connection record", false;
    if (!r.done()) return *error = "trailing bytes after the connections", false;
    return true;
}

std::string encode_event(const php::Value& channel, const php::Value& data) {
    std::string out;
    Writer w(out);
    w.str(php::serialize(channel));
    w.str(php::serialize(data));
    return out;
}

bool decode_event(std::string_view in, php::Value* channel, php::Value* data, std::string* error) {
    Reader r(in);
    std::string ch, d;
    if (!r.str(&ch) || !r.str(&d) || !r.done()) return *error = "truncated event", false;
    return php::unserialize(ch, channel, error) && php::unserialize(d, data, error);
}

}  // namespace pusher::protocol::handover
