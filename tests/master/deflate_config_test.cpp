// master/config_load.cpp in process: a websocket service's "deflate" object
// (permessage-deflate), its defaults and its errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "master/config_load.h"

namespace {

using pusher::runtime::Config;
using pusher::runtime::ServiceType;

// Loads one JSON config from a fresh file; *error gets the reason when refused.
bool load(const std::string& json, Config* c, std::string* error) {
    char tmpl[] = "/tmp/pusher-deflate-config-XXXXXX";
    std::string dir = mkdtemp(tmpl), file = dir + "/c.json";
    std::ofstream(file) << json;
    *c = pusher::master::default_config();
    bool ok = pusher::master::load_config(file, c, error);
    unlink(file.c_str());
    rmdir(dir.c_str());
    return ok;
}

std::string ws(const std::string& deflate) {
    return "{\"services\": [{\"type\": \"websocket\", \"deflate\": " + deflate + "}]}";
}

}  // namespace

TEST(DeflateConfig, OnByDefaultWithTheDocumentedValues) {
    Config c;
    std::string error;
    ASSERT_TRUE(load("{\"services\": [{\"type\": \"websocket\"}]}", &c, &error)) << error;
    EXPECT_TRUE(c.services[0].deflate.enabled);
    EXPECT_EQ(c.services[0].deflate.min_size, 256u);
    EXPECT_EQ(c.services[0].deflate.level, 6);
    // The embedded default's websocket service too.
    Config d = pusher::master::default_config();
    for (const auto& s : d.services) {
        if (s.type == ServiceType::WebSocket) {
            EXPECT_TRUE(s.deflate.enabled);
        }
    }
}

TEST(DeflateConfig, EveryKeyIsRead) {
    Config c;
    std::string error;
    ASSERT_TRUE(
        load(ws("{\"enabled\": false, \"min_size\": 0, \"level\": 9, \"//\": \"x\"}"), &c, &error))
        << error;
    EXPECT_FALSE(c.services[0].deflate.enabled);
    EXPECT_EQ(c.services[0].deflate.min_size, 0u);
    EXPECT_EQ(c.services[0].deflate.level, 9);
    ASSERT_TRUE(load(ws("{\"min_size\": 1024}"), &c, &error)) << error;
    EXPECT_TRUE(c.services[0].deflate.enabled);  // what is not given keeps its default
    EXPECT_EQ(c.services[0].deflate.min_size, 1024u);
    EXPECT_EQ(c.services[0].deflate.level, 6);
}

TEST(DeflateConfig, ErrorsNameTheKeyAndTheRule) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {ws("true"), "config: services[0].deflate: must be an object"},
        {ws("{\"enable\": true}"), "config: services[0].deflate.enable: unknown key"},
        {ws("{\"enabled\": 1}"), "config: services[0].deflate.enabled: must be true or false"},
        {ws("{\"level\": 0}"), "config: services[0].deflate.level: must be 1..9"},
        {ws("{\"level\": 10}"), "config: services[0].deflate.level: must be 1..9"},
        {ws("{\"level\": \"6\"}"), "config: services[0].deflate.level: must be 1..9"},
        {ws("{\"min_size\": -1}"), "config: services[0].deflate.min_size: must be 0..2147483647"},
        {ws("{\"min_size\": 1.5}"), "config: services[0].deflate.min_size: must be 0..2147483647"},
        {"{\"services\": [{\"type\": \"http\", \"deflate\": {}}]}",
         "config: services[0].deflate: only for websocket services"},
        {"{\"services\": [{\"type\": \"channel\", \"deflate\": {\"enabled\": false}}]}",
         "config: services[0].deflate: only for websocket services"},
    };
    for (const auto& [json, want] : cases) {
        Config c;
        std::string error;
        EXPECT_FALSE(load(json, &c, &error)) << json;
        EXPECT_EQ(error, want) << json;
    }
}
