#!/usr/bin/env python3
"""Writes the seed corpus of services_fuzz (tests/fuzz/corpus/services/).

Each seed is a small script in the fuzzer's input format (see play() in
services_fuzz.cpp): three setup bytes, then opcode bytes and their arguments.
Run from the repository root: tests/fuzz/services_seeds.py
"""
import os
import struct
import zlib

OUT = "tests/fuzz/corpus/services"

# Setup bits.
WELCOME_JSON, ORIGINS, API_KEY, FUZZER_BUS, RESTRICT_ALLOW = 1, 2, 4, 8, 16
QUEUE_300 = 1 << 5  # max_send_queue 300 bytes
WS_MSG_300 = 1      # (second byte) ws_max_message 300


def s8(b):
    return bytes([len(b)]) + b


def s16(b):
    return struct.pack("<H", len(b)) + b


def setup(f1=0, f2=0, f3=0):
    return bytes([f1, f2, f3])


def open_(svc=0, tcp=False, tiny=False, unread=False):
    a = svc | (0x1C if tcp else 0) | (0x20 if tiny else 0) | (0x80 if unread else 0)
    return bytes([0, a])


def raw(k, data):
    return bytes([1, k]) + s16(data)


def upgrade(k, a=0, frame=None):
    """a: ws_upgrade()'s byte: a&7 3 offers permessage-deflate, 4 with server_max_window_bits=10,
    5 no Upgrade, 6 no key, 7 version 8; a&0x18 0x08 good Origin, 0x10 bad Origin."""
    b = bytes([3, k, a])
    return b + (b"\x01" + frame if frame is not None else b"\x00")


def frame(a=0, b=0, payload=b"hi", key=b"\x01\x02\x03\x04", big=0):
    """Arguments of ws_frame(): a picks the opcode (0 text, 1 binary, 2 cont,
    3 close, 4 ping, 5 pong), fin (a&8 clears it), mask (a&0x30==0x30 unmasked),
    RSV1 (a&0xc0==0xc0: compressed);
    b&1: a close code, b&2: a payload of 126 + big bytes."""
    out = bytes([a, b])
    if (a & 7) == 3 and b & 1:
        return out + bytes([0]) + s8(payload) + key  # close_code(): 0 is 1000
    if b & 2:
        return out + struct.pack("<H", big) + key
    return out + s8(payload) + key


def frames(k, *fs):
    op = 4 | ((len(fs) - 1) << 5)
    return bytes([op, k]) + b"".join(fs)


def http(k, *reqs):
    op = 6 | ((len(reqs) - 1) << 6)
    return bytes([op, k]) + b"".join(reqs)


def get_content(content, a=0):
    return bytes([a & ~1, 1]) + s8(content)  # GET /?content=...


def json_nested(depth):
    return bytes([1, 3 << 5]) + struct.pack("<H", depth)  # POST / deep JSON


def chan(k, *msgs):
    op = 7 | ((len(msgs) - 1) << 5)
    return bytes([op, k]) + b"".join(msgs)


def data_content(text):
    return bytes([1, 5]) + s8(text)  # data(): {content: <str>}


def ch_msg(kind, channel=0, data=b""):
    """kind: 0 subscribe 1 unsubscribe 2 publish 3 publishLoop 4 watch 5 unwatch
    6 enqueue 7 reserve; channel: bus_channel() choice (0 broadcast, 1 worker id, 4 "q")."""
    return bytes([kind, channel]) + data


def bus(channel=0, data=b"", a=0):
    return bytes([8, a, channel]) + data


def drain(k):
    return bytes([9, k])


def close(k, how=0):
    return bytes([10, how, k])


def turn(n=1):
    return bytes([11 | ((n - 1) << 6)])


def advance(step, ws_sweep=True, http_sweep=False):
    # steps: 0.5 1 9 10 11 24 26 59 61 3 4 120
    return bytes([13, step | (0x40 if ws_sweep else 0) | (0x80 if http_sweep else 0)])


def control(svc, what, http_link=False):
    # what: 0 go_away 1 stop_accepting 2 close_all 3 dump 4 cut bus 5 reconnect bus 6/7 sweep
    return bytes([14, svc | (what << 2) | (0x20 if http_link else 0)])


def deflated(text):
    """A permessage-deflate payload: raw DEFLATE, sync flush, tail removed."""
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    return (z.compress(text) + z.flush(zlib.Z_SYNC_FLUSH))[:-4]


def close_frame(k, code=None, with_upgrade=False):
    """code None: 1000 (close_code()'s table), else that exact code."""
    c = bytes([0]) if code is None else b"\xf0" + struct.pack("<H", code)
    return bytes([15 | (0x80 if with_upgrade else 0), k, 0]) + c


