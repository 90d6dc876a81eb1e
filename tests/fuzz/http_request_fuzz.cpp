// libFuzzer: the HTTP request path of the publish API: parse (pipelined),
// then decode parameters from query, form or JSON body.
#include <cstdint>
#include <string>

#include "protocol/http_params.h"
#include "protocol/http_request.h"

using namespace pusher::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    HttpLimits limits;
    limits.max_body = 4096;
    HttpParser parser(limits);
    const char* p = reinterpret_cast<const char*>(data);
    size_t left = size;
    while (left > 0) {
        size_t used = 0;
        auto r = parser.feed(p, left, &used);
        p += used;
        left -= used;
        if (r != HttpParser::Result::Request) break;
        HttpRequest req = parser.take();
        Params params;
        std::string err;
        (void)request_params(req, &params, &err);
        (void)req.path();
        if (used == 0) break;
    }
    return 0;
}
