// Node's `ws` client (pinned in package.json; tests/clients/setup.sh installs
// it) with permessage-deflate, against a running pusher. Run by
// tests/integration/deflate_test.cpp.
//
//   node ws_deflate.mjs WS_PORT HTTP_PORT
//
// Two clients: one with ws's default perMessageDeflate offer, one asking for
// serverMaxWindowBits 10. Each must have the extension negotiated with no
// context takeover both ways, get intact broadcasts (multi-byte UTF-8, a
// 100 KB JSON, a message under min_size) and a targeted push, send compressed
// messages of its own (ws compresses those above 1 KiB) and still be served.
// Prints "ok ..." and exits 0, or "FAIL ..." and exits 1.
import WebSocket from 'ws';

const WELCOME = /^workerID:(\d+) connectionID:(\d+) connected\n$/;
const TIMEOUT_MS = 5000;
const [wsPort, httpPort] = process.argv.slice(2);
const UTF8 = 'h\u00e9llo w\u00f6rld \u20ac \u{1F600} '.repeat(20);
const BIG = JSON.stringify(Array.from({ length: 1800 }, (_, i) => ({ id: i, name: `r\u00e9sum\u00e9 ${i}`, tags: ['a', 'b'] })));
const SMALL = 'tiny \u00e9';

class Fail extends Error {}

// Messages as they arrive; next() waits for the following one.
function inbox(ws, name) {
  const queue = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    const m = isBinary ? data : data.toString('utf8');
    if (waiters.length) waiters.shift()(m);
    else queue.push(m);
  });
  ws.on('close', (code) => {
    while (waiters.length) waiters.shift()(new Fail(`${name}: closed ${code}`));
  });
  return () => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Fail(`${name}: timed out`)), TIMEOUT_MS);
    const done = (m) => { clearTimeout(timer); m instanceof Error ? reject(m) : resolve(m); };
    if (queue.length) done(queue.shift());
    else waiters.push(done);
  });
}

async function open(name, perMessageDeflate) {
  const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/`, { perMessageDeflate });
  const next = inbox(ws, name);
  let answer = '';
  ws.once('upgrade', (res) => { answer = res.headers['sec-websocket-extensions'] || ''; });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const m = WELCOME.exec(await next());
  if (!m) throw new Fail(`${name}: no welcome`);
  return { name, ws, next, answer, worker: m[1], conn: m[2] };
}

async function publish(fields) {
  const r = await fetch(`http://127.0.0.1:${httpPort}/`, { method: 'POST', body: new URLSearchParams(fields) });
  const body = await r.text();
  if (body !== 'ok') throw new Fail(`publish answered ${body}`);
}

async function expect(c, what, want) {
  const got = await c.next();
  if (got !== want) throw new Fail(`${c.name} ${what}: got ${String(got).slice(0, 80)}... (${got.length}), expected ${want.length} chars`);
}

async function main() {
  const clients = [await open('default', true), await open('window 10', { serverMaxWindowBits: 10 })];
  try {
    for (const c of clients) {
      // ws.extensions names what ws accepted; the server's answer has the parameters.
      if (c.ws.extensions !== 'permessage-deflate') throw new Fail(`${c.name}: extensions "${c.ws.extensions}"`);
      if (!/^permessage-deflate; server_no_context_takeover; client_no_context_takeover/.test(c.answer)) {
        throw new Fail(`${c.name}: the server answered "${c.answer}"`);
      }
    }
    if (!/; server_max_window_bits=9$/.test(clients[1].answer)) throw new Fail(`window 10 (answered 9): "${clients[1].answer}"`);
    for (const content of [UTF8, BIG, SMALL]) {
      await publish({ content });
      for (const c of clients) await expect(c, `broadcast of ${content.length}`, content);
    }
    for (const c of clients) {
      await publish({ to_worker_id: c.worker, to_connection_id: c.conn, content: BIG + c.name });
      await expect(c, 'targeted push', BIG + c.name);
    }
    for (const c of clients) {
      c.ws.send(BIG);
      c.ws.send(UTF8);
      c.ws.send(Buffer.from(BIG));
    }
    await publish({ content: 'after sends' });
    for (const c of clients) await expect(c, 'after its sends', 'after sends');
    console.log(`ok ${clients.length} ws clients: deflate negotiated (window 15 and 10), broadcasts, pushes and client messages intact`);
  } finally {
    for (const c of clients) c.ws.close();
  }
}

main().catch((e) => {
  console.log(`FAIL ${e.message}`);
  process.exit(1);
});
