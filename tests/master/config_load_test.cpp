// master/config_load.cpp in process: the "bus" key (engine channel or redis)
// and how it sits beside the legacy top-level "channel".
#include "master/config_load.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "protocol/php_serialize.h"
#include "protocol/php_value.h"
#include "tests/support/php.h"

namespace {

using pusher::runtime::BusEngine;
using pusher::runtime::Config;
using pusher::runtime::RedisMode;

// One config file in a fresh directory, removed at the end.
class ConfigFile {
  public:
    ConfigFile() {
        char tmpl[] = "/tmp/pusher-config-XXXXXX";
        dir_ = mkdtemp(tmpl);
        file_ = dir_ + "/c.json";
    }
    ~ConfigFile() {
        unlink(file_.c_str());
        rmdir(dir_.c_str());
    }
    // Loads JSON; true when it is accepted. *error gets the reason otherwise.
    bool load(const std::string& json, Config* c, std::string* error) {
        std::ofstream(file_) << json;
        *c = pusher::master::default_config();
        return pusher::master::load_config(file_, c, error);
    }
    // The one-line error JSON gets ("" when it is accepted).
    std::string error_of(const std::string& json) {
        Config c;
        std::string error;
        return load(json, &c, &error) ? "" : error;
    }
    Config ok(const std::string& json) {
        Config c;
        std::string error;
        EXPECT_TRUE(load(json, &c, &error)) << json << ": " << error;
        return c;
    }

