#!/usr/bin/python3
# Python's `websockets` (Debian's python3-websockets) over TLS: wss:// with an
# ssl context that trusts only the test CA, as an application pinning its own
# CA would. Run by tests/integration/tls_clients_test.cpp.
#
#   py_wss.py WS_PORT HTTP_BASE CA_FILE SCENARIO
#
# HTTP_BASE is the publish API, http://... or https://... (then checked
# against CA_FILE too). Scenarios:
#   push     two clients get the welcome, a broadcast (and a 1 KB one), and one of them a push
#            targeted at its worker id and connection id that the other never
#            sees; then each closes (one with 1000, one with 4000 'bye') and
#            the server must answer the close (with 1000, as the original)
#   refused  the server's certificate must fail verification: prints the reason
# Prints "ok SCENARIO: ..." and exits 0, or "FAIL ..." and exits 1.
import asyncio
import re
import ssl
import sys
import urllib.parse
import urllib.request

import websockets

WELCOME = re.compile(r"^workerID:(\d+) connectionID:(\d+) connected\n$")
TIMEOUT = 5


class Fail(Exception):
    pass


def publish(base, ctx, **query):
    url = f"{base}/?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=TIMEOUT, context=ctx if base.startswith("https") else None) as r:
        body = r.read().decode()
        if r.status != 200 or body != "ok":
            raise Fail(f"publish {query} answered {r.status} {body!r}")


async def recv(ws, what):
    try:
        return await asyncio.wait_for(ws.recv(), TIMEOUT)
    except asyncio.TimeoutError:
        raise Fail(f"timed out waiting for {what}")


async def push(url, base, ctx):
    a = await websockets.connect(url, ssl=ctx, close_timeout=TIMEOUT, ping_interval=None)
    b = await websockets.connect(url, ssl=ctx, close_timeout=TIMEOUT, ping_interval=None)
    try:
        m = WELCOME.match(await recv(a, "welcome a"))
        if not m or not WELCOME.match(await recv(b, "welcome b")):
            raise Fail("first message is not the welcome")
        worker, conn = m.group(1), m.group(2)
        extensions = ",".join(e.name for e in a.extensions) or "none"
        subject = dict(x[0] for x in a.transport.get_extra_info("peercert")["subject"])
        publish(base, ctx, content="py broadcast")
        for name, ws in (("a", a), ("b", b)):
            got = await recv(ws, f"broadcast on {name}")
            if got != "py broadcast":
                raise Fail(f"{name} got {got!r}, expected the broadcast")
        # Long enough to be compressed where permessage-deflate was agreed.
        big = "py big " + "0123456789" * 100
        publish(base, ctx, content=big)
        for name, ws in (("a", a), ("b", b)):
            if await recv(ws, f"big broadcast on {name}") != big:
                raise Fail(f"{name}: the 1 KB broadcast arrived changed")
        publish(base, ctx, to_worker_id=worker, to_connection_id=conn, content="py only a")
        got = await recv(a, "targeted push")
        if got != "py only a":
            raise Fail(f"a got {got!r}, expected the targeted push")
        # Same bus stream: a later broadcast arrives after the push would have.
        publish(base, ctx, content="py marker")
        got = await recv(b, "marker on b")
        if got != "py marker":
            raise Fail(f"b got {got!r} before the marker (the targeted push?)")
    finally:
        await a.close()
        await b.close(4000, "bye")
    for name, ws in (("a", a), ("b", b)):
        # The server answers every close with 1000, as the original: its close
        # frame arrived, the closing handshake completed.
        if ws.close_code != 1000:
            raise Fail(f"{name}: close code {ws.close_code}, want the server's 1000")
    return (f"workerID:{worker} connectionID:{conn}, cert CN={subject.get('commonName')!r}, "
            f"extensions {extensions}, clean closes")


async def refused(url, ctx):
    try:
        ws = await websockets.connect(url, ssl=ctx, close_timeout=TIMEOUT, open_timeout=TIMEOUT)
    except ssl.SSLCertVerificationError as e:
        return f"verification failed: {e.verify_message}"
    await ws.close()
    raise Fail("connected to a server whose certificate should not verify")


async def main(ws_port, base, ca, scenario):
    ctx = ssl.create_default_context(cafile=ca)  # hostname (IP) checked, the CA only
    url = f"wss://127.0.0.1:{ws_port}/"
    if scenario == "push":
        return await push(url, base, ctx)
    if scenario == "refused":
        return await refused(url, ctx)
    raise Fail(f"unknown scenario {scenario}")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit("usage: py_wss.py WS_PORT HTTP_BASE CA_FILE SCENARIO")
    try:
        print(f"ok {sys.argv[4]}: {asyncio.run(main(int(sys.argv[1]), *sys.argv[2:]))}")
    except (Fail, asyncio.TimeoutError, OSError, websockets.exceptions.WebSocketException) as e:
        print(f"FAIL {type(e).__name__}: {e}")
        sys.exit(1)
