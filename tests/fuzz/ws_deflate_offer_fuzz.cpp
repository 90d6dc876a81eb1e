// libFuzzer: permessage-deflate negotiation (protocol/ws_deflate.cpp) on any
// Sec-WebSocket-Extensions value. It must never fail but by declining; what
// it agrees on must be a window zlib can make, and the server's answer, read
// back as an offer, must be accepted with the same window.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/ws_deflate.h"

using namespace pusher::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view offers(reinterpret_cast<const char*>(data), size);
    WsDeflateAgreement a = ws_deflate_negotiate(offers);
    std::string answer = a.response_header();
    if (!a.agreed()) {
        if (!answer.empty()) abort();
        return 0;
    }
    if (a.window_bits < 9 || a.window_bits > 15) abort();
    if (!a.window_named && a.window_bits != 15) abort();
    // "Sec-WebSocket-Extensions: " ... "\r\n"
    const std::string_view head = "Sec-WebSocket-Extensions: ";
    if (answer.compare(0, head.size(), head) != 0 || answer.substr(answer.size() - 2) != "\r\n")
        abort();
    WsDeflateAgreement again = ws_deflate_negotiate(
        std::string_view(answer).substr(head.size(), answer.size() - head.size() - 2));
    if (again.window_bits != a.window_bits || again.window_named != a.window_named) abort();
    return 0;
}
