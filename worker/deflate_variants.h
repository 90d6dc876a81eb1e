// The permessage-deflate side of a ws worker's pushes (RFC 7692): one
// compressor per window size in use, and the compressed twin of each bus
// read's broadcast batch. Connections never compress: a connection that
// negotiated the extension only remembers its variant (the window size) in
// a few flag bits, and the fan-out hands it the buffer of that variant. So a
// broadcast is compressed once per worker and variant, whatever the number
// of clients, and deflate adds nothing to a connection's memory.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/deflate_codec.h"
#include "runtime/config.h"
#include "runtime/shared_buffer.h"

namespace pusher::worker {

class DeflateVariants {
  public:
    // Variant 0: no extension. Variant v (1..7): compressed with a window of
    // 8 + v bits (9..15; 8 is never agreed, zlib cannot make it).
    static constexpr int kCount = 8;
    static uint8_t of_window(int window_bits) { return static_cast<uint8_t>(window_bits - 8); }

    explicit DeflateVariants(const runtime::DeflateConfig& config) : config_(config) {}

    // A connection of variant v completed its handshake / closed. The
    // broadcast batch is compressed for a variant only while it has one.
    void join(uint8_t v) { ++variants_[v].connections; }
    void leave(uint8_t v) { --variants_[v].connections; }
    uint64_t connections() const;  // connections that negotiated the extension

    // One message for one connection of variant v, appended to *out as a
    // frame: compressed (RSV1) when v != 0, it is at least min_size and
    // compressing makes it smaller; else the plain frame.
    void append_frame(uint8_t v, uint8_t opcode, std::string_view content, std::string* out);

    // A broadcast of the current bus read: its frame joins the batch of every
    // variant in use, compressed once per variant. The plain batch is the
    // caller's.
    void queue(uint8_t opcode, std::string_view content);
    // The batch ends (frames: how many it had): out[v] is the buffer for
    // connections of variant v, out[0] and every variant that compressed
    // nothing (or joined in the middle of the batch) the plain one.
    void take(const runtime::BufferRef& plain, uint64_t frames,
              std::array<runtime::BufferRef, kCount>* out);

  private:
    struct Variant {
        std::unique_ptr<protocol::DeflateCompressor> z;  // made when first needed
        std::string batch;
        uint64_t frames = 0;       // in batch
        bool compressed = false;   // batch holds at least one compressed frame
        uint64_t connections = 0;  // with this variant now
    };
    bool compress(uint8_t v, uint8_t opcode, std::string_view content, std::string* out);

    const runtime::DeflateConfig& config_;
    std::array<Variant, kCount> variants_;
};

}  // namespace pusher::worker
