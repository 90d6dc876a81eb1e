// A Unix stream socket between two processes of one worker slot, carrying
// framed messages with descriptors attached (SCM_RIGHTS): the hand-over of
// established connections on reload (worker/handover.h). A frame is
// [u32 body length][u8 type][u16 descriptor count] and the body; the
// descriptors travel with the frame's first byte and are taken, in order,
// by the frame that names them. Writes never block the loop: what the socket
// refuses waits here, and a descriptor is closed on this side as soon as the
// kernel has it in flight.
#pragma once
#include <event2/event.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "runtime/loop.h"

namespace pusher::runtime {

class FdLink {
  public:
    struct Message {
        uint8_t type = 0;
        std::string body;
        std::vector<int> fds;  // owned by whoever handles the message
    };
    using OnMessage = std::function<void(Message&)>;
    using OnClose = std::function<void(const std::string& why)>;

    // Takes fd (a connected AF_UNIX stream socket). Callbacks never run from
    // inside send(); on_close runs once, when the peer goes or a frame is bad.
    FdLink(Loop& loop, int fd, OnMessage on_message, OnClose on_close);
    ~FdLink();
    FdLink(const FdLink&) = delete;
    FdLink& operator=(const FdLink&) = delete;

    // At most 253 fds; they are this link's from now on (closed once sent, or
    // with the link). false: the link is closed (the fds were closed).
    bool send(uint8_t type, std::string body, std::vector<int> fds = {});
    bool open() const { return fd_ >= 0; }
    // The peer closed (or the link failed), seen without reading: a sender
    // about to give something away checks first.
    bool peer_gone() const;
    // Runs after the messages of one read were handled (a service batches).
    void set_batch_end(std::function<void()> hook) { batch_end_ = std::move(hook); }
    size_t queued_bytes() const { return out_bytes_; }
    // Closes the socket now; no callback follows.
    void close();

  private:
    struct Out {
        std::string bytes;
        std::vector<int> fds;  // sent with bytes[0]
        size_t off = 0;
    };
    static void on_event(evutil_socket_t, short what, void* arg);
    void handle_read();
    void handle_write();
    void parse();
    void fail(const std::string& why);
    void watch_write(bool on);

    Loop& loop_;
    int fd_;
    OnMessage on_message_;
    OnClose on_close_;
    std::function<void()> batch_end_;
    event* ev_ = nullptr;
    bool writing_ = false;
    bool in_send_ = false;
    std::string defer_fail_;  // a write failure inside send(), reported from the loop
    std::string in_;
    std::deque<int> in_fds_;  // received, not yet taken by a frame
    std::deque<Out> out_;
    size_t out_bytes_ = 0;
};

}  // namespace pusher::runtime
