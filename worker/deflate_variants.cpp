#include "worker/deflate_variants.h"

#include "protocol/ws_frame.h"

namespace pusher::worker {

using runtime::BufferRef;
using runtime::SharedBuffer;

uint64_t DeflateVariants::connections() const {
    uint64_t n = 0;
    for (int v = 1; v < kCount; ++v) n += variants_[v].connections;
    return n;
}

// Appends the compressed frame; false (out untouched) when the message is
// below min_size, would not get smaller, or zlib failed: the plain frame is
// then the one to send, which RFC 7692 always allows.
bool DeflateVariants::compress(uint8_t v, uint8_t opcode, std::string_view content,
                               std::string* out) {
    if (v == 0 || content.size() < config_.min_size) return false;
    Variant& var = variants_[v];
    if (!var.z) var.z = std::make_unique<protocol::DeflateCompressor>(config_.level, 8 + v);
    std::string_view z;
    if (!var.z->compress(content, &z) || z.size() >= content.size()) return false;
    size_t at = out->size();
    out->resize(at + protocol::ws_header_size(z.size()));
    protocol::ws_write_header(out->data() + at, opcode, z.size(), true);
    out->append(z.data(), z.size());
    return true;
}

void DeflateVariants::append_frame(uint8_t v, uint8_t opcode, std::string_view content,
                                   std::string* out) {
    if (compress(v, opcode, content, out)) return;
    size_t at = out->size();
    out->resize(at + protocol::ws_header_size(content.size()));
    protocol::ws_write_header(out->data() + at, opcode, content.size());
    out->append(content.data(), content.size());
}

void DeflateVariants::queue(uint8_t opcode, std::string_view content) {
    for (uint8_t v = 1; v < kCount; ++v) {
        Variant& var = variants_[v];
        if (var.connections == 0) continue;
        if (compress(v, opcode, content, &var.batch)) {
            var.compressed = true;
        } else {
            append_frame(0, opcode, content, &var.batch);
        }
        ++var.frames;
    }
}

void DeflateVariants::take(const BufferRef& plain, uint64_t frames,
                           std::array<BufferRef, kCount>* out) {
    (*out)[0] = plain;
    for (uint8_t v = 1; v < kCount; ++v) {
        Variant& var = variants_[v];
        bool whole = var.compressed && var.frames == frames;
        (*out)[v] =
            whole ? BufferRef(SharedBuffer::copy(var.batch.data(), var.batch.size())) : plain;
        // A big batch's buffer is not kept for the next (small) one.
        if (var.batch.capacity() > (256u << 10)) std::string().swap(var.batch);
        var.batch.clear();
        var.frames = 0;
        var.compressed = false;
    }
}

}  // namespace pusher::worker
