#include "protocol/deflate_codec.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

namespace pusher::protocol {

namespace {

// What a sync flush ends with (an empty stored block's LEN and NLEN).
constexpr char kTail[4] = {0, 0, '\xff', '\xff'};
// A compressor keeps its output buffer for the next message unless it grew
// past this for a rare big one.
constexpr size_t kKeepOutput = 256 << 10;
// The inflater's first output step; it doubles from there.
constexpr size_t kFirstStep = 4096;

Bytef* bytes(const char* p) {
    return reinterpret_cast<Bytef*>(const_cast<char*>(p));
}

}  // namespace

// ---- compressor ------------------------------------------------------------

DeflateCompressor::DeflateCompressor(int level, int window_bits)
    : z_(std::make_unique<z_stream_s>()) {
    *z_ = z_stream_s{};
    // Negative window bits: raw deflate, no zlib header or checksum (RFC 7692).
    ready_ = deflateInit2(z_.get(), level, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

DeflateCompressor::~DeflateCompressor() {
    if (ready_) deflateEnd(z_.get());
}

bool DeflateCompressor::compress(std::string_view message, std::string_view* out) {
    if (!ready_ || message.size() > UINT_MAX) return false;
    if (out_.capacity() > kKeepOutput) out_ = std::string();
    z_stream_s& z = *z_;
    // deflateBound covers a finished stream; a sync flush adds a few bytes,
    // and the loop below gives more room should that not be enough.
    out_.resize(deflateBound(&z, static_cast<uLong>(message.size())) + 16);
    z.next_in = bytes(message.data());
    z.avail_in = static_cast<uInt>(message.size());
    size_t done = 0;
    for (;;) {
        z.next_out = bytes(out_.data() + done);
        z.avail_out = static_cast<uInt>(std::min<size_t>(out_.size() - done, UINT_MAX));
        int r = deflate(&z, Z_SYNC_FLUSH);
        done = static_cast<size_t>(reinterpret_cast<char*>(z.next_out) - out_.data());
        if (r != Z_OK && r != Z_BUF_ERROR) break;
        if (z.avail_out != 0) break;  // the flush is complete
        out_.resize(out_.size() * 2);
    }
    bool flushed = z.avail_in == 0 && done >= 4 && memcmp(out_.data() + done - 4, kTail, 4) == 0;
    deflateReset(&z);  // no context takeover: the next message starts afresh
    if (!flushed) return false;
    *out = std::string_view(out_.data(), done - 4);  // RFC 7692 §7.2.1: without the tail
    return true;
}

// ---- inflater --------------------------------------------------------------

DeflateInflater::DeflateInflater() : z_(std::make_unique<z_stream_s>()) {
    *z_ = z_stream_s{};
    // A 32 KiB window inflates whatever window the client compressed with.
    if (inflateInit2(z_.get(), -15) != Z_OK) throw std::bad_alloc();
    ready_ = true;
}

DeflateInflater::~DeflateInflater() {
    if (ready_) inflateEnd(z_.get());
}

DeflateInflater::Result DeflateInflater::inflate(std::string_view message, size_t max_size,
                                                 std::string* out) {
    z_stream_s& z = *z_;
    inflateReset(&z);  // the client takes no context over (client_no_context_takeover)
    if (message.size() > UINT_MAX) return Result::kTooBig;
    // Grown by doubling from a small step up to max_size + 1: one byte past
    // the bound is how "too big" is seen, and no more is ever made.
    size_t limit = max_size == SIZE_MAX ? max_size : max_size + 1;
    out->clear();
    out->resize(std::min(limit, std::max(kFirstStep, 4 * message.size())));
    std::string_view pieces[2] = {message, std::string_view(kTail, 4)};
    int piece = 0;
    z.next_in = bytes(pieces[0].data());
    z.avail_in = static_cast<uInt>(pieces[0].size());
    size_t made = 0;
    for (;;) {
        if (made > max_size) return out->resize(made), Result::kTooBig;
        if (made == out->size()) out->resize(std::min(limit, 2 * out->size()));
        z.next_out = bytes(out->data() + made);
        z.avail_out = static_cast<uInt>(std::min<size_t>(out->size() - made, UINT_MAX));
        // The tail goes in block by block: it must leave inflate between
        // two blocks, or the message was cut inside one.
        int r = ::inflate(&z, piece == 1 ? Z_BLOCK : Z_NO_FLUSH);
        made = static_cast<size_t>(reinterpret_cast<char*>(z.next_out) - out->data());
        if (r == Z_MEM_ERROR) throw std::bad_alloc();
        if (r == Z_STREAM_END) {
            // A final block may end the message; nothing of the message may
            // follow it but the one 00 byte that RFC 7692 7.2.3.3 shows (a
            // sender appends an empty stored block after BFINAL and strips 4).
            bool rest_ok = piece == 1 || z.avail_in == 0 || (z.avail_in == 1 && *z.next_in == 0);
            if (!rest_ok) return out->clear(), Result::kCorrupt;
            break;
        }
        bool stuck = r == Z_BUF_ERROR && z.avail_in != 0 && z.avail_out != 0;
        if ((r != Z_OK && r != Z_BUF_ERROR) || stuck) return out->clear(), Result::kCorrupt;
        // Output room left and input used up: inflate has nothing pending.
        if (z.avail_out != 0 && z.avail_in == 0) {
            if (piece == 1) {
                if (!(z.data_type & 128)) return out->clear(), Result::kCorrupt;  // mid-block
                break;
            }
            piece = 1;
            z.next_in = bytes(pieces[1].data());
            z.avail_in = 4;
        }
    }
    if (made > max_size) return out->resize(made), Result::kTooBig;
    out->resize(made);
    return Result::kOk;
}

}  // namespace pusher::protocol
