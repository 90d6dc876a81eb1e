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

void parse_urlencoded(std::string_view s, Params* out, ParamLists* lists) {
    while (!s.empty()) {
        size_t amp = s.find('&');
        std::string_view pair = s.substr(0, amp);
        s = amp == std::string_view::npos ? std::string_view() : s.substr(amp + 1);
        if (pair.empty()) continue;
        size_t eq = pair.find('=');
        std::string key = url_decode(pair.substr(0, eq));
        if (key.empty()) continue;
        std::string value = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
        if (lists && key.size() > 2 && key.compare(key.size() - 2, 2, "[]") == 0)
            (*lists)[key.substr(0, key.size() - 2)].push_back(std::move(value));
        else
            (*out)[key] = std::move(value);
    }
}

static bool starts_with_ci(const std::string& s, const char* prefix) {
    for (size_t i = 0; prefix[i]; ++i)
        if (i >= s.size() || tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    return true;
}

static bool parse_json_body(const std::string& body, Params* out, std::string* error,
                            ParamLists* lists) {
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
        // Scalars as their text (numbers in decimal); objects as compact JSON
        // (session data); arrays of scalars as lists (to_uid: ["a", "b"]).
        if (v.isObject()) {
            Json::StreamWriterBuilder w;
            w["indentation"] = "";
            (*out)[key] = Json::writeString(w, v);
        } else if (v.isArray()) {
            if (!lists) continue;
            auto& l = (*lists)[key];
            for (const Json::Value& item : v)
                if (!item.isObject() && !item.isArray() && !item.isNull())
                    l.push_back(item.asString());
        } else if (!v.isNull()) {
            (*out)[key] = v.asString();
        }
    }
    return true;
}

std::vector<std::string> param_list(const Params& p, const ParamLists& lists,
                                    const std::string& key) {
    std::vector<std::string> out;
    auto l = lists.find(key);
    if (l != lists.end()) {
        for (const std::string& s : l->second)
            if (!s.empty()) out.push_back(s);
        return out;
    }
    auto it = p.find(key);
    if (it == p.end()) return out;
    std::string_view s = it->second;
    while (!s.empty()) {
        size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    return out;
}

bool request_params(const HttpRequest& req, Params* out, std::string* error, ParamLists* lists) {
    parse_urlencoded(req.query(), out, lists);
    if (req.body.empty()) return true;
    const std::string* type = req.header("Content-Type");
    if (type && starts_with_ci(*type, "application/json"))
        return parse_json_body(req.body, out, error, lists);
    if (!type || starts_with_ci(*type, "application/x-www-form-urlencoded"))
        parse_urlencoded(req.body, out, lists);
    return true;
}

}  // namespace pusher::protocol
