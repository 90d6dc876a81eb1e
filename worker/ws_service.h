// The `websocket` service (worker name "pusher"): the start_ws.php of the
// original. Each worker greets its clients, subscribes on the bus to its
// worker id, to the broadcast event and to its own client-id route, and pushes
// what arrives. A broadcast is encoded once into one shared frame; the
// broadcasts of one bus read are sent as one buffer, so a connection gets one
// write() however many events arrived together. With permessage-deflate the
// batch also has a compressed twin per window size in use (DeflateVariants),
// compressed once, and each connection gets the buffer of its variant.
#pragma once
#include <deque>
#include <string>
#include <unordered_set>
#include <vector>

#include "protocol/ws_frame.h"
#include "runtime/stall_log.h"
#include "worker/bus_service.h"
#include "worker/deflate_variants.h"
#include "worker/handover.h"
#include "worker/membership.h"
#include "worker/ws_auth.h"

namespace pusher::worker {

class WsService : public BusService,
                  public protocol::WsDecoder::Sink,
                  private Handover::Owner {
  public:
    WsService(runtime::Loop& loop, const runtime::WorkerContext& ctx);

    void dump_connections(std::string& out) const override;

    void on_accept(runtime::Connection& c) override;
    void on_data(runtime::Connection& c, const char* data, size_t len) override;
    void on_close(runtime::Connection& c) override;
    void on_buffer_full(runtime::Connection& c) override;
    void go_away() override;
    bool start(std::string* error) override;
    bool hand_over(int fd, std::function<void()> leave) override;
    bool go_away_paced(double window) override;

    void on_message(uint8_t opcode, std::string_view payload) override;
    void on_ping(std::string_view payload) override;
    void on_close(uint16_t code, std::string_view reason) override;

    // Connection::flags bits of a WebSocket connection.
    enum : uint8_t {
        kPingSent = 1,   // a keepalive ping is unanswered
        kCloseSent = 2,  // our close frame is out; waiting for the client's
        // Bits 2..4: the permessage-deflate variant (DeflateVariants), 0 without it.
        kDeflateShift = 2,
        kDeflateMask = 7 << kDeflateShift,
        kBound = 1 << 5,  // Membership knows it: a user, a group or a session
        // Bits 6..7: keep-alive turns since the last real ping (ws_keepalive.cpp).
        kBeatShift = 6,
        kBeatMask = 3 << kBeatShift,
    };

  private:
    struct Session;
    struct Handshake;
    // Every bus event passes here: the hand-over may take it, else dispatch().
    void on_bus(const protocol::php::Value& channel, const protocol::php::Value& data);
    void listen(const protocol::php::Value& channel);
    // Runs fn once its promise holds: subscriptions in effect (Bus::sync),
    // and, during a hand-over, once this worker is live.
    void when_live(std::function<void()> fn);
    // Handover::Owner (worker/ws_handover.cpp)
    void export_connections(std::vector<Handover::Conn>* out, std::vector<int>* fds) override;
    void adopt_connection(int fd, Handover::Conn& c) override;
    void dispatch(const protocol::php::Value& channel, const protocol::php::Value& data) override;
    void dispatch_end() override { flush_broadcasts(); }
    void went_live() override;
    void leave() override;
    void resume_serving() override;
    std::string export_state() override;
    void import_state(const std::string& state) override;
    void restore_identity(runtime::Connection& c, Handover::Conn& rec);
    void pace_tick();
    static uint8_t deflate_variant(const runtime::Connection& c);
    static uint8_t opcode_for(const std::string& content);
    void handshake(runtime::Connection& c, Session& s, const char* data, size_t len);
    void welcome(runtime::Connection& c);
    void attach_identity(runtime::Connection& c, const protocol::JwtClaims& claims);
    static bool names_allowed(const protocol::JwtClaims& claims, std::string* why);
    void frames(runtime::Connection& c, Session& s, const char* data, size_t len);
    void subscribe() override;
    void on_targeted(const protocol::php::Value& data);
    void on_client(const protocol::php::Value& data);
    void queue_broadcast(const std::string& content);
    void flush_broadcasts();
    void push_one(runtime::Connection& c, const std::string& content);
    void send_close(runtime::Connection& c, uint16_t code, std::string_view reason);
    // Keep-alive and deadlines (worker/ws_keepalive.cpp).
    void sweep() override;
    void check_deadlines(runtime::Connection& c, uint32_t now);
    void keep_alive(runtime::Connection& c, uint32_t now, uint64_t round);
    bool ping_unanswered(runtime::Connection& c, uint32_t now) const;
    double kept_up_since(uint32_t since, uint32_t now) const;
    void note_dead(runtime::Connection& c, const char* why);
    void bound_unacknowledged(runtime::Connection& c);

    // Users, groups and presence (worker/ws_routing.cpp).
    void membership_changed(const std::string& channel, bool first);
    void on_routed(const protocol::php::Value& data);
    void broadcast_except(const std::string& content, const protocol::php::Value& except);
    void deliver(const std::vector<runtime::Connection*>& to, const std::string& content);
    bool seen_before(const std::string& mid);
    void client_op(runtime::Connection* c, const protocol::php::Value& data);
    void on_query(const protocol::php::Value& data);
    void answer(const protocol::php::Value& ask, bool ok, protocol::php::Value result,
                bool truncated = false);
    void announce(bool leaving);
    std::string client_id(const runtime::Connection& c) const;
    std::string identity_json(const runtime::Connection& c) const;
    runtime::Connection* own_client(const std::string& id) const;

    runtime::Connection* current_ = nullptr;  // the connection whose frames are being decoded
    std::string batch_;                       // encoded broadcast frames of the current bus read
    uint64_t batch_frames_ = 0;               // how many frames batch_ holds
    DeflateVariants deflate_;                 // compressors and compressed batches, per window size
    runtime::BufferRef ping_frame_;
    runtime::BufferRef beat_frame_;  // an unsolicited pong: a heartbeat that needs no answer
    WsAuth auth_;  // tokens on connect (docs/CONFIG.md "auth")
    uint64_t instance_ = 0;
    Membership members_;
    runtime::Timer roster_timer_;  // announces this worker to the publish API
    // Ids of multi-target pushes already delivered: such a push arrives once
    // per target channel this worker holds, and is delivered once.
    std::deque<std::string> recent_order_;
    std::unordered_set<std::string> recent_;
    std::string worker_channel_, route_channel_;  // dispatch() compares against these
    Handover handover_;
    std::vector<std::function<void()>> after_live_;  // when_live() during a hand-over
    std::function<void()> leave_;                    // the worker's: exit after a hand-over
    // Paced goodbyes: ids still to close, when it began, over how long.
    std::vector<uint64_t> pace_ids_;
    size_t pace_total_ = 0;
    double pace_began_ = 0, pace_window_ = 0;
    runtime::Timer pace_timer_;
    // The sweep's two cursors over the connection table (ws_keepalive.cpp).
    size_t deadline_cursor_ = 0, ping_cursor_ = 0;
    double deadline_carry_ = 0, ping_carry_ = 0;  // fractions of a visit owed
    double last_sweep_ = -1;                       // loop time of the last sweep
    uint64_t ping_round_ = 0;                      // rounds the ping cursor completed
    runtime::StallLog stalls_;
    bool warned_timeout_ = false;  // TCP_USER_TIMEOUT refused: logged once
};

}  // namespace pusher::worker