  private:
    std::string dir_, file_;
};

std::string redis(const std::string& rest) {
    return "{\"bus\": {\"engine\": \"redis\", " + rest + "}}";
}

TEST(BusConfig, WithoutBusTheChannelEngineUsesTheTopLevelChannel) {
    ConfigFile f;
    Config c = f.ok("{}");
    EXPECT_EQ(c.bus.engine, BusEngine::Channel);
    EXPECT_EQ(c.channel_host, "127.0.0.1");
    EXPECT_EQ(c.channel_port, 2206);
    c = f.ok("{\"channel\": \"10.0.0.9:2207\"}");
    EXPECT_EQ(c.bus.engine, BusEngine::Channel);
    EXPECT_EQ(c.channel_host, "10.0.0.9");
    EXPECT_EQ(c.channel_port, 2207);
}

TEST(BusConfig, EngineChannelIsTheSameAsTheLegacyKey) {
    ConfigFile f;
    Config c = f.ok("{\"bus\": {\"engine\": \"channel\", \"server\": \"10.0.0.9:2207\"}}");
    EXPECT_EQ(c.bus.engine, BusEngine::Channel);
    EXPECT_EQ(c.channel_host, "10.0.0.9");
    EXPECT_EQ(c.channel_port, 2207);
    EXPECT_TRUE(c.bus.redis.empty());
    c = f.ok("{\"bus\": {\"server\": \"[::1]:2206\"}}");  // the engine defaults to channel
    EXPECT_EQ(c.bus.engine, BusEngine::Channel);
    EXPECT_EQ(c.channel_host, "::1");
    c = f.ok("{\"bus\": {\"engine\": \"channel\"}}");  // the server defaults as "channel" does
    EXPECT_EQ(c.channel_host, "127.0.0.1");
    EXPECT_EQ(c.channel_port, 2206);
    c = f.ok("{\"bus\": {\"//\": \"a comment\", \"server\": \"bus.internal:2206\"}}");
    EXPECT_EQ(c.channel_host, "bus.internal");
}

TEST(BusConfig, RedisSingleAndItsDefaults) {
    ConfigFile f;
    Config c = f.ok(redis("\"servers\": [\"127.0.0.1:6379\"]"));
    EXPECT_EQ(c.bus.engine, BusEngine::Redis);
    EXPECT_EQ(c.bus.mode, RedisMode::Single);
    ASSERT_EQ(c.bus.redis.size(), 1u);
    EXPECT_EQ(c.bus.redis[0].host, "127.0.0.1");
    EXPECT_EQ(c.bus.redis[0].port, 6379);
    EXPECT_EQ(c.bus.prefix, "pusher");
    EXPECT_EQ(c.bus.username, "");
    EXPECT_EQ(c.bus.password, "");
    EXPECT_EQ(c.bus.probe_interval, 1.0);
    EXPECT_EQ(c.bus.probe_timeout, 3.0);
    c = f.ok(redis("\"mode\": \"single\", \"servers\": [\"[::1]:6380\"]"));
    EXPECT_EQ(c.bus.redis[0].host, "::1");
    EXPECT_EQ(c.bus.redis[0].port, 6380);
}

TEST(BusConfig, RedisShardedKeepsTheOrderOfItsServers) {
    ConfigFile f;
    Config c =
        f.ok(redis("\"mode\": \"sharded\", \"servers\": [\"10.0.0.3:6379\", \"10.0.0.1:6379\", "
                   "\"redis-b.internal:6379\", \"10.0.0.1:6380\"]"));
    EXPECT_EQ(c.bus.mode, RedisMode::Sharded);
    ASSERT_EQ(c.bus.redis.size(), 4u);
    EXPECT_EQ(c.bus.redis[0].host, "10.0.0.3");
    EXPECT_EQ(c.bus.redis[1].host, "10.0.0.1");
    EXPECT_EQ(c.bus.redis[2].host, "redis-b.internal");
    EXPECT_EQ(c.bus.redis[3].host, "10.0.0.1");  // another port: another server
    EXPECT_EQ(c.bus.redis[3].port, 6380);
    EXPECT_EQ(f.ok(redis("\"mode\": \"sharded\", \"servers\": [\"a:1\"]")).bus.redis.size(), 1u);
}

TEST(BusConfig, RedisClusterTakesSeeds) {
    ConfigFile f;
    Config c =
        f.ok(redis("\"mode\": \"cluster\", \"servers\": [\"10.0.0.1:7000\", \"10.0.0.2:7000\"]"));
    EXPECT_EQ(c.bus.mode, RedisMode::Cluster);
    ASSERT_EQ(c.bus.redis.size(), 2u);
    EXPECT_EQ(c.bus.redis[1].host, "10.0.0.2");
    EXPECT_EQ(c.bus.redis[1].port, 7000);
}

TEST(BusConfig, RedisOptionalKeys) {
    ConfigFile f;
    Config c =
        f.ok(redis("\"servers\": [\"h:1\"], \"prefix\": \"app-7\", \"username\": \"pusher\", "
                   "\"password\": \"p@ss word\", \"probe_interval\": 0.5, \"probe_timeout\": 0.5"));
    EXPECT_EQ(c.bus.prefix, "app-7");
    EXPECT_EQ(c.bus.username, "pusher");
    EXPECT_EQ(c.bus.password, "p@ss word");
    EXPECT_EQ(c.bus.probe_interval, 0.5);
    EXPECT_EQ(c.bus.probe_timeout, 0.5);  // equal is allowed
    c =
        f.ok(redis("\"servers\": [\"h:1\"], \"password\": \"x\", \"probe_interval\": 60, "
                   "\"probe_timeout\": 300, \"prefix\": \"" +
                   std::string(64, 'p') + "\""));
    EXPECT_EQ(c.bus.username, "");  // the default user
    EXPECT_EQ(c.bus.probe_interval, 60);
    EXPECT_EQ(c.bus.probe_timeout, 300);
    EXPECT_EQ(c.bus.prefix.size(), 64u);
    c = f.ok(redis("\"servers\": [\"h:1\"], \"prefix\": \"a:b{c}~!\", \"probe_timeout\": 1"));
    EXPECT_EQ(c.bus.prefix, "a:b{c}~!");
    EXPECT_EQ(c.bus.probe_timeout, 1);
}

// A host on the redis engine may still run a channel server (for PHP apps).
TEST(BusConfig, RedisEngineWithAChannelServiceIsAllowed) {
    ConfigFile f;
    Config c = f.ok(
        "{\"bus\": {\"engine\": \"redis\", \"servers\": [\"h:6379\"]}, \"services\": [{\"type\": "
        "\"channel\"}, {\"type\": \"websocket\"}]}");
    EXPECT_EQ(c.bus.engine, BusEngine::Redis);
    EXPECT_EQ(c.services.size(), 2u);
}

TEST(BusConfig, ErrorsNameTheKeyAndTheRule) {
    const std::string hp = "must be \"HOST:PORT\" (\"[v6]:PORT\" for IPv6, PORT 1..65535)";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"{\"bus\": \"redis\"}", "config: bus: must be an object"},
        {"{\"bus\": {\"engine\": \"kafka\"}}",
         "config: bus.engine: must be \"channel\" or \"redis\""},
        {"{\"bus\": {\"engine\": \"Redis\"}}",
         "config: bus.engine: must be \"channel\" or \"redis\""},
        {"{\"bus\": {\"engine\": 1}}", "config: bus.engine: must be a string"},
        {"{\"bus\": {\"engine\": \"channel\", \"sever\": \"h:1\"}}",
         "config: bus.sever: unknown key"},
        {"{\"bus\": {\"engine\": \"channel\", \"servers\": [\"h:1\"]}}",
         "config: bus.servers: only for engine \"redis\""},
        {"{\"bus\": {\"mode\": \"single\"}}", "config: bus.mode: only for engine \"redis\""},
        {"{\"bus\": {\"password\": \"x\"}}", "config: bus.password: only for engine \"redis\""},
        {"{\"bus\": {\"server\": \"h\"}}",
         "config: bus.server: must be \"HOST:PORT\" of the channel server (\"[v6]:PORT\" for "
         "IPv6, PORT 1..65535)"},
        {"{\"bus\": {\"server\": 2206}}", "config: bus.server: must be a string"},
        {redis("\"servers\": [\"h:1\"], \"host\": \"h\""), "config: bus.host: unknown key"},
        {redis("\"server\": \"h:1\""),
         "config: bus.server: only for engine \"channel\" (redis takes \"servers\")"},
        {redis("\"mode\": \"sentinel\", \"servers\": [\"h:1\"]"),
         "config: bus.mode: must be \"single\", \"sharded\" or \"cluster\""},
        {redis("\"mode\": 1, \"servers\": [\"h:1\"]"), "config: bus.mode: must be a string"},
        {"{\"bus\": {\"engine\": \"redis\"}}",
         "config: bus.servers: mode single takes exactly one server"},
        {redis("\"servers\": []"), "config: bus.servers: mode single takes exactly one server"},
        {redis("\"servers\": [\"a:1\", \"b:1\"]"),
         "config: bus.servers: mode single takes exactly one server"},
        {redis("\"mode\": \"sharded\", \"servers\": []"),
         "config: bus.servers: mode sharded needs at least one server (the shards, in order)"},
        {redis("\"mode\": \"sharded\""),
         "config: bus.servers: mode sharded needs at least one server (the shards, in order)"},
        {redis("\"mode\": \"cluster\", \"servers\": []"),
         "config: bus.servers: mode cluster needs at least one seed node"},
        {redis("\"servers\": \"h:1\""), "config: bus.servers: must be an array of strings"},
        {redis("\"servers\": [6379]"), "config: bus.servers: must be an array of strings"},
        {redis("\"mode\": \"sharded\", \"servers\": [\"a:1\", \"b:1\", \"A:1\"]"),
         "config: bus.servers[2]: the same server as servers[0]"},
        {redis("\"mode\": \"cluster\", \"servers\": [\"[::1]:7000\", \"[::1]:7000\"]"),
         "config: bus.servers[1]: the same server as servers[0]"},
        {redis("\"servers\": [\"h:1\"], \"prefix\": \"\""),
         "config: bus.prefix: must be 1..64 printable ASCII characters, no spaces"},
        {redis("\"servers\": [\"h:1\"], \"prefix\": \"a b\""),
         "config: bus.prefix: must be 1..64 printable ASCII characters, no spaces"},
        {redis("\"servers\": [\"h:1\"], \"prefix\": \"a\\tb\""),
         "config: bus.prefix: must be 1..64 printable ASCII characters, no spaces"},
        {redis("\"servers\": [\"h:1\"], \"prefix\": \"caf\\u00e9\""),
         "config: bus.prefix: must be 1..64 printable ASCII characters, no spaces"},
        {redis("\"servers\": [\"h:1\"], \"prefix\": \"" + std::string(65, 'p') + "\""),
         "config: bus.prefix: must be 1..64 printable ASCII characters, no spaces"},
        {redis("\"servers\": [\"h:1\"], \"prefix\": 1"), "config: bus.prefix: must be a string"},
        {redis("\"servers\": [\"h:1\"], \"username\": \"u\""),
         "config: bus.username: given without a password (Redis AUTH takes both)"},
        {redis("\"servers\": [\"h:1\"], \"username\": 1"),
         "config: bus.username: must be a string"},
        {redis("\"servers\": [\"h:1\"], \"password\": true"),
         "config: bus.password: must be a string"},
        {redis("\"servers\": [\"h:1\"], \"probe_interval\": 0"),
         "config: bus.probe_interval: must be a number of seconds above 0, at most 60"},
        {redis("\"servers\": [\"h:1\"], \"probe_interval\": -1"),
         "config: bus.probe_interval: must be a number of seconds above 0, at most 60"},
        {redis("\"servers\": [\"h:1\"], \"probe_interval\": 60.5, \"probe_timeout\": 100"),
         "config: bus.probe_interval: must be a number of seconds above 0, at most 60"},
        {redis("\"servers\": [\"h:1\"], \"probe_interval\": \"1\""),
         "config: bus.probe_interval: must be a number of seconds above 0, at most 60"},
        {redis("\"servers\": [\"h:1\"], \"probe_timeout\": \"3\""),
         "config: bus.probe_timeout: must be a number of seconds"},
        {redis("\"servers\": [\"h:1\"], \"probe_interval\": 2, \"probe_timeout\": 1.5"),
         "config: bus.probe_timeout: must be at least probe_interval (2) and at most 300 seconds"},
        {redis("\"servers\": [\"h:1\"], \"probe_timeout\": 0.5"),
         "config: bus.probe_timeout: must be at least probe_interval (1) and at most 300 seconds"},
        {redis("\"servers\": [\"h:1\"], \"probe_timeout\": 300.5"),
         "config: bus.probe_timeout: must be at least probe_interval (1) and at most 300 seconds"},
        {redis("\"servers\": [\"h:1\"], \"probe_interval\": 5"),
         "config: bus.probe_timeout: must be at least probe_interval (5) and at most 300 seconds "
         "(default 3)"},
        {"{\"channel\": \"h:2206\", \"bus\": {\"engine\": \"channel\", \"server\": \"h:2206\"}}",
         "config: channel: given with \"bus\": use one (\"bus\": {\"engine\": \"channel\", "
         "\"server\": \"HOST:PORT\"} is the same as \"channel\": \"HOST:PORT\")"},
        {"{\"channel\": \"h:2206\", \"bus\": {}}",
         "config: channel: given with \"bus\": use one (\"bus\": {\"engine\": \"channel\", "
         "\"server\": \"HOST:PORT\"} is the same as \"channel\": \"HOST:PORT\")"},
        {"{\"channel\": \"h:2206\", \"bus\": {\"engine\": \"redis\", \"servers\": [\"h:1\"]}}",
         "config: channel: given with \"bus\" of engine redis: use one (the top-level \"channel\" "
         "is the channel engine's server)"},
    };
    ConfigFile f;
    for (const auto& [json, error] : cases) EXPECT_EQ(f.error_of(json), error) << json;
    // Each server that is not HOST:PORT, named by its index.
    for (const char* s : {"h",         "h:",        ":6379",          "h:0",
                          "h:65536",   "h:123456",  "h:+80",          "h: 80",
                          "h:80 ",     " h:80",     "h h:80",         "::1:6379",
                          "[::1]6379", "[::1:6379", "::1]:6379",      "[1.2.3.4]:1",
                          "[]:1",      "[:]:1",     "redis://h:6379", "u:pw@h:6379",
                          "h/x:1",     "\\u00e9:1"}) {
        EXPECT_EQ(f.error_of(redis("\"mode\": \"sharded\", \"servers\": [\"a:1\", \"" +
                                   std::string(s) + "\"]")),
                  "config: bus.servers[1]: " + hp)
            << s;
    }
}

