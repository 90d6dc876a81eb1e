#include "protocol/php_serialize.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pusher::protocol::php {

// ---- encoding ------------------------------------------------------------

// zend_gcvt with precision 17 over the shortest digits that round-trip.
std::string format_double(double d) {
    if (std::isnan(d)) return "NAN";
    if (std::isinf(d)) return d > 0 ? "INF" : "-INF";
    if (d == 0) return std::signbit(d) ? "-0" : "0";
    char buf[40];
    for (int p = 0; p < 17; ++p) {
        snprintf(buf, sizeof buf, "%.*e", p, d);
        if (strtod(buf, nullptr) == d) break;
    }
    // buf = [-]d[.ddd]e[+-]XX
    std::string s(buf);
    bool neg = s[0] == '-';
    if (neg) s.erase(0, 1);
    size_t e = s.find('e');
    int exp10 = atoi(s.c_str() + e + 1);
    std::string digits;
    for (size_t i = 0; i < e; ++i)
        if (s[i] != '.') digits += s[i];
    int decpt = exp10 + 1;
    std::string out = neg ? "-" : "";
    if (decpt < -3 || decpt > 17) {
        out += digits[0];
        out += '.';
        out += digits.size() > 1 ? digits.substr(1) : "0";
        out += exp10 < 0 ? "E-" : "E+";
        out += std::to_string(std::abs(exp10));
    } else if (decpt <= 0) {
        out += "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
    } else if (static_cast<size_t>(decpt) >= digits.size()) {
        out += digits + std::string(static_cast<size_t>(decpt) - digits.size(), '0');
    } else {
        out += digits.substr(0, static_cast<size_t>(decpt)) + "." +
               digits.substr(static_cast<size_t>(decpt));
    }
    return out;
}

void serialize_string(std::string& out, std::string_view s) {
    out += "s:";
    out += std::to_string(s.size());
    out += ":\"";
    out.append(s.data(), s.size());
    out += "\";";
}

void serialize_key(std::string& out, const Key& k) {
    if (k.is_int) {
        out += "i:" + std::to_string(k.i) + ";";
    } else {
        serialize_string(out, k.s);
    }
}

static void serialize_items(std::string& out, const Value& v, int64_t shift, int64_t from) {
    out += std::to_string(v.items.size());
    out += ":{";
    for (const auto& kv : v.items) {
        serialize_key(out, kv.first);
        serialize_to(out, kv.second, shift, from);
    }
    out += "}";
}

void serialize_to(std::string& out, const Value& v, int64_t shift, int64_t from) {
    switch (v.type) {
        case Type::Null:
            out += "N;";
            return;
        case Type::Bool:
            out += v.b ? "b:1;" : "b:0;";
            return;
        case Type::Int:
            out += "i:" + std::to_string(v.i) + ";";
            return;
        case Type::Double:
            out += "d:" + format_double(v.d) + ";";
            return;
        case Type::String:
            serialize_string(out, v.s);
            return;
        case Type::Array:
            out += "a:";
            return serialize_items(out, v, shift, from);
        case Type::Object:
            out += "O:" + std::to_string(v.s.size()) + ":\"" + v.s + "\":";
            return serialize_items(out, v, shift, from);
        case Type::Ref:
        case Type::RefHard: {
            int64_t idx = v.i >= from ? v.i - shift : v.i;
            out += v.type == Type::Ref ? "r:" : "R:";
            out += std::to_string(idx) + ";";
            return;
        }
    }
}

std::string serialize(const Value& v) {
    std::string out;
    serialize_to(out, v);
    return out;
}

// ---- decoding ------------------------------------------------------------

namespace {

class Parser {
  public:
    Parser(std::string_view in, const DecodeLimits& lim) : in_(in), lim_(lim) {}

    bool value(Value* out, int depth);
    bool key(Key* out, bool object);
    std::vector<std::string_view>* top_raw = nullptr;  // raw bytes of top-level entries
    bool saw_ref = false;
    bool at_end() {
        if (pos_ < in_.size() && in_[pos_] == '\n') ++pos_;
        return pos_ == in_.size();
    }
    std::string error;

  private:
    bool fail(const std::string& why) {
        if (error.empty()) error = why + " at offset " + std::to_string(pos_);
        return false;
    }
    bool expect(char c) {
        if (pos_ < in_.size() && in_[pos_] == c) return ++pos_, true;
        return fail(std::string("expected '") + c + "'");
    }
    bool integer(int64_t* out, char end);
    bool string_body(std::string* out);
    bool items(Value* out, int depth, bool object);
    bool number(Value* out);

