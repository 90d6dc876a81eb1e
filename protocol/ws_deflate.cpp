#include "protocol/ws_deflate.h"

#include <strings.h>

#include <vector>

namespace pusher::protocol {

namespace {

bool same(std::string_view a, std::string_view b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// RFC 7230 §3.2.6 tchar.
bool tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    for (char t : std::string_view("!#$%&'*+-.^_`|~"))
        if (c == t) return true;
    return false;
}

struct Param {
    std::string_view name;
    bool has_value = false;
    std::string value;  // unquoted
};

// Reads one list of extensions (RFC 6455 §9.1):
//   extension = token *( OWS ";" OWS token [ OWS "=" OWS ( token / quoted-string ) ] )
// separated by commas. An element that does not parse is skipped whole,
// up to the next comma outside a quoted string.
class OfferReader {
  public:
    explicit OfferReader(std::string_view s) : s_(s) {}
    bool done() {
        ows();
        return i_ >= s_.size();
    }
    // The next element; false: it did not parse (and was skipped) or was empty.
    bool next(std::string_view* name, std::vector<Param>* params) {
        params->clear();
        if (!token(name)) return skip();
        for (;;) {
            ows();
            if (i_ >= s_.size()) return true;
            char c = s_[i_++];
            if (c == ',') return true;
            if (c != ';') return skip();
            Param p;
            ows();
            if (!token(&p.name)) return skip();
            ows();
            if (i_ < s_.size() && s_[i_] == '=') {
                ++i_;
                ows();
                p.has_value = true;
                if (!value(&p.value)) return skip();
            }
            params->push_back(std::move(p));
        }
    }

  private:
    void ows() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
    }
    bool token(std::string_view* out) {
        size_t b = i_;
        while (i_ < s_.size() && tchar(s_[i_])) ++i_;
        *out = s_.substr(b, i_ - b);
        return i_ > b;
    }
    bool value(std::string* out) {
        if (i_ < s_.size() && s_[i_] != '"') {
            std::string_view t;
            if (!token(&t)) return false;
            *out = std::string(t);
            return true;
        }
        for (++i_; i_ < s_.size();) {  // quoted-string, with quoted-pairs
            char c = s_[i_++];
            if (c == '"') return true;
            if (c == '\\') {
                if (i_ >= s_.size()) return false;
                c = s_[i_++];
            }
            out->push_back(c);
        }
        return false;
    }
    // Past the next comma that is not inside a quoted string.
    bool skip() {
        bool quoted = false;
        while (i_ < s_.size()) {
            char c = s_[i_++];
            if (quoted) {
                if (c == '\\' && i_ < s_.size())
                    ++i_;
                else if (c == '"')
                    quoted = false;
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                break;
            }
        }
        return false;
    }

    std::string_view s_;
    size_t i_ = 0;
};

// A window size as RFC 7692 §7.1.2 writes it: 8..15, no leading zero.
bool window_value(const std::string& v, int* bits) {
    if (v.empty() || v.size() > 2 || v[0] == '0') return false;
    int n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + (c - '0');
    }
    *bits = n;
    return n >= 8 && n <= 15;
}

// The agreement one permessage-deflate offer allows; not agreed: declined.
WsDeflateAgreement evaluate(const std::vector<Param>& params) {
    static const char* const kKnown[] = {"server_no_context_takeover", "client_no_context_takeover",
                                         "server_max_window_bits", "client_max_window_bits"};
    WsDeflateAgreement a;
    a.window_bits = 15;
    unsigned seen = 0;
    for (const Param& p : params) {
        int k = 0;
        while (k < 4 && !same(p.name, kKnown[k])) ++k;
        if (k == 4 || (seen & (1u << k))) return {};  // unknown or repeated
        seen |= 1u << k;
        int bits = 0;
        if (k < 2 && p.has_value) return {};  // the no_context_takeover flags take no value
        if (k == 2) {
            // A value is required; 8 is valid but zlib cannot honour it.
            if (!p.has_value || !window_value(p.value, &bits) || bits == 8) return {};
            // The answer may name the same or a smaller window (RFC 7692
            // 7.1.2.1): every named window gets 9, so a worker compresses a
            // broadcast at most twice (15 and 9), whatever its clients ask.
            a.window_bits = 9;
            a.window_named = true;
        }
        if (k == 3 && p.has_value && !window_value(p.value, &bits)) return {};
        // client_max_window_bits is left out of the answer: the client may use
        // any window up to 15, which the inflater's 32 KiB window covers.
    }
    return a;
}

}  // namespace

std::string WsDeflateAgreement::response_header() const {
    if (!agreed()) return "";
    std::string h =
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
        "client_no_context_takeover";
    if (window_named) h += "; server_max_window_bits=" + std::to_string(window_bits);
    return h + "\r\n";
}

WsDeflateAgreement ws_deflate_negotiate(std::string_view offers) {
    OfferReader r(offers);
    std::string_view name;
    std::vector<Param> params;
    while (!r.done()) {
        if (!r.next(&name, &params) || !same(name, "permessage-deflate")) continue;
        WsDeflateAgreement a = evaluate(params);
        if (a.agreed()) return a;
    }
    return {};
}

WsDeflateAgreement ws_deflate_negotiate(const HttpRequest& req) {
    for (const auto& h : req.headers) {
        if (!same(h.first, "Sec-WebSocket-Extensions")) continue;
        WsDeflateAgreement a = ws_deflate_negotiate(h.second);
        if (a.agreed()) return a;
    }
    return {};
}

}  // namespace pusher::protocol
