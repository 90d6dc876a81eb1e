#include "protocol/frame.h"

namespace pusher::protocol {

uint32_t frame_read_length(const char* p) {
    auto u = reinterpret_cast<const unsigned char*>(p);
    return (uint32_t(u[0]) << 24) | (uint32_t(u[1]) << 16) | (uint32_t(u[2]) << 8) | u[3];
}

void frame_write_length(char* p, uint32_t total) {
    p[0] = static_cast<char>(total >> 24);
    p[1] = static_cast<char>(total >> 16);
    p[2] = static_cast<char>(total >> 8);
    p[3] = static_cast<char>(total);
}

void frame_append(std::string& out, std::string_view body) {
    char h[4];
    frame_write_length(h, static_cast<uint32_t>(body.size() + kFrameHeader));
    out.append(h, 4);
    out.append(body);
}

std::string frame_encode(std::string_view body) {
    std::string out;
    out.reserve(body.size() + 4);
    frame_append(out, body);
    return out;
}

// The previous feed's leftovers must be consumed before new bytes are fed;
// they are copied into buf_ only when a frame is incomplete.
void FrameDecoder::feed(const char* data, size_t len) {
    if (in_pos_ < in_len_) buf_.append(in_ + in_pos_, in_len_ - in_pos_);
    if (!buf_.empty()) {
        buf_.append(data, len);
        in_ = nullptr;
        in_len_ = in_pos_ = 0;
    } else {
        in_ = data;
        in_len_ = len;
        in_pos_ = 0;
    }
}

bool FrameDecoder::take(const char* p, size_t avail, size_t* used, std::string_view* body) {
    if (avail < kFrameHeader) return false;
    uint32_t total = frame_read_length(p);
    if (total < kFrameHeader || total > max_) {
        error_ = "Frame error: package_length=" + std::to_string(total) +
                 (total < kFrameHeader ? " is below 4" : " is over the limit");
        return false;
    }
    if (avail < total) return false;
    *body = std::string_view(p + kFrameHeader, total - kFrameHeader);
    *used = total;
    return true;
}

bool FrameDecoder::next(std::string_view* body) {
    if (!error_.empty()) return false;
    size_t used = 0;
    if (pos_ < buf_.size()) {
        if (take(buf_.data() + pos_, buf_.size() - pos_, &used, body)) {
            pos_ += used;
            return true;
        }
        if (pos_ > 0) {  // keep only the partial frame
            buf_.erase(0, pos_);
            pos_ = 0;
        }
        return false;
    }
    buf_.clear();
    pos_ = 0;
    if (in_pos_ < in_len_ && take(in_ + in_pos_, in_len_ - in_pos_, &used, body)) {
        in_pos_ += used;
        return true;
    }
    if (in_pos_ < in_len_ && error_.empty()) {  // a partial frame: keep a copy
        buf_.assign(in_ + in_pos_, in_len_ - in_pos_);
        in_ = nullptr;
        in_len_ = in_pos_ = 0;
    }
    return false;
}

}  // namespace pusher::protocol
