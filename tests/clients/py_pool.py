#!/usr/bin/python3
# A pool of real Python `websockets` clients (Debian's python3-websockets) for
# tests of users, groups and presence (tests/integration/users_groups_test.cpp).
#
#   py_pool.py WS_PORT CLIENTS MIN_WORKERS MARKER
#
# Connects CLIENTS clients (more, up to 4 x CLIENTS, until their welcomes name
# at least MIN_WORKERS ws workers), each expecting a JSON welcome, and prints
# one line: the JSON list of the welcomes. Then every client records each text
# message until it gets MARKER or the server closes it, and the script prints
# a second line, a JSON list with one object per client:
#   {"got": [texts, MARKER included], "close": [code, reason] or null}
# and exits 0. Any failure: one line "FAIL ..." and exit 1.
import asyncio
import json
import sys

import websockets

TIMEOUT = 15


class Fail(Exception):
    pass


async def collect(ws, marker):
    got, close = [], None
    try:
        while True:
            m = await ws.recv()
            if isinstance(m, str):
                got.append(m)
                if m == marker:
                    break
    except websockets.exceptions.ConnectionClosed as e:
        rcvd = getattr(e, "rcvd", None)
        close = [rcvd.code, rcvd.reason] if rcvd else [getattr(e, "code", 0), getattr(e, "reason", "")]
    return {"got": got, "close": close}


async def main(port, clients, min_workers, marker):
    conns, welcomes, workers = [], [], set()
    try:
        while len(conns) < clients or (len(workers) < min_workers and len(conns) < 4 * clients):
            ws = await websockets.connect(f"ws://127.0.0.1:{port}/", close_timeout=2,
                                          ping_interval=None)
            conns.append(ws)
            text = await asyncio.wait_for(ws.recv(), TIMEOUT)
            w = json.loads(text)
            if w.get("type") != "welcome":
                raise Fail(f"not a JSON welcome: {text!r}")
            welcomes.append(w)
            workers.add(w["worker_id"])
        print(json.dumps(welcomes), flush=True)
        results = await asyncio.wait_for(
            asyncio.gather(*(collect(ws, marker) for ws in conns)), TIMEOUT)
        print(json.dumps(list(results)), flush=True)
    finally:
        for ws in conns:
            await ws.close()


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit("usage: py_pool.py WS_PORT CLIENTS MIN_WORKERS MARKER")
    try:
        asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
    except (Fail, asyncio.TimeoutError, OSError, ValueError,
            websockets.exceptions.WebSocketException) as e:
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
        sys.exit(1)
