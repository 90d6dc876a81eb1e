#!/usr/bin/python3
# Real Python `websockets` clients (Debian's python3-websockets) receiving a
# push that some other program publishes. Run by
# tests/integration/redis_bus_test.cpp on the Redis bus engine, where the
# publisher is an application's own Redis client (redis-cli).
#
#   py_receive.py WS_PORT CLIENTS EXPECTED PUBLISHER [ARG...]
#
# Connects CLIENTS clients, checks each one's first message is the welcome
# (text or JSON), runs PUBLISHER ARG... (no shell), and checks that every
# client then gets EXPECTED (a UTF-8 text message) exactly once: nothing
# before it, nothing more within 0.3 s. Prints "ok ..." and exits 0, or
# "FAIL ..." and exits 1.
import asyncio
import json
import re
import subprocess
import sys

import websockets

WELCOME = re.compile(r"^workerID:(\d+) connectionID:(\d+) connected\n$")
TIMEOUT = 5


class Fail(Exception):
    pass


async def welcome(ws, i):
    text = await asyncio.wait_for(ws.recv(), TIMEOUT)
    if isinstance(text, str) and WELCOME.match(text):
        return
    try:
        if isinstance(text, str) and json.loads(text).get("type") == "welcome":
            return
    except ValueError:
        pass
    raise Fail(f"client {i}: first message is not the welcome: {text!r}")


async def main(ws_port, clients, expected, publisher):
    conns = []
    try:
        for i in range(clients):
            ws = await websockets.connect(f"ws://127.0.0.1:{ws_port}/", close_timeout=TIMEOUT,
                                          ping_interval=None)
            conns.append(ws)
            await welcome(ws, i)
        r = subprocess.run(publisher, capture_output=True, text=True, timeout=TIMEOUT)
        if r.returncode != 0:
            raise Fail(f"publisher exited {r.returncode}: {r.stdout!r} {r.stderr!r}")
        for i, ws in enumerate(conns):
            got = await asyncio.wait_for(ws.recv(), TIMEOUT)
            if got != expected:
                raise Fail(f"client {i}: got {got!r}, expected {expected!r}")
        for i, ws in enumerate(conns):
            try:
                more = await asyncio.wait_for(ws.recv(), 0.3 if i == 0 else 0.02)
                raise Fail(f"client {i}: got {more!r} after {expected!r} (twice?)")
            except asyncio.TimeoutError:
                pass
        print(f"ok {clients} clients got {expected!r} once (publisher said {r.stdout.strip()!r})")
    finally:
        for ws in conns:
            await ws.close()


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit("usage: py_receive.py WS_PORT CLIENTS EXPECTED PUBLISHER [ARG...]")
    try:
        asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]))
    except (Fail, asyncio.TimeoutError, OSError, websockets.exceptions.WebSocketException) as e:
        print(f"FAIL {type(e).__name__}: {e}")
        sys.exit(1)
