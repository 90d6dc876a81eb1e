#!/usr/bin/python3
# A real Python `websockets` client that connects with a token and checks that
# the token's user and groups are its own: run by tests/integration/auth_test.cpp.
#
#   py_identity.py WS_PORT HTTP_PORT TOKEN
#
# Prints the welcome's uid and groups, then each push it gets after asking the
# publish API for: to_uid=<its uid>, to_group=<each group>, to_group=nobody's,
# and a broadcast "end" marker: e.g. "uid=alice groups=g1,g2 got=u,g1,g2,end".
import asyncio
import json
import sys
import urllib.request

import websockets

TIMEOUT = 5


def publish(http, query):
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/?{query}", timeout=TIMEOUT) as r:
        assert r.read() == b"ok"


async def main(ws_port, http, token):
    url = f"ws://127.0.0.1:{ws_port}/?token={token}"
    async with websockets.connect(url, ping_interval=None) as ws:
        w = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        uid, groups = w.get("uid", "-"), w.get("groups", [])
        # Sent once the welcome came: the subscriptions must be in effect.
        publish(http, f"to_uid={uid}&content=u")
        for g in groups:
            publish(http, f"to_group={g}&content={g}")
        publish(http, "to_group=nobodys&content=x")
        publish(http, "content=end")
        got = []
        while not got or got[-1] != "end":
            got.append(await asyncio.wait_for(ws.recv(), TIMEOUT))
        print(f"uid={uid} groups={','.join(groups)} got={','.join(got)}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
