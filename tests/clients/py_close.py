#!/usr/bin/python3
# A real Python `websockets` client (Debian's python3-websockets, 10.x legacy
# client) closing the way applications do. Run by
# tests/integration/real_clients_test.cpp, which keeps its own watcher clients
# on the same worker and checks them and the worker after each run.
#
#   py_close.py WS_PORT HTTP_PORT SCENARIO [REPEAT]
#
# Scenarios (each REPEAT times, default 3):
#   normal          `async with websockets.connect()`: read the welcome, leave the block (close 1000)
#   code_reason     ws.close(4000, "bye") after the welcome
#   immediate       close 1000 at once after the 101, the welcome still unread
#   in_flight       close 1000 while a stream of broadcasts is arriving
#
# Prints one line per connection ("ok SCENARIO #i: ...") and exits 0, or prints
# "FAIL ..." and exits 1 at the first connection that did not close cleanly:
# the server must answer our close with its own close frame, code 1000 (as the
# original does), before the TCP close.
import asyncio
import re
import sys
import urllib.parse
import urllib.request

import websockets
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

WELCOME = re.compile(r"^workerID:(\d+) connectionID:(\d+) connected\n$")
TIMEOUT = 5


class Fail(Exception):
    pass


def publish(http_port, content):
    url = f"http://127.0.0.1:{http_port}/?" + urllib.parse.urlencode({"content": content})
    with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
        body = r.read().decode()
    if body != "ok":
        raise Fail(f"publish answered {body!r}")


def connect(ws_port):
    # close_timeout bounds the wait for the server's close frame: one that never
    # comes leaves close_rcvd None and fails the check below.
    return websockets.connect(f"ws://127.0.0.1:{ws_port}/", close_timeout=TIMEOUT,
                              ping_interval=None, max_size=None)


async def welcome(ws):
    text = await asyncio.wait_for(ws.recv(), TIMEOUT)
    if not isinstance(text, str) or not WELCOME.match(text):
        raise Fail(f"first message is not the welcome: {text!r}")
    return text.strip()


async def expect_closed_ok(ws, expected=lambda m: False, exc=ConnectionClosedOK):
    """After our close: reads return only what was queued before it (messages
    `expected` accepts), then raise `exc`."""
    for _ in range(1000):
        try:
            extra = await asyncio.wait_for(ws.recv(), TIMEOUT)
        except exc:
            return
        if not expected(extra):
            raise Fail(f"recv after close returned {extra[:60]!r}")
    raise Fail("recv after close never raised")


def check_handshake(ws, sent_code, sent_reason):
    rcvd, sent = ws.close_rcvd, ws.close_sent
    if sent is None or sent.code != sent_code or sent.reason != sent_reason:
        raise Fail(f"our close frame was not sent as asked: {sent}")
    if rcvd is None:
        raise Fail("the server never answered our close frame (connection lost, code "
                   f"{ws.close_code})")
    if rcvd.code != 1000:
        raise Fail(f"the server answered close {rcvd.code} {rcvd.reason!r}, not 1000")
    if ws.close_rcvd_then_sent:
        raise Fail("the server's close came first: it closed on its own")
    if not ws.closed:
        raise Fail("connection not closed after the closing handshake")
    return f"sent {sent.code} {sent.reason!r}, server answered {rcvd.code}"


async def normal(ws_port, http_port):
    async with connect(ws_port) as ws:
        who = await welcome(ws)
    await expect_closed_ok(ws)
    return who + ", " + check_handshake(ws, 1000, "")


async def code_reason(ws_port, http_port):
    async with connect(ws_port) as ws:
        who = await welcome(ws)
        await ws.close(4000, "bye")
    # 4000 is not an "OK" code for websockets, so a read raises
    # ConnectionClosedError; what matters is that the handshake completed.
    await expect_closed_ok(ws, exc=ConnectionClosed)
    return who + ", " + check_handshake(ws, 4000, "bye")


async def immediate(ws_port, http_port):
    ws = await connect(ws_port)
    await ws.close()  # the welcome is in flight or unread
    await expect_closed_ok(ws, lambda m: bool(WELCOME.match(m)))
    return check_handshake(ws, 1000, "")


async def in_flight(ws_port, http_port):
    async with connect(ws_port) as ws:
        who = await welcome(ws)
        loop = asyncio.get_running_loop()

        def flood():  # 20 broadcasts of 8 KB: most still coming when we close
            for i in range(20):
                publish(http_port, f"flight {i} " + "x" * 8000)

        flooding = loop.run_in_executor(None, flood)
        first = await asyncio.wait_for(ws.recv(), TIMEOUT)
        if not first.startswith("flight "):
            raise Fail(f"expected a broadcast, got {first[:40]!r}")
        await ws.close()
        await flooding
    await expect_closed_ok(ws, lambda m: m.startswith("flight "))
    return f"{who}, closed after {first[:9]!r} of 20, " + check_handshake(ws, 1000, "")


SCENARIOS = {"normal": normal, "code_reason": code_reason, "immediate": immediate,
             "in_flight": in_flight}


async def main():
    ws_port, http_port, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    scenario = SCENARIOS[name]
    for i in range(repeat):
        try:
            print(f"ok {name} #{i}: {await scenario(ws_port, http_port)}", flush=True)
        except (Fail, ConnectionClosed, OSError, asyncio.TimeoutError) as e:
            print(f"FAIL {name} #{i}: {type(e).__name__}: {e}", flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
