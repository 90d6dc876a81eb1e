// Raw DEFLATE (RFC 1951) for permessage-deflate (RFC 7692 §7.2), one message
// at a time. Both sides work with no context takeover: every message is a
// stream of its own, so one compressor serves every connection of a worker
// that agreed on its window size, and one inflater serves every connection.
// zlib does the work; these classes add the RFC's framing of a message (the
// trailing 00 00 ff ff removed on the way out and put back on the way in)
// and a hard bound on what a message may inflate to.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct z_stream_s;

namespace pusher::protocol {

class DeflateCompressor {
  public:
    // level 1..9; window_bits 9..15 (zlib's raw deflate cannot do 8).
    DeflateCompressor(int level, int window_bits);
    ~DeflateCompressor();
    DeflateCompressor(const DeflateCompressor&) = delete;
    DeflateCompressor& operator=(const DeflateCompressor&) = delete;

    // One message, compressed as RFC 7692 §7.2.1 sends it: a sync flush with
    // its trailing 00 00 ff ff removed. *out views a buffer of this object,
    // valid until the next call. false: zlib failed (out of memory); the
    // caller sends the message uncompressed, which is always allowed.
    bool compress(std::string_view message, std::string_view* out);

  private:
    std::unique_ptr<z_stream_s> z_;
    bool ready_ = false;  // deflateInit succeeded
    std::string out_;
};

class DeflateInflater {
  public:
    DeflateInflater();
    ~DeflateInflater();
    DeflateInflater(const DeflateInflater&) = delete;
    DeflateInflater& operator=(const DeflateInflater&) = delete;

    enum class Result { kOk, kTooBig, kCorrupt };
    // Inflates one message (its 00 00 ff ff tail put back, RFC 7692 §7.2.2)
    // into *out, replacing what it held. Output is made in steps and never
    // sized by anything the input claims: kTooBig as soon as it would pass
    // max_size, so a message that would inflate to a gigabyte costs at most
    // max_size + 1 bytes and the work to make them. kCorrupt: not DEFLATE.
    Result inflate(std::string_view message, size_t max_size, std::string* out);

  private:
    std::unique_ptr<z_stream_s> z_;
    bool ready_ = false;  // inflateInit succeeded
};

}  // namespace pusher::protocol
