// Reload without dropping a WebSocket (issue 15, docs/ARCHITECTURE.md
// "Hand-over"). The old worker of a slot passes every established connection
// (descriptor and state) to its replacement over a Unix socket the master
// made for the two, and the bus stream is cut at a point both agree on:
//
//   new: connects to the bus, subscribes to what the old one has, says Hello
//   old: freezes at once: every connection leaves its table (FdLink batches
//        of 253 descriptors); from now on every bus event it reads is
//        forwarded to the new worker instead of delivered
//   new: adopts them (subscribing to their users and groups), waits until its
//        subscriptions are in effect (Bus::sync), then publishes a marker on
//        the cut channel of every bus stream (Bus::cut_channels)
//   both see each marker at the same point of that stream: the old one stops
//        forwarding that stream there, the new one drops what it read on that
//        stream before it and holds what comes after
//   old: every stream cut: Done, and it leaves
//   new: Done and every marker seen: the held events are delivered after all
//        forwarded ones, and it serves on its own
//
// So every event is delivered once, by the old worker before the freeze, by
// the new one through forwarding up to the marker, and from its own stream
// after it; per channel in bus order. An answer that promises a subscription
// (a join's "ok", a token client's welcome) waits until the new worker is
// live. A failure at any step (either process dies, a timeout) ends it: the
// new worker serves what it has, the old one leaves, and it is counted.
#pragma once
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "protocol/handover_wire.h"
#include "runtime/bus.h"
#include "runtime/fd_link.h"
#include "runtime/timer.h"

namespace pusher::worker {

class Handover {
  public:
    using Value = protocol::php::Value;
    using Conn = protocol::handover::Conn;

    // What the service does for it.
    class Owner {
      public:
        virtual ~Owner() = default;
        // Old: takes every connection that can go out of the table: its
        // state in out, its socket in fds (same order).
        virtual void export_connections(std::vector<Conn>* out, std::vector<int>* fds) = 0;
        // New: a connection from the old worker; takes fd.
        virtual void adopt_connection(int fd, Conn& c) = 0;
        // New: a bus event, as if read now (forwarded, or held until live).
        virtual void dispatch(const Value& channel, const Value& data) = 0;
        virtual void dispatch_end() = 0;  // after the events of one read
        virtual void went_live() = 0;     // new: serving on its own from now on
        // What the old worker knows beyond its connections (e.g. the ids of
        // multi-target pushes already delivered), given to the new one.
        virtual std::string export_state() = 0;
        virtual void import_state(const std::string& state) = 0;
        virtual void leave() = 0;         // old: done (or failed after the freeze): exit now
        // Old: failed before anything left the table: serve on as before.
        virtual void resume_serving() = 0;
    };

    enum class Role { None, Old, New };

    Handover(runtime::Loop& loop, runtime::Bus& bus, Owner& owner, std::string cut_base);
    ~Handover();

    // Both roles: subscribes to the cut channel of every bus stream known now
    // (at start; the old worker again when asked, in case the streams
    // changed, e.g. a Redis Cluster's masters, before it freezes).
    void subscribe_cut();

    // Old: the master gave us the socket to our replacement.
    void begin_old(int fd, double timeout);
    // New: started with a socket from the master (ctx.handover_fd).
    void begin_new(int fd, double timeout);

    // Every bus event passes here first: true when the hand-over took it
    // (forwarded, dropped as a duplicate, or held until live).
    bool intercept(const Value& channel, const Value& data);
    // New: run fn once live (at once when there is no hand-over).
    bool live() const { return role_ != Role::New; }
    Role role() const { return role_; }
    bool frozen() const { return role_ == Role::Old && frozen_; }

  private:
    std::vector<Value> cut_channels() const { return bus_.cut_channels(cut_base_); }
    void on_marker(const Value& channel, const Value& data);
    void on_message(runtime::FdLink::Message& m);
    void on_link_closed(const std::string& why);
    void old_freeze();
    void old_check_cut();
    void old_finish(bool ok, const std::string& why);
    void new_adopt(runtime::FdLink::Message& m);
    void new_publish_markers();
    void new_check_live();
    void new_go_live(bool ok, const std::string& why);
    void tick();
    runtime::WorkerSlot& stats();

    runtime::Loop& loop_;
    runtime::Bus& bus_;
    Owner& owner_;
    std::string cut_base_;
    Role role_ = Role::None;
    std::unique_ptr<runtime::FdLink> link_;
    runtime::Timer timer_;
    double deadline_ = 0, began_ = 0;
    std::string nonce_;
    std::vector<bool> cut_;  // per stream: the marker was seen
    std::unordered_set<std::string> cut_subscribed_;
    size_t streams_ = 1;
    // Old
    bool frozen_ = false, finished_ = false;
    bool peer_counted_ = false;  // the new worker gave up (Abort) and counted it
    uint64_t sent_ = 0, acked_ = 0;
    // New
    bool hello_sent_ = false, answered_ = false, all_sent_ = false, done_ = false, live_ = false;
    bool markers_sent_ = false, old_gone_ = false;  // old_gone_: its link closed before Done
    std::string old_gone_why_;
    uint64_t adopted_ = 0;
    std::vector<std::pair<Value, Value>> held_;  // own events after the marker, until live
};

}  // namespace pusher::worker
