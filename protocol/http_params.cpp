#include "protocol/http_params.h"

#include <json/json.h>

#include <exception>
#include <memory>

namespace pusher::protocol {

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string url_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
                   hex_value(s[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

void parse_urlencoded(std::string_view s, Params* out) {
    while (!s.empty()) {
        size_t amp = s.find('&');
        std::string_view pair = s.substr(0, amp);
        s = amp == std::string_view::npos ? std::string_view() : s.substr(amp + 1);
        if (pair.empty()) continue;
        size_t eq = pair.find('=');
        std::string key = url_decode(pair.substr(0, eq));
        if (key.empty()) continue;
        (*out)[key] = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
    }
}

static bool starts_with_ci(const std::string& s, const char* prefix) {
    for (size_t i = 0; prefix[i]; ++i)
        if (i >= s.size() || tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    return true;
}

static bool parse_json_body(const std::string& body, Params* out, std::string* error) {
    Json::CharReaderBuilder b;
    b["collectComments"] = false;
    b["stackLimit"] = 32;
    std::unique_ptr<Json::CharReader> reader(b.newCharReader());
    Json::Value root;
    std::string errs;
    bool parsed = false;
    try {
        parsed = reader->parse(body.data(), body.data() + body.size(), &root, &errs);
    } catch (const std::exception&) {
        // jsoncpp throws instead of failing when nesting passes stackLimit.
        parsed = false;
    }
    if (!parsed || !root.isObject()) {
        *error = "body is not a JSON object";
        return false;
    }
    for (const std::string& key : root.getMemberNames()) {
        const Json::Value& v = root[key];
        // Scalars as their text (numbers in decimal); nested values are ignored.
        if (!v.isObject() && !v.isArray() && !v.isNull()) (*out)[key] = v.asString();
    }
    return true;
}

bool request_params(const HttpRequest& req, Params* out, std::string* error) {
    parse_urlencoded(req.query(), out);
    if (req.body.empty()) return true;
    const std::string* type = req.header("Content-Type");
    if (type && starts_with_ci(*type, "application/json"))
        return parse_json_body(req.body, out, error);
    if (!type || starts_with_ci(*type, "application/x-www-form-urlencoded"))
        parse_urlencoded(req.body, out);
    return true;
}

}  // namespace pusher::protocol
