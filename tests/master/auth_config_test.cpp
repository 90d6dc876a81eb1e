// master/config_load.cpp in process: the "auth" section (JWTs on WebSocket
// connect), its defaults, its files and each refusal.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "master/config_load.h"
#include "tests/support/jwt_sign.h"

namespace {

using pusher::runtime::Config;

const std::string kSecret = "0123456789abcdef0123456789abcdef";  // 32 bytes

// A config file in a fresh folder, with whatever other files a test puts there.
class AuthConfig : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pusher-auth-config-XXXXXX";
        dir_ = mkdtemp(tmpl);
    }
    void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
    void write(const std::string& name, const std::string& text) {
        std::ofstream(dir_ + "/" + name) << text;
    }
    bool load(const std::string& auth, Config* c, std::string* error) {
        write("c.json", "{\"auth\": " + auth + "}");
        *c = pusher::master::default_config();
        return pusher::master::load_config(dir_ + "/c.json", c, error);
    }
    // The error of a config that must be refused.
    std::string refused(const std::string& auth) {
        Config c;
        std::string error;
        EXPECT_FALSE(load(auth, &c, &error)) << auth;
        return error;
    }
    std::string dir_;
};

}  // namespace

TEST_F(AuthConfig, NoSectionMeansAnonymousOnly) {
    Config c = pusher::master::default_config();
    EXPECT_FALSE(c.auth.enabled());
    EXPECT_TRUE(c.auth.anonymous);
    std::string error;
    write("c.json", "{}");
    ASSERT_TRUE(pusher::master::load_config(dir_ + "/c.json", &c, &error)) << error;
    EXPECT_FALSE(c.auth.enabled());
    EXPECT_TRUE(c.auth.anonymous);
}

TEST_F(AuthConfig, SecretGivenInline) {
    Config c;
    std::string error;
    ASSERT_TRUE(load("{\"hs256_secret\": \"" + kSecret + "\", \"leeway\": 30}", &c, &error))
        << error;
    EXPECT_TRUE(c.auth.enabled());
    EXPECT_FALSE(c.auth.anonymous);  // the secure default once "auth" is there
    EXPECT_EQ(c.auth.hs256_secret, kSecret);
    EXPECT_EQ(c.auth.leeway, 30);
}

TEST_F(AuthConfig, FilesRelativeToTheConfig) {
    write("secret", kSecret + "\n");
    write("key.pem", pusher::testing::jwt_ec_key().public_pem);
    Config c;
    std::string error;
    ASSERT_TRUE(load(R"({"hs256_secret_file": "secret", "public_key": "key.pem",
                         "anonymous": true, "//": "note"})",
                     &c, &error))
        << error;
    EXPECT_EQ(c.auth.hs256_secret, kSecret);  // the newline is no part of it
    EXPECT_EQ(c.auth.public_key, dir_ + "/key.pem");
    EXPECT_NE(c.auth.public_key_pem.find("BEGIN PUBLIC KEY"), std::string::npos);
    EXPECT_TRUE(c.auth.anonymous);
}

TEST_F(AuthConfig, Refusals) {
    EXPECT_EQ(refused("[]"), "config: auth: must be an object");
    EXPECT_EQ(refused("{\"secret\": \"x\"}"), "config: auth.secret: unknown key");
    EXPECT_EQ(refused("{}"), "config: auth: needs hs256_secret, hs256_secret_file or public_key");
    EXPECT_EQ(refused("{\"anonymous\": true}"),
              "config: auth: needs hs256_secret, hs256_secret_file or public_key");
    EXPECT_EQ(refused("{\"hs256_secret\": \"short\"}"),
              "config: auth.hs256_secret: must be at least 32 bytes (an HS256 key is as strong "
              "as its secret)");
    write("short", "0123456789\n");
    EXPECT_NE(refused("{\"hs256_secret_file\": \"short\"}")
                  .find("config: auth.hs256_secret_file: must be at least 32 bytes"),
              std::string::npos);
    EXPECT_EQ(refused("{\"hs256_secret_file\": \"missing\"}"),
              "config: auth.hs256_secret_file: cannot read " + dir_ + "/missing");
    EXPECT_EQ(refused("{\"public_key\": \"/nonexistent/key.pem\"}"),
              "config: auth.public_key: cannot read /nonexistent/key.pem");
    EXPECT_EQ(refused("{\"hs256_secret\": \"" + kSecret + "\", \"hs256_secret_file\": \"s\"}"),
              "config: auth.hs256_secret_file: given with hs256_secret: use one");
    EXPECT_EQ(refused("{\"hs256_secret\": 7}"), "config: auth.hs256_secret: must be a string");
    EXPECT_EQ(refused("{\"hs256_secret\": \"" + kSecret + "\", \"anonymous\": \"yes\"}"),
              "config: auth.anonymous: must be true or false");
}

TEST_F(AuthConfig, LeewayBounds) {
    std::string s = "{\"hs256_secret\": \"" + kSecret + "\", \"leeway\": ";
    EXPECT_EQ(refused(s + "-1}"), "config: auth.leeway: must be a number of seconds, 0..300");
    EXPECT_EQ(refused(s + "301}"), "config: auth.leeway: must be a number of seconds, 0..300");
    EXPECT_EQ(refused(s + "\"5\"}"), "config: auth.leeway: must be a number of seconds, 0..300");
    Config c;
    std::string error;
    EXPECT_TRUE(load(s + "300}", &c, &error)) << error;
}

TEST_F(AuthConfig, KeysThatDoNotLoad) {
    write("bad.pem", "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n");
    EXPECT_EQ(refused("{\"public_key\": \"bad.pem\"}"),
              "config: auth.public_key: " + dir_ + "/bad.pem: not a PEM public key (BEGIN PUBLIC KEY)");
    write("p384.pem", pusher::testing::jwt_ec_key("P-384").public_pem);
    EXPECT_NE(refused("{\"public_key\": \"p384.pem\"}").find("P-256"), std::string::npos);
    write("ed.pem", pusher::testing::jwt_ed25519_key().public_pem);
    EXPECT_NE(refused("{\"public_key\": \"ed.pem\"}").find("unsupported key type"),
              std::string::npos);
    write("empty.pem", "");
    EXPECT_EQ(refused("{\"public_key\": \"empty.pem\"}"),
              "config: auth.public_key: cannot read " + dir_ + "/empty.pem");
}
