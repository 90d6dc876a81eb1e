// An immutable byte buffer shared by many send queues. A broadcast frame is
// encoded once into one SharedBuffer and every connection that cannot take it
// at once keeps a reference, never a copy. Workers are single-threaded, so the
// count is a plain integer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace pusher::runtime {

class SharedBuffer {
  public:
    // Allocates header and bytes in one block; the bytes are uninitialised.
    static SharedBuffer* create(size_t size) {
        void* mem = std::malloc(sizeof(SharedBuffer) + size);
        if (!mem) throw std::bad_alloc();
        return new (mem) SharedBuffer(size);
    }
    static SharedBuffer* copy(const void* data, size_t size) {
        SharedBuffer* b = create(size);
        std::memcpy(b->data(), data, size);
        return b;
    }
    char* data() { return reinterpret_cast<char*>(this + 1); }
    const char* data() const { return reinterpret_cast<const char*>(this + 1); }
    size_t size() const { return size_; }
    void ref() { ++refs_; }
    void unref() {
        if (--refs_ == 0) std::free(this);
    }

  private:
    explicit SharedBuffer(size_t size) : refs_(1), size_(size) {}
    uint32_t refs_;
    size_t size_;
};

// Owning handle: releases its reference when it goes out of scope.
class BufferRef {
  public:
    BufferRef() = default;
    explicit BufferRef(SharedBuffer* b) : b_(b) {}  // adopts the creator's reference
    BufferRef(const BufferRef& o) : b_(o.b_) {
        if (b_) b_->ref();
    }
    BufferRef(BufferRef&& o) noexcept : b_(o.b_) { o.b_ = nullptr; }
    BufferRef& operator=(BufferRef o) noexcept {
        std::swap(b_, o.b_);
        return *this;
    }
    ~BufferRef() {
        if (b_) b_->unref();
    }
    SharedBuffer* get() const { return b_; }
    SharedBuffer* operator->() const { return b_; }
    explicit operator bool() const { return b_ != nullptr; }

  private:
    SharedBuffer* b_ = nullptr;
};

}  // namespace pusher::runtime
