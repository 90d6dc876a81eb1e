#include "protocol/http_request.h"

#include <strings.h>

namespace pusher::protocol {

std::string_view HttpRequest::path() const {
    std::string_view u(url);
    return u.substr(0, u.find('?'));
}

std::string_view HttpRequest::query() const {
    size_t q = url.find('?');
    return q == std::string::npos ? std::string_view() : std::string_view(url).substr(q + 1);
}

const std::string* HttpRequest::header(std::string_view name) const {
    for (const auto& h : headers)
        if (h.first.size() == name.size() &&
            strncasecmp(h.first.data(), name.data(), name.size()) == 0)
            return &h.second;
    return nullptr;
}

static const llhttp_settings_t& settings() {
    static llhttp_settings_t s = [] {
        llhttp_settings_t x;
        llhttp_settings_init(&x);
        return x;
    }();
    return s;
}

static HttpParser* self(llhttp_t* p) {
    return static_cast<HttpParser*>(p->data);
}

HttpParser::HttpParser(const HttpLimits& limits) : limits_(limits) {
    static bool wired = [] {
        auto& s = const_cast<llhttp_settings_t&>(settings());
        s.on_url = on_url;
        s.on_header_field = on_header_field;
        s.on_header_value = on_header_value;
        s.on_headers_complete = on_headers_complete;
        s.on_body = on_body;
        s.on_message_complete = on_message_complete;
        return true;
    }();
    (void)wired;
    llhttp_init(&parser_, HTTP_REQUEST, &settings());
    parser_.data = this;
}

int HttpParser::fail(int status, const char* reason) {
    status_ = status;
    reason_ = reason;
    return HPE_USER;
}

bool HttpParser::count_header(size_t n) {
    header_bytes_ += n;
    return header_bytes_ <= limits_.max_header;
}

int HttpParser::on_url(llhttp_t* p, const char* at, size_t n) {
    HttpParser* h = self(p);
    if (!h->count_header(n)) return h->fail(431, "request line too long");
    h->req_.url.append(at, n);
    return 0;
}

int HttpParser::on_header_field(llhttp_t* p, const char* at, size_t n) {
    HttpParser* h = self(p);
    if (!h->count_header(n)) return h->fail(431, "request headers too large");
    if (h->in_value_ || h->req_.headers.empty()) {
        if (h->req_.headers.size() >= h->limits_.max_headers)
            return h->fail(431, "too many headers");
        h->req_.headers.emplace_back();
        h->in_value_ = false;
    }
    h->req_.headers.back().first.append(at, n);
    return 0;
}

int HttpParser::on_header_value(llhttp_t* p, const char* at, size_t n) {
    HttpParser* h = self(p);
    if (!h->count_header(n)) return h->fail(431, "request headers too large");
    h->in_value_ = true;
    if (!h->req_.headers.empty()) h->req_.headers.back().second.append(at, n);
    return 0;
}

int HttpParser::on_headers_complete(llhttp_t* p) {
    HttpParser* h = self(p);
    if (p->content_length > h->limits_.max_body && p->content_length != UINT64_MAX)
        return h->fail(413, "request body too large");
    h->req_.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
    h->req_.version_major = p->http_major;
    h->req_.version_minor = p->http_minor;
    return 0;
}

int HttpParser::on_body(llhttp_t* p, const char* at, size_t n) {
    HttpParser* h = self(p);
    if (h->req_.body.size() + n > h->limits_.max_body)
        return h->fail(413, "request body too large");
    h->req_.body.append(at, n);
    return 0;
}

int HttpParser::on_message_complete(llhttp_t* p) {
    HttpParser* h = self(p);
    h->req_.keep_alive = llhttp_should_keep_alive(p);
    h->req_.upgrade = p->upgrade;
    return HPE_PAUSED;  // hand out one request at a time
}

HttpParser::Result HttpParser::feed(const char* data, size_t len, size_t* consumed) {
    if (status_) return Result::Error;
    if (done_) {
        done_ = false;
        header_bytes_ = 0;
        in_value_ = false;
        req_ = HttpRequest{};
        llhttp_resume(&parser_);
    }
    llhttp_errno_t err = llhttp_execute(&parser_, data, len);
    if (err == HPE_OK) {
        *consumed = len;
        return Result::NeedMore;
    }
    if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
        *consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
        if (err == HPE_PAUSED_UPGRADE) req_.upgrade = true;
        done_ = true;
        return Result::Request;
    }
    if (status_ == 0) {  // not a limit a callback enforced: a syntax error
        status_ = 400;
        reason_ =
            llhttp_get_error_reason(&parser_) ? llhttp_get_error_reason(&parser_) : "bad request";
    }
    *consumed = len;
    return Result::Error;
}

}  // namespace pusher::protocol
