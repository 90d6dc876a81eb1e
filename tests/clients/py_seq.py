#!/usr/bin/python3
# Real Python `websockets` clients (Debian's python3-websockets) that follow a
# numbered stream through reloads and upgrades (tests/integration/handover_test.cpp).
#
#   py_seq.py WS_PORT CLIENTS [PING_INTERVAL PING_TIMEOUT]
#
# The library's keepalive pings: every second, 5 s to answer, unless given
# ("default": the library's own, 20 s and 20 s).
# Connects CLIENTS clients, each expecting a JSON welcome, and prints one line:
# the JSON list of the welcomes. Then every client records each text message
# until it gets "END" or the connection ends, and the script prints a second
# line, a JSON list with one object per client:
#   {"b": [numbers of the "b<n>" broadcasts, in arrival order],
#    "t": [the other texts (targeted pushes), in order], "close": [code, reason] or null}
# and exits 0. Any failure: one line "FAIL ..." and exit 1.
import asyncio
import json
import sys

import websockets

TIMEOUT = 60


async def follow(ws):
    b, t, close = [], [], None
    try:
        while True:
            m = await ws.recv()
            if not isinstance(m, str):
                continue
            if m == "END":
                break
            head = m[1:].split(":", 1)[0]  # "b<n>" or, padded to be compressed, "b<n>:xxx..."
            if m.startswith("b") and head.isdigit():
                b.append(int(head))
            else:
                t.append(m)
    except websockets.exceptions.ConnectionClosed as e:
        rcvd = getattr(e, "rcvd", None)
        close = [rcvd.code, rcvd.reason] if rcvd else [0, "no close frame"]
    return {"b": b, "t": t, "close": close}


async def main(port, clients, ping_interval=1, ping_timeout=5):
    conns, welcomes = [], []
    try:
        for _ in range(clients):
            # The library's own keepalive pings stay on: a real client's pings
            # must cross the hand-over too.
            ws = await websockets.connect(f"ws://127.0.0.1:{port}/", close_timeout=2,
                                          ping_interval=ping_interval, ping_timeout=ping_timeout,
                                          max_queue=None)
            conns.append(ws)
            w = json.loads(await asyncio.wait_for(ws.recv(), 15))
            if w.get("type") != "welcome":
                raise Exception(f"not a JSON welcome: {w!r}")
            welcomes.append(w)
        print(json.dumps(welcomes), flush=True)
        results = await asyncio.wait_for(asyncio.gather(*(follow(ws) for ws in conns)), TIMEOUT)
        print(json.dumps(list(results)), flush=True)
    finally:
        for ws in conns:
            await ws.close()  # a normal close, as a library does


if __name__ == "__main__":
    try:
        pings = [20, 20] if sys.argv[3:4] == ["default"] else [float(x) for x in sys.argv[3:5]]
        asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), *pings))
    except Exception as e:  # noqa: BLE001 - report any failure as one line
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
        sys.exit(1)
