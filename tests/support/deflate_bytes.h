// permessage-deflate payloads made and read with zlib directly, as a client
// would (RFC 7692 §7.2): independent of the server's own codec, so a test of
// one checks it against the other.
#pragma once
#include <zlib.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pusher::testing {

// Raw DEFLATE of one message with a sync flush, its 00 00 ff ff tail removed
// unless keep_tail. final_block: the message ends in a final block instead
// (RFC 7692 §7.2.3.3 allows it).
inline std::string client_deflate(std::string_view s, int window_bits = 15,
                                  bool final_block = false, bool keep_tail = false) {
    z_stream z{};
    if (deflateInit2(&z, 6, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2");
    std::string out(deflateBound(&z, s.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
    z.avail_in = static_cast<uInt>(s.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int r = deflate(&z, final_block ? Z_FINISH : Z_SYNC_FLUSH);
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
    if (r != (final_block ? Z_STREAM_END : Z_OK)) throw std::runtime_error("deflate");
    if (!final_block && !keep_tail) out.resize(out.size() - 4);
    return out;
}

// Inflates one permessage-deflate payload (the tail put back) with a window
// of window_bits; throws if zlib finds it invalid, e.g. a distance beyond
// that window. Output goes out in small pieces, so that zlib works from its
// window as a client with only that much memory would (given one big output
// buffer it would reach back into that buffer and accept any distance).
inline std::string client_inflate(std::string_view s, int window_bits = 15) {
    z_stream z{};
    if (inflateInit2(&z, -window_bits) != Z_OK) throw std::runtime_error("inflateInit2");
    std::string in(s);
    in.append("\x00\x00\xff\xff", 4);
    std::string out;
    z.next_in = reinterpret_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    int r = Z_OK;
    char buf[64];
    while (r == Z_OK && (z.avail_in > 0 || z.avail_out == 0)) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        r = inflate(&z, Z_SYNC_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
    }
    bool used_up = r == Z_BUF_ERROR && z.avail_in == 0;  // the last piece filled the buffer
    inflateEnd(&z);
    if (r != Z_OK && r != Z_STREAM_END && !used_up)
        throw std::runtime_error("inflate: invalid data");
    return out;
}

// A zip bomb as permessage-deflate carries it: `pieces` sync-flushed runs of
// 1 MiB of zeros (about 1 KiB each: DEFLATE's best is about 1:1032), one
// after the other; it inflates to pieces MiB.
inline std::string deflate_bomb(size_t pieces) {
    std::string zeros(1 << 20, '\0');
    std::string piece = client_deflate(zeros, 15, false, true);  // ends on a byte boundary
    std::string out;
    out.reserve(piece.size() * pieces);
    for (size_t i = 0; i < pieces; ++i) out += piece;
    out.resize(out.size() - 4);  // the message's own tail
    return out;
}

}  // namespace pusher::testing
