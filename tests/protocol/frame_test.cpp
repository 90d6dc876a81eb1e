#include "protocol/frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace pusher::protocol;

static std::vector<std::string> decode_split(const std::string& wire, size_t cut,
                                             std::string* err) {
    FrameDecoder d;
    std::vector<std::string> out;
    std::string_view body;
    auto drain = [&] {
        while (d.next(&body)) out.emplace_back(body);
    };
    std::string a = wire.substr(0, cut), b = wire.substr(cut);
    d.feed(a.data(), a.size());
    drain();
    d.feed(b.data(), b.size());
    drain();
    *err = d.error();
    return out;
}

TEST(Frame, EncodesLengthIncludingHeader) {
    std::string f = frame_encode("abc");
    EXPECT_EQ(f, std::string("\0\0\0\7abc", 7));
    EXPECT_EQ(frame_ping(), std::string_view("\0\0\0\4", 4));
}

TEST(Frame, DecodesAtEveryByteBoundary) {
    std::string wire =
        frame_encode("first") + std::string(frame_ping()) + frame_encode(std::string(300, 'x'));
    for (size_t cut = 0; cut <= wire.size(); ++cut) {
        std::string err;
        auto bodies = decode_split(wire, cut, &err);
        ASSERT_EQ(bodies.size(), 3u) << cut;
        EXPECT_EQ(bodies[0], "first");
        EXPECT_EQ(bodies[1], "");
        EXPECT_EQ(bodies[2], std::string(300, 'x'));
        EXPECT_EQ(err, "");
    }
}

TEST(Frame, RejectsLengthsBelowFour) {
    for (uint32_t n = 0; n < 4; ++n) {
        std::string wire(4, '\0');
        frame_write_length(wire.data(), n);
        std::string err;
        EXPECT_TRUE(decode_split(wire + "zz", 2, &err).empty());
        EXPECT_NE(err.find("below 4"), std::string::npos) << n;
    }
}

TEST(Frame, RejectsLengthsOverTheLimit) {
    FrameDecoder d(100);
    std::string wire(4, '\0');
    frame_write_length(wire.data(), 101);
    d.feed(wire.data(), wire.size());
    std::string_view body;
    EXPECT_FALSE(d.next(&body));
    EXPECT_NE(d.error().find("over the limit"), std::string::npos);
}

TEST(Frame, TruncatedFrameWaits) {
    std::string wire = frame_encode("hello").substr(0, 6);
    std::string err;
    EXPECT_TRUE(decode_split(wire, 3, &err).empty());
    EXPECT_EQ(err, "");
}
