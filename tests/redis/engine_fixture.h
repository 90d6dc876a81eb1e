// A loop, Redis engines on it and their configs, for the engine's tests
// against real redis-servers (tests/support/redis_server.h).
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "redis/engine.h"
#include "runtime/loop.h"
#include "tests/support/pump.h"
#include "tests/support/redis_server.h"

namespace pusher::testing {

class EngineFixture : public ::testing::Test {
  protected:
    using Value = protocol::php::Value;
    runtime::Limits limits;
    std::unique_ptr<runtime::Loop> loop;
    std::vector<std::unique_ptr<runtime::BusConfig>> configs;
    std::vector<std::unique_ptr<redis::Engine>> engines;

    void SetUp() override { loop = std::make_unique<runtime::Loop>(nullptr, limits); }
    void TearDown() override {
        engines.clear();
        loop.reset();
    }
    static std::pair<std::string, int> at(const RedisServer& s) { return {s.host(), s.port()}; }
    // Probes every 0.2 s, a link dead after 0.8 s without an answer: quick tests.
    runtime::BusConfig& bus(const std::vector<std::pair<std::string, int>>& servers,
                            runtime::RedisMode mode = runtime::RedisMode::Single) {
        auto b = std::make_unique<runtime::BusConfig>();
        b->engine = runtime::BusEngine::Redis;
        b->mode = mode;
        for (auto& s : servers) b->redis.push_back({s.first, s.second});
        b->probe_interval = 0.2;
        b->probe_timeout = 0.8;
        configs.push_back(std::move(b));
        return *configs.back();
    }
    redis::Engine& engine(const runtime::BusConfig& b, std::string probe = "") {
        if (probe.empty()) probe = "pusher:probe:test:" + std::to_string(engines.size());
        engines.push_back(std::make_unique<redis::Engine>(*loop, b, probe));
        return *engines.back();
    }
    bool pump(const std::function<bool()>& f, int ms = 5000) {
        return pump_until(loop->base(), f, ms);
    }
    uint64_t dropped() { return loop->stats().bus_dropped.load(); }
    uint64_t probe_failures() { return loop->stats().bus_probe_failures.load(); }
    static Value data(const std::string& content) {
        Value d = Value::array();
        d.set(protocol::php::Key::from_string("content"), Value::string(content));
        return d;
    }
};

}  // namespace pusher::testing
