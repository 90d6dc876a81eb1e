// libFuzzer: the Workerman Frame decoder, fed in two pieces at a cut taken
// from the input, must yield the same bodies as when fed whole.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "protocol/frame.h"

using pusher::protocol::FrameDecoder;

static std::vector<std::string> decode(const char* p, size_t n, size_t cut) {
    FrameDecoder d(1 << 16);
    std::vector<std::string> out;
    std::string_view body;
    d.feed(p, cut);
    while (d.next(&body)) out.emplace_back(body);
    d.feed(p + cut, n - cut);
    while (d.next(&body)) out.emplace_back(body);
    return out;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const char* p = reinterpret_cast<const char*>(data) + 1;
    size_t n = size - 1;
    size_t cut = n ? data[0] % (n + 1) : 0;
    if (decode(p, n, cut) != decode(p, n, n)) abort();
    return 0;
}
