#include "runtime/send_queue.h"

#include <sys/uio.h>

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace pusher::runtime {

void SendQueue::grow() {
    uint32_t old = cap(), cap = old ? old * 2 : 4;
    auto* block = static_cast<Chunk*>(std::malloc(sizeof(Chunk) * (cap + 1)));
    if (!block) throw std::bad_alloc();
    block[0] = Chunk{nullptr, cap};  // the header: cap()
    Chunk* ring = block + 1;
    for (uint32_t i = 0; i < count_; ++i) ring[i] = ring_[(head_ + i) & (old - 1)];
    free_ring();
    ring_ = ring;
    head_ = 0;
}

void SendQueue::free_ring() {
    if (ring_) std::free(ring_ - 1);
    ring_ = nullptr;
}

void SendQueue::push(SharedBuffer* buf, size_t offset) {
    if (count_ == cap()) grow();
    buf->ref();
    ring_[(head_ + count_) & (cap() - 1)] = Chunk{buf, offset};
    ++count_;
    bytes_ += buf->size() - offset;
}

ssize_t SendQueue::flush(int fd) {
    size_t total = 0;
    while (count_ > 0) {
        iovec iov[64];
        int n = 0;
        size_t offered = 0;
        for (uint32_t i = 0; i < count_ && n < 64; ++i, ++n) {
            const Chunk& c = ring_[(head_ + i) & (cap() - 1)];
            iov[n].iov_base = c.buf->data() + c.off;
            iov[n].iov_len = c.buf->size() - c.off;
            offered += iov[n].iov_len;
        }
        ssize_t w = ::writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return -1;
        }
        total += static_cast<size_t>(w);
        consume(static_cast<size_t>(w));
        if (static_cast<size_t>(w) < offered) break;  // the socket is full
    }
    return static_cast<ssize_t>(total);
}

void SendQueue::consume(size_t n) {
    bytes_ -= n;
    while (n > 0) {  // retire fully written chunks, advance a partial one
        Chunk& c = ring_[head_];
        size_t avail = c.buf->size() - c.off;
        if (n < avail) {
            c.off += n;
            break;
        }
        n -= avail;
        c.buf->unref();
        head_ = (head_ + 1) & (cap() - 1);
        --count_;
    }
    if (count_ == 0 && cap() > 4) {  // a burst is over: keep only the small ring
        free_ring();
        head_ = 0;
    }
}

const char* SendQueue::front(char* buf, size_t room, size_t* len) const {
    const Chunk& head = ring_[head_];
    size_t head_len = head.buf->size() - head.off;
    if (head_len >= room || count_ == 1) {
        *len = head_len;
        return head.buf->data() + head.off;
    }
    size_t used = 0;
    for (uint32_t i = 0; i < count_ && used < room; ++i) {
        const Chunk& c = ring_[(head_ + i) & (cap() - 1)];
        size_t n = std::min(room - used, c.buf->size() - c.off);
        std::memcpy(buf + used, c.buf->data() + c.off, n);
        used += n;
    }
    *len = used;
    return buf;
}

size_t SendQueue::keep_head() {
    size_t released = 0;
    for (uint32_t i = 1; i < count_; ++i) {
        Chunk& c = ring_[(head_ + i) & (cap() - 1)];
        released += c.buf->size() - c.off;
        c.buf->unref();
    }
    if (count_ > 1) count_ = 1;
    bytes_ -= released;
    return released;
}

void SendQueue::clear() {
    for (uint32_t i = 0; i < count_; ++i) ring_[(head_ + i) & (cap() - 1)].buf->unref();
    free_ring();
    head_ = count_ = 0;
    bytes_ = 0;
}

}  // namespace pusher::runtime