SEEDS = {
    # The shape that crashed the old worker: a normal close after the upgrade.
    "ws_close_normal": setup() + open_() + upgrade(0) + turn() + close_frame(0) + turn(2),
    "ws_upgrade_and_close_one_write": setup() + open_() + close_frame(0, None, True) + turn(2),
    "ws_close_frame_in_upgrade_read": setup() + open_() + upgrade(0, 0, frame(3, 1, b"bye")) + turn(2),
    "ws_echo_ping": setup(WELCOME_JSON) + open_() + upgrade(0) + turn()
    + frames(0, frame(0, 0, b"hello"), frame(4, 0, b"p"), frame(8, 0, b"frag"), frame(2, 0, b"ment"))
    + turn(2),
    "ws_reset_after_upgrade": setup() + open_() + upgrade(0) + close(0) + turn(2),
    "ws_bad_upgrade": setup(ORIGINS) + open_() + upgrade(0, 0x10) + turn() + open_() + upgrade(1, 6) + turn(),
    "ws_too_big": setup(0, WS_MSG_300) + open_() + upgrade(0) + turn()
    + frames(0, frame(0, 2, big=400)) + turn(2),
    "ws_timeouts": setup() + open_() + open_() + upgrade(0) + turn() + advance(6) + turn() + advance(6)
    + turn() + advance(8) + turn() + advance(3) + turn(),
    "ws_go_away": setup() + open_() + open_() + upgrade(0) + turn() + control(0, 0) + turn()
    + close_frame(0) + turn(2),
    "http_publish_broadcast": setup() + open_() + open_(1) + upgrade(0) + turn()
    + http(1, get_content(b"news")) + turn(4),
    "http_publish_pipelined": setup(API_KEY) + open_(1)
    + http(0, get_content(b"a"), get_content(b"b", 0x20)) + turn(2),
    "http_json_deep": setup() + open_(1) + http(0, json_nested(5000)) + turn(2),
    "http_slowloris": setup() + open_(1) + raw(0, b"GET /?content=x HTTP/1.1\r\nHo") + turn()
    + advance(4, False, True) + advance(9, False, True) + turn(),
    "channel_pubsub": setup() + open_(2) + open_(2)
    + chan(0, ch_msg(0, 4), ch_msg(4, 4), ch_msg(7, 4)) + turn()
    + chan(1, ch_msg(2, 4, data_content(b"x")), ch_msg(6, 4, data_content(b"job"))) + turn(2)
    + close(0) + turn(),
    "bus_broadcast_slow_client": setup(QUEUE_300) + open_(0, False, True, True) + upgrade(0) + turn()
    + bus(0, bytes([1, 3 | (8 << 3)])) + turn() + bus(0, bytes([1, 3 | (8 << 3)])) + turn(2)
    + advance(3) + turn(),
    "bus_targeted": setup() + open_() + upgrade(0) + turn() + bus(1, bytes([3, 5]) + s8(b"to you") + bytes([0]))
    + turn(2),
    "fuzzer_bus": setup(FUZZER_BUS) + open_() + upgrade(0) + turn() + bus(0, data_content(b"raw"), 0x20)
    + turn() + bus(0, bytes([0]) + s8(b"\x00\x00\x00\x09junk!"), 2) + turn(2),
    "bus_cut_reconnect": setup() + open_() + upgrade(0) + turn() + control(0, 4) + turn(2)
    + open_(1) + http(1, get_content(b"queued")) + turn() + control(0, 5) + turn(3),
    "tcp_clients": setup() + open_(0, True) + open_(1, True) + turn() + upgrade(0) + turn()
    + close(0) + turn(2),
    # Two deflate variants and a plain client share a broadcast batch and a targeted push;
    # compressed client messages, one fragmented, one corrupt.
    "ws_deflate": setup() + open_() + open_() + open_() + upgrade(0, 3) + upgrade(1, 4) + upgrade(2, 0)
    + turn() + bus(0, bytes([1, 3 | (8 << 3)])) + bus(0, bytes([1, 4]) + s8(b"small")) + turn(2)
    + bus(1, bytes([3, 3 | (2 << 3), 0])) + turn(2)
    + frames(0, frame(0xC0, 0, deflated("h\u00e9llo ".encode() * 20)),
             frame(0xC8, 0, deflated(b"ab" * 200)[:3]), frame(2, 0, deflated(b"ab" * 200)[3:]))
    + turn() + frames(1, frame(0xC0, 0, b"\x07junk")) + turn(2),
    "restricted_channel": setup(RESTRICT_ALLOW) + open_(2) + open_(1) + http(1, get_content(b"q")) + turn(3),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds in {OUT}")


if __name__ == "__main__":
    main()
