#!/usr/bin/python3
# Real Python `websockets` clients (Debian's python3-websockets) with
# permessage-deflate, against a running pusher. Run by
# tests/integration/deflate_test.cpp.
#
#   py_deflate.py WS_PORT HTTP_PORT
#
# Three clients: one as websockets offers by default (permessage-deflate;
# client_max_window_bits), one asking for server_max_window_bits=9, and one
# without compression. Each must see the extension as negotiated, then get
# intact broadcasts (multi-byte UTF-8, a 100 KB JSON, a message under
# min_size) and a 100 KB targeted push, send compressed messages of its own
# (the server must take them: the client is still served afterwards), and
# get a last broadcast. Prints "ok ..." and exits 0, or "FAIL ..." and exits 1.
import asyncio
import json
import re
import sys
import urllib.parse
import urllib.request

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

WELCOME = re.compile(r"^workerID:(\d+) connectionID:(\d+) connected\n$")
TIMEOUT = 5
UTF8 = "h\u00e9llo w\u00f6rld \u20ac \U0001F600 " * 20  # multi-byte, above min_size
BIG = json.dumps([{"id": i, "name": f"r\u00e9sum\u00e9 {i}", "tags": ["a", "b"]} for i in range(1800)])
SMALL = "tiny \u00e9"  # under min_size: goes out uncompressed


class Fail(Exception):
    pass


def post(http_port, **fields):
    body = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{http_port}/", data=body, method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
        answer = r.read()
        if answer != b"ok":
            raise Fail(f"publish answered {answer!r}")


def deflate_params(ws):
    for ext in ws.extensions:
        if ext.name == "permessage-deflate":
            return ext
    return None


async def expect(ws, name, want):
    got = await asyncio.wait_for(ws.recv(), TIMEOUT)
    if got != want:
        raise Fail(f"{name}: got {got[:80]!r}... ({len(got)} chars), expected {want[:80]!r}... "
                   f"({len(want)} chars)")


async def connect(ws_port, name, **kwargs):
    ws = await websockets.connect(f"ws://127.0.0.1:{ws_port}/", close_timeout=TIMEOUT,
                                  ping_interval=None, **kwargs)
    m = WELCOME.match(await asyncio.wait_for(ws.recv(), TIMEOUT))
    if not m:
        raise Fail(f"{name}: no welcome")
    return ws, int(m.group(1)), int(m.group(2))


async def main(ws_port, http_port):
    clients = []
    try:
        default, w0, c0 = await connect(ws_port, "default")
        narrow, w1, c1 = await connect(
            ws_port, "window 9",
            extensions=[ClientPerMessageDeflateFactory(server_max_window_bits=9)], compression=None)
        plain, w2, c2 = await connect(ws_port, "plain", compression=None)
        clients = [("default", default, w0, c0), ("window 9", narrow, w1, c1),
                   ("plain", plain, w2, c2)]
        for name, ws, _, _ in clients[:2]:
            ext = deflate_params(ws)
            if ext is None:
                raise Fail(f"{name}: permessage-deflate not negotiated: {ws.extensions}")
            if not ext.remote_no_context_takeover or not ext.local_no_context_takeover:
                raise Fail(f"{name}: expected no context takeover both ways: {ext!r}")
        if deflate_params(narrow).remote_max_window_bits != 9:
            raise Fail(f"window 9: server window {deflate_params(narrow)!r}")
        if plain.extensions:
            raise Fail(f"plain: extensions {plain.extensions} without an offer")

        for content in (UTF8, BIG, SMALL):
            await asyncio.get_running_loop().run_in_executor(None, lambda: post(http_port, content=content))
            for name, ws, _, _ in clients:
                await expect(ws, f"{name} broadcast of {len(content)} chars", content)
        for name, ws, w, c in clients:
            push = BIG + name
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: post(http_port, to_worker_id=w, to_connection_id=c, content=push))
            await expect(ws, f"{name} targeted push", push)

        # Messages of their own (compressed by the deflate clients), then still served.
        for name, ws, _, _ in clients:
            await ws.send(BIG)
            await ws.send(UTF8)
            await ws.send(BIG.encode())  # binary
        await asyncio.get_running_loop().run_in_executor(None, lambda: post(http_port, content="after sends"))
        for name, ws, _, _ in clients:
            await expect(ws, f"{name} after its sends", "after sends")
        print(f"ok {len(clients)} clients: deflate negotiated (window 15 and 9) and not, "
              f"broadcasts, pushes and client messages intact")
    finally:
        for _, ws, _, _ in clients:
            await ws.close()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: py_deflate.py WS_PORT HTTP_PORT")
    try:
        asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
    except (Fail, asyncio.TimeoutError, OSError, websockets.exceptions.WebSocketException) as e:
        print(f"FAIL {type(e).__name__}: {e}")
        sys.exit(1)
