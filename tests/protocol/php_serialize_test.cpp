#include "protocol/php_serialize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "tests/support/php.h"

using namespace pusher::protocol::php;
using pusher::testing::have_php;
using pusher::testing::hex_decode;
using pusher::testing::run_php;

TEST(PhpKey, NormalisesLikePhpArrayKeys) {
    EXPECT_TRUE(Key::from_string("0").is_int);
    EXPECT_TRUE(Key::from_string("-7").is_int);
    EXPECT_TRUE(Key::from_string("9223372036854775807").is_int);
    for (const char* s : {"007", "+1", "1.0", " 1", "-0", "", "9223372036854775808", "1a"}) {
        EXPECT_FALSE(Key::from_string(s).is_int) << s;
    }
    EXPECT_TRUE(Key::from_string("0") == Key::integer(0));
}

TEST(PhpDouble, PrintsAsPhpSerializeDoes) {
    EXPECT_EQ(format_double(0.1), "0.1");
    EXPECT_EQ(format_double(1.0), "1");
    EXPECT_EQ(format_double(1e25), "1.0E+25");
    EXPECT_EQ(format_double(-0.0), "-0");
    EXPECT_EQ(format_double(1e15), "1000000000000000");
    EXPECT_EQ(format_double(1e17), "1.0E+17");
    EXPECT_EQ(format_double(0.0001), "0.0001");
    EXPECT_EQ(format_double(0.00001), "1.0E-5");
    EXPECT_EQ(format_double(123456789012345680000.0), "1.2345678901234568E+20");
}

TEST(PhpSerialize, RoundTripsThePhpCorpusByteForByte) {
    if (!have_php()) GTEST_SKIP() << "php-cli not installed";
    std::istringstream lines(run_php("corpus.php"));
    std::string hex;
    int n = 0;
    while (std::getline(lines, hex)) {
        std::string wire = hex_decode(hex), err;
        Value v;
        ASSERT_TRUE(unserialize(wire, &v, &err)) << wire << ": " << err;
        EXPECT_EQ(serialize(v), wire);
        ++n;
    }
    EXPECT_GE(n, 30);
}

TEST(PhpSerialize, ToleratesOneTrailingNewline) {
    Value v;
    std::string err;
    EXPECT_TRUE(unserialize("i:5;\n", &v, &err));
    EXPECT_FALSE(unserialize("i:5;\n\n", &v, &err));
    EXPECT_FALSE(unserialize("i:5;x", &v, &err));
}

TEST(PhpSerialize, RejectsMalformedInputWithAReason) {
    const char* bad[] = {"",
                         "i:",
                         "i:12",
                         "i:1x;",
                         "s:5:\"ab\";",
                         "s:-1:\"\";",
                         "a:1:{i:0;}",
                         "a:2:{i:0;i:1;}",
                         "a:1:{d:1;i:1;}",
                         "b:2;",
                         "d:abc;",
                         "x:1;",
                         "O:3:\"abc\":1:{",
                         "a:99999999:{",
                         "r:0;",
                         "C:3:\"Foo\":0:{}",
                         "N",
                         "s:3:\"abc\"x"};
    for (const char* in : bad) {
        Value v;
        std::string err;
        EXPECT_FALSE(unserialize(in, &v, &err)) << in;
        EXPECT_FALSE(err.empty()) << in;
    }
}

TEST(PhpSerialize, BoundsDepthAndSplitInputs) {
    std::string deep;
    for (int i = 0; i < 1000; ++i) deep += "a:1:{i:0;";
    deep += "N;" + std::string(1000, '}');
    Value v;
    std::string err;
    EXPECT_FALSE(unserialize(deep, &v, &err));
    EXPECT_NE(err.find("deep"), std::string::npos);
    // Every prefix of a valid value is an error, never a crash.
    std::string ok = "a:2:{s:1:\"k\";O:8:\"stdClass\":1:{s:1:\"a\";d:0.5;}i:3;a:1:{i:0;r:2;}}";
    ASSERT_TRUE(unserialize(ok, &v, &err)) << err;
    for (size_t i = 0; i < ok.size(); ++i) EXPECT_FALSE(unserialize(ok.substr(0, i), &v, &err));
}

TEST(PhpSerialize, SurvivesRandomBytes) {
    uint32_t seed = 12345;
    for (int round = 0; round < 2000; ++round) {
        std::string in;
        for (int i = 0; i < 40; ++i) {
            seed = seed * 1103515245 + 12345;
            const char alphabet[] = "aisdNbOrR:;{}\"0123456789-.";
            in += alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        Value v;
        std::string err;
        unserialize(in, &v, &err);  // must simply return
    }
}
