// Workerman's Frame protocol: a 4-byte big-endian length that counts itself,
// then the body. The channel bus speaks it. Header values below 4 (the
// original hangs or desyncs on them) and above the limit are errors here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pusher::protocol {

constexpr size_t kFrameHeader = 4;
constexpr size_t kDefaultMaxFrame = 10485760;  // TcpConnection::$defaultMaxPackageSize

// Incremental decoder. Feed bytes as they arrive; complete bodies come out of
// next(). Bodies point into the decoder's buffer, or straight into the fed
// bytes when a frame arrived whole (no copy on the common path).
class FrameDecoder {
  public:
    explicit FrameDecoder(size_t max_frame = kDefaultMaxFrame) : max_(max_frame) {}

    void feed(const char* data, size_t len);
    // true: *body is the next body (empty = ping). false: need more, or error().
    bool next(std::string_view* body);
    const std::string& error() const { return error_; }
    size_t buffered() const { return buf_.size() - pos_ + (in_len_ - in_pos_); }

  private:
    bool take(const char* p, size_t avail, size_t* used, std::string_view* body);
    size_t max_;
    std::string buf_;  // only holds a partial frame
    size_t pos_ = 0;
    const char* in_ = nullptr;  // the bytes of the current feed, not yet copied
    size_t in_len_ = 0, in_pos_ = 0;
    std::string error_;
};

// Appends header + body.
void frame_append(std::string& out, std::string_view body);
std::string frame_encode(std::string_view body);
// The heartbeat: an empty body, bytes 00 00 00 04.
inline std::string_view frame_ping() {
    return std::string_view("\0\0\0\4", 4);
}
uint32_t frame_read_length(const char* p);
void frame_write_length(char* p, uint32_t total);

}  // namespace pusher::protocol
