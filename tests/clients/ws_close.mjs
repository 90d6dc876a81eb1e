// Node's `ws` client (pinned in package.json; tests/clients/setup.sh installs it)
// closing the way applications do, and seeing the server stop or reload. Run by
// tests/integration/real_clients_test.cpp, which keeps its own watcher clients
// on the same worker and checks them and the worker after each run.
//
//   node ws_close.mjs WS_PORT HTTP_PORT SCENARIO [REPEAT] [-- CMD ARGS...]
//
// Scenarios (each REPEAT times, default 3):
//   normal        ws.close() after the welcome (a close frame with no code)
//   code_1000     ws.close(1000, 'done')
//   code_reason   ws.close(4000, 'bye')
//   immediate     ws.close(1000) on 'open', the welcome unread
//   in_flight     ws.close(1000) while a stream of broadcasts is arriving
//   terminate     ws.terminate() after the welcome: the socket is destroyed, no close frame
//   terminate_in_flight  ws.terminate() while broadcasts are arriving
//   stop          runs CMD (pusher stop) while connected: expects close 1001 "going away", clean
//   reload        runs CMD (pusher reload): the connection is handed to the new worker and stays
//                 open (no close event); a broadcast published after the reload arrives on it
//
// Prints "ok SCENARIO #i: ..." per connection and exits 0, or "FAIL ..." and exits 1.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import WebSocket from 'ws';

const WELCOME = /^workerID:(\d+) connectionID:(\d+) connected\n$/;
const TIMEOUT_MS = 5000;
const exec = promisify(execFile);

const dash = process.argv.indexOf('--');
const args = dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash);
const cmd = dash < 0 ? [] : process.argv.slice(dash + 1);
const [wsPort, httpPort, name] = args;
const repeat = Number(args[3] || 3);
const url = `ws://127.0.0.1:${wsPort}/`;

class Fail extends Error {}

function withTimeout(promise, what, ms = TIMEOUT_MS) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Fail(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

async function publish(content) {
  const r = await fetch(`http://127.0.0.1:${httpPort}/?${new URLSearchParams({ content })}`);
  const body = await r.text();
  if (r.status !== 200 || body !== 'ok') throw new Fail(`publish answered ${r.status} ${body}`);
}

// A client that records everything: messages in order, its close event, errors.
function open() {
  const ws = new WebSocket(url, { handshakeTimeout: TIMEOUT_MS });
  const c = { ws, messages: [], errors: [], waiters: [] };
  c.opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.on('message', (data, binary) => {
    c.messages.push(binary ? data : data.toString());
    for (const w of c.waiters.splice(0)) w();
  });
  ws.on('error', (e) => c.errors.push(e.message));
  // The WHATWG event carries wasClean: a close frame both sent and received.
  c.closed = new Promise((resolve) => {
    ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean }));
  });
  return c;
}

function nextMessage(c, i) {
  if (c.messages.length > i) return Promise.resolve(c.messages[i]);
  return withTimeout(new Promise((resolve) => {
    const check = () => (c.messages.length > i ? resolve(c.messages[i]) : c.waiters.push(check));
    c.waiters.push(check);
  }), `message #${i}`);
}

async function greeted(c) {
  await withTimeout(c.opened, 'open');
  const w = await nextMessage(c, 0);
  const m = WELCOME.exec(w);
  if (!m) throw new Fail(`first message is not the welcome: ${JSON.stringify(w)}`);
  return w.trim();
}

// Our close was answered: the server's close frame, code 1000, clean.
async function answered(c, what) {
  const e = await withTimeout(c.closed, 'close event');
  if (e.code !== 1000 || !e.wasClean)
    throw new Fail(`${what}: close event code ${e.code} wasClean ${e.wasClean}, want 1000 clean`);
  if (c.errors.length) throw new Fail(`${what}: errors ${c.errors.join('; ')}`);
  return `closed ${e.code} clean`;
}

async function closeWith(code, reason) {
  const c = open();
  const who = await greeted(c);
  c.ws.close(code, reason);
  return `${who}, close(${code ?? ''}${reason ? `, '${reason}'` : ''}): ${await answered(c, 'close')}`;
}

