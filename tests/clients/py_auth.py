#!/usr/bin/python3
# Real Python `websockets` clients (Debian's python3-websockets) presenting
# tokens on connect. Run by tests/integration/auth_test.cpp.
#
#   py_auth.py WS_PORT EXPECT:TOKEN...
#
# For each case connects to ws://127.0.0.1:WS_PORT/?token=TOKEN (no query when
# TOKEN is "-"). EXPECT "welcome": the handshake succeeds and the first message
# is the welcome. EXPECT "401": the handshake is refused with status 401.
# Prints "ok N cases" and exits 0, or "FAIL case I: ..." and exits 1.
import asyncio
import sys

import websockets

TIMEOUT = 5


class Fail(Exception):
    pass


def refused_status(e):
    # websockets >= 14 raises InvalidStatus (e.response), older InvalidStatusCode.
    response = getattr(e, "response", None)
    if response is not None:
        return response.status_code
    return getattr(e, "status_code", None)


async def one(port, i, expect, token):
    url = f"ws://127.0.0.1:{port}/" + ("" if token == "-" else f"?token={token}")
    try:
        ws = await asyncio.wait_for(websockets.connect(url, ping_interval=None), TIMEOUT)
    except websockets.exceptions.InvalidHandshake as e:
        status = refused_status(e)
        if expect == "401" and status == 401:
            return
        raise Fail(f"case {i}: expected {expect}, handshake refused: {type(e).__name__}: {e}")
    try:
        if expect != "welcome":
            raise Fail(f"case {i}: expected {expect}, the handshake succeeded")
        text = await asyncio.wait_for(ws.recv(), TIMEOUT)
        if not (isinstance(text, str) and "connected" in text):
            raise Fail(f"case {i}: first message is not the welcome: {text!r}")
    finally:
        await ws.close()


async def main(port, cases):
    for i, case in enumerate(cases):
        expect, _, token = case.partition(":")
        await one(port, i, expect, token)
    print(f"ok {len(cases)} cases")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: py_auth.py WS_PORT EXPECT:TOKEN...")
    try:
        asyncio.run(main(int(sys.argv[1]), sys.argv[2:]))
    except (Fail, asyncio.TimeoutError, OSError, websockets.exceptions.WebSocketException) as e:
        print(f"FAIL {type(e).__name__}: {e}")
        sys.exit(1)
