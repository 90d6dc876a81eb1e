#include "runtime/send_queue.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

using pusher::runtime::SendQueue;
using pusher::runtime::SharedBuffer;

TEST(SendQueue, EmptyOwnsNothing) {
    SendQueue q;
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_LE(sizeof(SendQueue), 32u);
}

TEST(SendQueue, SharesOneBufferAndKeepsOrder) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    SharedBuffer* a = SharedBuffer::copy("hello ", 6);
    SharedBuffer* b = SharedBuffer::copy("world", 5);
    SendQueue q1, q2;
    q1.push(a, 0);
    q1.push(b, 2);
    q2.push(a, 3);
    EXPECT_EQ(q1.bytes(), 9u);
    EXPECT_EQ(q1.flush(sv[0]), 9);
    EXPECT_TRUE(q1.empty());
    EXPECT_EQ(q2.flush(sv[0]), 3);
    a->unref();
    b->unref();
    char buf[64] = {};
    ASSERT_EQ(read(sv[1], buf, sizeof buf), 12);
    EXPECT_EQ(std::string(buf, 12), "hello rldlo ");
    close(sv[0]);
    close(sv[1]);
}

TEST(SendQueue, PartialWriteKeepsTheRest) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    std::string big(4 << 20, 'x');
    SharedBuffer* b = SharedBuffer::copy(big.data(), big.size());
    SendQueue q;
    q.push(b, 0);
    b->unref();
    ssize_t w = q.flush(sv[0]);
    ASSERT_GT(w, 0);
    ASSERT_LT(static_cast<size_t>(w), big.size());  // the socket buffer is smaller than 4 MiB
    EXPECT_EQ(q.bytes(), big.size() - static_cast<size_t>(w));
    EXPECT_EQ(q.flush(sv[0]), 0);  // full: nothing more, no error
    close(sv[1]);
    EXPECT_EQ(q.flush(sv[0]), -1);  // peer gone: error surfaces
    close(sv[0]);
}

TEST(SendQueue, KeepHeadReleasesAllButTheStartedChunk) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    SharedBuffer* a = SharedBuffer::copy("abcdef", 6);
    SharedBuffer* b = SharedBuffer::copy("ghij", 4);
    SendQueue q;
    q.push(a, 2);  // a chunk the socket is in the middle of
    q.push(b, 0);
    q.push(a, 0);
    EXPECT_EQ(q.keep_head(), 10u);
    EXPECT_EQ(q.chunks(), 1u);
    EXPECT_EQ(q.bytes(), 4u);
    EXPECT_EQ(q.keep_head(), 0u);
    SharedBuffer* c = SharedBuffer::copy("!", 1);
    q.push(c, 0);  // what is pushed after it follows it
    EXPECT_EQ(q.flush(sv[0]), 5);
    a->unref();
    b->unref();
    c->unref();
    char buf[16] = {};
    ASSERT_EQ(read(sv[1], buf, sizeof buf), 5);
    EXPECT_EQ(std::string(buf, 5), "cdef!");
    close(sv[0]);
    close(sv[1]);
}
