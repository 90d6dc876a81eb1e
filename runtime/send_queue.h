// The pending output of one connection: a FIFO of (shared buffer, offset)
// chunks. Empty it is 24 bytes; once used it keeps a 4-chunk ring (80 bytes)
// so that steady traffic does not malloc per delivery, and gives back bigger
// rings after a burst. That matters with 100k idle connections per host.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "runtime/shared_buffer.h"

namespace pusher::runtime {

class SendQueue {
  public:
    SendQueue() = default;
    SendQueue(const SendQueue&) = delete;
    SendQueue& operator=(const SendQueue&) = delete;
    ~SendQueue() { clear(); }

    bool empty() const { return count_ == 0; }
    size_t bytes() const { return bytes_; }
    uint32_t chunks() const { return count_; }

    // Queues buf[offset..]; takes a new reference.
    void push(SharedBuffer* buf, size_t offset);
    // Writes as much as the socket takes (writev, up to 64 chunks a call).
    // Returns bytes written (0 when the socket is full), or -1 with errno set.
    ssize_t flush(int fd);
    // TLS writes through SSL_write, not writev: the queued bytes from the
    // front, gathered into buf up to room (a head chunk of room or more is
    // pointed to, not copied), then consume() retires what was taken. The
    // front stays in place until consumed, as SSL_write's retry requires.
    const char* front(char* buf, size_t room, size_t* len) const;
    void consume(size_t n);
    // Releases every chunk but the first (the one the socket may be in the
    // middle of); returns the bytes released. Only the head can start inside a
    // message, so what stays, and what is pushed after it, keeps the framing.
    size_t keep_head();
    void clear();

  private:
    struct Chunk {
        SharedBuffer* buf;
        size_t off;
    };
    void grow();
    void free_ring();
    // The ring's capacity (a power of two) is kept in a header chunk just
    // before it, not here: every connection has a queue, and 24 bytes keep
    // a Connection in a smaller malloc size class than 32 would.
    uint32_t cap() const { return ring_ ? static_cast<uint32_t>(ring_[-1].off) : 0; }
    Chunk* ring_ = nullptr;
    size_t bytes_ = 0;
    uint32_t head_ = 0, count_ = 0;
};

}  // namespace pusher::runtime
