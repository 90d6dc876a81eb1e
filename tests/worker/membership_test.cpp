#include "worker/membership.h"

#include <gtest/gtest.h>

#include <vector>

using pusher::runtime::Connection;
using pusher::worker::Membership;

namespace {

// Membership keys connections by address and never touches them.
struct Fake {
    alignas(Connection) unsigned char bytes[sizeof(Connection)];
    Connection& c() { return *reinterpret_cast<Connection*>(bytes); }
};

struct Recorder {
    std::vector<std::string> log;  // "+uid:a" when first, "-uid:a" when last
    Membership m{
        [this](const std::string& ch, bool first) { log.push_back((first ? "+" : "-") + ch); }};
};

}  // namespace

TEST(Membership, SubscribesAtFirstMemberUnsubscribesAtLast) {
    Recorder r;
    Fake a, b;
    EXPECT_TRUE(r.m.bind_uid(a.c(), "alice"));
    EXPECT_TRUE(r.m.bind_uid(b.c(), "alice"));
    EXPECT_FALSE(r.m.bind_uid(b.c(), "alice"));  // already
    EXPECT_EQ(r.log, (std::vector<std::string>{"+uid:alice"}));
    EXPECT_EQ(r.m.uid_members("alice")->size(), 2u);
    r.m.forget(a.c());
    EXPECT_EQ(r.log.size(), 1u);
    EXPECT_TRUE(r.m.unbind_uid(b.c()));
    EXPECT_EQ(r.log.back(), "-uid:alice");
    EXPECT_EQ(r.m.uid_members("alice"), nullptr);
    EXPECT_EQ(r.m.user_count(), 0u);
}

TEST(Membership, NamesAreShortPrintableUtf8) {
    EXPECT_TRUE(Membership::valid_name("alice"));
    EXPECT_TRUE(Membership::valid_name("Zoë 42"));
    EXPECT_FALSE(Membership::valid_name(""));
    EXPECT_FALSE(Membership::valid_name(std::string(129, 'a')));
    EXPECT_FALSE(Membership::valid_name("a\tb"));
    EXPECT_FALSE(Membership::valid_name("a\nb"));
    EXPECT_FALSE(Membership::valid_name("\xff"));
}

TEST(Membership, RebindMovesTheConnection) {
    Recorder r;
    Fake a;
    r.m.bind_uid(a.c(), "u1");
    r.m.bind_uid(a.c(), "u2");
    EXPECT_EQ(r.log, (std::vector<std::string>{"+uid:u1", "-uid:u1", "+uid:u2"}));
    EXPECT_EQ(*r.m.uid_of(a.c()), "u2");
}

TEST(Membership, GroupsJoinLeaveAndForgetOnClose) {
    Recorder r;
    Fake a, b;
    EXPECT_TRUE(r.m.join(a.c(), "g1"));
    EXPECT_FALSE(r.m.join(a.c(), "g1"));
    r.m.join(a.c(), "g2");
    r.m.join(b.c(), "g2");
    r.m.set_session(a.c(), "{\"x\":1}");
    EXPECT_EQ(*r.m.session_of(a.c()), "{\"x\":1}");
    EXPECT_EQ(r.m.groups_of(a.c())->size(), 2u);
    EXPECT_FALSE(r.m.leave(b.c(), "g1"));  // not a member
    r.m.forget(a.c());                     // a closes: g1 empties, g2 keeps b
    EXPECT_EQ(r.log, (std::vector<std::string>{"+group:g1", "+group:g2", "-group:g1"}));
    EXPECT_EQ(r.m.group_members("g2")->size(), 1u);
    EXPECT_EQ(r.m.session_of(a.c()), nullptr);
    EXPECT_TRUE(r.m.leave(b.c(), "g2"));
    EXPECT_EQ(r.log.back(), "-group:g2");
    EXPECT_EQ(r.m.group_count(), 0u);
    EXPECT_EQ(r.m.groups_of(b.c()), nullptr);  // nothing left: its identity is gone
}
