#include "protocol/php_json.h"

#include <gtest/gtest.h>

#include "protocol/php_serialize.h"

using namespace pusher::protocol::php;

TEST(PhpJson, ConvertsBothWays) {
    Value v;
    std::string err;
    ASSERT_TRUE(unserialize(
        "a:4:{s:4:\"list\";a:2:{i:0;i:1;i:1;s:1:\"x\";}s:3:\"map\";a:1:{i:7;b:1;}s:1:\"o\";"
        "O:8:\"stdClass\":1:{s:1:\"a\";d:0.5;}s:1:\"n\";N;}",
        &v, &err))
        << err;
    Json::Value j = to_json(v);
    EXPECT_TRUE(j["list"].isArray());
    EXPECT_EQ(j["list"][1].asString(), "x");
    EXPECT_TRUE(j["map"]["7"].asBool());
    EXPECT_EQ(j["o"][kJsonClassKey].asString(), "stdClass");
    EXPECT_EQ(j["o"]["a"].asDouble(), 0.5);
    EXPECT_TRUE(j["n"].isNull());
    Value back = from_json(j);
    EXPECT_EQ(back.get("list")->items[0].second.i, 1);
    EXPECT_TRUE(back.get("map")->get(Key::integer(7))->b);  // "7" became the int key 7
    Json::Value big;
    big["n"] = Json::Int64(-9000000000LL);
    EXPECT_EQ(serialize(from_json(big)), "a:1:{s:1:\"n\";i:-9000000000;}");
}
