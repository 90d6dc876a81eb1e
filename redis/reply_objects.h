// hiredis's reply objects under a budget. hiredis parses RESP; these
// functions only build what it found, exactly as its own do (so
// freeReplyObject frees them), but charge the bytes of the reply in
// progress. An array header or a string that would take one reply past the
// budget makes the reader fail (hiredis takes NULL for out of memory), so a
// server announcing 2^31 elements closes its link instead of growing the
// worker at 16 times the wire rate.
#pragma once
#include <hiredis/hiredis.h>

#include <cstddef>

namespace pusher::redis {

struct ReplyBudget {
    size_t used = 0;   // by the reply being read; reset when it is complete
    size_t limit = 0;
};

// A reader building its replies under *budget (which must outlive it).
redisReader* budgeted_reader(ReplyBudget* budget);

}  // namespace pusher::redis