    std::string_view in_;
    size_t pos_ = 0;
    const DecodeLimits& lim_;
    size_t elements_ = 0;
};

bool Parser::integer(int64_t* out, char end) {
    size_t start = pos_;
    while (pos_ < in_.size() && in_[pos_] != end) ++pos_;
    if (pos_ == in_.size()) return fail("unterminated number");
    std::string_view digits = in_.substr(start, pos_ - start);
    ++pos_;
    std::string_view d = digits;
    if (!d.empty() && d[0] == '+') d.remove_prefix(1);
    if (canonical_int(d, out)) return true;
    return fail("bad integer");
}

bool Parser::string_body(std::string* out) {
    int64_t len;
    if (!integer(&len, ':') || !expect('"')) return false;
    if (len < 0 || static_cast<uint64_t>(len) > in_.size() - pos_) return fail("string too long");
    out->assign(in_.data() + pos_, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return expect('"');
}

bool Parser::number(Value* out) {
    size_t start = pos_;
    while (pos_ < in_.size() && in_[pos_] != ';') ++pos_;
    if (pos_ == in_.size()) return fail("unterminated float");
    std::string t(in_.substr(start, pos_ - start));
    ++pos_;
    out->type = Type::Double;
    if (t == "INF") return out->d = INFINITY, true;
    if (t == "-INF") return out->d = -INFINITY, true;
    if (t == "NAN") return out->d = NAN, true;
    char* end = nullptr;
    out->d = strtod(t.c_str(), &end);
    if (t.empty() || *end != '\0') return fail("bad float");
    return true;
}

bool Parser::key(Key* out, bool object) {
    if (pos_ + 2 > in_.size() || in_[pos_ + 1] != ':') return fail("bad array key");
    char t = in_[pos_];
    pos_ += 2;
    if (t == 'i') {
        out->is_int = true;
        return integer(&out->i, ';');
    }
    if (t != 's') return fail("array key must be int or string");
    std::string s;
    if (!string_body(&s) || !expect(';')) return false;
    // Property names stay strings; array keys are normalised as PHP does.
    *out = object ? Key::raw_string(s) : Key::from_string(s);
    return true;
}

bool Parser::items(Value* out, int depth, bool object) {
    int64_t n;
    if (!integer(&n, ':') || !expect('{')) return false;
    // Each entry needs at least 4 bytes ("i:0;" + "N;"): reject impossible
    // counts before allocating anything.
    if (n < 0 || static_cast<uint64_t>(n) > (in_.size() - pos_) / 4) return fail("bad count");
    elements_ += static_cast<size_t>(n);
    if (elements_ > lim_.max_elements) return fail("too many elements");
    out->items.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        Key k;
        if (!key(&k, object)) return false;
        Value v;
        size_t start = pos_;
        if (!value(&v, depth + 1)) return false;
        if (depth == 0 && top_raw) top_raw->push_back(in_.substr(start, pos_ - start));
        out->items.emplace_back(std::move(k), std::move(v));
    }
    return expect('}');
}

bool Parser::value(Value* out, int depth) {
    if (depth > lim_.max_depth) return fail("nested too deeply");
    if (pos_ + 2 > in_.size()) return fail("truncated");
    char t = in_[pos_];
    if (t == 'N') {
        ++pos_;
        out->type = Type::Null;
        return expect(';');
    }
    if (in_[pos_ + 1] != ':') return fail("bad type");
    pos_ += 2;
    switch (t) {
        case 'b': {
            int64_t b;
            if (!integer(&b, ';') || (b != 0 && b != 1)) return fail("bad bool");
            *out = Value::boolean(b == 1);
            return true;
        }
        case 'i':
            out->type = Type::Int;
            return integer(&out->i, ';');
        case 'd':
            return number(out);
        case 's':
            out->type = Type::String;
            return string_body(&out->s) && expect(';');
        case 'a':
            out->type = Type::Array;
            return items(out, depth, false);
        case 'O':
            out->type = Type::Object;
            return string_body(&out->s) && expect(':') && items(out, depth, true);
        case 'r':
        case 'R':
            out->type = t == 'r' ? Type::Ref : Type::RefHard;
            saw_ref = true;
            return integer(&out->i, ';') && (out->i > 0 || fail("bad reference"));
        default:
            return fail(std::string("unsupported type '") + t + "'");
    }
}

}  // namespace

bool unserialize(std::string_view in, Value* out, std::string* error, const DecodeLimits& limits) {
    return unserialize_top(in, out, nullptr, nullptr, error, limits);
}

bool unserialize_top(std::string_view in, Value* out, std::vector<std::string_view>* top_raw,
                     bool* saw_ref, std::string* error, const DecodeLimits& limits) {
    Parser p(in, limits);
    p.top_raw = top_raw;
    *out = Value{};
    if (!p.value(out, 0)) {
        *error = p.error;
        return false;
    }
    if (!p.at_end()) {
        *error = "trailing bytes after the value";
        return false;
    }
    if (saw_ref) *saw_ref = p.saw_ref;
    return true;
}

}  // namespace pusher::protocol::php