// 20 broadcasts of 8 KB, published without waiting for the client: most are
// still coming when it closes.
async function flood() {
  for (let i = 0; i < 20; ++i) await publish(`flight ${i} ${'x'.repeat(8000)}`);
}

async function inFlight(finish) {
  const c = open();
  const who = await greeted(c);
  const flooding = flood();
  const first = await nextMessage(c, 1);
  if (!first.startsWith('flight ')) throw new Fail(`expected a broadcast, got ${first.slice(0, 40)}`);
  const result = await finish(c);
  await flooding;
  return `${who}, ${result} after ${c.messages.length - 1} of 20 broadcasts`;
}

async function terminated(c) {
  c.ws.terminate();
  const e = await withTimeout(c.closed, 'close event');
  if (e.code !== 1006 || e.wasClean) throw new Fail(`terminate: close event ${e.code} ${e.wasClean}`);
  return 'terminated (1006)';
}

// Runs CMD while connected; the server must say 1001 "going away" and finish
// the closing handshake (ws answers the close frame itself).
async function goingAway(c) {
  const run = exec(cmd[0], cmd.slice(1), { timeout: 20_000 });
  const e = await withTimeout(c.closed, `close event during ${cmd.join(' ')}`, 15_000);
  const out = await run.catch((err) => {
    throw new Fail(`${cmd.join(' ')} failed: ${err.message}`);
  });
  if (e.code !== 1001 || e.reason !== 'going away' || !e.wasClean)
    throw new Fail(`close event ${e.code} '${e.reason}' wasClean ${e.wasClean}, want 1001 'going away' clean`);
  if (c.errors.length) throw new Fail(`errors: ${c.errors.join('; ')}`);
  return `got ${e.code} '${e.reason}' clean; ${(out.stdout + out.stderr).trim().split('\n').pop() || 'cmd ok'}`;
}

const scenarios = {
  normal: () => closeWith(undefined),
  code_1000: () => closeWith(1000, 'done'),
  code_reason: () => closeWith(4000, 'bye'),
  immediate: async () => {
    const c = open();
    await withTimeout(c.opened, 'open');
    c.ws.close(1000);
    const res = await answered(c, 'immediate close');
    if (c.messages.length > 1) throw new Fail(`got ${c.messages.length} messages`);
    return res;
  },
  in_flight: () => inFlight((c) => {
    c.ws.close(1000);
    return answered(c, 'close in flight');
  }),
  terminate: async () => {
    const c = open();
    const who = await greeted(c);
    return `${who}, ${await terminated(c)}`;
  },
  terminate_in_flight: () => inFlight(terminated),
  stop: async () => {
    const c = open();
    const who = await greeted(c);
    return `${who}, ${await goingAway(c)}`;
  },
  reload: async () => {
    const c = open();
    const who = await greeted(c);
    let closedEarly = null;
    c.closed.then((e) => { closedEarly = e; });
    const out = await exec(cmd[0], cmd.slice(1), { timeout: 20_000 }).catch((err) => {
      throw new Fail(`${cmd.join(' ')} failed: ${err.message}`);
    });
    const n = c.messages.length;
    const tag = `after reload ${Date.now()}`;
    await publish(tag);
    const got = await nextMessage(c, n);
    if (closedEarly) throw new Fail(`closed during the reload: ${closedEarly.code} '${closedEarly.reason}'`);
    if (got !== tag) throw new Fail(`after the reload got ${JSON.stringify(got)}, want ${tag}`);
    c.ws.close(1000);
    const res = await answered(c, 'close after the reload');
    return `${who}, kept through: ${(out.stdout + out.stderr).trim().split('\n').pop()}; got the broadcast; ${res}`;
  },
};

if (!scenarios[name]) {
  console.log(`FAIL unknown scenario ${name}`);
  process.exit(2);
}
if ((name === 'stop' || name === 'reload') && !cmd.length) {
  console.log(`FAIL ${name} needs -- CMD`);
  process.exit(2);
}
let rc = 0;
for (let i = 0; i < repeat; ++i) {
  try {
    console.log(`ok ${name} #${i}: ${await scenarios[name]()}`);
  } catch (e) {
    console.log(`FAIL ${name} #${i}: ${e.message}`);
    rc = 1;
    break;
  }
}
process.exit(rc);