// username and password never appear in an error, whatever is wrong, and
// neither does a server string (which might be a URL holding a password).
TEST(BusConfig, NoErrorEchoesTheCredentials) {
    const std::string auth = "\"username\": \"s3cr3t-user\", \"password\": \"s3cr3t-pass\", ";
    const std::vector<std::string> bad = {
        redis(auth + "\"servers\": [\"redis://s3cr3t-user:s3cr3t-pass@h:6379\"]"),
        redis(auth + "\"servers\": [\"s3cr3t-user:s3cr3t-pass@h:6379\"]"),
        redis(auth + "\"servers\": [\"h:1\"], \"prefix\": \"s3cr3t-pass with space\""),
        redis(auth + "\"servers\": [\"h:1\"], \"probe_timeout\": 0.1"),
        redis(auth + "\"servers\": [\"h:1\"], \"passwd\": 1"),
        redis(auth + "\"servers\": [\"h:1\", \"h:2\"]"),
        redis(auth + "\"mode\": \"s3cr3t-mode\", \"servers\": [\"h:1\"]"),
        redis("\"username\": \"s3cr3t-user\", \"servers\": [\"h:1\"]"),
        "{\"channel\": \"h:1\", \"bus\": {\"engine\": \"redis\", " + auth +
            "\"servers\": [\"h:1\"]}}",
        "{\"bus\": {\"engine\": \"channel\", " + auth + "\"server\": \"h:1\"}}",
        "{\"bus\": {\"engine\": \"redis\", \"password\": \"s3cr3t-pass\"",  // not JSON
        "{\"bus\": {\"engine\": \"redis\", \"password\": \"s3cr3t-pass\n\"}}",
    };
    ConfigFile f;
    for (const std::string& json : bad) {
        std::string error = f.error_of(json);
        EXPECT_NE(error, "") << json;
        EXPECT_EQ(error.find("s3cr3t"), std::string::npos) << error;
    }
}

// docs/CONFIG.md gives redis-cli PUBLISH examples: their payloads are what the
// http service publishes (worker/http_service.cpp), PHP-serialized.
TEST(BusConfig, TheDocumentedRedisPayloadsAreWhatThePublisherSends) {
    using pusher::protocol::php::Key;
    using pusher::protocol::php::Value;
    std::ifstream in(pusher::testing::source_dir() + "/docs/CONFIG.md");
    ASSERT_TRUE(in);
    std::stringstream doc;
    doc << in.rdbuf();
    Value broadcast = Value::array();
    broadcast.set(Key::from_string("content"), Value::string("hello"));
    Value targeted = Value::array();
    targeted.set(Key::from_string("to_connection_id"), Value::string("5"));
    targeted.set(Key::from_string("content"), Value::string("hello"));
    const std::string b =
        "redis-cli PUBLISH pusher:broadcast '" + pusher::protocol::php::serialize(broadcast) + "'";
    const std::string t =
        "redis-cli PUBLISH pusher:0 '" + pusher::protocol::php::serialize(targeted) + "'";
    EXPECT_NE(doc.str().find(b), std::string::npos) << b;
    EXPECT_NE(doc.str().find(t), std::string::npos) << t;
}

}  // namespace
