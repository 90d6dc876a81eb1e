// libFuzzer: what a new worker reads from the old one on a reload
// (protocol/handover_wire.h): connection batches, forwarded events and the
// decoder state they carry. The first byte picks the reader; a decoder state
// that restores is then fed the rest of the input as frames, so a state that
// passes the checks but lies (a header longer than it says, a message length
// beyond the buffer) is exercised too.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/handover_wire.h"
#include "protocol/ws_frame.h"

using namespace pusher::protocol;

namespace {

struct NullSink : WsDecoder::Sink {
    void on_message(uint8_t, std::string_view) override {}
    void on_ping(std::string_view) override {}
    void on_close(uint16_t, std::string_view) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::string error;
    switch (data[0] % 3) {
        case 0: {
            std::vector<handover::Conn> conns;
            if (handover::decode_conns(in, &conns, &error))
                for (const handover::Conn& c : conns) {
                    WsDecoder d;
                    NullSink sink;
                    WsDecoder::Error err;
                    if (d.restore(c.input, 1 << 16)) d.feed(c.output.data(), c.output.size(), 1 << 16, sink, &err);
                }
            break;
        }
        case 1: {
            php::Value ch, d;
            handover::decode_event(in, &ch, &d, &error);
            break;
        }
        default: {
            // [u16 state length][state][frames]
            if (in.size() < 2) break;
            size_t n = static_cast<uint8_t>(in[0]) | static_cast<uint8_t>(in[1]) << 8;
            in.remove_prefix(2);
            if (n > in.size()) break;
            WsDecoder d;
            NullSink sink;
            WsDecoder::Error err;
            if (d.restore(in.substr(0, n), 1 << 16)) d.feed(in.data() + n, in.size() - n, 1 << 16, sink, &err);
        }
    }
    return 0;
}
