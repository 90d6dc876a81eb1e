// Node's `ws` client over TLS: wss:// with the `ca` option trusting only the
// test CA (the host, 127.0.0.1, is checked against the certificate's SAN).
// Run by tests/integration/tls_clients_test.cpp.
//
//   node wss.mjs WS_PORT HTTP_BASE CA_FILE SCENARIO
//
// HTTP_BASE is the publish API, http://... or https://... (checked against
// CA_FILE too). Scenarios:
//   push     two clients: the welcome, a broadcast (and a 1 KB one), a push targeted at one
//            (worker id + connection id) that the other never sees; then
//            ws.close(1000) and ws.close(4000, 'bye'), each answered with 1000 (clean)
//   refused  the server's certificate must fail verification: prints the code
// Prints "ok SCENARIO: ..." and exits 0, or "FAIL ..." and exits 1.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import WebSocket from 'ws';

const WELCOME = /^workerID:(\d+) connectionID:(\d+) connected\n$/;
const TIMEOUT_MS = 5000;
const [wsPort, base, caFile, scenario] = process.argv.slice(2);
const ca = readFileSync(caFile);
const url = `wss://127.0.0.1:${wsPort}/`;

class Fail extends Error {}

function withTimeout(promise, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Fail(`timed out waiting for ${what}`)), TIMEOUT_MS);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

function publish(query) {
  const target = `${base}/?${new URLSearchParams(query)}`;
  const get = base.startsWith('https') ? (u, cb) => https.get(u, { ca }, cb) : http.get;
  return withTimeout(new Promise((resolve, reject) => {
    get(target, (r) => {
      let body = '';
      r.on('data', (d) => { body += d; });
      r.on('end', () => (r.statusCode === 200 && body === 'ok' ? resolve()
        : reject(new Fail(`publish answered ${r.statusCode} ${body}`))));
    }).on('error', reject);
  }), `publish ${JSON.stringify(query)}`);
}

// A client that records its messages, its close event and its errors.
function open() {
  const ws = new WebSocket(url, { ca, handshakeTimeout: TIMEOUT_MS });
  const c = { ws, messages: [], errors: [], waiters: [] };
  c.opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.on('message', (data) => {
    c.messages.push(data.toString());
    for (const w of c.waiters.splice(0)) w();
  });
  ws.on('error', (e) => c.errors.push(e.message));
  c.closed = new Promise((resolve) => {
    ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean }));
  });
  return c;
}

function message(c, i) {
  return withTimeout(new Promise((resolve) => {
    const check = () => (c.messages.length > i ? resolve(c.messages[i]) : c.waiters.push(check));
    check();
  }), `message #${i}`);
}

async function push() {
  const a = open();
  const b = open();
  await withTimeout(Promise.all([a.opened, b.opened]), 'open');
  const m = WELCOME.exec(await message(a, 0));
  if (!m || !WELCOME.test(await message(b, 0))) throw new Fail('first message is not the welcome');
  const cn = a.ws._socket.getPeerCertificate().subject.CN;
  await publish({ content: 'node broadcast' });
  for (const [name, c] of [['a', a], ['b', b]]) {
    const got = await message(c, 1);
    if (got !== 'node broadcast') throw new Fail(`${name} got ${JSON.stringify(got)}, expected the broadcast`);
  }
  // Long enough to be compressed where permessage-deflate was agreed.
  const big = `node big ${'0123456789'.repeat(100)}`;
  await publish({ content: big });
  for (const [name, c] of [['a', a], ['b', b]]) {
    if ((await message(c, 2)) !== big) throw new Fail(`${name}: the 1 KB broadcast arrived changed`);
  }
  await publish({ to_worker_id: m[1], to_connection_id: m[2], content: 'node only a' });
  if ((await message(a, 3)) !== 'node only a') throw new Fail(`a got ${a.messages[3]}, expected the push`);
  await publish({ content: 'node marker' });
  const got = await message(b, 3);
  if (got !== 'node marker') throw new Fail(`b got ${JSON.stringify(got)} before the marker`);
  a.ws.close(1000);
  b.ws.close(4000, 'bye');
  // The server answers every close with 1000, as the original; clean: both frames went.
  for (const [name, c] of [['a', a], ['b', b]]) {
    const e = await withTimeout(c.closed, `close event on ${name}`);
    if (e.code !== 1000 || !e.wasClean) throw new Fail(`${name}: close ${e.code} wasClean ${e.wasClean}, want 1000 clean`);
    if (c.errors.length) throw new Fail(`${name}: errors ${c.errors.join('; ')}`);
  }
  return `workerID:${m[1]} connectionID:${m[2]}, cert CN='${cn}', extensions ${a.ws.extensions || 'none'}, clean closes`;
}

async function refused() {
  const c = open();
  try {
    await withTimeout(c.opened, 'the refusal');
  } catch (e) {
    if (e instanceof Fail) throw e;
    if (!e.code) throw new Fail(`failed, but not on the certificate: ${e.message}`);
    return `verification failed: ${e.code}`;
  }
  c.ws.close(1000);
  throw new Fail('connected to a server whose certificate should not verify');
}

const scenarios = { push, refused };
try {
  if (!scenarios[scenario]) throw new Fail(`unknown scenario ${scenario}`);
  console.log(`ok ${scenario}: ${await scenarios[scenario]()}`);
  process.exit(0);
} catch (e) {
  console.log(`FAIL ${e.message}`);
  process.exit(1);
}
