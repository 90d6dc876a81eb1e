// tests/clients/py_seq.py driven from a test: real Python `websockets`
// clients that follow a numbered broadcast stream ("b<n>", "END" to finish)
// and report what each got and how it was closed.
#pragma once
#include <json/json.h>

#include <cstdio>
#include <string>

namespace pusher::testing {

class PySeq {
  public:
    // ping_args: the clients' own keepalive ("" : every 1 s, 5 s to answer;
    // "default": the library's 20 s / 20 s; "I T": seconds).
    PySeq(int port, int clients, const std::string& ping_args = "");
    ~PySeq();
    PySeq(const PySeq&) = delete;
    PySeq& operator=(const PySeq&) = delete;
    // One object per client: {"client_id", "worker_id", ...} as welcomed.
    const Json::Value& welcomes() const { return welcomes_; }
    // After "END": per client {"b": [...], "t": [...], "close": [code, reason] or null}.
    Json::Value results();

  private:
    std::string read_line();
    FILE* f_ = nullptr;
    Json::Value welcomes_;
};

}  // namespace pusher::testing
