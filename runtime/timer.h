// A libevent timer that calls a function once or every interval. Counted in
// the status "timers" column, as Workerman counts Timer::add.
#pragma once
#include <event2/event.h>

#include <functional>

#include "runtime/loop.h"

namespace pusher::runtime {

class Timer {
  public:
    Timer(Loop& loop, std::function<void()> fn) : loop_(loop), fn_(std::move(fn)) {
        ev_ = event_new(loop.base(), -1, 0, fire, this);
    }
    ~Timer() {
        cancel();
        event_free(ev_);
    }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    void start(double seconds, bool repeat) {
        cancel();
        event_assign(ev_, loop_.base(), -1, repeat ? EV_PERSIST : 0, fire, this);
        timeval tv{static_cast<time_t>(seconds),
                   static_cast<suseconds_t>((seconds - static_cast<time_t>(seconds)) * 1e6)};
        event_add(ev_, &tv);
        armed_ = true;
        repeat_ = repeat;
        bump(loop_.stats().timers);
    }
    void cancel() {
        if (!armed_) return;
        event_del(ev_);
        armed_ = false;
        loop_.stats().timers.fetch_sub(1, std::memory_order_relaxed);
    }
    bool armed() const { return armed_; }

  private:
    static void fire(evutil_socket_t, short, void* arg) {
        auto* t = static_cast<Timer*>(arg);
        if (!t->repeat_) {
            t->armed_ = false;
            t->loop_.stats().timers.fetch_sub(1, std::memory_order_relaxed);
        }
        t->fn_();  // may destroy or re-arm this timer: touch nothing after
    }
    Loop& loop_;
    std::function<void()> fn_;
    event* ev_;
    bool armed_ = false;
    bool repeat_ = false;
};

}  // namespace pusher::runtime
